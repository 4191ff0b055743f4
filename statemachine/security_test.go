package statemachine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// The tests of this file check, on the emulated account with IAM enforced,
// that the role and its policies refuse what the workflow never does
// (Documentation/security.md).

// TestRoleRefusedToAnotherStateMachine: a state machine that is not one of
// the stack's cannot act with the stack's role, even when whoever created
// it could pass the role: the role's trust policy names only the stack's
// two state machines (aws:SourceArn), so Step Functions cannot assume it.
func TestRoleRefusedToAnotherStateMachine(t *testing.T) {
	ctx := context.Background()
	def, _ := json.Marshal(map[string]interface{}{
		"StartAt": "Read Instances",
		"States": map[string]interface{}{
			"Read Instances": map[string]interface{}{
				"Type":       "Task",
				"Resource":   "arn:aws:states:::aws-sdk:ec2:describeInstances",
				"Parameters": map[string]interface{}{},
				"End":        true,
			},
		},
	})
	other, err := emu.CreateStateMachineWithRole(ctx, "not-essential-ir", string(def), deployed.RoleARN)
	if err != nil {
		t.Fatal(err)
	}
	ex := runOn(t, other, "{}")
	if ex.Status != "FAILED" {
		t.Fatalf("a state machine outside the stack ran with its role: %s %s", ex.Status, ex.Output)
	}
	denials, err := emu.DenialsOf(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(denials) != 1 || denials[0].IAMAction != "sts:AssumeRole" || !strings.Contains(denials[0].Reason, "trust policy") {
		t.Fatalf("denials %v, want one sts:AssumeRole refused by the trust policy", denials)
	}
}
