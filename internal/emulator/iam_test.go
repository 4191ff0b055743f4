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
