package stack_test

import (
	"path"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/cfn"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// condition is one condition a statement must carry: operator, key and
// value (a string or a list of strings, parameters at their defaults),
// compared as JSON.
type condition struct {
	op, key string
	value   interface{}
}

// scoped is what every statement allowing action on resources of
// resourceType ("snapshot", "security-group", an S3 object "object", a
// KMS "key") must carry: all the conditions of one of the alternatives.
// An alternative with no condition says the statement is deliberately
// unconditioned (Documentation/security.md gives why).
type scoped struct {
	action, resourceType string
	alternatives         [][]condition
}

// incidentTag is the tag every evidence snapshot carries.
const incidentTag = "SecurityIncidentId"

// purposes are the essential-ir:purpose tags of the groups the workflow
// creates.
var purposes = []interface{}{"untrack", "isolation"}

// mutatingScopes are the conditions of every mutating action of the role,
// each with its source in the Service Authorization Reference (SAR).
var mutatingScopes = []scoped{
	// SAR AttachRolePolicy: role, iam:PolicyARN. Only the essential-ir
	// deny policies, on any role an instance of the execution uses
	// (credential revocation; the stack's own role is denied by
	// SelfProtectionPolicy).
	{"iam:AttachRolePolicy", "role", [][]condition{{{"ArnLike", "iam:PolicyARN", "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/essential-ir/*"}}}},
	// SAR CreatePolicy: policy, no condition key bounds the document; the
	// resource's path does (only /essential-ir/ policies), and
	// SelfProtectionPolicy denies new versions of any policy.
	{"iam:CreatePolicy", "policy", [][]condition{{}}},
	// SAR ModifyNetworkInterfaceAttribute: security-group,
	// aws:ResourceTag/${TagKey}. The ENI itself: any of the instance's.
	{"ec2:ModifyNetworkInterfaceAttribute", "security-group", [][]condition{{{"StringEquals", "aws:ResourceTag/essential-ir:purpose", purposes}}}},
	{"ec2:ModifyNetworkInterfaceAttribute", "network-interface", [][]condition{{}}},
	// SAR DeleteSnapshot: snapshot, aws:ResourceTag/${TagKey}; ec2:Encrypted
	// of the snapshot resource type, IfExists (not in the action's row).
	{"ec2:DeleteSnapshot", "snapshot", [][]condition{{
		{"Null", "aws:ResourceTag/" + incidentTag, "false"},
		{"Null", "aws:ResourceTag/SecurityIncidentSourceSnapshotId", "true"},
		{"BoolIfExists", "ec2:Encrypted", "false"},
	}}},
	// SAR CopySnapshot: snapshot (source and copy), aws:ResourceTag,
	// aws:RequestTag, ec2:Encrypted.
	{"ec2:CopySnapshot", "snapshot", [][]condition{
		{{"Null", "aws:ResourceTag/" + incidentTag, "false"}, {"BoolIfExists", "ec2:Encrypted", "false"}},
		{{"Null", "aws:RequestTag/" + incidentTag, "false"}, {"BoolIfExists", "ec2:Encrypted", "true"}},
	}},
	// SAR CreateSnapshots: snapshot, aws:RequestTag/${TagKey}.
	{"ec2:CreateSnapshots", "snapshot", [][]condition{{{"Null", "aws:RequestTag/" + incidentTag, "false"}}}},
	{"ec2:CreateSnapshots", "instance", [][]condition{{}}},
	{"ec2:CreateSnapshots", "volume", [][]condition{{}}},
	// SAR CreateTags: aws:TagKeys, aws:ResourceTag; EC2 User Guide, tags on
	// creation: ec2:CreateAction.
	{"ec2:CreateTags", "snapshot", [][]condition{
		{
			{"ForAllValues:StringEquals", "aws:TagKeys", []interface{}{"SecurityIncidentVolumeId"}},
			{"Null", "aws:TagKeys", "false"},
			{"Null", "aws:ResourceTag/" + incidentTag, "false"},
		},
		{
			{"StringEquals", "ec2:CreateAction", []interface{}{"CreateSnapshots", "CopySnapshot"}},
			{"ForAllValues:StringEquals", "aws:TagKeys", []interface{}{"SecurityIncidentStatus", incidentTag, "SecurityIncidentInstanceId", "SecurityIncidentVolumeId", "SecurityIncidentSourceSnapshotId"}},
		},
	}},
	{"ec2:CreateTags", "instance", [][]condition{{
		{"ForAllValues:StringEquals", "aws:TagKeys", []interface{}{"SecurityIncidentStatus", incidentTag}},
		{"Null", "aws:TagKeys", "false"},
	}}},
	{"ec2:CreateTags", "security-group", [][]condition{{
		{"StringEquals", "ec2:CreateAction", "CreateSecurityGroup"},
		{"StringEquals", "aws:RequestTag/essential-ir:purpose", purposes},
		{"ForAllValues:StringEquals", "aws:TagKeys", []interface{}{"Name", "essential-ir:purpose"}},
	}}},
	// SAR CreateSecurityGroup: security-group, aws:RequestTag, aws:TagKeys.
	{"ec2:CreateSecurityGroup", "security-group", [][]condition{{
		{"StringEquals", "aws:RequestTag/essential-ir:purpose", purposes},
		{"ForAllValues:StringEquals", "aws:TagKeys", []interface{}{"Name", "essential-ir:purpose"}},
	}}},
	{"ec2:CreateSecurityGroup", "vpc", [][]condition{{}}},
	{"ec2:AuthorizeSecurityGroupIngress", "security-group", [][]condition{{{"StringEquals", "aws:ResourceTag/essential-ir:purpose", "untrack"}}}},
	{"ec2:AuthorizeSecurityGroupEgress", "security-group", [][]condition{{{"StringEquals", "aws:ResourceTag/essential-ir:purpose", "untrack"}}}},
	{"ec2:RevokeSecurityGroupIngress", "security-group", [][]condition{{{"StringEquals", "aws:ResourceTag/essential-ir:purpose", "isolation"}}}},
	{"ec2:RevokeSecurityGroupEgress", "security-group", [][]condition{{{"StringEquals", "aws:ResourceTag/essential-ir:purpose", "isolation"}}}},
	// SAR ModifyInstanceAttribute: instance, ec2:Attribute,
	// ec2:Attribute/${AttributeName}; the volume of a DeleteOnTermination
	// change has the same statement (the keys are IfExists).
	{"ec2:ModifyInstanceAttribute", "instance", [][]condition{instanceAttributes}},
	{"ec2:ModifyInstanceAttribute", "volume", [][]condition{instanceAttributes}},
	// SAR Amazon S3 PutObject: s3:if-none-match.
	{"s3:PutObject", "object", [][]condition{{{"Null", "s3:if-none-match", "false"}}}},
	// KMS Developer Guide, kms:ViaService; EBS: kms:GrantIsForAWSResource.
	{"kms:CreateGrant", "key", [][]condition{{{"Bool", "kms:GrantIsForAWSResource", "true"}, {"StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"}}}},
	{"kms:Decrypt", "key", [][]condition{{{"StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"}}, {{"StringEquals", "kms:ViaService", "s3.us-east-1.amazonaws.com"}}}},
	{"kms:GenerateDataKey", "key", [][]condition{{{"StringEquals", "kms:ViaService", "s3.us-east-1.amazonaws.com"}}}},
	{"kms:GenerateDataKeyWithoutPlaintext", "key", [][]condition{{{"StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"}}}},
	{"kms:ReEncryptFrom", "key", [][]condition{{{"StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"}}}},
	{"kms:ReEncryptTo", "key", [][]condition{{{"StringEquals", "kms:ViaService", "ec2.us-east-1.amazonaws.com"}}}},
}

// instanceAttributes are the conditions of ModifyInstanceAttribute: the
// attributes the workflow sets, at the values it sets.
var instanceAttributes = []condition{
	{"StringEqualsIgnoreCaseIfExists", "ec2:Attribute", []interface{}{"DisableApiTermination", "DisableApiStop", "InstanceInitiatedShutdownBehavior", "BlockDeviceMapping", "BlockDeviceMappings"}},
	{"StringEqualsIgnoreCaseIfExists", "ec2:Attribute/DisableApiTermination", "true"},
	{"StringEqualsIgnoreCaseIfExists", "ec2:Attribute/DisableApiStop", "true"},
	{"StringEqualsIgnoreCaseIfExists", "ec2:Attribute/InstanceInitiatedShutdownBehavior", "stop"},
}

// resourceTypeOf is the resource type an ARN pattern of the role's
// policies names: "snapshot", "instance", "object" for S3 objects, "key"
// for KMS keys.
func resourceTypeOf(arn string) string {
	if strings.HasPrefix(arn, "${EvidenceKey") {
		return "key"
	}
	arn = strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "us-east-1", "${AWS::AccountId}", "123456789012").Replace(arn)
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return arn
	}
	switch parts[2] {
	case "s3":
		if strings.Contains(parts[5], "/") {
			return "object"
		}
		return "bucket"
	case "kms":
		return "key"
	}
	return strings.SplitN(parts[5], "/", 2)[0]
}

// roleStatements are the statements of every policy of the role, the
// optional ones included.
func roleStatements(t *testing.T) []statement {
	t.Helper()
	statements := policyStatements(t, "ContainmentPolicy")
	for _, name := range optionalPolicies {
		statements = append(statements, policyStatements(t, name)...)
	}
	return statements
}

// TestMutatingActionsKeepTheirConditions reads the synthesized template:
// every statement allowing a mutating action on a resource type of
// mutatingScopes carries the conditions of one of its alternatives, and
// every such action and type is allowed somewhere (a scope that no longer
// applies must leave the table). It fails when a statement loses a
// condition.
func TestMutatingActionsKeepTheirConditions(t *testing.T) {
	statements := roleStatements(t)
	for _, sc := range mutatingScopes {
		seen := 0
		for _, s := range statements {
			if !containsFold(s.Actions, sc.action) {
				continue
			}
			for _, r := range s.Resources {
				if r != "*" && resourceTypeOf(r) != sc.resourceType {
					continue
				}
				seen++
				if !matchesOne(t, s.Condition, sc.alternatives) {
					t.Errorf("%s on %s has conditions %s; want those of one of %+v", sc.action, r, show(s.Condition), sc.alternatives)
				}
			}
		}
		if seen == 0 {
			t.Errorf("no statement allows %s on %s resources: remove it from mutatingScopes, or restore the statement", sc.action, sc.resourceType)
		}
	}
	// Every write action on a resource type is in the table.
	known := map[string]bool{}
	for _, sc := range mutatingScopes {
		known[strings.ToLower(sc.action)+" "+sc.resourceType] = true
	}
	for _, s := range statements {
		for _, a := range s.Actions {
			if isRead(a) {
				continue
			}
			for _, r := range s.Resources {
				if !known[strings.ToLower(a)+" "+resourceTypeOf(r)] && !unscopedWrites[a] {
					t.Errorf("%s on %s is in no scope of mutatingScopes nor in unscopedWrites: say how it is narrowed", a, r)
				}
			}
		}
	}
}

// unscopedWrites are the role's write actions whose resources are the only
// narrowing AWS offers the workflow: no condition key tells the workflow's
// use from another (Documentation/security.md gives each).
var unscopedWrites = map[string]bool{
	"autoscaling:DetachInstances":                              true,
	"elasticloadbalancing:DeregisterTargets":                   true,
	"elasticloadbalancing:DeregisterInstancesFromLoadBalancer": true,
	"ec2:DisassociateIamInstanceProfile":                       true,
	"ec2:DisassociateAddress":                                  true,
	"states:StartExecution":                                    true,
	"states:StopExecution":                                     true,
	"events:PutTargets":                                        true,
	"events:PutRule":                                           true,
}

// isRead reports whether an action only reads.
func isRead(action string) bool {
	_, name, _ := strings.Cut(action, ":")
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// matchesOne reports whether a statement's conditions include every
// condition of one alternative (and, for an empty alternative, whether it
// has none at all).
func matchesOne(t *testing.T, got map[string]interface{}, alternatives [][]condition) bool {
	t.Helper()
	for _, alt := range alternatives {
		if len(alt) == 0 {
			if len(got) == 0 {
				return true
			}
			continue
		}
		ok := true
		for _, c := range alt {
			block, _ := got[c.op].(map[string]interface{})
			v, present := block[c.key]
			if !present || !jsonEqual(rendered(t, v), c.value) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// rendered is a condition value with parameters at their defaults and the
// region us-east-1.
func rendered(t *testing.T, v interface{}) interface{} {
	t.Helper()
	one := func(x interface{}) string {
		return strings.ReplaceAll(withDefaults(t, x), "${AWS::Region}", "us-east-1")
	}
	if list, ok := v.([]interface{}); ok {
		out := make([]interface{}, len(list))
		for i, x := range list {
			out[i] = one(x)
		}
		return out
	}
	return one(v)
}

// forbiddenActions are what the role must never hold, whatever the
// parameters: deleting or rewriting evidence, shortening or lifting its
// retention, changing the bucket's protection, or writing IAM policies
// beyond the credential deny (Documentation/security.md).
var forbiddenActions = []string{
	"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
	"s3:BypassGovernanceRetention", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
	"s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:PutObjectAcl", "s3:PutBucketAcl", "s3:PutEncryptionConfiguration",
	"s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:ReplicateObject", "s3:RestoreObject",
	"kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:Encrypt", "kms:RetireGrant", "kms:RevokeGrant",
	"ec2:DeleteTags", "ec2:DeleteVolume", "ec2:TerminateInstances", "ec2:ModifySnapshotAttribute", "ec2:CreateVolume",
	"logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DisassociateKmsKey",
	"iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PassRole", "iam:CreatePolicyVersion",
	"states:UpdateStateMachine", "states:CreateStateMachine", "states:DeleteStateMachine",
}

// TestRoleHoldsNoDeleteRetentionOrBypass: no statement of any of the
// role's policies (the optional ones and log delivery included), by name
// or wildcard, allows an action of forbiddenActions.
func TestRoleHoldsNoDeleteRetentionOrBypass(t *testing.T) {
	statements := append(roleStatements(t), policyStatements(t, "LoggingAndTracingPolicy")...)
	for _, s := range statements {
		for _, pattern := range s.Actions {
			for _, f := range forbiddenActions {
				if ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(f)); ok {
					t.Errorf("the role's %s statement on %v allows %s", pattern, s.Resources, f)
				}
			}
		}
	}
}

// TestLogGroupIsEncryptedWithAKeyOfItsOwn: the log group is
// /aws/vendedlogs/states/<StateMachineName>, encrypted with the stack's
// logs key, whose policy lets CloudWatch Logs of the stack's region use it
// for that log group only; the key's alias follows the name too.
func TestLogGroupIsEncryptedWithAKeyOfItsOwn(t *testing.T) {
	tpl, err := cfn.Parse(template(t).JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, group := resource(t, "AWS::Logs::LogGroup", stack.LogGroupID)
	keyID, key := resource(t, "AWS::KMS::Key", stack.LogsKeyID)
	_, alias := resource(t, "AWS::KMS::Alias", stack.LogsKeyID)
	if got := dig(group, "Properties", "KmsKeyId"); !jsonEqual(got, map[string]interface{}{"Fn::GetAtt": []interface{}{keyID, "Arn"}}) {
		t.Errorf("log group KmsKeyId %s, want the logs key %s", show(got), keyID)
	}
	if key["DeletionPolicy"] != "Retain" || dig(key, "Properties", "EnableKeyRotation") != true {
		t.Errorf("logs key: DeletionPolicy %v, rotation %v; want Retain and rotation (the logs outlive the stack)", key["DeletionPolicy"], dig(key, "Properties", "EnableKeyRotation"))
	}
	st, err := cfn.NewStack(tpl, cfn.Options{
		Pseudo:     cfn.Pseudo{Partition: "aws", Region: "eu-west-3", AccountID: "123456789012", StackName: synth.StackName},
		Parameters: map[string]string{stack.ParamStateMachineName: "triage"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(v interface{}) interface{} {
		t.Helper()
		r, err := st.Resolve(v)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got := resolve(dig(group, "Properties", "LogGroupName")); got != "/aws/vendedlogs/states/triage" {
		t.Errorf("log group name %v", got)
	}
	if got := resolve(dig(alias, "Properties", "AliasName")); got != "alias/triage-logs" {
		t.Errorf("logs key alias %v", got)
	}
	statements, _ := resolve(dig(key, "Properties", "KeyPolicy", "Statement")).([]interface{})
	found := false
	for _, s := range statements {
		if dig(s, "Principal", "Service") == nil {
			continue
		}
		found = true
		want := map[string]interface{}{
			"Sid": "CloudWatchLogsEncryptsTheStateMachinesLogGroup", "Effect": "Allow",
			"Principal": map[string]interface{}{"Service": "logs.eu-west-3.amazonaws.com"},
			"Action":    []interface{}{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
			"Resource":  "*",
			"Condition": map[string]interface{}{"ArnEquals": map[string]interface{}{
				"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-3:123456789012:log-group:/aws/vendedlogs/states/triage",
			}},
		}
		if !jsonEqual(s, want) {
			t.Errorf("logs key statement for a service\n%s\nwant\n%s", show(s), show(want))
		}
	}
	if !found {
		t.Error("the logs key's policy does not let CloudWatch Logs use it")
	}
}

// TestEvidenceBucketRefusesOverwritesAndTakesTheLockMode: the bucket policy
// of the bucket the stack creates refuses, to everyone, a PutObject
// without If-None-Match; its Object Lock mode is the EvidenceRetentionMode
// parameter, GOVERNANCE by default, COMPLIANCE when asked.
func TestEvidenceBucketRefusesOverwritesAndTakesTheLockMode(t *testing.T) {
	bucketID, bucket := resource(t, "AWS::S3::Bucket", stack.BucketID)
	_, policy := resource(t, "AWS::S3::BucketPolicy", stack.BucketID)
	statements, _ := dig(policy, "Properties", "PolicyDocument", "Statement").([]interface{})
	found := false
	for _, s := range statements {
		if dig(s, "Sid") != "DenyWritesThatMayOverwrite" {
			continue
		}
		found = true
		want := map[string]interface{}{
			"Sid": "DenyWritesThatMayOverwrite", "Effect": "Deny", "Principal": map[string]interface{}{"AWS": "*"},
			"Action":    "s3:PutObject",
			"Resource":  map[string]interface{}{"Fn::Join": []interface{}{"", []interface{}{map[string]interface{}{"Fn::GetAtt": []interface{}{bucketID, "Arn"}}, "/*"}}},
			"Condition": map[string]interface{}{"Null": map[string]interface{}{"s3:if-none-match": "true"}},
		}
		if !jsonEqual(s, want) {
			t.Errorf("overwrite statement\n%s\nwant\n%s", show(s), show(want))
		}
	}
	if !found {
		t.Errorf("the bucket policy has no statement refusing writes without If-None-Match: %s", show(statements))
	}
	params, _ := template(t).JSON["Parameters"].(map[string]interface{})
	if got := params[stack.ParamRetentionMode]; !jsonEqual(dig(got, "Default"), "GOVERNANCE") || !jsonEqual(dig(got, "AllowedValues"), []interface{}{"GOVERNANCE", "COMPLIANCE"}) {
		t.Errorf("parameter %s is %s, want GOVERNANCE by default, or COMPLIANCE", stack.ParamRetentionMode, show(got))
	}
	if got := dig(bucket, "Properties", "ObjectLockConfiguration", "Rule", "DefaultRetention", "Mode"); !jsonEqual(got, map[string]interface{}{"Ref": stack.ParamRetentionMode}) {
		t.Errorf("Object Lock mode is %s, want the %s parameter", show(got), stack.ParamRetentionMode)
	}
}
