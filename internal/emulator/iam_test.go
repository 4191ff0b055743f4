package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// IAM enforced in the emulated account (iam_enforce.py). Each test gives a
// state machine a role of its own, runs it, and reads the post-condition a
// refused call leaves (the resource unchanged) as well as the error.

const arnPrefix = "arn:aws:"

// statement is one IAM policy statement.
type statement map[string]any

// policy marshals statements into a policy document.
func policy(t *testing.T, sts ...statement) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": sts})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func allow(actions any, resources any) statement {
	return statement{"Effect": "Allow", "Action": actions, "Resource": resources}
}

// roleWith creates an execution role (trusted by states.amazonaws.com) whose
// one inline policy holds the statements.
func roleWith(t *testing.T, sts ...statement) string {
	t.Helper()
	name := "iam-test-" + uniqueName(t)
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	arn, err := emu.CreateExecutionRole(testCtx(t), name, map[string]string{"test-policy": policy(t, sts...)})
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

func roleName(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// runAs creates a state machine with the role and runs def to its end.
func runAs(t *testing.T, roleARN string, def map[string]any, input any) *Execution {
	t.Helper()
	ctx := testCtx(t)
	sm, err := emu.CreateStateMachineWithRole(ctx, uniqueName(t), asl(t, def), roleARN)
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := emu.RunExecution(ctx, sm, string(in), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// denialsOf returns the refused calls of an execution.
func denialsOf(t *testing.T, ex *Execution) []Denial {
	t.Helper()
	ds, err := emu.DenialsOf(testCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// mustFailWith checks an execution failed with the error and a cause
// containing each fragment.
func mustFailWith(t *testing.T, ex *Execution, errName string, fragments ...string) {
	t.Helper()
	if ex.Status != "FAILED" || ex.Error != errName {
		t.Fatalf("execution %s: status %s error %q cause %q; want FAILED %s", ex.ARN, ex.Status, ex.Error, ex.Cause, errName)
	}
	for _, f := range fragments {
		if !strings.Contains(ex.Cause, f) {
			t.Errorf("cause %q lacks %q", ex.Cause, f)
		}
	}
}

func instanceARN(id string) string {
	return fmt.Sprintf("%sec2:%s:%s:instance/%s", arnPrefix, region, accountID, id)
}

func tagsOf(t *testing.T, c *ec2.Client, id string) map[string]string {
	t.Helper()
	out, err := c.DescribeTags(testCtx(t), &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// tagDef reads the instance, then tags it.
func tagDef() map[string]any {
	return map[string]any{
		"StartAt": "Read",
		"States": map[string]any{
			"Read": func() map[string]any {
				st := sdk("ec2:describeInstances", map[string]any{"InstanceIds.$": "States.Array($.id)"}, "Tag")
				st["ResultPath"] = nil
				return st
			}(),
			"Tag": sdk("ec2:createTags", map[string]any{
				"Resources.$": "States.Array($.id)",
				"Tags":        []any{map[string]any{"Key": "SecurityIncidentId", "Value": "inc-1"}},
			}, ""),
		},
	}
}

// AWS authorises each call against the execution role: a role that allows
// DescribeInstances but not CreateTags reads the instance and is refused the
// tag, with EC2's UnauthorizedOperation (403) naming the role session, the
// action and the instance's ARN. The instance stays untagged.
func TestIAMAllowsOnlyWhatTheRoleAllows(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	role := roleWith(t, allow("ec2:DescribeInstances", "*"))
	ex := runAs(t, role, tagDef(), map[string]any{"id": s.instance})
	mustFailWith(t, ex, "Ec2.Ec2Exception",
		"You are not authorized to perform this operation. User: arn:aws:sts::"+accountID+":assumed-role/"+roleName(role)+"/",
		"is not authorized to perform: ec2:CreateTags on resource: "+instanceARN(s.instance)+" because no identity-based policy allows the ec2:CreateTags action",
		"Encoded authorization failure message: ",
		"Status Code: 403")
	if tags := tagsOf(t, s.ec2, s.instance); len(tags) != 0 {
		t.Errorf("instance tagged %v although CreateTags was refused", tags)
	}
	ds := denialsOf(t, ex)
	if len(ds) != 1 || ds[0].IAMAction != "ec2:CreateTags" || ds[0].Code != "UnauthorizedOperation" || ds[0].Status != 403 ||
		ds[0].Resource != instanceARN(s.instance) || ds[0].Role != role {
		t.Errorf("denials %v", ds)
	}
}

// IAM User Guide, "Policy evaluation logic": an explicit Deny overrides any
// Allow. Policies are read at call time, so removing the Deny statement lets
// the next execution through.
func TestIAMExplicitDenyWins(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	deny := statement{"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:instance/*"}
	role := roleWith(t, allow("ec2:*", "*"), deny)
	ex := runAs(t, role, tagDef(), map[string]any{"id": s.instance})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "ec2:CreateTags on resource: "+instanceARN(s.instance)+" with an explicit deny in an identity-based policy")
	if tags := tagsOf(t, s.ec2, s.instance); len(tags) != 0 {
		t.Errorf("instance tagged %v despite the explicit deny", tags)
	}
	if ds := denialsOf(t, ex); len(ds) != 1 || !strings.Contains(ds[0].Statement, `"Deny"`) {
		t.Errorf("denials %v: want the Deny statement named", ds)
	}

	// Remove the Deny statement: the same role now tags.
	_, err := iam.NewFromConfig(emu.AWSConfig()).PutRolePolicy(testCtx(t), &iam.PutRolePolicyInput{
		RoleName: aws.String(roleName(role)), PolicyName: aws.String("test-policy"),
		PolicyDocument: aws.String(policy(t, allow("ec2:*", "*"))),
	})
	if err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runAs(t, role, tagDef(), map[string]any{"id": s.instance}))
	if tags := tagsOf(t, s.ec2, s.instance); tags["SecurityIncidentId"] != "inc-1" {
		t.Errorf("tags %v after the Deny was removed", tags)
	}
}

// A statement conditioned on aws:ResourceTag uses the security group's tags
// as moto holds them when the call arrives (SAR, RevokeSecurityGroupEgress:
// security-group* with aws:ResourceTag/${TagKey}): the isolation group loses
// its egress rule, the untagged group keeps it.
func TestIAMResourceTagCondition(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	tagged := s.securityGroup(t, "isolation")
	untagged := s.securityGroup(t, "other")
	if _, err := s.ec2.CreateTags(testCtx(t), &ec2.CreateTagsInput{
		Resources: []string{tagged}, Tags: []ec2types.Tag{{Key: aws.String("essential-ir:purpose"), Value: aws.String("isolation")}},
	}); err != nil {
		t.Fatal(err)
	}
	role := roleWith(t, statement{
		"Effect": "Allow", "Action": "ec2:RevokeSecurityGroupEgress",
		"Resource":  "arn:aws:ec2:*:*:security-group/*",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/essential-ir:purpose": "isolation"}},
	})
	revoke := func(id string) *Execution {
		return runAs(t, role, map[string]any{"StartAt": "Revoke", "States": map[string]any{
			"Revoke": sdk("ec2:revokeSecurityGroupEgress", map[string]any{
				"GroupId": id,
				"IpPermissions": []any{map[string]any{
					"IpProtocol": "-1", "IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0"}},
				}},
			}, ""),
		}}, map[string]any{})
	}
	mustSucceed(t, revoke(tagged))
	ex := revoke(untagged)
	mustFailWith(t, ex, "Ec2.Ec2Exception", "ec2:RevokeSecurityGroupEgress on resource: arn:aws:ec2:"+region+":"+accountID+":security-group/"+untagged)

	out, err := s.ec2.DescribeSecurityGroups(testCtx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{tagged, untagged}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.SecurityGroups {
		n := len(g.IpPermissionsEgress)
		switch aws.ToString(g.GroupId) {
		case tagged:
			if n != 0 {
				t.Errorf("isolation group still has %d egress rules", n)
			}
		case untagged:
			if n != 1 {
				t.Errorf("untagged group has %d egress rules, want its default rule kept", n)
			}
		}
	}
}

// Tags applied by a creating call need ec2:CreateTags with ec2:CreateAction
// set to that call (EC2 User Guide, "Grant permission to tag Amazon EC2
// resources during creation"). A role that allows tagging only on
// CreateSecurityGroup creates a tagged group, and is refused a later
// CreateTags on that group (no ec2:CreateAction then).
func TestIAMCreateActionCondition(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	role := roleWith(t,
		allow("ec2:CreateSecurityGroup", []string{"arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:vpc/*"}),
		statement{
			"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "arn:aws:ec2:*:*:security-group/*",
			"Condition": map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateSecurityGroup"}},
		},
	)
	name := "iam-create-action-" + fmt.Sprint(nameSeq.Add(1))
	def := map[string]any{"StartAt": "Create", "States": map[string]any{
		"Create": func() map[string]any {
			st := sdk("ec2:createSecurityGroup", map[string]any{
				"GroupName": name, "Description": "isolation", "VpcId": s.vpc,
				"TagSpecifications": []any{map[string]any{"ResourceType": "security-group", "Tags": []any{
					map[string]any{"Key": "essential-ir:purpose", "Value": "isolation"},
				}}},
			}, "Retag")
			st["ResultPath"] = "$.Group"
			return st
		}(),
		"Retag": sdk("ec2:createTags", map[string]any{
			"Resources.$": "States.Array($.Group.GroupId)",
			"Tags":        []any{map[string]any{"Key": "essential-ir:purpose", "Value": "untrack"}},
		}, ""),
	}}
	ex := runAs(t, role, def, map[string]any{})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "ec2:CreateTags on resource: arn:aws:ec2:"+region+":"+accountID+":security-group/sg-")

	out, err := s.ec2.DescribeSecurityGroups(testCtx(t), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}},
	})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("group %s: %v %v", name, out, err)
	}
	if tags := tagsOf(t, s.ec2, aws.ToString(out.SecurityGroups[0].GroupId)); tags["essential-ir:purpose"] != "isolation" {
		t.Errorf("group tags %v: want the creation tag kept and the later CreateTags refused", tags)
	}

	// Without the CreateTags statement, creating a tagged group is refused
	// as a whole: no group is created.
	bare := roleWith(t, allow("ec2:CreateSecurityGroup", []string{"arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:vpc/*"}))
	name2 := name + "-b"
	def["States"].(map[string]any)["Create"].(map[string]any)["Parameters"].(map[string]any)["GroupName"] = name2
	ex = runAs(t, bare, def, map[string]any{})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "ec2:CreateTags on resource: arn:aws:ec2:"+region+":"+accountID+":security-group/* because no identity-based policy allows")
	out, err = s.ec2.DescribeSecurityGroups(testCtx(t), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name2}}},
	})
	if err != nil || len(out.SecurityGroups) != 0 {
		t.Errorf("group %s created although its tagging was refused: %v %v", name2, out.SecurityGroups, err)
	}
}

// S3 API reference, HeadObject "Permissions": for a missing object S3
// answers 404 only to a caller with s3:ListBucket on the bucket, 403 (no
// body) otherwise. Step Functions names the 404 S3.NoSuchKeyException (the
// Java SDK's exception for HeadObject's 404) and the bodiless 403
// S3.S3Exception.
func TestIAMHeadObjectMissingKeyNeedsListBucket(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	bucket := strings.ToLower("iam-head-" + fmt.Sprint(nameSeq.Add(1)))
	c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	def := map[string]any{"StartAt": "Head", "States": map[string]any{
		"Head": sdk("s3:headObject", map[string]any{"Bucket": bucket, "Key": "incident/i-1/manifest.json"}, ""),
	}}
	getOnly := roleWith(t, allow("s3:GetObject", "arn:aws:s3:::"+bucket+"/*"))
	ex := runAs(t, getOnly, def, map[string]any{})
	mustFailWith(t, ex, "S3.S3Exception", "Status Code: 403")
	if ds := denialsOf(t, ex); len(ds) != 1 || ds[0].IAMAction != "s3:ListBucket" || ds[0].Code != "AccessDenied" || ds[0].Status != 403 {
		t.Errorf("denials %v", ds)
	}

	withList := roleWith(t, allow("s3:GetObject", "arn:aws:s3:::"+bucket+"/*"), allow("s3:ListBucket", "arn:aws:s3:::"+bucket))
	ex = runAs(t, withList, def, map[string]any{})
	mustFailWith(t, ex, "S3.NoSuchKeyException", "Status Code: 404")
	if ds := denialsOf(t, ex); len(ds) != 0 {
		t.Errorf("denials %v", ds)
	}

	// The object exists: s3:GetObject alone reads it.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("incident/i-1/manifest.json"), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, runAs(t, getOnly, def, map[string]any{}))
}

// On AWS every call of an execution started by another one is authorised
// against the child state machine's role: here the parent's role may tag,
// the child's may not, and the child's tagging is refused. The parent needs
// states:StartExecution on the child (and DescribeExecution for .sync:2).
func TestIAMNestedExecutionUsesTheChildsRole(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	ctx := testCtx(t)
	childRole := roleWith(t, allow("ec2:DescribeInstances", "*"))
	child, err := emu.CreateStateMachineWithRole(ctx, uniqueName(t), asl(t, tagDef()), childRole)
	if err != nil {
		t.Fatal(err)
	}
	childName := child[strings.LastIndex(child, ":")+1:]
	parentRole := roleWith(t,
		allow("states:StartExecution", child),
		allow([]string{"states:DescribeExecution", "states:StopExecution"}, "arn:aws:states:*:*:execution:"+childName+":*"),
		allow("ec2:*", "*"),
	)
	parent := map[string]any{"StartAt": "Child", "States": map[string]any{"Child": map[string]any{
		"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
		"Parameters": map[string]any{"StateMachineArn": child, "Input": map[string]any{"id.$": "$.id"}},
		"End":        true,
	}}}
	ex := runAs(t, parentRole, parent, map[string]any{"id": s.instance})
	mustFailWith(t, ex, "States.TaskFailed", "Ec2.Ec2Exception")
	if tags := tagsOf(t, s.ec2, s.instance); len(tags) != 0 {
		t.Errorf("instance tagged %v by a child whose role may not tag", tags)
	}
	kids, err := emu.Children(ctx, ex.ARN)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v %v", kids, err)
	}
	ds, err := emu.DenialsOf(ctx, kids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Role != childRole || ds[0].IAMAction != "ec2:CreateTags" {
		t.Errorf("child's denials %v: want its CreateTags refused under its own role %s", ds, childRole)
	}
	if ds := denialsOf(t, ex); len(ds) != 0 {
		t.Errorf("parent's denials %v", ds)
	}

	// Without states:StartExecution the parent cannot start the child.
	noStart := roleWith(t, allow("ec2:*", "*"))
	ex = runAs(t, noStart, parent, map[string]any{"id": s.instance})
	mustFailWith(t, ex, "StepFunctions.AccessDeniedException", "states:StartExecution on resource: "+child)
	if kids, _ := emu.Children(ctx, ex.ARN); len(kids) != 0 {
		t.Errorf("children %v started without states:StartExecution", kids)
	}
}

// An API the emulator has no authorisation rule for is refused, even under
// the allow-all role, and reported, so a new call cannot pass unchecked.
func TestIAMUnknownAPIIsDenied(t *testing.T) {
	t.Parallel()
	ex := runDef(t, map[string]any{"StartAt": "Keys", "States": map[string]any{
		"Keys": sdk("ec2:describeKeyPairs", map[string]any{}, ""),
	}}, map[string]any{})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "You are not authorized to perform this operation", "ec2:DescribeKeyPairs")
	ds := denialsOf(t, ex)
	if len(ds) != 1 || !strings.Contains(ds[0].Reason, "no authorisation rule") || ds[0].Role != emu.RoleARN() {
		t.Errorf("denials %v", ds)
	}
}

// S3 User Guide, SSE-KMS: writing an object encrypted with a KMS key needs
// kms:GenerateDataKey on that key, which S3 checks with the caller's
// permissions (the key policy delegates to IAM). Refused, S3 answers 403
// AccessDenied and no object is written.
func TestIAMPutObjectToSSEKMSBucketNeedsGenerateDataKey(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	key, err := kms.NewFromConfig(emu.AWSConfig()).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("evidence")})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	bucket := strings.ToLower("iam-sse-" + fmt.Sprint(nameSeq.Add(1)))
	c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyARN),
			},
			BucketKeyEnabled: aws.Bool(true),
		}}},
	}); err != nil {
		t.Fatal(err)
	}
	def := map[string]any{"StartAt": "Put", "States": map[string]any{
		"Put": sdk("s3:putObject", map[string]any{"Bucket": bucket, "Key": "record.json", "Body": map[string]any{"a": 1}}, ""),
	}}
	noKMS := roleWith(t, allow("s3:PutObject", "arn:aws:s3:::"+bucket+"/*"))
	ex := runAs(t, noKMS, def, map[string]any{})
	// S3's model declares AccessDenied, so the SDK exception is
	// S3.AccessDeniedException (the bodiless HeadObject 403 stays
	// S3.S3Exception).
	mustFailWith(t, ex, "S3.AccessDeniedException", "kms:GenerateDataKey on resource: \""+keyARN+"\" because no identity-based policy allows", "Status Code: 403")
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("record.json")}); err == nil {
		t.Errorf("object written although kms:GenerateDataKey was refused")
	}

	withKMS := roleWith(t, allow("s3:PutObject", "arn:aws:s3:::"+bucket+"/*"), allow("kms:GenerateDataKey", keyARN))
	mustSucceed(t, runAs(t, withKMS, def, map[string]any{}))
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("record.json")}); err != nil {
		t.Errorf("object not written with kms:GenerateDataKey allowed: %v", err)
	}
}

// A state machine whose role does not exist cannot run anything: Step
// Functions cannot assume it, so every call fails.
func TestIAMMissingRoleDeniesEverything(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	missing := fmt.Sprintf("arn:aws:iam::%s:role/iam-test-no-such-role", accountID)
	ex := runAs(t, missing, tagDef(), map[string]any{"id": s.instance})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "You are not authorized to perform this operation")
	ds := denialsOf(t, ex)
	if len(ds) != 1 || ds[0].Action != "DescribeInstances" || !strings.Contains(ds[0].Reason, "does not exist") {
		t.Errorf("denials %v", ds)
	}
}

// SAR ModifyNetworkInterfaceAttribute: network-interface* and, for a Groups
// change, each security-group. A role allowed only on network interfaces
// cannot put the ENI in the isolation group; the ENI keeps its groups.
func TestIAMModifyNetworkInterfaceAuthorisesEachGroup(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	isolation := s.securityGroup(t, "isolation")
	eni := aws.ToString(s.describeInstance(t).NetworkInterfaces[0].NetworkInterfaceId)
	def := map[string]any{"StartAt": "Isolate", "States": map[string]any{
		"Isolate": sdk("ec2:modifyNetworkInterfaceAttribute", map[string]any{
			"NetworkInterfaceId": eni, "Groups": []string{isolation},
		}, ""),
	}}
	eniOnly := roleWith(t, allow("ec2:ModifyNetworkInterfaceAttribute", "arn:aws:ec2:*:*:network-interface/*"))
	ex := runAs(t, eniOnly, def, map[string]any{})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "ec2:ModifyNetworkInterfaceAttribute on resource: arn:aws:ec2:"+region+":"+accountID+":security-group/"+isolation)
	groups := func() []string {
		out, err := s.ec2.DescribeNetworkInterfaces(testCtx(t), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
		if err != nil {
			t.Fatal(err)
		}
		return groupIDs(out.NetworkInterfaces[0].Groups)
	}
	if got := groups(); fmt.Sprint(got) != fmt.Sprint([]string{s.sg}) {
		t.Errorf("ENI groups %v after a refused change, want %v", got, []string{s.sg})
	}
	both := roleWith(t, allow("ec2:ModifyNetworkInterfaceAttribute", []string{
		"arn:aws:ec2:*:*:network-interface/*", "arn:aws:ec2:*:*:security-group/*",
	}))
	mustSucceed(t, runAs(t, both, def, map[string]any{}))
	if got := groups(); fmt.Sprint(got) != fmt.Sprint([]string{isolation}) {
		t.Errorf("ENI groups %v, want %v", got, []string{isolation})
	}
}

// An encrypted snapshot copy with a customer managed key needs, besides
// ec2:CopySnapshot on the source and the new snapshot, the KMS permissions
// of the EBS User Guide ("Permissions for users": kms:CreateGrant,
// kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext,
// kms:ReEncrypt*), which EC2 checks with the caller's permissions; EBS's
// grant carries kms:GrantIsForAWSResource=true.
func TestIAMEncryptedCopySnapshotNeedsTheEBSKMSPermissions(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	ctx := testCtx(t)
	key, err := kms.NewFromConfig(emu.AWSConfig()).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("evidence")})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	vol := aws.ToString(s.describeInstance(t).BlockDeviceMappings[0].Ebs.VolumeId)
	snap, err := s.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(vol)})
	if err != nil {
		t.Fatal(err)
	}
	source := aws.ToString(snap.SnapshotId)
	def := map[string]any{"StartAt": "Copy", "States": map[string]any{
		"Copy": sdk("ec2:copySnapshot", map[string]any{
			"SourceSnapshotId": source, "SourceRegion": region, "Encrypted": true, "KmsKeyId": keyARN,
			"Description": "evidence of " + source,
		}, ""),
	}}
	copies := func() int {
		out, err := s.ec2.DescribeSnapshots(testCtx(t), &ec2.DescribeSnapshotsInput{
			Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{"evidence of " + source}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Snapshots)
	}
	ec2Only := allow("ec2:CopySnapshot", "arn:aws:ec2:*::snapshot/*")
	ex := runAs(t, roleWith(t, ec2Only), def, map[string]any{})
	mustFailWith(t, ex, "Ec2.Ec2Exception", "kms:CreateGrant on resource: "+keyARN)
	if n := copies(); n != 0 {
		t.Errorf("%d copies made although the KMS permissions were refused", n)
	}
	// The grant statement only for AWS resources, as the workflow's role has it.
	grant := statement{
		"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": keyARN,
		"Condition": map[string]any{"Bool": map[string]any{"kms:GrantIsForAWSResource": "true"}},
	}
	use := allow([]string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"}, keyARN)
	mustSucceed(t, runAs(t, roleWith(t, ec2Only, grant, use), def, map[string]any{}))
	if n := copies(); n != 1 {
		t.Errorf("%d copies, want 1", n)
	}
}

// Credential revocation's IAM calls (SAR, IAM): CreatePolicy is authorised
// on the new policy's ARN, path included; AttachRolePolicy on the role, with
// iam:PolicyARN the policy attached; GetPolicyVersion on the policy. A role
// that may create policies only under /essential-ir/ and attach only those
// (ArnLike iam:PolicyARN) is refused a policy elsewhere and the attachment
// of any other policy, and the role it would have changed keeps its
// policies. GetPolicyVersion's Document reaches the state as IAM sends it,
// URL-encoded text (IAM API reference, GetPolicyVersion), not an object.
func TestIAMPolicyPathAndPolicyARNCondition(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	client := iam.NewFromConfig(emu.AWSConfig())
	target := "iam-target-" + uniqueName(t)
	if len(target) > 64 {
		target = target[len(target)-64:]
	}
	if _, err := client.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(target),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	}); err != nil {
		t.Fatal(err)
	}
	path := "/essential-ir/" + strings.ToLower(uniqueName(t)) + "/"
	if len(path) > 120 {
		path = "/essential-ir/" + path[len(path)-100:]
	}
	policyPrefix := arnPrefix + "iam::" + accountID + ":policy/essential-ir/*"
	role := roleWith(t,
		allow([]string{"iam:CreatePolicy", "iam:GetPolicyVersion"}, policyPrefix),
		statement{"Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": arnPrefix + "iam::" + accountID + ":role/*",
			"Condition": map[string]any{"ArnLike": map[string]any{"iam:PolicyARN": policyPrefix}}},
		allow("iam:ListAttachedRolePolicies", arnPrefix+"iam::"+accountID+":role/*"),
	)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"ec2:SourceInstanceARN":["*/i-0123456789abcdef0"]}}}]}`
	create := func(path, next string) map[string]any {
		return sdk("iam:createPolicy", map[string]any{"Path": path, "PolicyName.$": "$.name", "PolicyDocument": doc}, next)
	}
	def := map[string]any{"StartAt": "Create", "States": map[string]any{
		"Create": func() map[string]any {
			st := create(path, "Attach")
			st["ResultSelector"] = map[string]any{"Arn.$": "$.Policy.Arn"}
			st["ResultPath"] = "$.Policy"
			return st
		}(),
		"Attach": func() map[string]any {
			st := sdk("iam:attachRolePolicy", map[string]any{"RoleName.$": "$.role", "PolicyArn.$": "$.Policy.Arn"}, "Read")
			st["ResultPath"] = nil
			return st
		}(),
		"Read": func() map[string]any {
			st := sdk("iam:getPolicyVersion", map[string]any{"PolicyArn.$": "$.Policy.Arn", "VersionId": "v1"}, "List")
			st["ResultSelector"] = map[string]any{"Document.$": "$.PolicyVersion.Document", "IsDefaultVersion.$": "$.PolicyVersion.IsDefaultVersion"}
			st["ResultPath"] = "$.Version"
			return st
		}(),
		"List": func() map[string]any {
			st := sdk("iam:listAttachedRolePolicies", map[string]any{"RoleName.$": "$.role", "PathPrefix": path}, "")
			st["ResultSelector"] = map[string]any{"Arns.$": "$.AttachedPolicies[*].PolicyArn"}
			st["ResultPath"] = "$.Attached"
			return st
		}(),
	}}
	name := "deny-" + strings.ToLower(uniqueName(t))
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	ex := runAs(t, role, def, map[string]any{"name": name, "role": target})
	mustSucceed(t, ex)
	var out struct {
		Policy  struct{ Arn string }
		Version struct {
			Document         any
			IsDefaultVersion bool
		}
		Attached struct{ Arns []string }
	}
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatal(err)
	}
	wantARN := arnPrefix + "iam::" + accountID + ":policy" + path + name
	if out.Policy.Arn != wantARN || len(out.Attached.Arns) != 1 || out.Attached.Arns[0] != wantARN || !out.Version.IsDefaultVersion {
		t.Errorf("output %s: want policy %s created, attached and its v1 the default", ex.Output, wantARN)
	}
	text, ok := out.Version.Document.(string)
	if !ok || !strings.Contains(text, "%22ec2%3ASourceInstanceARN%22") {
		t.Errorf("GetPolicyVersion Document = %#v, want the URL-encoded text IAM sends", out.Version.Document)
	}

	// A policy outside /essential-ir/ is refused; so is attaching any
	// policy whose ARN is not under it (an AWS managed one here).
	outside := map[string]any{"StartAt": "Create", "States": map[string]any{"Create": create("/", "")}}
	ex = runAs(t, role, outside, map[string]any{"name": name + "-x"})
	mustFailWith(t, ex, "Iam.IamException", "iam:CreatePolicy on resource: "+arnPrefix+"iam::"+accountID+":policy/"+name+"-x")
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	attach := map[string]any{"StartAt": "Attach", "States": map[string]any{
		"Attach": sdk("iam:attachRolePolicy", map[string]any{"RoleName.$": "$.role", "PolicyArn": admin}, ""),
	}}
	ex = runAs(t, role, attach, map[string]any{"role": target})
	mustFailWith(t, ex, "Iam.IamException", "iam:AttachRolePolicy on resource: "+arnPrefix+"iam::"+accountID+":role/"+target)
	if ds := denialsOf(t, ex); len(ds) != 1 || ds[0].IAMAction != "iam:AttachRolePolicy" || ds[0].Status != 403 {
		t.Errorf("denials %v", ds)
	}
	listed, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(target)})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.AttachedPolicies) != 1 || aws.ToString(listed.AttachedPolicies[0].PolicyArn) != wantARN {
		t.Errorf("role %s has %d attached policies, want only %s", target, len(listed.AttachedPolicies), wantARN)
	}
}
