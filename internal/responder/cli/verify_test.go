package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/responder/deployment"
)

// templateActions are the IAM actions of the template's policies, lower
// case, by policy logical ID, for the policies a default deployment has
// (the Elastic IP release's is off by default).
func templateActions(t *testing.T, all bool) map[string][]string {
	t.Helper()
	ids, bodies := template.ResourcesOfType("AWS::IAM::Policy")
	out := map[string][]string{}
	for i, body := range bodies {
		if c, ok := body["Condition"].(string); ok && !all && strings.HasPrefix(c, "DisassociateElasticIps") {
			continue
		}
		props := body["Properties"].(map[string]interface{})
		doc := props["PolicyDocument"].(map[string]interface{})
		for _, s := range doc["Statement"].([]interface{}) {
			st := s.(map[string]interface{})
			if st["Effect"] != "Allow" {
				continue
			}
			switch a := st["Action"].(type) {
			case string:
				out[ids[i]] = append(out[ids[i]], strings.ToLower(a))
			case []interface{}:
				for _, x := range a {
					out[ids[i]] = append(out[ids[i]], strings.ToLower(x.(string)))
				}
			}
		}
	}
	return out
}

// The actions the check derives from the deployed definitions are the
// ones the stack's role is given: the derivation and the stack agree.
func TestRequiredActionsAreTheStacksActions(t *testing.T) {
	granted := map[string]bool{}
	for _, actions := range templateActions(t, true) {
		for _, a := range actions {
			granted[a] = true
		}
	}
	for _, def := range []string{deployed.Definition, deployed.InstanceDefinition} {
		actions, err := deployment.RequiredActions(def)
		if err != nil {
			t.Fatal(err)
		}
		if len(actions) < 10 {
			t.Fatalf("only %d actions derived: %v", len(actions), actions)
		}
		for _, a := range actions {
			if !granted[a] {
				t.Errorf("the definition needs %s, which no policy of the stack grants: the derivation is wrong", a)
			}
		}
	}
}

// goodDeployment deploys a second pair of state machines and gives them
// what the stack gives its own: a role trusted by Step Functions with the
// template's policies, and a log group they log to.
func goodDeployment(t *testing.T, name string) (*deploy.Deployment, string, string) {
	t.Helper()
	ctx := context.Background()
	cfg := emu.AWSConfig()
	d, err := deploy.Deploy(ctx, emu, template, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	role := name + "-role"
	trust := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}`
	ic := iam.NewFromConfig(cfg)
	created, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	for id, actions := range templateActions(t, false) {
		doc, _ := json.Marshal(map[string]interface{}{"Version": "2012-10-17", "Statement": []interface{}{
			map[string]interface{}{"Effect": "Allow", "Action": actions, "Resource": "*"}}})
		if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(id), PolicyDocument: aws.String(string(doc))}); err != nil {
			t.Fatal(err)
		}
	}
	group := "/essential-ir/" + name
	if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	groupARN := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", emu.Region(), emu.AccountID(), group)
	for _, m := range []string{d.StateMachineARN, d.InstanceStateMachineARN} {
		if _, err := sfn.NewFromConfig(cfg).UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
			StateMachineArn: aws.String(m), RoleArn: created.Role.Arn,
			LoggingConfiguration: &sfntypes.LoggingConfiguration{Level: sfntypes.LogLevelAll, IncludeExecutionData: true,
				Destinations: []sfntypes.LogDestination{{CloudWatchLogsLogGroup: &sfntypes.CloudWatchLogsLogGroup{LogGroupArn: aws.String(groupARN)}}}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return d, role, group
}

// failed returns the names of the failed checks in the command's JSON.
func failed(t *testing.T, r result) []string {
	t.Helper()
	var res deployment.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("not the check's JSON: %v", err)
	}
	var names []string
	for _, c := range res.Failures() {
		names = append(names, c.Name)
	}
	return names
}

func TestVerifyDeployment(t *testing.T) {
	ctx := context.Background()
	cfg := emu.AWSConfig()
	d, role, group := goodDeployment(t, "essential-ir-verify")
	flags := []string{"verify-deployment", "--state-machine", d.StateMachineARN, "--bucket", d.Bucket}

	r := essentialIR(t, flags...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "Deployment ready") {
		t.Fatalf("a good deployment: exit %d", r.code)
	}
	var res deployment.Result
	r = essentialIR(t, append(flags, "--output", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.InstanceStateMachineARN != d.InstanceStateMachineARN || res.Bucket != d.Bucket || !strings.HasSuffix(res.RoleARN, "/"+role) || len(res.LogGroups) != 1 {
		t.Errorf("what was checked: %+v", res)
	}
	names := map[string]string{}
	for _, c := range res.Checks {
		names[c.Name] = c.Status
		if c.Name == "bucket Object Lock" && !strings.HasSuffix(c.Detail, "default retention GOVERNANCE for 365 days") {
			t.Errorf("Object Lock: %s", c.Detail)
		}
	}
	for _, want := range []string{"state machine", "instance state machine", "role trust", "role policies", "bucket versioning", "bucket Object Lock", "bucket encryption"} {
		if names[want] != deployment.StatusOK {
			t.Errorf("check %q: %q, want OK", want, names[want])
		}
	}
	if names["optional steps"] != deployment.StatusWarn {
		t.Error("the Elastic IP release's permission, off by default, is not a warning")
	}

	// Through a stack's outputs, the bucket included.
	stack := "EssentialIrVerify"
	tpl := fmt.Sprintf(`{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
		"Outputs": {"StateMachineArn": {"Value": %q}, "EvidenceBucket": {"Value": %q}}}`, d.StateMachineARN, d.Bucket)
	if _, err := cloudformation.NewFromConfig(cfg).CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(stack), TemplateBody: aws.String(tpl)}); err != nil {
		t.Fatal(err)
	}
	if r := essentialIR(t, "verify-deployment", "--stack", stack); r.code != ExitOK {
		t.Errorf("through the stack: exit %d", r.code)
	}

	// Each thing removed fails the check, named.
	ic := iam.NewFromConfig(cfg)
	policies, err := ic.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range policies.PolicyNames {
		if strings.HasPrefix(p, "ContainmentPolicy") {
			if _, err := ic.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(p)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r = essentialIR(t, flags...)
	if r.code != ExitAttention || !strings.Contains(r.stdout, "FAIL  role policies") || !strings.Contains(r.stdout, "ec2:modifynetworkinterfaceattribute") {
		t.Errorf("without the containment policy: exit %d", r.code)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	r = essentialIR(t, append(flags, "--output", "json")...)
	if got := strings.Join(failed(t, r), ", "); r.code != ExitAttention ||
		got != "role policies, log group (essential-ir-verify), log group (essential-ir-verify-instance)" {
		t.Errorf("without the policy and the log group: exit %d, failed %s", r.code, got)
	}

	// A bucket without versioning or Object Lock.
	plain := "essential-ir-plain-" + strings.ToLower(incidentID(t)[len(incidentID(t))-6:])
	if _, err := s3Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(plain)}); err != nil {
		t.Fatal(err)
	}
	r = essentialIR(t, "verify-deployment", "--output", "json", "--state-machine", d.StateMachineARN, "--bucket", plain)
	got := strings.Join(failed(t, r), ", ")
	for _, want := range []string{"evidence bucket", "bucket versioning", "bucket Object Lock"} {
		if !strings.Contains(got, want) {
			t.Errorf("a plain bucket: %q not failed (failed: %s)", want, got)
		}
	}
}
