package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Tests that touch the emulator's global state (faults, calls, delays, config)
// run sequentially (no t.Parallel); Go runs them before the parallel ones.

// AWS runs any number of executions, named or not (unnamed ones get a UUID);
// moto 5.2.1 fails the 2nd (deepcopy of the backend, moto #10077) and names
// unnamed executions "None".
func TestTwoExecutionsInARow(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	def := map[string]any{"StartAt": "P", "States": map[string]any{"P": map[string]any{"Type": "Pass", "End": true}}}
	arnA, err := emu.CreateStateMachine(ctx, uniqueName(t), asl(t, def))
	if err != nil {
		t.Fatal(err)
	}
	arnB, err := emu.CreateStateMachine(ctx, uniqueName(t), asl(t, def))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, sm := range []string{arnA, arnA, arnB} {
		ex, err := emu.RunExecution(ctx, sm, fmt.Sprintf(`{"n":%d}`, i), 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		mustSucceed(t, ex)
		if seen[ex.ARN] {
			t.Fatalf("execution ARN %s reused", ex.ARN)
		}
		seen[ex.ARN] = true
		name := ex.ARN[strings.LastIndex(ex.ARN, ":")+1:]
		if name == "None" || len(name) != 36 {
			t.Errorf("unnamed execution got name %q, want a UUID", name)
		}
		if ex.Output != fmt.Sprintf(`{"n":%d}`, i) {
			t.Errorf("output %s", ex.Output)
		}
	}
}

// A definite JSONPath yields the value itself; an indefinite one a list (AWS
// JSONPath semantics). Also: a string output is JSON-encoded.
func TestJSONPathDefiniteAndIndefinite(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	def := map[string]any{
		"StartAt": "Describe",
		"States": map[string]any{
			"Describe": sdk("ec2:describeInstances", map[string]any{"InstanceIds.$": "States.Array($.id)"}, "Shape"),
			"Shape": map[string]any{
				"Type": "Pass",
				"Parameters": map[string]any{
					"id.$":    "$.Reservations[0].Instances[0].InstanceId",
					"ids.$":   "$.Reservations[*].Instances[*].InstanceId",
					"deep.$":  "$..InstanceId",
					"count.$": "$.Reservations.length()",
				},
				"Next": "Pick",
			},
			"Pick": map[string]any{"Type": "Pass", "InputPath": "$.id", "End": true},
		},
	}
	ex := runDef(t, def, map[string]string{"id": s.instance})
	mustSucceed(t, ex)
	var out string
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %q is not a JSON string: %v", ex.Output, err)
	}
	if out != s.instance {
		t.Fatalf("output %q, want %q", out, s.instance)
	}
	events, err := emu.History(testCtx(t), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	var shaped string
	for _, ev := range events {
		if d := ev.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Shape" {
			shaped = aws.ToString(d.Output)
		}
	}
	var got struct {
		ID    string   `json:"id"`
		IDs   []string `json:"ids"`
		Deep  []string `json:"deep"`
		Count int      `json:"count"`
	}
	if err := json.Unmarshal([]byte(shaped), &got); err != nil {
		t.Fatalf("Shape output %q: %v", shaped, err)
	}
	if got.ID != s.instance || len(got.IDs) != 1 || got.IDs[0] != s.instance || len(got.Deep) != 1 || got.Count != 1 {
		t.Fatalf("Shape output %s", shaped)
	}
}

// Timestamps in task results are ISO-8601 strings in state data, and
// DescribeExecution works; $$.Execution.StartTime is a string too.
func TestTimestampsAreISO8601(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	def := map[string]any{
		"StartAt": "Describe",
		"States": map[string]any{
			"Describe": map[string]any{
				"Type":       "Task",
				"Resource":   "arn:aws:states:::aws-sdk:ec2:describeInstances",
				"Parameters": map[string]any{"InstanceIds.$": "States.Array($.id)"},
				"ResultSelector": map[string]any{
					"launch.$":  "$.Reservations[0].Instances[0].LaunchTime",
					"started.$": "$$.Execution.StartTime",
					"entered.$": "$$.State.EnteredTime",
					"msg.$":     "States.Format('started {}', $$.Execution.StartTime)",
				},
				"End": true,
			},
		},
	}
	ex := runDef(t, def, map[string]string{"id": s.instance})
	mustSucceed(t, ex)
	var out struct{ Launch, Started, Entered, Msg string }
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("output %q: %v", ex.Output, err)
	}
	for _, v := range []string{out.Launch, out.Started, out.Entered} {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil || !strings.HasSuffix(v, "Z") {
			t.Errorf("timestamp %q is not ISO-8601 UTC: %v", v, err)
		}
	}
	if out.Msg != "started "+out.Started {
		t.Errorf("States.Format gave %q", out.Msg)
	}
}

// aws-sdk:elasticloadbalancingv2 is the ASL name of boto3's elbv2.
func TestELBv2DeregisterTargets(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	ctx := testCtx(t)
	lb := elbv2.NewFromConfig(emu.AWSConfig())
	tg, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:     aws.String(fmt.Sprintf("tg-%d", nameSeq.Add(1))),
		Protocol: elbv2types.ProtocolEnumHttp,
		Port:     aws.Int32(80),
		VpcId:    aws.String(s.vpc),
	})
	if err != nil {
		t.Fatalf("CreateTargetGroup: %v", err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := lb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tgARN),
		Targets:        []elbv2types.TargetDescription{{Id: aws.String(s.instance), Port: aws.Int32(80)}},
	}); err != nil {
		t.Fatalf("RegisterTargets: %v", err)
	}
	def := map[string]any{
		"StartAt": "Deregister",
		"States": map[string]any{
			"Deregister": sdk("elasticloadbalancingv2:deregisterTargets", map[string]any{
				"TargetGroupArn.$": "$.tg",
				"Targets":          []any{map[string]any{"Id.$": "$.id", "Port": 80}},
			}, ""),
		},
	}
	mustSucceed(t, runDef(t, def, map[string]string{"tg": tgARN, "id": s.instance}))
	health, err := lb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		t.Fatalf("DescribeTargetHealth: %v", err)
	}
	for _, d := range health.TargetHealthDescriptions {
		if aws.ToString(d.Target.Id) == s.instance {
			t.Fatalf("target %s still registered", s.instance)
		}
	}
}

// aws-sdk errors are "<Service>.<Exception>"; IAM PolicyDocument given as a
// JSON object is sent as its JSON text.
func TestIAMPolicyDocumentAndErrorName(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	iamc := iam.NewFromConfig(emu.AWSConfig())
	role := fmt.Sprintf("role-%d", nameSeq.Add(1))
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	def := map[string]any{
		"StartAt": "Deny",
		"States": map[string]any{
			"Deny": sdk("iam:putRolePolicy", map[string]any{
				"RoleName.$": "$.role",
				"PolicyName": "quarantine",
				"PolicyDocument": map[string]any{
					"Version":   "2012-10-17",
					"Statement": []any{map[string]any{"Effect": "Deny", "Action": "*", "Resource": "*"}},
				},
			}, "Missing"),
			"Missing": sdk("iam:getRole", map[string]any{"RoleName": "no-such-role"}, ""),
		},
	}
	ex := runDef(t, def, map[string]string{"role": role})
	if ex.Status != "FAILED" || ex.Error != "Iam.NoSuchEntityException" {
		t.Fatalf("status %s error %q cause %q, want FAILED Iam.NoSuchEntityException", ex.Status, ex.Error, ex.Cause)
	}
	pol, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("quarantine")})
	if err != nil {
		t.Fatalf("GetRolePolicy: %v", err)
	}
	if doc := aws.ToString(pol.PolicyDocument); !strings.Contains(doc, "Deny") {
		t.Fatalf("policy document %q", doc)
	}
}

// An injected EC2 RequestLimitExceeded without Retry fails the execution as
// Ec2.Ec2Exception. The Cause is the AWS SDK for Java v2 message, with no
// error code in it: "<message> (Service: Ec2, Status Code: 503, Request ID:
// <id>)", as in the causes recorded against AWS (LocalStack's Step Functions
// snapshot tests, tests/aws/services/stepfunctions/v2/services/
// test_aws_sdk_task_service.snapshot.json).
func TestFaultWithoutRetryFails(t *testing.T) {
	s := newScene(t)
	ctx := testCtx(t)
	if err := emu.SetFaults(ctx, []FaultRule{{Service: "ec2", Action: "CreateTags", Code: "RequestLimitExceeded", Message: "Request limit exceeded.", Status: 503, Count: 2}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.SetFaults(context.Background(), nil) })
	def := map[string]any{
		"StartAt": "Tag",
		"States": map[string]any{
			"Tag": sdk("ec2:createTags", map[string]any{
				"Resources.$": "States.Array($.id)",
				"Tags":        []any{map[string]any{"Key": "ir-status", "Value": "contained"}},
			}, ""),
		},
	}
	ex := runDef(t, def, map[string]string{"id": s.instance})
	if ex.Status != "FAILED" || ex.Error != "Ec2.Ec2Exception" {
		t.Fatalf("status %s error %q, want FAILED Ec2.Ec2Exception", ex.Status, ex.Error)
	}
	if !strings.HasPrefix(ex.Cause, "Request limit exceeded. (Service: Ec2, Status Code: 503, Request ID: ") || !strings.HasSuffix(ex.Cause, ")") {
		t.Fatalf("cause %q, want the SDK message \"Request limit exceeded. (Service: Ec2, Status Code: 503, Request ID: <id>)\"", ex.Cause)
	}
	if strings.Contains(ex.Cause, "Error Code") || strings.Contains(ex.Cause, "RequestLimitExceeded") {
		t.Fatalf("cause %q names the error code; AWS's cause does not", ex.Cause)
	}
	rules, err := emu.Faults(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Count != 1 {
		t.Fatalf("remaining rules %+v, want one with count 1", rules)
	}
}

// Retry on Ec2.Ec2Exception with IntervalSeconds 2, BackoffRate 2 recovers from
// two throttles; the requested backoffs are 2 s then 4 s.
func TestFaultRetryBackoff(t *testing.T) {
	s := newScene(t)
	ctx := testCtx(t)
	for _, reset := range []func(context.Context) error{emu.ResetDelays, emu.ResetCalls} {
		if err := reset(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := emu.SetFaults(ctx, []FaultRule{{Service: "ec2", Action: "CreateTags", Code: "RequestLimitExceeded", Message: "Request limit exceeded.", Status: 503, Count: 2}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.SetFaults(context.Background(), nil) })
	tag := sdk("ec2:createTags", map[string]any{
		"Resources.$": "States.Array($.id)",
		"Tags":        []any{map[string]any{"Key": "ir-status", "Value": "contained"}},
	}, "")
	tag["Retry"] = []any{map[string]any{"ErrorEquals": []string{"Ec2.Ec2Exception"}, "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3}}
	def := map[string]any{"StartAt": "Tag", "States": map[string]any{"Tag": tag}}
	mustSucceed(t, runDef(t, def, map[string]string{"id": s.instance}))

	tags, err := s.ec2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: []string{s.instance}},
		{Name: aws.String("key"), Values: []string{"ir-status"}},
	}})
	if err != nil {
		t.Fatalf("DescribeTags: %v", err)
	}
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "contained" {
		t.Fatalf("tags %+v", tags.Tags)
	}
	delays, err := emu.Delays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(delays) != 2 || delays[0].RequestedSeconds != 2 || delays[1].RequestedSeconds != 4 ||
		delays[0].Kind != "retry" || delays[0].State != "Tag" {
		t.Fatalf("delays %+v, want retry 2 then 4 in state Tag", delays)
	}
	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, c := range calls {
		if c.Action == "CreateTags" {
			statuses = append(statuses, c.Status)
		}
	}
	if fmt.Sprint(statuses) != "[503 503 200]" {
		t.Fatalf("CreateTags statuses %v, want [503 503 200]", statuses)
	}
}

// A snapshot reports pending for N DescribeSnapshots views, so the polling
// loop of the workflow really loops.
func TestSnapshotPendingThenCompleted(t *testing.T) {
	s := newScene(t)
	ctx := testCtx(t)
	pending := 2
	if err := emu.Configure(ctx, Config{SnapshotPendingDescribes: &pending}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := 0
		_ = emu.Configure(context.Background(), Config{SnapshotPendingDescribes: &zero})
	})
	if err := emu.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	vols, err := s.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{s.instance}},
	}})
	if err != nil || len(vols.Volumes) == 0 {
		t.Fatalf("DescribeVolumes: %v (%d volumes)", err, len(vols.Volumes))
	}
	def := map[string]any{
		"StartAt": "Snap",
		"States": map[string]any{
			"Snap": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:createSnapshot",
				"Parameters":     map[string]any{"VolumeId.$": "$.vol", "Description": "forensics"},
				"ResultSelector": map[string]any{"id.$": "$.SnapshotId", "state.$": "$.State"},
				"ResultPath":     "$.snap", "Next": "Poll",
			},
			"Poll": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeSnapshots",
				"Parameters":     map[string]any{"SnapshotIds.$": "States.Array($.snap.id)"},
				"ResultSelector": map[string]any{"state.$": "$.Snapshots[0].State", "progress.$": "$.Snapshots[0].Progress"},
				"ResultPath":     "$.poll", "Next": "Done?",
			},
			"Done?": map[string]any{
				"Type":    "Choice",
				"Choices": []any{map[string]any{"Variable": "$.poll.state", "StringEquals": "completed", "Next": "Done"}},
				"Default": "Later",
			},
			"Later": map[string]any{"Type": "Wait", "Seconds": 30, "Next": "Poll"},
			"Done":  map[string]any{"Type": "Succeed"},
		},
	}
	ex := runDef(t, def, map[string]string{"vol": aws.ToString(vols.Volumes[0].VolumeId)})
	mustSucceed(t, ex)
	if !strings.Contains(ex.Output, `"state":"pending"`) || !strings.Contains(ex.Output, `"progress":"100%"`) {
		t.Errorf("output %s: want CreateSnapshot state pending and final progress 100%%", ex.Output)
	}
	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	polls := 0
	for _, c := range calls {
		if c.Action == "DescribeSnapshots" {
			polls++
		}
	}
	if polls != pending+1 {
		t.Fatalf("%d DescribeSnapshots polls, want %d", polls, pending+1)
	}
}

// Calls records the engine's calls in order, not the test's own calls.
func TestCallsRecordEngineOnly(t *testing.T) {
	s := newScene(t)
	ctx := testCtx(t)
	if err := emu.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	s.describeInstance(t) // the test's own call: not recorded
	def := map[string]any{
		"StartAt": "Describe",
		"States": map[string]any{
			"Describe": sdk("ec2:describeInstances", map[string]any{"InstanceIds.$": "States.Array($.id)"}, "Tag"),
			"Tag": map[string]any{
				"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:createTags",
				"Parameters": map[string]any{
					"Resources.$": "States.Array($.Reservations[0].Instances[0].InstanceId)",
					"Tags":        []any{map[string]any{"Key": "k", "Value": "v"}},
				},
				"Next": "Groups",
			},
			"Groups": sdk("ec2:describeSecurityGroups", map[string]any{}, ""),
		},
	}
	mustSucceed(t, runDef(t, def, map[string]string{"id": s.instance}))
	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, fmt.Sprintf("%s:%s:%d", c.Service, c.Action, c.Status))
	}
	want := "[ec2:DescribeInstances:200 ec2:CreateTags:200 ec2:DescribeSecurityGroups:200]"
	if fmt.Sprint(got) != want {
		t.Fatalf("calls %v, want %s", got, want)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Time.Before(calls[i-1].Time) {
			t.Fatalf("calls out of order: %+v", calls)
		}
	}
}

// WaitExecution gives up after its timeout and names the execution and the
// state it is stuck in.
func TestWaitExecutionTimeout(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	def := map[string]any{
		"StartAt": "Sleep",
		"States": map[string]any{
			"Sleep": map[string]any{"Type": "Wait", "Seconds": 60, "Next": "Again"},
			"Again": map[string]any{"Type": "Pass", "Next": "Sleep"},
		},
	}
	sm, err := emu.CreateStateMachine(ctx, uniqueName(t), asl(t, def))
	if err != nil {
		t.Fatal(err)
	}
	arn, err := emu.StartExecution(ctx, sm, "{}")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.StopExecution(context.Background(), arn) })
	start := time.Now()
	_, err = emu.WaitExecution(ctx, arn, 3*time.Second)
	if err == nil {
		t.Fatal("WaitExecution returned no error for an endless execution")
	}
	took := time.Since(start)
	t.Logf("WaitExecution returned after %s", took)
	if took > 6*time.Second {
		t.Errorf("WaitExecution took %s", took)
	}
	msg := err.Error()
	if !strings.Contains(msg, "execution "+arn+" still RUNNING after 3s") ||
		!(strings.Contains(msg, "Sleep") || strings.Contains(msg, "Again")) {
		t.Fatalf("error %q", msg)
	}
}

// An ENI reports only its own security groups after
// modifyNetworkInterfaceAttribute (moto adds the instance's groups).
func TestENIShowsOnlyOwnGroups(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	ctx := testCtx(t)
	isolation := s.securityGroup(t, "isolation")
	eni := aws.ToString(s.describeInstance(t).NetworkInterfaces[0].NetworkInterfaceId)
	def := map[string]any{
		"StartAt": "Isolate",
		"States": map[string]any{
			"Isolate": sdk("ec2:modifyNetworkInterfaceAttribute", map[string]any{
				"NetworkInterfaceId.$": "$.eni",
				"Groups.$":             "States.Array($.sg)",
			}, ""),
		},
	}
	mustSucceed(t, runDef(t, def, map[string]string{"eni": eni, "sg": isolation}))
	out, err := s.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil {
		t.Fatalf("DescribeNetworkInterfaces: %v", err)
	}
	if got := groupIDs(out.NetworkInterfaces[0].Groups); fmt.Sprint(got) != fmt.Sprint([]string{isolation}) {
		t.Errorf("DescribeNetworkInterfaces groups %v, want [%s]", got, isolation)
	}
	inst := s.describeInstance(t)
	if got := groupIDs(inst.NetworkInterfaces[0].Groups); fmt.Sprint(got) != fmt.Sprint([]string{isolation}) {
		t.Errorf("DescribeInstances ENI groups %v, want [%s]", got, isolation)
	}
	if got := groupIDs(inst.SecurityGroups); fmt.Sprint(got) != fmt.Sprint([]string{isolation}) {
		t.Errorf("DescribeInstances SecurityGroups %v, want [%s]", got, isolation)
	}
}

// Stop leaves no process and no listening port behind.
func TestStopLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	e, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pid := e.PID()
	addr := strings.TrimPrefix(e.Endpoint(), "http://")
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d still exists (kill 0: %v)", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists (kill 0: %v)", pid, err)
	}
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("port %s still accepts connections", addr)
	}
}

// GetConsoleScreenshot answers with a base64 JPEG for an instance, and
// InvalidInstanceID.NotFound for an unknown one.
func TestConsoleScreenshot(t *testing.T) {
	t.Parallel()
	s := newScene(t)
	ctx := testCtx(t)
	out, err := s.ec2.GetConsoleScreenshot(ctx, &ec2.GetConsoleScreenshotInput{InstanceId: aws.String(s.instance)})
	if err != nil {
		t.Fatalf("GetConsoleScreenshot: %v", err)
	}
	if aws.ToString(out.InstanceId) != s.instance {
		t.Errorf("InstanceId %q, want %s", aws.ToString(out.InstanceId), s.instance)
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(out.ImageData))
	if err != nil {
		t.Fatalf("ImageData is not base64: %v", err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("ImageData is not a JPEG: %v", err)
	}
	_, err = s.ec2.GetConsoleScreenshot(ctx, &ec2.GetConsoleScreenshotInput{InstanceId: aws.String("i-0123456789abcdef0")})
	if err == nil || !strings.Contains(err.Error(), "InvalidInstanceID.NotFound") {
		t.Errorf("an unknown instance: %v, want InvalidInstanceID.NotFound", err)
	}
}
