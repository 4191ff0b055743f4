package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/cfn"
	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// accountResources resolves the template's references for a deployment:
// Ref from the physical IDs the deployment reports, and each Fn::GetAtt
// read from the account itself (not from the deployment's own values).
type accountResources struct {
	tpl *cfn.Template
	d   *deploy.Deployment
}

// Ref is the resource's physical ID, as deployed.
func (r accountResources) Ref(id string) (string, error) {
	v, ok := r.d.Resources[id]
	if !ok {
		return "", fmt.Errorf("%s was not deployed", id)
	}
	return v, nil
}

// GetAtt reads the attribute from the account.
func (r accountResources) GetAtt(id, attr string) (interface{}, error) {
	ctx := context.Background()
	c := account()
	name, err := r.Ref(id)
	if err != nil {
		return nil, err
	}
	switch typ := r.tpl.Resources[id].Type; typ + "." + attr {
	case "AWS::KMS::Key.Arn":
		k, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return aws.ToString(k.KeyMetadata.Arn), nil
	case "AWS::S3::Bucket.Arn":
		return "arn:aws:s3:::" + name, nil
	case "AWS::IAM::Role.Arn":
		role, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return aws.ToString(role.Role.Arn), nil
	case "AWS::Logs::LogGroup.Arn":
		groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
		if err != nil || len(groups.LogGroups) != 1 {
			return nil, fmt.Errorf("log group %s: %v", name, err)
		}
		arn := aws.ToString(groups.LogGroups[0].Arn)
		if !strings.HasSuffix(arn, ":*") {
			arn += ":*"
		}
		return arn, nil
	case "AWS::StepFunctions::StateMachine.Arn":
		return name, nil
	default:
		return nil, fmt.Errorf("the test cannot read %s.%s (%s)", id, attr, typ)
	}
}

// expected is what the template, with the parameters given, says the
// deployment d is.
func expected(t *testing.T, tpl *synth.Template, params map[string]string, d *deploy.Deployment) state {
	t.Helper()
	parsed, err := cfn.Parse(tpl.JSON)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]string{stack.ParamStateMachineName: d.StackName}
	for k, v := range params {
		named[k] = v
	}
	st, err := cfn.NewStack(parsed, cfn.Options{
		Pseudo:     cfn.Pseudo{Partition: "aws", Region: emu.Region(), AccountID: emu.AccountID(), StackName: d.StackName},
		Parameters: named,
		Resources:  accountResources{tpl: parsed, d: d},
	})
	if err != nil {
		t.Fatal(err)
	}
	props := func(id string) map[string]interface{} {
		t.Helper()
		p, err := st.ResolveProperties(parsed.Resources[id])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := state{Machines: map[string]machineState{}}
	byType := map[string][]string{}
	for _, id := range parsed.ResourceIDs() {
		if created, err := st.Creates(id); err != nil {
			t.Fatal(err)
		} else if created {
			byType[parsed.Resources[id].Type] = append(byType[parsed.Resources[id].Type], id)
		}
	}
	bucketID := logicalID(t, tpl, "AWS::S3::Bucket", stack.BucketID)
	if created, _ := st.Creates(bucketID); created {
		b := expectedBucket(t, props(bucketID))
		for _, id := range byType["AWS::S3::BucketPolicy"] {
			if p := props(id); p["Bucket"] == d.Resources[bucketID] {
				b.Policy = jsonValue(t, p["PolicyDocument"])
			}
		}
		s.Bucket = &b
	}
	keyID := logicalID(t, tpl, "AWS::KMS::Key", stack.KeyID)
	key := props(keyID)
	s.Key = keyState{Description: str(key["Description"]), Rotation: key["EnableKeyRotation"] == true, Policy: jsonValue(t, key["KeyPolicy"])}
	keyARN, err := st.Resolve(map[string]interface{}{"Fn::GetAtt": []interface{}{keyID, "Arn"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range byType["AWS::KMS::Alias"] {
		if p := props(id); p["TargetKeyId"] == keyARN || p["TargetKeyId"] == d.Resources[keyID] {
			s.Key.Aliases = append(s.Key.Aliases, str(p["AliasName"]))
		}
	}
	sort.Strings(s.Key.Aliases)
	roleID := logicalID(t, tpl, "AWS::IAM::Role", stack.RoleID)
	role := props(roleID)
	s.Role = roleState{Description: str(role["Description"]), Trust: jsonValue(t, role["AssumeRolePolicyDocument"]), Inline: map[string]interface{}{}}
	for _, id := range byType["AWS::IAM::Policy"] {
		p := props(id)
		for _, r := range p["Roles"].([]interface{}) {
			if r == d.Resources[roleID] {
				s.Role.Inline[str(p["PolicyName"])] = jsonValue(t, p["PolicyDocument"])
			}
		}
	}
	logs := props(logicalID(t, tpl, "AWS::Logs::LogGroup", stack.LogGroupID))
	s.LogGroup = logGroupState{Retention: int32(number(t, logs["RetentionInDays"])), KmsKeyID: str(logs["KmsKeyId"])}
	for _, construct := range []string{stack.StateMachineID, stack.InstanceStateMachineID} {
		p := props(logicalID(t, tpl, "AWS::StepFunctions::StateMachine", construct))
		m := machineState{Name: str(p["StateMachineName"]), Type: str(p["StateMachineType"]), RoleArn: str(p["RoleArn"]), Definition: parseJSON(t, str(p["DefinitionString"]))}
		if l, ok := p["LoggingConfiguration"].(map[string]interface{}); ok {
			var dest []string
			for _, x := range l["Destinations"].([]interface{}) {
				dest = append(dest, str(x.(map[string]interface{})["CloudWatchLogsLogGroup"].(map[string]interface{})["LogGroupArn"]))
			}
			m.Logging = logging(str(l["Level"]), l["IncludeExecutionData"] == true, dest)
		}
		if tr, ok := p["TracingConfiguration"].(map[string]interface{}); ok {
			m.Tracing = tr["Enabled"] == true
		}
		s.Machines[construct] = m
	}
	return s
}

// expectedBucket is the bucket the resolved properties describe. A bucket
// with Object Lock is versioned whether or not VersioningConfiguration
// says so: S3 turns versioning on with Object Lock.
func expectedBucket(t *testing.T, p map[string]interface{}) bucketState {
	t.Helper()
	var b bucketState
	locked := p["ObjectLockEnabled"] == true
	if v, ok := p["VersioningConfiguration"].(map[string]interface{}); ok {
		b.Versioning = str(v["Status"])
	} else if locked {
		b.Versioning = "Enabled"
	}
	if lock, ok := p["ObjectLockConfiguration"].(map[string]interface{}); ok {
		b.ObjectLock = str(lock["ObjectLockEnabled"])
		if r, ok := lock["Rule"].(map[string]interface{}); ok {
			if d, ok := r["DefaultRetention"].(map[string]interface{}); ok {
				b.DefaultRetention = retention(str(d["Mode"]), int32(number(t, d["Days"])), int32(number(t, d["Years"])))
			}
		}
	} else if locked {
		b.ObjectLock = "Enabled"
	}
	if enc, ok := p["BucketEncryption"].(map[string]interface{}); ok {
		for _, r := range enc["ServerSideEncryptionConfiguration"].([]interface{}) {
			rule := r.(map[string]interface{})
			d, _ := rule["ServerSideEncryptionByDefault"].(map[string]interface{})
			b.Encryption = append(b.Encryption, encryption(str(d["SSEAlgorithm"]), str(d["KMSMasterKeyID"]), rule["BucketKeyEnabled"] == true))
		}
	}
	if pab, ok := p["PublicAccessBlockConfiguration"].(map[string]interface{}); ok {
		b.PublicAccessBlock = publicAccess(pab["BlockPublicAcls"] == true, pab["BlockPublicPolicy"] == true, pab["IgnorePublicAcls"] == true, pab["RestrictPublicBuckets"] == true)
	}
	if own, ok := p["OwnershipControls"].(map[string]interface{}); ok {
		for _, r := range own["Rules"].([]interface{}) {
			b.Ownership = append(b.Ownership, str(r.(map[string]interface{})["ObjectOwnership"]))
		}
	}
	return b
}

// str is a resolved string property ("" if absent).
func str(v interface{}) string {
	s, _ := v.(string)
	return s
}

// number is a resolved numeric property, a number or a numeric string (0 if
// absent).
func number(t *testing.T, v interface{}) float64 {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return 0
	case float64:
		return x
	case string:
		var f float64
		if _, err := fmt.Sscan(x, &f); err != nil {
			t.Fatalf("%q is not a number", x)
		}
		return f
	}
	t.Fatalf("%v is not a number", v)
	return 0
}

// jsonValue is a resolved document property as parsed JSON (a document may
// be given as a string of JSON).
func jsonValue(t *testing.T, v interface{}) interface{} {
	t.Helper()
	if s, ok := v.(string); ok {
		return parseJSON(t, s)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return parseJSON(t, string(raw))
}

// differences lists, field by field, where the account and the template
// disagree.
func differences(account, template state) []string {
	var out []string
	flatA, flatT := flatten(account), flatten(template)
	keys := map[string]bool{}
	for k := range flatA {
		keys[k] = true
	}
	for k := range flatT {
		keys[k] = true
	}
	for k := range keys {
		if flatA[k] != flatT[k] {
			out = append(out, fmt.Sprintf("%s: account %s, template %s", k, shortened(flatA[k]), shortened(flatT[k])))
		}
	}
	sort.Strings(out)
	return out
}

// flatten renders a state as JSON leaves three levels deep
// (Bucket.Policy, Role.Inline.<policy>, Machines.<id>.Definition), so
// differences name the field.
func flatten(s state) map[string]string {
	raw, _ := json.Marshal(s)
	var top interface{}
	_ = json.Unmarshal(raw, &top)
	out := map[string]string{}
	var walk func(prefix string, v interface{}, depth int)
	walk = func(prefix string, v interface{}, depth int) {
		if m, ok := v.(map[string]interface{}); ok && depth < 3 {
			for k, e := range m {
				walk(strings.TrimPrefix(prefix+"."+k, "."), e, depth+1)
			}
			return
		}
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
	walk("", top, 0)
	return out
}

// shortened keeps a difference readable.
func shortened(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
