package bench

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// walkStates calls f for every state of a definition, nested ones included,
// with the names of its own state list.
func walkStates(t *testing.T, states map[string]any, f func(name string, state map[string]any, siblings map[string]any)) {
	t.Helper()
	for name, raw := range states {
		state, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("state %q is %T", name, raw)
		}
		f(name, state, states)
		var nested []map[string]any
		if branches, ok := state["Branches"].([]any); ok {
			for _, b := range branches {
				nested = append(nested, b.(map[string]any))
			}
		}
		if p, ok := state["ItemProcessor"].(map[string]any); ok {
			nested = append(nested, p)
		}
		for _, n := range nested {
			sub, _ := n["States"].(map[string]any)
			if _, ok := sub[n["StartAt"].(string)]; !ok {
				t.Errorf("%s: StartAt %v is not one of its states", name, n["StartAt"])
			}
			walkStates(t, sub, f)
		}
	}
}

func TestBaselineDefinitionIsWellFormed(t *testing.T) {
	// GIVEN the baseline definition
	def, err := BaselineDefinition()
	if err != nil {
		t.Fatal(err)
	}
	var asl map[string]any
	if err := json.Unmarshal([]byte(def), &asl); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	// THEN every transition stays in its own state list, names are unique
	// across the definition (as AWS requires), and every task is an aws-sdk
	// integration with a retry and a catch, as the seed says.
	seen := map[string]int{}
	tasks := 0
	walkStates(t, asl["States"].(map[string]any), func(name string, state, siblings map[string]any) {
		seen[name]++
		targets := []any{state["Next"], state["Default"]}
		for _, c := range append(asSlice(state["Choices"]), asSlice(state["Catch"])...) {
			targets = append(targets, c.(map[string]any)["Next"])
		}
		for _, next := range targets {
			if s, ok := next.(string); ok {
				if _, ok := siblings[s]; !ok {
					t.Errorf("%s: goes to %q, not in its state list", name, s)
				}
			}
		}
		if state["Type"] == "Task" {
			tasks++
			if !strings.HasPrefix(state["Resource"].(string), "arn:aws:states:::aws-sdk:") {
				t.Errorf("%s: resource %v is not an aws-sdk integration", name, state["Resource"])
			}
			if len(asSlice(state["Retry"])) == 0 || len(asSlice(state["Catch"])) == 0 {
				t.Errorf("%s: no Retry or no Catch", name)
			}
		}
	})
	for name, n := range seen {
		if n > 1 {
			t.Errorf("state name %q used %d times", name, n)
		}
	}
	if tasks < 25 {
		t.Errorf("only %d tasks: the baseline lost steps", tasks)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestBaselineContainsAnInstanceOnTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an execution on the emulator")
	}
	// GIVEN the baseline and one compromised web server with 3 volumes
	def, err := BaselineDefinition()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// WHEN the benchmark runs it
	ms, err := Run(ctx, Options{Instances: []int{1}, Volumes: 3, VPCs: 1, Timeout: 3 * time.Minute},
		[]Design{{Name: "baseline", Definition: def}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 {
		t.Fatalf("got %d measurements, want 1", len(ms))
	}
	m := ms[0]
	// THEN it succeeded and the account shows the instance contained
	if m.Status != "SUCCEEDED" || len(m.Problems) > 0 {
		t.Fatalf("status %s (%s: %s), problems %v", m.Status, m.Error, m.Cause, m.Problems)
	}
	// AND it did the seed's steps in the seed's order: tag and protections
	// before isolation, which comes 8 calls deep (tag, protection, its
	// check, metadata, create group, revoke egress, check, move ENI).
	if m.Isolation.Isolated != 1 || m.Isolation.MaxDepth != 8 {
		t.Errorf("isolation = %+v, want 1 instance at depth 8", m.Isolation)
	}
	if got := strings.Join(m.Isolation.SafetyBefore, ", "); got != "tag, termination protection, stop protection, shutdown behaviour" {
		t.Errorf("safety steps before isolation = %s", got)
	}
	for action, want := range map[string]int{
		"ec2:CreateSnapshot": 3, "ec2:CopySnapshot": 2, "ec2:DeleteSnapshot": 2, "ec2:ModifyNetworkInterfaceAttribute": 3,
		"ec2:CreateSecurityGroup": 1, "autoscaling:DetachInstances": 1, "ec2:DisassociateIamInstanceProfile": 1,
		"elasticloadbalancingv2:DeregisterTargets": 2,
	} {
		if got := m.CallsByAction[action]; got != want {
			t.Errorf("%s called %d times, want %d", action, got, want)
		}
	}
	// AND the report's minimum for its own actions is below what it spent.
	min := MinimumFor(&m)
	if min.Total <= 0 || min.Total > float64(m.Calls) {
		t.Errorf("minimum %.1f calls for a design that made %d", min.Total, m.Calls)
	}
}
