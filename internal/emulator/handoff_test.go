package emulator

import (
	"strings"
	"testing"
	"time"
)

const startWithToken = "arn:aws:states:::states:startExecution.waitForTaskToken"

// handOffChildDef is a child that hands its parent a result with
// SendTaskSuccess (or, asked to fail, SendTaskFailure) and then goes on for
// a while: a 20 s Wait (2 s at time scale 0.1) and an aws-sdk call.
func handOffChildDef() map[string]any {
	succeed := sdk("sfn:sendTaskSuccess", map[string]any{
		"TaskToken.$": "$.token",
		"Output.$":    "States.JsonToString($.handoff)",
	}, "Go On")
	fail := sdk("sfn:sendTaskFailure", map[string]any{
		"TaskToken.$": "$.token",
		"Error":       "Child.Failed",
		"Cause.$":     "States.Format('child {} asked to fail', $.id)",
	}, "Go On")
	after := sdk("ec2:describeRegions", map[string]any{}, "")
	after["ResultPath"] = nil
	return map[string]any{
		"StartAt": "Fail?",
		"States": map[string]any{
			"Fail?": map[string]any{
				"Type":    "Choice",
				"Choices": []any{map[string]any{"Variable": "$.fail", "BooleanEquals": true, "Next": "Hand Off Failure"}},
				"Default": "Shape Hand Off",
			},
			"Shape Hand Off":   map[string]any{"Type": "Pass", "Parameters": map[string]any{"id.$": "$.id"}, "ResultPath": "$.handoff", "Next": "Hand Off"},
			"Hand Off":         succeed,
			"Hand Off Failure": fail,
			"Go On":            map[string]any{"Type": "Wait", "Seconds": 20, "Next": "After"},
			"After":            after,
		},
	}
}

// A Map iteration that starts a child with startExecution.waitForTaskToken
// ends when the child hands it the token (SendTaskSuccess through the
// aws-sdk integration), with the child's output as its result, while the
// child goes on; SendTaskFailure fails the task with the child's error and
// cause. So the Map's place is free before the child ends: with
// MaxConcurrency 1, all three children are started, and the parent ends,
// while the first child is still running. (The fix this is the groundwork
// for: Documentation/performance.md, "a fleet's later instances wait for
// the earlier ones' snapshots".) It sets the time scale, so it does not run
// in parallel.
func TestTaskTokenHandOff(t *testing.T) {
	ctx := testCtx(t)
	withTimeScale(t, 0.1)
	child := createSM(t, handOffChildDef())
	start := map[string]any{
		"Type":     "Task",
		"Resource": startWithToken,
		"Parameters": map[string]any{
			"StateMachineArn": child,
			"Input":           map[string]any{"id.$": "$.id", "fail.$": "$.fail", "token.$": "$$.Task.Token"},
		},
		"Catch": []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "ResultPath": "$.failure", "Next": "Failed"}},
		"End":   true,
	}
	parent := map[string]any{
		"StartAt": "Each",
		"States": map[string]any{
			"Each": map[string]any{
				"Type":           "Map",
				"ItemsPath":      "$.items",
				"MaxConcurrency": 1,
				"ItemProcessor": map[string]any{
					"ProcessorConfig": map[string]any{"Mode": "INLINE"},
					"StartAt":         "Start",
					"States": map[string]any{
						"Start":  start,
						"Failed": map[string]any{"Type": "Pass", "Parameters": map[string]any{"error.$": "$.failure.Error", "cause.$": "$.failure.Cause"}, "End": true},
					},
				},
				"End": true,
			},
		},
	}
	ex := runDef(t, parent, map[string]any{"items": []any{
		map[string]any{"id": 1, "fail": false},
		map[string]any{"id": 2, "fail": true},
		map[string]any{"id": 3, "fail": false},
	}})
	mustSucceed(t, ex)
	want := `[{"id":1},{"cause":"child 2 asked to fail","error":"Child.Failed"},{"id":3}]`
	if got := strings.ReplaceAll(ex.Output, " ", ""); got != strings.ReplaceAll(want, " ", "") {
		t.Errorf("output %s, want %s: each child's hand-off, and child 2's error and cause", ex.Output, want)
	}
	children, err := emu.Children(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 3 {
		t.Fatalf("%d children, want 3", len(children))
	}
	first, err := emu.Describe(ctx, children[0])
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "RUNNING" {
		t.Errorf("the first child is %s when the parent has ended, want RUNNING: its hand-off, not its end, freed the Map's only place", first.Status)
	}
	for _, c := range children {
		end, err := emu.WaitExecution(ctx, c, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if end.Status != "SUCCEEDED" {
			t.Errorf("child %s: %s, want SUCCEEDED: a hand-off is not the child's end", c, end.Status)
		}
	}
}
