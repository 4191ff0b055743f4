package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const startSync2 = "arn:aws:states:::states:startExecution.sync:2"

// leafDef is a child state machine: one aws-sdk call, then it succeeds with
// {"id", "regions"} or, when its input says "fail": true, fails Child.Failed.
func leafDef() map[string]any {
	regions := sdk("ec2:describeRegions", map[string]any{}, "Fail?")
	regions["ResultSelector"] = map[string]any{"count.$": "$.Regions.length()"}
	regions["ResultPath"] = "$.regions"
	return map[string]any{
		"StartAt": "Regions",
		"States": map[string]any{
			"Regions": regions,
			"Fail?": map[string]any{
				"Type":    "Choice",
				"Choices": []any{map[string]any{"Variable": "$.fail", "BooleanEquals": true, "Next": "Boom"}},
				"Default": "Done",
			},
			"Boom": map[string]any{"Type": "Fail", "Error": "Child.Failed", "Cause": "asked to fail"},
			"Done": map[string]any{"Type": "Pass", "Parameters": map[string]any{"id.$": "$.id", "regions.$": "$.regions.count"}, "End": true},
		},
	}
}

// startTask is a Task state starting stateMachine with {"id", "fail"} from
// the state's input.
func startTask(resource, stateMachine string) map[string]any {
	return map[string]any{
		"Type":     "Task",
		"Resource": resource,
		"Parameters": map[string]any{
			"StateMachineArn": stateMachine,
			"Input":           map[string]any{"id.$": "$.id", "fail.$": "$.fail"},
		},
	}
}

func createSM(t *testing.T, def map[string]any) string {
	t.Helper()
	arn, err := emu.CreateStateMachine(testCtx(t), uniqueName(t), asl(t, def))
	if err != nil {
		t.Fatal(err)
	}
	return arn
}

func runSM(t *testing.T, sm string, input any) *Execution {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := emu.RunExecution(testCtx(t), sm, string(in), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func decodeObject(t *testing.T, what, text string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("%s %q is not a JSON object: %v", what, text, err)
	}
	return obj
}

// taskOutputs returns the outputs of the history's TaskSubmitted and
// TaskSucceeded events, and the error and cause of its TaskFailed events.
func taskOutputs(t *testing.T, arn string) (submitted, succeeded []string, failed [][2]string) {
	t.Helper()
	events, err := emu.History(testCtx(t), arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		switch {
		case ev.TaskSubmittedEventDetails != nil:
			submitted = append(submitted, aws.ToString(ev.TaskSubmittedEventDetails.Output))
		case ev.TaskSucceededEventDetails != nil:
			succeeded = append(succeeded, aws.ToString(ev.TaskSucceededEventDetails.Output))
		case ev.TaskFailedEventDetails != nil:
			d := ev.TaskFailedEventDetails
			failed = append(failed, [2]string{aws.ToString(d.Error), aws.ToString(d.Cause)})
		}
	}
	return submitted, succeeded, failed
}

// checkChildIsReal checks that a child execution is listed by ListExecutions
// of its state machine, described and has its own recorded history.
func checkChildIsReal(t *testing.T, sm, child, status string) {
	t.Helper()
	ctx := testCtx(t)
	listed := false
	p := sfn.NewListExecutionsPaginator(emu.sfnClient, &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm)})
	for p.HasMorePages() && !listed {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		for _, item := range page.Executions {
			if aws.ToString(item.ExecutionArn) == child {
				listed = true
				if string(item.Status) != status {
					t.Errorf("ListExecutions: child %s is %s, want %s", child, item.Status, status)
				}
			}
		}
	}
	if !listed {
		t.Errorf("ListExecutions of %s does not list child %s", sm, child)
	}
	ex, err := emu.Describe(ctx, child)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != status {
		t.Errorf("DescribeExecution: child %s is %s, want %s", child, ex.Status, status)
	}
	events, err := emu.History(ctx, child)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 5 || events[0].Type != sfntypes.HistoryEventTypeExecutionStarted {
		t.Fatalf("child history has %d events, first %v", len(events), events)
	}
	last := events[len(events)-1].Type
	want := map[string]sfntypes.HistoryEventType{
		"SUCCEEDED": sfntypes.HistoryEventTypeExecutionSucceeded,
		"FAILED":    sfntypes.HistoryEventTypeExecutionFailed,
	}[status]
	if last != want {
		t.Errorf("child history ends with %s, want %s", last, want)
	}
	entered := false
	for _, ev := range events {
		if d := ev.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "Regions" {
			entered = true
		}
	}
	if !entered {
		t.Errorf("child history has no Regions state: %+v", events)
	}
}

// The optimised startExecution integration answers like AWS (PascalCase, epoch
// millisecond dates, .sync:2's Output as JSON), the child is a real execution,
// a failed child fails the task with States.TaskFailed and the child's
// DescribeExecution as Cause, and the engine's StartExecution/DescribeExecution
// calls are counted and faultable like any other (moto: States.Runtime
// KeyError 'ExecutionArn').
func TestStartExecutionSync2(t *testing.T) {
	ctx := testCtx(t)
	leaf := createSM(t, leafDef())
	run := startTask(startSync2, leaf)
	run["ResultSelector"] = map[string]any{
		"id.$": "$.Output.id", "regions.$": "$.Output.regions", "status.$": "$.Status", "arn.$": "$.ExecutionArn",
	}
	run["Catch"] = []any{map[string]any{"ErrorEquals": []string{"States.TaskFailed"}, "ResultPath": "$.error", "Next": "Caught"}}
	run["End"] = true
	parent := createSM(t, map[string]any{
		"StartAt": "Run",
		"States":  map[string]any{"Run": run, "Caught": map[string]any{"Type": "Pass", "End": true}},
	})

	if err := emu.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	other := FaultRule{Service: "ec2", Action: "CreateTags", Code: "RequestLimitExceeded", Status: 503, Count: 1}
	if err := emu.SetFaults(ctx, []FaultRule{other}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.SetFaults(context.Background(), nil) })

	// A child that succeeds.
	ex := runSM(t, parent, map[string]any{"id": "i-1", "fail": false})
	mustSucceed(t, ex)
	out := decodeObject(t, "parent output", ex.Output)
	child, _ := out["arn"].(string)
	if out["id"] != "i-1" || out["status"] != "SUCCEEDED" || !strings.Contains(child, ":execution:") {
		t.Fatalf("parent output %s: want $.Output.id, $.Status and $.ExecutionArn of the child", ex.Output)
	}
	if n, ok := out["regions"].(float64); !ok || n < 1 {
		t.Errorf("parent output %s: regions from the child's aws-sdk call missing", ex.Output)
	}
	submitted, succeeded, _ := taskOutputs(t, ex.ARN)
	if len(submitted) != 1 || len(succeeded) != 1 {
		t.Fatalf("TaskSubmitted %v, TaskSucceeded %v: want one each", submitted, succeeded)
	}
	sub := decodeObject(t, "TaskSubmitted output", submitted[0])
	if start, ok := sub["StartDate"].(float64); len(sub) != 2 || sub["ExecutionArn"] != child || !ok || start < 1e12 {
		t.Errorf("TaskSubmitted output %s, want {ExecutionArn, StartDate (epoch ms)}", submitted[0])
	}
	res := decodeObject(t, "TaskSucceeded output", succeeded[0])
	for _, key := range []string{"StartDate", "StopDate"} {
		if v, ok := res[key].(float64); !ok || v < 1e12 || v != float64(int64(v)) {
			t.Errorf("TaskSucceeded %s = %v, want epoch milliseconds", key, res[key])
		}
	}
	if _, ok := res["Output"].(map[string]any); !ok {
		t.Errorf("TaskSucceeded Output %v is not a JSON object", res["Output"])
	}
	if _, ok := res["Input"].(map[string]any); !ok {
		t.Errorf("TaskSucceeded Input %v is not a JSON object", res["Input"])
	}
	if res["ExecutionArn"] != child || res["Status"] != "SUCCEEDED" || res["StateMachineArn"] != leaf ||
		res["Name"] != child[strings.LastIndex(child, ":")+1:] {
		t.Errorf("TaskSucceeded output %s", succeeded[0])
	}
	checkChildIsReal(t, leaf, child, "SUCCEEDED")

	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range calls {
		got = append(got, fmt.Sprintf("%s:%s:%d", c.Service, c.Action, c.Status))
	}
	joined := strings.Join(got, " ")
	if len(got) < 3 || got[0] != "states:StartExecution:200" || !strings.Contains(joined, "ec2:DescribeRegions:200") ||
		!strings.HasSuffix(joined, "states:DescribeExecution:200") {
		t.Errorf("engine calls %v: want StartExecution, the child's DescribeRegions, DescribeExecution", got)
	}
	if rules, err := emu.Faults(ctx); err != nil || len(rules) != 1 || rules[0] != other {
		t.Errorf("fault rules after the run %+v (%v), want %+v untouched", rules, err, other)
	}

	// A child that fails: States.TaskFailed, caught, Cause = its DescribeExecution.
	ex = runSM(t, parent, map[string]any{"id": "i-2", "fail": true})
	mustSucceed(t, ex)
	caught := decodeObject(t, "parent output", ex.Output)
	errObj, _ := caught["error"].(map[string]any)
	if errObj == nil || errObj["Error"] != "States.TaskFailed" {
		t.Fatalf("parent output %s: want the Catch of States.TaskFailed", ex.Output)
	}
	cause := decodeObject(t, "Cause", errObj["Cause"].(string))
	failedChild, _ := cause["ExecutionArn"].(string)
	if cause["Status"] != "FAILED" || cause["Error"] != "Child.Failed" || cause["Cause"] != "asked to fail" ||
		failedChild == "" || failedChild == child {
		t.Errorf("Cause %v: want the failed child's DescribeExecution", errObj["Cause"])
	}
	if _, ok := cause["StopDate"].(float64); !ok {
		t.Errorf("Cause StopDate %v, want epoch milliseconds", cause["StopDate"])
	}
	checkChildIsReal(t, leaf, failedChild, "FAILED")

	// The engine's StartExecution is faultable like any engine call.
	if err := emu.SetFaults(ctx, []FaultRule{{Service: "states", Action: "StartExecution", Code: "ExecutionLimitExceeded", Message: "too many", Count: 1}}); err != nil {
		t.Fatal(err)
	}
	// States.TaskFailed in a Catch matches any task error but States.Timeout.
	ex = runSM(t, parent, map[string]any{"id": "i-3", "fail": false})
	mustSucceed(t, ex)
	if errObj, _ := decodeObject(t, "parent output", ex.Output)["error"].(map[string]any); errObj == nil ||
		errObj["Error"] != "StepFunctions.ExecutionLimitExceededException" || !strings.Contains(fmt.Sprint(errObj["Cause"]), "too many") {
		t.Fatalf("parent output %s, want the caught StepFunctions.ExecutionLimitExceededException", ex.Output)
	}
}

// An INLINE Map (MaxConcurrency 2, 5 items) of startExecution.sync:2 runs
// every child, at most two at a time; a failed child fails the Map (and a
// Parallel branch fails the Parallel) with States.TaskFailed, which its Catch
// sees (moto: States.Runtime "Custom Error Names MUST NOT begin with the
// prefix 'States.'"). Five StartExecutions of one state machine also prove
// that moto #10077 (patch_state_machine_deepcopy) stays fixed for engine calls.
func TestInlineMapOfSyncChildren(t *testing.T) {
	t.Parallel()
	leaf := createSM(t, leafDef())
	run := startTask(startSync2, leaf)
	run["ResultSelector"] = map[string]any{"id.$": "$.Output.id", "arn.$": "$.ExecutionArn", "start.$": "$.StartDate", "stop.$": "$.StopDate"}
	run["End"] = true
	catch := []any{map[string]any{"ErrorEquals": []string{"States.TaskFailed"}, "ResultPath": "$.error", "Next": "Caught"}}
	parent := createSM(t, map[string]any{
		"StartAt": "Each",
		"States": map[string]any{
			"Each": map[string]any{
				"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
				"ItemProcessor": map[string]any{
					"ProcessorConfig": map[string]any{"Mode": "INLINE"},
					"StartAt":         "Run",
					"States":          map[string]any{"Run": run},
				},
				"ResultPath": "$.results", "Catch": catch, "End": true,
			},
			"Caught": map[string]any{"Type": "Pass", "End": true},
		},
	})
	items := func(failing int) []any {
		var list []any
		for i := 0; i < 5; i++ {
			list = append(list, map[string]any{"id": fmt.Sprintf("i-%d", i), "fail": i == failing})
		}
		return list
	}

	ex := runSM(t, parent, map[string]any{"items": items(-1)})
	mustSucceed(t, ex)
	var out struct {
		Results []struct {
			ID          string
			ARN         string
			Start, Stop float64
		}
	}
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil || len(out.Results) != 5 {
		t.Fatalf("output %s (%v): want 5 results", ex.Output, err)
	}
	seen := map[string]bool{}
	for i, r := range out.Results {
		if r.ID != fmt.Sprintf("i-%d", i) || seen[r.ARN] {
			t.Fatalf("result %d: %+v (duplicate ARN or wrong order)", i, r)
		}
		seen[r.ARN] = true
		checkChildIsReal(t, leaf, r.ARN, "SUCCEEDED")
		// Running when child i started: the most at any instant, since
		// the count only rises when a child starts. (Children overlapping
		// i's run one after the other are not running at once.)
		running := 0
		for _, o := range out.Results {
			if o.Start <= r.Start && r.Start < o.Stop {
				running++
			}
		}
		if running > 2 {
			t.Errorf("%d children were running when child %d started, MaxConcurrency is 2: %+v", running, i, out.Results)
		}
	}

	ex = runSM(t, parent, map[string]any{"items": items(3)})
	mustSucceed(t, ex)
	var failed struct{ Error struct{ Error, Cause string } }
	if err := json.Unmarshal([]byte(ex.Output), &failed); err != nil || failed.Error.Error != "States.TaskFailed" {
		t.Fatalf("output %s: want the Map's Catch of States.TaskFailed", ex.Output)
	}
	if cause := decodeObject(t, "Cause", failed.Error.Cause); cause["Error"] != "Child.Failed" || cause["Status"] != "FAILED" {
		t.Errorf("Map Cause %s: want the failed child's DescribeExecution", failed.Error.Cause)
	}

	branch := startTask(startSync2, leaf)
	branch["End"] = true
	par := createSM(t, map[string]any{
		"StartAt": "Both",
		"States": map[string]any{
			"Both": map[string]any{
				"Type": "Parallel",
				"Branches": []any{
					map[string]any{"StartAt": "Run", "States": map[string]any{"Run": branch}},
					map[string]any{"StartAt": "Wait", "States": map[string]any{"Wait": map[string]any{"Type": "Pass", "End": true}}},
				},
				"Catch": catch, "End": true,
			},
			"Caught": map[string]any{"Type": "Pass", "End": true},
		},
	})
	ex = runSM(t, par, map[string]any{"id": "i-9", "fail": true})
	mustSucceed(t, ex)
	if err := json.Unmarshal([]byte(ex.Output), &failed); err != nil || failed.Error.Error != "States.TaskFailed" {
		t.Fatalf("output %s: want the Parallel's Catch of States.TaskFailed", ex.Output)
	}
}

// A .sync task notices its child's end at once (moto polls DescribeExecution
// every 0.5 s) and reads it once, when it has ended, as on AWS, where the
// child's end arrives as an EventBridge event. The children run at once, so
// each one's end must not make the others read theirs.
func TestSyncNoticesChildEnd(t *testing.T) {
	ctx := testCtx(t)
	// The child lasts 0.1 s (a 1 s Wait at time scale 0.1), so the parent's
	// first DescribeExecution finds it running.
	withTimeScale(t, 0.1)
	leaf := createSM(t, map[string]any{"StartAt": "W", "States": map[string]any{"W": map[string]any{"Type": "Wait", "Seconds": 1, "End": true}}})
	run := startTask(startSync2, leaf)
	run["End"] = true
	parent := createSM(t, map[string]any{
		"StartAt": "Each",
		"States": map[string]any{
			"Each": map[string]any{
				"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 4,
				"ItemProcessor": map[string]any{
					"ProcessorConfig": map[string]any{"Mode": "INLINE"},
					"StartAt":         "Run",
					"States":          map[string]any{"Run": run},
				},
				"End": true,
			},
		},
	})
	const n = 4
	var items []any
	for i := 0; i < n; i++ {
		items = append(items, map[string]any{"id": fmt.Sprintf("i-%d", i), "fail": false})
	}
	if err := emu.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	ex := runSM(t, parent, map[string]any{"items": items})
	mustSucceed(t, ex)

	events, err := emu.History(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	count := 0
	for _, ev := range events {
		d := ev.TaskSucceededEventDetails
		if d == nil {
			continue
		}
		res := decodeObject(t, "TaskSucceeded output", aws.ToString(d.Output))
		stop, _ := res["StopDate"].(float64)
		lag := aws.ToTime(ev.Timestamp).Sub(time.UnixMilli(int64(stop)))
		t.Logf("child %v: noticed %s after it ended", res["ExecutionArn"], lag)
		total += lag
		count++
	}
	if count != n {
		t.Fatalf("%d TaskSucceeded events, want %d", count, n)
	}
	if total > time.Duration(n)*150*time.Millisecond {
		t.Errorf("children noticed %s after they ended in total, want well under moto's 0.5 s poll each", total)
	}
	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	describes := 0
	for _, c := range calls {
		if c.Service == "states" && c.Action == "DescribeExecution" {
			describes++
		}
	}
	if describes != n {
		t.Errorf("%d DescribeExecution calls for %d children, want one each", describes, n)
	}
}

// Children lists the executions started through states:startExecution, a
// failed one too; HistoryTree joins the histories of the whole tree with
// unique Ids and PreviousEventIds that stay inside each execution.
func TestChildrenAndHistoryTree(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	leaf := createSM(t, leafDef())
	middleRun := startTask(startSync2, leaf)
	middleRun["End"] = true
	middle := createSM(t, map[string]any{"StartAt": "Run", "States": map[string]any{"Run": middleRun}})

	first := startTask(startSync2, middle)
	first["ResultPath"] = "$.first"
	first["Next"] = "Failing"
	failing := startTask(startSync2, leaf)
	failing["Parameters"].(map[string]any)["Input"] = map[string]any{"id": "i-bad", "fail": true}
	failing["Catch"] = []any{map[string]any{"ErrorEquals": []string{"States.TaskFailed"}, "ResultPath": "$.error", "Next": "Fire"}}
	failing["End"] = true
	fire := startTask("arn:aws:states:::states:startExecution", leaf)
	fire["Parameters"].(map[string]any)["Input"] = map[string]any{"id": "i-fire", "fail": false}
	fire["End"] = true
	parent := createSM(t, map[string]any{
		"StartAt": "First",
		"States":  map[string]any{"First": first, "Failing": failing, "Fire": fire},
	})
	ex := runSM(t, parent, map[string]any{"id": "i-ok", "fail": false})
	mustSucceed(t, ex)

	children, err := emu.Children(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 3 {
		t.Fatalf("Children %v, want the middle, the failed leaf and the fired leaf", children)
	}
	for _, c := range children[1:] {
		if !strings.Contains(c, ":execution:"+leaf[strings.LastIndex(leaf, ":")+1:]+":") {
			t.Errorf("child %s is not an execution of %s", c, leaf)
		}
	}
	if _, err := emu.WaitExecution(ctx, children[2], 20*time.Second); err != nil {
		t.Fatal(err)
	}
	grandchildren, err := emu.Children(ctx, children[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(grandchildren) != 1 {
		t.Fatalf("Children of the middle %v, want one leaf", grandchildren)
	}
	for arn, want := range map[string]string{children[0]: "SUCCEEDED", children[1]: "FAILED", children[2]: "SUCCEEDED", grandchildren[0]: "SUCCEEDED"} {
		if d, err := emu.Describe(ctx, arn); err != nil || d.Status != want {
			t.Errorf("execution %s: %v (%v), want %s", arn, d, err, want)
		}
	}
	if leaves, err := emu.Children(ctx, grandchildren[0]); err != nil || len(leaves) != 0 {
		t.Errorf("Children of a leaf %v (%v), want none", leaves, err)
	}

	tree, err := emu.HistoryTree(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	order := []string{ex.ARN, children[0], grandchildren[0], children[1], children[2]}
	var want []sfntypes.HistoryEvent
	var starts []int
	for _, arn := range order {
		events, err := emu.History(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, len(want))
		want = append(want, events...)
	}
	if len(tree) != len(want) {
		t.Fatalf("HistoryTree has %d events, the histories %d", len(tree), len(want))
	}
	part := -1
	for i, ev := range tree {
		if part+1 < len(starts) && i == starts[part+1] {
			part++
			if ev.Type != sfntypes.HistoryEventTypeExecutionStarted {
				t.Fatalf("event %d of the tree is %s, want the ExecutionStarted of %s", i, ev.Type, order[part])
			}
		}
		offset := int64(starts[part])
		orig := want[i]
		if ev.Type != orig.Type || ev.Id != int64(i+1) || ev.Id != orig.Id+offset {
			t.Fatalf("event %d: type %s id %d, want %s id %d (= %d + %d)", i, ev.Type, ev.Id, orig.Type, i+1, orig.Id, offset)
		}
		switch {
		case orig.PreviousEventId == 0 && part == 0 && ev.PreviousEventId != 0:
			t.Errorf("event %d: PreviousEventId %d, want 0 kept", i, ev.PreviousEventId)
		case orig.PreviousEventId == 0 && part > 0 && i != starts[part]:
			if want := int64(starts[part] + 1); ev.PreviousEventId != want {
				t.Errorf("event %d: PreviousEventId %d, want %d, the start of %s", i, ev.PreviousEventId, want, order[part])
			}
		case orig.PreviousEventId == 0 && part > 0 && i == starts[part]:
			// A child's start links to the parent event that names it.
			if ev.PreviousEventId <= 0 || ev.PreviousEventId >= ev.Id {
				t.Errorf("event %d: the start of %s links to %d, want an earlier event", i, order[part], ev.PreviousEventId)
				break
			}
			by := tree[ev.PreviousEventId-1]
			var text string
			switch {
			case by.TaskSubmittedEventDetails != nil:
				text = aws.ToString(by.TaskSubmittedEventDetails.Output)
			case by.TaskSucceededEventDetails != nil:
				text = aws.ToString(by.TaskSucceededEventDetails.Output)
			case by.TaskFailedEventDetails != nil:
				text = aws.ToString(by.TaskFailedEventDetails.Cause)
			}
			if !strings.Contains(text, order[part]) {
				t.Errorf("event %d: the start of %s links to event %d (%s), which does not name it", i, order[part], ev.PreviousEventId, by.Type)
			}
		case orig.PreviousEventId != 0 && (ev.PreviousEventId != orig.PreviousEventId+offset || ev.PreviousEventId <= offset || ev.PreviousEventId >= ev.Id):
			t.Errorf("event %d (id %d): PreviousEventId %d, want %d inside %s", i, ev.Id, ev.PreviousEventId, orig.PreviousEventId+offset, order[part])
		}
	}
}

// childrenOf finds children in TaskSubmitted/TaskSucceeded outputs and in the
// Cause of States.TaskFailed (either member case), once each, in order, and
// ignores other integrations and refused starts.
func TestChildrenOfEvents(t *testing.T) {
	t.Parallel()
	arn := func(n int) string { return fmt.Sprintf("arn:aws:states:us-east-1:123456789012:execution:sm:%d", n) }
	out := func(key string, n int) *string { return aws.String(fmt.Sprintf(`{%q:%q,"StartDate":1}`, key, arn(n))) }
	states, sync2 := aws.String("states"), aws.String("startExecution.sync:2")
	events := []sfntypes.HistoryEvent{
		{Id: 4, TaskSubmittedEventDetails: &sfntypes.TaskSubmittedEventDetails{ResourceType: states, Resource: sync2, Output: out("ExecutionArn", 1)}},
		{TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{ResourceType: states, Resource: sync2, Output: out("ExecutionArn", 1)}},
		{Id: 6, TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{ResourceType: states, Resource: sync2, Error: aws.String("States.TaskFailed"), Cause: out("executionArn", 2)}},
		{TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{ResourceType: states, Resource: sync2, Error: aws.String("StepFunctions.ExecutionAlreadyExistsException"), Cause: aws.String("Execution Already Exists: '" + arn(9) + "'")}},
		{TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{ResourceType: aws.String("aws-sdk:ec2"), Resource: aws.String("describeInstances"), Output: out("ExecutionArn", 8)}},
		{Id: 9, TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{ResourceType: states, Resource: aws.String("startExecution"), Output: out("ExecutionArn", 3)}},
		{TaskSucceededEventDetails: &sfntypes.TaskSucceededEventDetails{ResourceType: states, Resource: sync2, Output: aws.String("not json")}},
	}
	got := childrenOf(events)
	want := []child{{arn(1), 4}, {arn(2), 6}, {arn(3), 9}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("childrenOf = %v, want %v (each with the first event naming it)", got, want)
	}
}
