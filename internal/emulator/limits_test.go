package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
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

// withLimits sets the quotas and snapshot timing for the rest of the test,
// and AWS's figures after it. Tests that use it must not run in parallel.
func withLimits(t *testing.T, l Limits) {
	t.Helper()
	if err := emu.SetLimits(testCtx(t), l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.ResetLimits(context.Background()); err != nil {
			t.Errorf("ResetLimits: %v", err)
		}
	})
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

// CreateSecurityGroup of a name the VPC has answers AWS's message, "The
// security group '<name>' already exists for VPC '<vpc-id>'" (EC2 API
// reference, "Error codes", InvalidGroup.Duplicate; the wording as AWS
// answered in hashicorp/terraform#15428 and others): with no error code in
// the cause, the message is what tells a workflow the group is there.
func TestSecurityGroupDuplicateMessage(t *testing.T) {
	s := newScene(t)
	name := uniqueName(t)
	if _, err := s.ec2.CreateSecurityGroup(testCtx(t), &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String("first"), VpcId: aws.String(s.vpc),
	}); err != nil {
		t.Fatal(err)
	}
	create := sdk("ec2:createSecurityGroup", map[string]any{"GroupName": name, "Description": "second", "VpcId": s.vpc}, "")
	ex := runDef(t, map[string]any{"StartAt": "Create", "States": map[string]any{"Create": create}}, map[string]any{})
	if ex.Status != "FAILED" || ex.Error != "Ec2.Ec2Exception" {
		t.Fatalf("status %s error %q, want FAILED Ec2.Ec2Exception", ex.Status, ex.Error)
	}
	checkSDKCause(t, ex.Cause, fmt.Sprintf("The security group '%s' already exists for VPC '%s'", name, s.vpc), "Ec2", 400)
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

// passLoop is a workflow of two Pass states that loop for ever, each event
// pair cheap (no ResultPath to parse).
func passLoop() map[string]any {
	return map[string]any{
		"StartAt": "Ping",
		"States": map[string]any{
			"Ping": map[string]any{"Type": "Pass", "ResultPath": nil, "Next": "Pong"},
			"Pong": map[string]any{"Type": "Pass", "ResultPath": nil, "Next": "Ping"},
		},
	}
}

// checkHistoryLimit checks that ex failed at the history limit as on AWS:
// States.Runtime, "The execution reached the maximum number of history
// events (<limit>).", in event number limit, an ExecutionFailed following
// event limit-1, with nothing after it.
func checkHistoryLimit(t *testing.T, ex *Execution, limit int) {
	t.Helper()
	cause := fmt.Sprintf("The execution reached the maximum number of history events (%d).", limit)
	if ex.Status != "FAILED" || ex.Error != "States.Runtime" || ex.Cause != cause {
		t.Fatalf("status %s error %q cause %q, want FAILED States.Runtime %q", ex.Status, ex.Error, ex.Cause, cause)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, err := emu.History(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if len(events) != limit || last.Type != sfntypes.HistoryEventTypeExecutionFailed || last.Id != int64(limit) || last.PreviousEventId != int64(limit-1) {
		t.Fatalf("%d events, last %s id %d after %d; want %d events, the last ExecutionFailed id %d after %d",
			len(events), last.Type, last.Id, last.PreviousEventId, limit, limit, limit-1)
	}
	if d := last.ExecutionFailedEventDetails; d == nil || aws.ToString(d.Error) != "States.Runtime" || aws.ToString(d.Cause) != cause {
		t.Fatalf("ExecutionFailed details %+v", last.ExecutionFailedEventDetails)
	}
}

// An execution whose history would pass the limit fails, with the limit's
// event its ExecutionFailed (Step Functions Developer Guide, "Step Functions
// service quotas": 25,000 events; AWS's error and cause as recorded in
// floci-io/floci#2734). The limit is lowered here so the test is cheap. A
// Catch on States.ALL around the loop (a Parallel's) does not catch it, a
// Map's iterations count, and an execution that ends in its limit-th event
// ends as it would.
func TestHistoryEventLimit(t *testing.T) {
	limit := 40
	withLimits(t, Limits{HistoryEventLimit: &limit})
	checkHistoryLimit(t, runDef(t, passLoop(), map[string]any{}), limit)

	caught := map[string]any{
		"StartAt": "Guarded",
		"States": map[string]any{
			"Guarded": map[string]any{
				"Type":     "Parallel",
				"Branches": []any{passLoop()},
				"Catch":    []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "Next": "Caught"}},
				"End":      true,
			},
			"Caught": map[string]any{"Type": "Succeed"},
		},
	}
	checkHistoryLimit(t, runDef(t, caught, map[string]any{}), limit)

	mapped := map[string]any{
		"StartAt": "Each",
		"States": map[string]any{
			"Each": map[string]any{
				"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
				"ItemProcessor": map[string]any{
					"ProcessorConfig": map[string]any{"Mode": "INLINE"},
					"StartAt":         "A",
					"States": map[string]any{
						"A": map[string]any{"Type": "Pass", "Next": "B"},
						"B": map[string]any{"Type": "Pass", "End": true},
					},
				},
				"End": true,
			},
		},
	}
	// Find how many events 5 iterations make, then make that the limit: 5
	// iterations end in its last event, 6 reach it.
	awsLimit := HistoryEventLimit
	withLimits(t, Limits{HistoryEventLimit: &awsLimit})
	ex := runDef(t, mapped, map[string]any{"items": make([]int, 5)})
	mustSucceed(t, ex)
	events, err := emu.History(testCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	limit = len(events)
	withLimits(t, Limits{HistoryEventLimit: &limit})
	mustSucceed(t, runDef(t, mapped, map[string]any{"items": make([]int, 5)}))
	checkHistoryLimit(t, runDef(t, mapped, map[string]any{"items": make([]int, 6)}), limit)
}

// AWS's own figure, 25,000 events: a Pass loop reaches it in about 15 s.
func TestHistoryEventLimitDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("25,000 events take about 15 s")
	}
	if err := emu.ResetLimits(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	arn, err := emu.CreateStateMachine(ctx, uniqueName(t), asl(t, passLoop()))
	if err != nil {
		t.Fatal(err)
	}
	ex, err := emu.RunExecution(ctx, arn, "{}", 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkHistoryLimit(t, ex, HistoryEventLimit)
}

// A state whose output is larger than 256 KiB fails the execution with
// States.DataLimitExceeded (Step Functions Developer Guide, "Step Functions
// service quotas" and "Handling errors"): a Pass state of 300 KiB fails at
// once, ExecutionFailed right after PassStateEntered, as recorded against
// AWS (LocalStack, test_states_errors.snapshot.json, test_start_large_input).
// 262,144 bytes of JSON pass; one more fails.
func TestPayloadSizeLimit(t *testing.T) {
	pass := func(result any) map[string]any {
		return map[string]any{"StartAt": "Big", "States": map[string]any{"Big": map[string]any{"Type": "Pass", "Result": result, "End": true}}}
	}
	ex := runDef(t, pass(map[string]any{"blob": strings.Repeat("a", 300*1024)}), map[string]any{})
	cause := "The state/task 'Big' returned a result with a size exceeding the maximum number of bytes service limit."
	if ex.Status != "FAILED" || ex.Error != "States.DataLimitExceeded" || ex.Cause != cause {
		t.Fatalf("status %s error %q cause %q, want FAILED States.DataLimitExceeded %q", ex.Status, ex.Error, ex.Cause, cause)
	}
	events, err := emu.History(testCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range events {
		types = append(types, string(ev.Type))
	}
	if got := strings.Join(types, " "); got != "ExecutionStarted PassStateEntered ExecutionFailed" {
		t.Fatalf("history %s, want ExecutionStarted PassStateEntered ExecutionFailed", got)
	}
	// A JSON string of exactly 262,144 bytes, quotes included, is allowed.
	mustSucceed(t, runDef(t, pass(strings.Repeat("a", PayloadSizeLimit-2)), map[string]any{}))
	if ex := runDef(t, pass(strings.Repeat("a", PayloadSizeLimit-1)), map[string]any{}); ex.Error != "States.DataLimitExceeded" {
		t.Fatalf("a payload of 262,145 bytes: status %s error %q, want States.DataLimitExceeded", ex.Status, ex.Error)
	}
}

// A task whose result is over the (lowered) payload limit fails with
// States.DataLimitExceeded, which the task's Catch can catch, even as
// States.ALL: so AWS answered in LocalStack's recordings
// (test_states_errors.snapshot.json,
// test_service_task_lambada_catch_state_all_data_limit_exceeded_on_large_utf8_response).
func TestTaskResultSizeLimit(t *testing.T) {
	s := newScene(t)
	limit := 1024
	withLimits(t, Limits{PayloadSizeLimit: &limit})
	task := sdk("ec2:describeInstances", map[string]any{"InstanceIds.$": "States.Array($.id)"}, "")
	task["Catch"] = []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "ResultPath": "$.failure", "Next": "Caught"}}
	def := map[string]any{"StartAt": "Describe", "States": map[string]any{
		"Describe": task,
		"Caught":   map[string]any{"Type": "Pass", "OutputPath": "$.failure", "End": true},
	}}
	ex := runDef(t, def, map[string]string{"id": s.instance})
	mustSucceed(t, ex)
	var out struct{ Error, Cause string }
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatal(err)
	}
	if out.Error != "States.DataLimitExceeded" || !strings.HasSuffix(out.Cause, "returned a result with a size exceeding the maximum number of bytes service limit.") {
		t.Fatalf("caught %+v, want States.DataLimitExceeded", out)
	}
}

// snapshotWaitDef creates a snapshot of each of two volumes and, in a
// Parallel branch for each, polls it with DescribeSnapshots every 600 s of
// Wait until it is completed.
func snapshotWaitDef() map[string]any {
	branch := func(name, volume string) map[string]any {
		return map[string]any{
			"StartAt": "Snapshot " + name,
			"States": map[string]any{
				"Snapshot " + name: map[string]any{
					"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:createSnapshot",
					"Parameters":     map[string]any{"VolumeId.$": volume, "Description": "forensics " + name},
					"ResultSelector": map[string]any{"id.$": "$.SnapshotId"},
					"Next":           "Poll " + name,
				},
				"Poll " + name: map[string]any{
					"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeSnapshots",
					"Parameters":     map[string]any{"SnapshotIds.$": "States.Array($.id)"},
					"ResultSelector": map[string]any{"state.$": "$.Snapshots[0].State"},
					"ResultPath":     "$.poll", "Next": "Done " + name + "?",
				},
				"Done " + name + "?": map[string]any{
					"Type":    "Choice",
					"Choices": []any{map[string]any{"Variable": "$.poll.state", "StringEquals": "completed", "Next": "Done " + name}},
					"Default": "Wait " + name,
				},
				"Wait " + name: map[string]any{"Type": "Wait", "Seconds": 600, "Next": "Poll " + name},
				"Done " + name: map[string]any{"Type": "Pass", "OutputPath": "$.id", "End": true},
			},
		}
	}
	return map[string]any{
		"StartAt": "Both",
		"States": map[string]any{
			"Both": map[string]any{
				"Type":     "Parallel",
				"Branches": []any{branch("2 TiB", "$.big"), branch("1 GiB", "$.small")},
				"End":      true,
			},
		},
	}
}

// progressSeen returns, for each snapshot, the Progress its CreateSnapshot
// and then each DescribeSnapshots of it answered, in order, from the
// execution's TaskSucceeded events.
func progressSeen(t *testing.T, arn string) map[string][]string {
	t.Helper()
	_, succeeded, _ := taskOutputs(t, arn)
	seen := map[string][]string{}
	for _, text := range succeeded {
		var out struct {
			SnapshotID string `json:"SnapshotId"`
			Progress   string
			Snapshots  []struct {
				SnapshotID string `json:"SnapshotId"`
				Progress   string
			}
		}
		if err := json.Unmarshal([]byte(text), &out); err != nil {
			t.Fatalf("task output %s: %v", text, err)
		}
		if out.SnapshotID != "" {
			seen[out.SnapshotID] = append(seen[out.SnapshotID], out.Progress)
		}
		for _, snap := range out.Snapshots {
			seen[snap.SnapshotID] = append(seen[snap.SnapshotID], snap.Progress)
		}
	}
	return seen
}

// A snapshot takes its volume's size times 10 s of scaled time (about
// 100 MiB/s; EBS snapshots stay pending until their blocks are copied, hours
// for a large first snapshot): a 2 TiB volume's stays pending, its Progress
// rising, for 20,480 s, so the workflow's 600 s Wait loop runs 35 times, in
// history events too, while a 1 GiB one is completed at the first poll after
// one Wait. The scaled clock moves by what the Waits ask for although they
// do not really sleep (time scale 0). A CopySnapshot copy takes its time too.
func TestSnapshotCompletionTime(t *testing.T) {
	s := newScene(t)
	ctx := testCtx(t)
	perGiB := DefaultSnapshotSecondsPerGiB
	withLimits(t, Limits{SnapshotSecondsPerGiB: &perGiB})
	volume := func(size int32) string {
		v, err := s.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String("us-east-1a"), Size: aws.Int32(size)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(v.VolumeId)
	}
	big, small := volume(2048), volume(1)
	if err := emu.ResetDelays(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := emu.ScaledNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ex := runDef(t, snapshotWaitDef(), map[string]string{"big": big, "small": small})
	mustSucceed(t, ex)
	after, err := emu.ScaledNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	needed := 2048 * perGiB
	waits := 35 // the first poll at 0 s, the 36th at 21,000 s >= 20,480 s
	if scaled := after.Sub(before).Seconds(); scaled < float64(waits)*600 {
		t.Errorf("the execution took %.0f s of scaled time, want at least %d s", scaled, waits*600)
	}
	var ids []string
	if err := json.Unmarshal([]byte(ex.Output), &ids); err != nil || len(ids) != 2 {
		t.Fatalf("output %s: want the two snapshot IDs", ex.Output)
	}
	seen := progressSeen(t, ex.ARN)
	bigSeen, smallSeen := seen[ids[0]], seen[ids[1]]
	if len(bigSeen) != waits+2 || bigSeen[0] != "0%" || bigSeen[len(bigSeen)-1] != "100%" {
		t.Fatalf("2 TiB snapshot: Progress %v, want 0%% at creation, %d polls, the last 100%%", bigSeen, waits+1)
	}
	prev := 0
	for i, p := range bigSeen[1 : len(bigSeen)-1] {
		var n int
		if _, err := fmt.Sscanf(p, "%d%%", &n); err != nil || n < prev || n > 99 {
			t.Fatalf("2 TiB snapshot: Progress %v does not rise while pending (poll %d)", bigSeen, i)
		}
		if want := int(float64(i) * 600 / needed * 100); n < want-1 || n > want+1 {
			t.Fatalf("2 TiB snapshot: poll %d at %d s saw %s, want about %d%%", i, i*600, p, want)
		}
		prev = n
	}
	// The scaled clock is the account's: another execution's Wait may
	// move it past the 1 GiB snapshot's 10 s before its first poll, so
	// that poll may already see it completed.
	if len(smallSeen) < 2 || len(smallSeen) > 3 || smallSeen[0] != "0%" || smallSeen[len(smallSeen)-1] != "100%" {
		t.Fatalf("1 GiB snapshot: Progress %v, want 0%% when created, completed by the poll after one Wait", smallSeen)
	}
	delays, err := emu.Delays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, d := range delays {
		count[d.State]++
	}
	if count["Wait 2 TiB"] != waits || count["Wait 1 GiB"] > 1 {
		t.Fatalf("waits %v, want %d of 2 TiB and at most 1 of 1 GiB", count, waits)
	}
	events, err := emu.History(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	entered := 0
	for _, ev := range events {
		if ev.Type == sfntypes.HistoryEventTypeWaitStateEntered && aws.ToString(ev.StateEnteredEventDetails.Name) == "Wait 2 TiB" {
			entered++
		}
	}
	if entered != waits {
		t.Fatalf("%d WaitStateEntered events of the 2 TiB loop, want %d", entered, waits)
	}

	// A copy of the completed 2 TiB snapshot takes as long.
	cp, err := s.ec2.CopySnapshot(ctx, &ec2.CopySnapshotInput{SourceRegion: aws.String("us-east-1"), SourceSnapshotId: aws.String(ids[0]), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	copied, err := s.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{aws.ToString(cp.SnapshotId), ids[0]}})
	if err != nil || len(copied.Snapshots) != 2 {
		t.Fatalf("DescribeSnapshots: %v %+v", err, copied)
	}
	for _, snap := range copied.Snapshots {
		want := ec2types.SnapshotStateCompleted
		if aws.ToString(snap.SnapshotId) == aws.ToString(cp.SnapshotId) {
			want = ec2types.SnapshotStatePending
		}
		if snap.State != want {
			t.Errorf("snapshot %s is %s, want %s (the source completed, its copy pending)", aws.ToString(snap.SnapshotId), snap.State, want)
		}
	}
}

// aws-sdk results name their members as Step Functions does, after the AWS
// SDK for Java v2 (evidence in aws_limits.py, patch_aws_sdk_member_names):
// S3 PutObject's SSEKMSKeyId is SsekmsKeyId, ETag and ChecksumSHA256 stay,
// classic ELB's DNSName and VPCId are DnsName and VpcId, Step Functions'
// camelCase stateMachineArn is StateMachineArn; map keys (S3 Metadata) are
// data and stay as they are.
func TestAwsSdkMemberNames(t *testing.T) {
	s := newScene(t)
	bucket := strings.ToLower(strings.ReplaceAll(uniqueName(t), "_", "-"))
	// SSE-KMS with a key that exists: S3 refuses a key it cannot use.
	key, err := kms.NewFromConfig(emu.AWSConfig()).CreateKey(testCtx(t), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	put := sdk("s3:createBucket", map[string]any{"Bucket": bucket}, "Put")
	put["ResultPath"] = nil
	def := map[string]any{
		"StartAt": "Bucket",
		"States": map[string]any{
			"Bucket": put,
			"Put": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
				"Parameters": map[string]any{
					"Bucket": bucket, "Key": "record.json", "Body": map[string]any{"instance": "i-1"},
					"ChecksumAlgorithm": "SHA256", "ServerSideEncryption": "aws:kms",
					"SsekmsKeyId": keyARN, "Metadata": map[string]any{"incident": "ir-1"},
				},
				"ResultPath": "$.put", "Next": "Head",
			},
			"Head": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:headObject",
				"Parameters": map[string]any{"Bucket": bucket, "Key": "record.json", "ChecksumMode": "ENABLED"},
				"ResultPath": "$.head", "Next": "Balancers",
			},
			"Balancers": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:elasticloadbalancing:describeLoadBalancers",
				"Parameters": map[string]any{}, "ResultPath": "$.elb", "Next": "Machines",
			},
			"Machines": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:listStateMachines",
				"Parameters": map[string]any{"MaxResults": 1}, "ResultPath": "$.sfn", "End": true,
			},
		},
	}
	lb := strings.ReplaceAll(uniqueName(t), "_", "-")
	if len(lb) > 32 {
		lb = lb[len(lb)-32:]
	}
	lb = strings.Trim(lb, "-")
	createClassicELB(t, lb, s.subnet)
	ex := runDef(t, def, map[string]any{})
	mustSucceed(t, ex)
	var out struct {
		Put  map[string]any
		Head map[string]any
		Elb  struct{ LoadBalancerDescriptions []map[string]any }
		Sfn  struct{ StateMachines []map[string]any }
	}
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ETag", "ChecksumSHA256", "ServerSideEncryption", "SsekmsKeyId"} {
		if _, ok := out.Put[want]; !ok {
			t.Errorf("putObject result %v has no %s", out.Put, want)
		}
		if _, ok := out.Head[want]; !ok {
			t.Errorf("headObject result %v has no %s", out.Head, want)
		}
	}
	for _, gone := range []string{"SSEKMSKeyId", "ChecksumSha256", "Etag"} {
		if _, ok := out.Put[gone]; ok {
			t.Errorf("putObject result %v has %s", out.Put, gone)
		}
	}
	if md, _ := out.Head["Metadata"].(map[string]any); md["incident"] != "ir-1" {
		t.Errorf("headObject Metadata %v, want its key as written: {incident: ir-1}", out.Head["Metadata"])
	}
	var found map[string]any
	for _, d := range out.Elb.LoadBalancerDescriptions {
		if d["LoadBalancerName"] == lb {
			found = d
		}
	}
	if found == nil || found["DnsName"] == nil || found["VpcId"] != s.vpc || found["DNSName"] != nil || found["VPCId"] != nil {
		t.Errorf("classic load balancer %v: want DnsName and VpcId (not DNSName, VPCId)", found)
	}
	if len(out.Sfn.StateMachines) != 1 || out.Sfn.StateMachines[0]["StateMachineArn"] == nil {
		t.Errorf("listStateMachines %v: want StateMachineArn (botocore: stateMachineArn)", out.Sfn.StateMachines)
	}
}

// createClassicELB creates a classic load balancer in subnet.
func createClassicELB(t *testing.T, name, subnet string) {
	t.Helper()
	c := elb.NewFromConfig(emu.AWSConfig())
	if _, err := c.CreateLoadBalancer(testCtx(t), &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String(name),
		Listeners:        []elbtypes.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstancePort: aws.Int32(80)}},
		Subnets:          []string{subnet},
	}); err != nil {
		t.Fatalf("CreateLoadBalancer: %v", err)
	}
}

// A States.Runtime error (here a Parameters path that selects nothing) ends
// the execution even inside a Parallel branch whose Parallel catches
// States.ALL, and the branch beside it does not go on: Step Functions
// Developer Guide, "Error handling in Step Functions": "A retry or catch on
// States.ALL won't catch States.Runtime errors."
func TestRuntimeErrorIsNotCaught(t *testing.T) {
	def := map[string]any{
		"StartAt": "Both",
		"States": map[string]any{
			"Both": map[string]any{
				"Type": "Parallel",
				"Branches": []any{
					map[string]any{"StartAt": "Missing", "States": map[string]any{
						"Missing": map[string]any{"Type": "Pass", "Parameters": map[string]any{"x.$": "$.no.such.field"}, "End": true},
					}},
					map[string]any{"StartAt": "Slow", "States": map[string]any{
						"Slow":  map[string]any{"Type": "Wait", "Seconds": 1, "Next": "After"},
						"After": map[string]any{"Type": "Pass", "End": true},
					}},
				},
				"Retry": []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "MaxAttempts": 2}},
				"Catch": []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "Next": "Caught"}},
				"End":   true,
			},
			"Caught": map[string]any{"Type": "Succeed"},
		},
	}
	ex := runDef(t, def, map[string]any{})
	if ex.Status != "FAILED" || ex.Error != "States.Runtime" {
		t.Fatalf("execution %s: status %s error %q cause %q; want FAILED States.Runtime", ex.ARN, ex.Status, ex.Error, ex.Cause)
	}
	events, err := emu.History(testCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "Caught" {
			t.Error("the catch on States.ALL caught a States.Runtime error")
		}
	}
}
