package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// sdkCause is an aws-sdk error cause as AWS gives it: the AWS SDK for Java
// v2 message, "<message> (Service: Ec2, Status Code: 400, Request ID:
// <id>)", with no error code in it.
var sdkCause = regexp.MustCompile(`^(.*) \(Service: ([A-Za-z0-9]+), Status Code: (\d+), Request ID: [^,()]+(, Extended Request ID: [^,()]+)?\)$`)

// checkSDKCause fails unless cause is "<message> (Service: <service>,
// Status Code: <status>, Request ID: <id>)".
func checkSDKCause(t *testing.T, cause, message, service string, status int) {
	t.Helper()
	m := sdkCause.FindStringSubmatch(cause)
	if m == nil || m[1] != message || m[2] != service || m[3] != fmt.Sprint(status) {
		t.Fatalf("cause %q, want %q (Service: %s, Status Code: %d, Request ID: <id>)", cause, message, service, status)
	}
	if strings.Contains(cause, "Error Code") {
		t.Fatalf("cause %q names an error code; AWS's does not", cause)
	}
}

// launch runs one more instance in the scene's subnet.
func (s *scene) launch(t *testing.T, image string, market *ec2types.InstanceMarketOptionsRequest) ec2types.Instance {
	t.Helper()
	out, err := s.ec2.RunInstances(testCtx(t), &ec2.RunInstancesInput{
		ImageId:               aws.String(image),
		InstanceType:          ec2types.InstanceTypeT3Micro,
		MinCount:              aws.Int32(1),
		MaxCount:              aws.Int32(1),
		SubnetId:              aws.String(s.subnet),
		SecurityGroupIds:      []string{s.sg},
		InstanceMarketOptions: market,
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	return out.Instances[0]
}

var spot = &ec2types.InstanceMarketOptionsRequest{MarketType: ec2types.MarketTypeSpot}

// protect is a workflow that sets one protection attribute of $.id, as the
// containment workflow does, and records any failure as its output.
func protect(attribute string) map[string]any {
	task := sdk("ec2:modifyInstanceAttribute", map[string]any{
		"InstanceId.$": "$.id",
		attribute:      map[string]any{"Value": true},
	}, "")
	task["Catch"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "ResultPath": "$.failure", "Next": "Refused"}}
	return map[string]any{
		"StartAt": "Protect",
		"States": map[string]any{
			"Protect": task,
			"Refused": map[string]any{"Type": "Pass", "OutputPath": "$.failure", "End": true},
		},
	}
}

// refusal runs protect(attribute) on instance and returns the error and
// cause it caught ("" if the call succeeded).
func refusal(t *testing.T, attribute, instance string) (errName, cause string) {
	t.Helper()
	ex := runDef(t, protect(attribute), map[string]string{"id": instance})
	mustSucceed(t, ex)
	var out struct{ Error, Cause string }
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %s: %v", ex.Output, err)
	}
	return out.Error, out.Cause
}

// protection reads one of the instance's protection attributes.
func (s *scene) protection(t *testing.T, instance string, attr ec2types.InstanceAttributeName) bool {
	t.Helper()
	out, err := s.ec2.DescribeInstanceAttribute(testCtx(t), &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(instance), Attribute: attr,
	})
	if err != nil {
		t.Fatalf("DescribeInstanceAttribute %s: %v", attr, err)
	}
	v := out.DisableApiTermination
	if attr == ec2types.InstanceAttributeNameDisableApiStop {
		v = out.DisableApiStop
	}
	return v != nil && aws.ToBool(v.Value)
}

// EC2 refuses termination protection for a Spot Instance (EC2 User Guide,
// "Enable termination protection": "You can't enable termination
// protection for Spot Instances"), with UnsupportedOperation "Modifying
// 'disableApiTermination' is not supported for spot instances." (as AWS
// answered in cloud-custodian#2083 and terraform-provider-aws#41206), and
// the attribute stays false. An On-Demand instance takes it.
func TestSpotTerminationProtectionRefused(t *testing.T) {
	s := newScene(t)
	inst := s.launch(t, "ami-12c6146b", spot)
	id := aws.ToString(inst.InstanceId)
	if inst.InstanceLifecycle != ec2types.InstanceLifecycleTypeSpot {
		t.Fatalf("InstanceLifecycle %q, want spot", inst.InstanceLifecycle)
	}
	errName, cause := refusal(t, "DisableApiTermination", id)
	if errName != "Ec2.Ec2Exception" {
		t.Fatalf("error %q, want Ec2.Ec2Exception", errName)
	}
	checkSDKCause(t, cause, "Modifying 'disableApiTermination' is not supported for spot instances.", "Ec2", 400)
	if s.protection(t, id, ec2types.InstanceAttributeNameDisableApiTermination) {
		t.Fatal("termination protection is on after the refusal")
	}
	// The API answers UnsupportedOperation (the code the cause leaves out).
	_, err := s.ec2.ModifyInstanceAttribute(testCtx(t), &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)},
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnsupportedOperation" {
		t.Fatalf("turning it off: %v, want UnsupportedOperation (any value is refused)", err)
	}
	if errName, cause := refusal(t, "DisableApiTermination", s.instance); errName != "" {
		t.Fatalf("On-Demand instance refused: %s %s", errName, cause)
	}
	if !s.protection(t, s.instance, ec2types.InstanceAttributeNameDisableApiTermination) {
		t.Fatal("termination protection of the On-Demand instance is off")
	}
}

// EC2 refuses stop protection for a Spot Instance and for an instance-store-
// backed instance (EC2 User Guide, "Enable stop protection": "You can't
// enable stop protection for instance store-backed instances" and "... for
// Spot Instances"); the attribute stays false. An instance-store-backed
// instance reports RootDeviceType instance-store and has no EBS root volume,
// and it can still be protected from termination.
func TestStopProtectionRefused(t *testing.T) {
	s := newScene(t)
	spotID := aws.ToString(s.launch(t, "ami-12c6146b", spot).InstanceId)
	store := s.launch(t, InstanceStoreAMI, nil)
	storeID := aws.ToString(store.InstanceId)
	if store.RootDeviceType != ec2types.DeviceTypeInstanceStore || len(store.BlockDeviceMappings) != 0 {
		t.Fatalf("RootDeviceType %q with %d block devices, want instance-store and none", store.RootDeviceType, len(store.BlockDeviceMappings))
	}
	for _, c := range []struct{ id, kind string }{{spotID, "spot instances"}, {storeID, "instance store-backed instances"}} {
		errName, cause := refusal(t, "DisableApiStop", c.id)
		if errName != "Ec2.Ec2Exception" {
			t.Fatalf("%s: error %q, want Ec2.Ec2Exception", c.kind, errName)
		}
		checkSDKCause(t, cause, "Modifying 'disableApiStop' is not supported for "+c.kind+".", "Ec2", 400)
		if s.protection(t, c.id, ec2types.InstanceAttributeNameDisableApiStop) {
			t.Fatalf("%s: stop protection is on after the refusal", c.kind)
		}
	}
	if errName, cause := refusal(t, "DisableApiTermination", storeID); errName != "" {
		t.Fatalf("termination protection of the instance-store-backed instance refused: %s %s", errName, cause)
	}
	if errName, cause := refusal(t, "DisableApiStop", s.instance); errName != "" {
		t.Fatalf("stop protection of the EBS-backed On-Demand instance refused: %s %s", errName, cause)
	}
	// StopInstances refuses it too (EC2 API reference, StopInstances).
	_, err := s.ec2.StopInstances(testCtx(t), &ec2.StopInstancesInput{InstanceIds: []string{storeID}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnsupportedOperation" ||
		!strings.Contains(apiErr.ErrorMessage(), "does not have an 'ebs' root device type") {
		t.Fatalf("StopInstances of the instance-store-backed instance: %v, want UnsupportedOperation", err)
	}
}

// policyOf is a policy document whose size as IAM counts it (whitespace
// excluded) is exactly size characters, written with whitespace.
func policyOf(t *testing.T, size int) string {
	t.Helper()
	doc := func(sid string) string {
		return fmt.Sprintf("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"%s\", \"Effect\": \"Deny\", \"Action\": \"ec2:*\", \"Resource\": \"*\"}\n  ]\n}", sid)
	}
	empty := len(strings.Join(strings.Fields(doc("")), ""))
	if size < empty {
		t.Fatalf("a policy cannot be shorter than %d", empty)
	}
	return doc(strings.Repeat("s", size-empty))
}

// A role's inline policies together hold at most 10,240 characters,
// whitespace excluded (IAM User Guide, "IAM and AWS STS quotas"):
// PutRolePolicy past it fails with LimitExceeded (HTTP 409), "Maximum policy
// size of 10240 bytes exceeded for role <name>", which the workflow sees as
// Iam.LimitExceededException, and the role's policies stay as they were.
// Replacing a policy counts it once.
func TestInlinePolicyQuota(t *testing.T) {
	ctx := testCtx(t)
	c := iam.NewFromConfig(emu.AWSConfig())
	role := uniqueName(t)
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(role),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	}); err != nil {
		t.Fatal(err)
	}
	put := func(name string, size int) *Execution {
		t.Helper()
		task := sdk("iam:putRolePolicy", map[string]any{
			"RoleName": role, "PolicyName": name, "PolicyDocument": policyOf(t, size),
		}, "")
		return runDef(t, map[string]any{"StartAt": "Put", "States": map[string]any{"Put": task}}, map[string]any{})
	}
	// 10,240 characters in all: accepted, although the documents with their
	// whitespace are longer.
	mustSucceed(t, put("deny-1", 5000))
	mustSucceed(t, put("deny-2", 5240))
	mustSucceed(t, put("deny-2", 5240)) // the same policy again
	ex := put("deny-3", 200)
	if ex.Status != "FAILED" || ex.Error != "Iam.LimitExceededException" {
		t.Fatalf("status %s error %q, want FAILED Iam.LimitExceededException", ex.Status, ex.Error)
	}
	checkSDKCause(t, ex.Cause, "Maximum policy size of 10240 bytes exceeded for role "+role, "Iam", 409)
	ex = put("deny-2", 5241)
	if ex.Status != "FAILED" || ex.Error != "Iam.LimitExceededException" {
		t.Fatalf("growing a policy past the quota: status %s error %q, want FAILED Iam.LimitExceededException", ex.Status, ex.Error)
	}
	names, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names.PolicyNames) != "[deny-1 deny-2]" {
		t.Fatalf("role policies %v, want [deny-1 deny-2]", names.PolicyNames)
	}
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("deny-2")})
	if err != nil {
		t.Fatal(err)
	}
	if doc := aws.ToString(got.PolicyDocument); !strings.Contains(doc, strings.Repeat("s", 5000)) || strings.Contains(doc, strings.Repeat("s", 5200)) {
		t.Fatalf("deny-2 was changed by the refused PutRolePolicy")
	}
}

// Managed policies: a document holds at most 6,144 characters, whitespace
// excluded, and a role takes at most 10 of them (IAM User Guide, "IAM and
// AWS STS quotas"); past either, LimitExceeded (HTTP 409) "Cannot exceed
// quota for PolicySize: 6144" / "... PoliciesPerRole: 10".
func TestManagedPolicyQuotas(t *testing.T) {
	ctx := testCtx(t)
	c := iam.NewFromConfig(emu.AWSConfig())
	name := uniqueName(t)
	limitExceeded := func(err error, message string) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "LimitExceeded" || apiErr.ErrorMessage() != message {
			t.Fatalf("%v, want LimitExceeded %q", err, message)
		}
	}
	_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name + "-big"), PolicyDocument: aws.String(policyOf(t, 6145))})
	limitExceeded(err, "Cannot exceed quota for PolicySize: 6144")
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	var arns []string
	for i := 0; i < 11; i++ {
		policy := fmt.Sprintf("%s-%d", name, i)
		_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(policy), PolicyDocument: aws.String(policyOf(t, 6144))})
		var exists *iamtypes.EntityAlreadyExistsException
		if err != nil && !errors.As(err, &exists) { // a retried call finds its first attempt's policy
			t.Fatalf("CreatePolicy of 6,144 characters: %v", err)
		}
		arns = append(arns, fmt.Sprintf("arn:aws:iam::%s:policy/%s", emu.AccountID(), policy))
	}
	for i, arn := range arns {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)})
		if i < 10 && err != nil {
			t.Fatalf("attaching policy %d: %v", i+1, err)
		}
		if i == 10 {
			limitExceeded(err, "Cannot exceed quota for PoliciesPerRole: 10")
		}
	}
	// Attaching one that is attached already changes nothing and succeeds.
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arns[0])}); err != nil {
		t.Fatalf("attaching an attached policy again: %v", err)
	}
}
