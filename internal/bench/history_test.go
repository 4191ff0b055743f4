package bench

import (
	"strings"
	"testing"
	"time"
)

// historyBuilder writes synthetic histories shaped like the emulator's: every
// event names the one it follows in its own branch or iteration.
type historyBuilder struct {
	events []Event
	t0     time.Time
}

func newHistory() (*historyBuilder, int64) {
	h := &historyBuilder{t0: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	return h, h.add(0, Event{Type: "ExecutionStarted", Payload: `{"InstanceIds":["i-1"]}`})
}

// add appends an event after prev and returns its ID.
func (h *historyBuilder) add(prev int64, e Event) int64 {
	e.ID = int64(len(h.events) + 1)
	e.Prev = prev
	e.Time = h.t0.Add(time.Duration(e.ID) * time.Second)
	h.events = append(h.events, e)
	return e.ID
}

// task appends a task state making one call and returns its last event.
func (h *historyBuilder) task(prev int64, name, service, action, params string) int64 {
	id := h.add(prev, Event{Type: "TaskStateEntered", Name: name, Payload: `{}`})
	id = h.add(id, Event{Type: "TaskScheduled", Resource: lowerFirst(action), ResourceType: "aws-sdk:" + service, Parameters: params})
	id = h.add(id, Event{Type: "TaskStarted"})
	id = h.add(id, Event{Type: "TaskSucceeded", Resource: lowerFirst(action), ResourceType: "aws-sdk:" + service, Payload: `{}`})
	return h.add(id, Event{Type: "TaskStateExited", Name: name, Payload: `{}`})
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

func mnia(eni string) string { return `{"NetworkInterfaceId":"` + eni + `","Groups":["sg-1"]}` }

func TestAnalyzeDepthThroughParallelAndMap(t *testing.T) {
	h, start := newHistory()
	// One call, then a Parallel of a 1-call branch and a 3-call branch,
	// then a Map whose second iteration the engine starts after the first
	// ends (MaxConcurrency 1), each iteration moving one ENI.
	tag := h.task(start, "Tag", "ec2", "CreateTags", `{"Resources":["i-1"]}`)
	pe := h.add(tag, Event{Type: "ParallelStateEntered", Name: "Secure"})
	ps := h.add(pe, Event{Type: "ParallelStateStarted"})
	short := h.task(ps, "Terminate Protect", "ec2", "ModifyInstanceAttribute", `{"DisableApiTermination":{"Value":true}}`)
	long := h.task(ps, "Find ASG", "autoscaling", "DescribeAutoScalingInstances", `{}`)
	long = h.task(long, "Detach", "autoscaling", "DetachInstances", `{}`)
	long = h.task(long, "Confirm", "autoscaling", "DescribeAutoScalingInstances", `{}`)
	_ = short
	h.add(long, Event{Type: "ParallelStateSucceeded"})
	px := h.add(long, Event{Type: "ParallelStateExited", Name: "Secure"})
	me := h.add(px, Event{Type: "MapStateEntered", Name: "Each ENI"})
	ms := h.add(me, Event{Type: "MapStateStarted"})
	i0 := h.add(ms, Event{Type: "MapIterationStarted", Iteration: "Each ENI"})
	i0 = h.task(i0, "Isolate", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-a"))
	i0 = h.add(i0, Event{Type: "MapIterationSucceeded"})
	i1 := h.add(i0, Event{Type: "MapIterationStarted", Iteration: "Each ENI"}) // queued behind i0
	i1 = h.task(i1, "Isolate", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-b"))
	i1 = h.add(i1, Event{Type: "MapIterationSucceeded"})
	h.add(i1, Event{Type: "MapStateSucceeded"})
	mx := h.add(i1, Event{Type: "MapStateExited", Name: "Each ENI"})
	after := h.task(mx, "Confirm Isolation", "ec2", "DescribeNetworkInterfaces", `{}`)
	h.add(after, Event{Type: "ExecutionSucceeded", Payload: `{"big":"` + strings.Repeat("x", 100) + `"}`})

	c, err := Analyze(h.events)
	if err != nil {
		t.Fatal(err)
	}
	depth := map[string]int{}
	for _, call := range c.Calls {
		depth[call.State+"/"+call.Parameters] = call.Depth
	}
	for key, want := range map[string]int{
		`Tag/{"Resources":["i-1"]}`:                                  1,
		`Terminate Protect/{"DisableApiTermination":{"Value":true}}`: 2,
		"Confirm/{}":               4,
		"Isolate/" + mnia("eni-a"): 5,
		"Isolate/" + mnia("eni-b"): 5, // not 6: queueing is no dependency
		"Confirm Isolation/{}":     6,
	} {
		if depth[key] != want {
			t.Errorf("depth of %s = %d, want %d", key, depth[key], want)
		}
	}
	isos := c.Isolations(map[string]string{"eni-a": "i-1", "eni-b": "i-1"})
	iso := isos["i-1"]
	if iso == nil || !iso.Complete || iso.Depth != 5 {
		t.Fatalf("isolation = %+v, want complete at depth 5", iso)
	}
	if got := len(iso.Chain); got != 5 || iso.Chain[0].Action != "CreateTags" || iso.Chain[4].Action != "ModifyNetworkInterfaceAttribute" {
		t.Errorf("chain = %+v, want Tag, Find ASG, Detach, Confirm, Isolate", iso.Chain)
	}
	for _, k := range []SafetyKind{SafetyTag, SafetyTerminationProtection, SafetyAutoScalingDetach} {
		if !iso.SafetyBefore.Has(k) {
			t.Errorf("safety before isolation lacks %s", k)
		}
	}
	if iso.SafetyBefore.Has(SafetyKeepVolumes) || iso.SafetyBefore.Count() != 3 {
		t.Errorf("safety before isolation = %v, want tag, ASG, termination only", iso.SafetyBefore)
	}
	if got := CountTransitions(h.events); got != 10 {
		t.Errorf("transitions = %d, want 10", got)
	}
	if p := LargestPayload(h.events); p.Bytes != len(`{"big":""}`)+100 || p.Where != "ExecutionSucceeded" {
		t.Errorf("largest payload = %+v", p)
	}
}

// A branch whose last state is a nested Parallel: the outer Parallel's end
// still waits for, and carries the safety changes of, every branch, as the
// emulator writes it (the outer end follows the nested one's Exited).
func TestAnalyzeJoinsABranchEndingInAParallel(t *testing.T) {
	h, start := newHistory()
	pe := h.add(start, Event{Type: "ParallelStateEntered", Name: "Secure"})
	ps := h.add(pe, Event{Type: "ParallelStateStarted"})
	keep := h.task(ps, "Keep Volumes", "ec2", "ModifyInstanceAttribute", `{"BlockDeviceMappings":[{"DeviceName":"/dev/xvda"}]}`)
	keep = h.task(keep, "Confirm Volumes", "ec2", "DescribeInstances", `{}`)
	_ = keep
	find := h.task(ps, "Find Groups", "ec2", "DescribeSecurityGroups", `{}`)
	ne := h.add(find, Event{Type: "ParallelStateEntered", Name: "Prepare Groups"})
	ns := h.add(ne, Event{Type: "ParallelStateStarted"})
	inner := h.task(ns, "Create Group", "ec2", "CreateSecurityGroup", `{}`)
	h.add(inner, Event{Type: "ParallelStateSucceeded"})
	nx := h.add(inner, Event{Type: "ParallelStateExited", Name: "Prepare Groups"})
	h.add(nx, Event{Type: "ParallelStateSucceeded"})
	px := h.add(nx, Event{Type: "ParallelStateExited", Name: "Secure"})
	h.task(px, "Isolate", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-a"))

	c, err := Analyze(h.events)
	if err != nil {
		t.Fatal(err)
	}
	iso := c.Isolations(map[string]string{"eni-a": "i-1"})["i-1"]
	if iso == nil || iso.Depth != 3 {
		t.Fatalf("isolation = %+v, want depth 3 (find, create, isolate)", iso)
	}
	if !iso.SafetyBefore.Has(SafetyKeepVolumes) {
		t.Errorf("safety before isolation = %v, want DeleteOnTermination off: its branch ended before Secure did", iso.SafetyBefore)
	}
}

func TestIsolationsNeedEveryENIAndTakeTheLastModification(t *testing.T) {
	h, start := newHistory()
	// Two-phase isolation: eni-a moved twice, the second time deeper.
	a := h.task(start, "Untrack", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-a"))
	a = h.task(a, "Confirm Untracked", "ec2", "DescribeNetworkInterfaces", `{}`)
	h.task(a, "Isolate", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-a"))
	c, err := Analyze(h.events)
	if err != nil {
		t.Fatal(err)
	}
	isos := c.Isolations(map[string]string{"eni-a": "i-1", "eni-c": "i-2", "eni-d": "i-2"})
	if iso := isos["i-1"]; !iso.Complete || iso.Depth != 3 || iso.Elapsed <= 0 {
		t.Errorf("i-1 = %+v, want complete at depth 3", iso)
	}
	if iso := isos["i-2"]; iso.Complete || iso.SafetyBefore != 0 {
		t.Errorf("i-2 = %+v, want incomplete (its ENIs were never moved)", iso)
	}
}

func TestAnalyzeCountsAccountScans(t *testing.T) {
	h, start := newHistory()
	me := h.add(start, Event{Type: "MapStateEntered", Name: "Check Each Target Group"})
	ms := h.add(me, Event{Type: "MapStateStarted"})
	last := ms
	for _, arn := range []string{"tg-1", "tg-2"} {
		it := h.add(ms, Event{Type: "MapIterationStarted", Iteration: "Check Each Target Group"})
		it = h.add(it, Event{Type: "PassStateEntered", Name: "Look", Payload: `{"TargetGroupArn":"` + arn + `","InstanceId":"i-1"}`})
		it = h.add(it, Event{Type: "PassStateExited", Name: "Look"})
		last = h.add(it, Event{Type: "MapIterationSucceeded"})
	}
	h.add(last, Event{Type: "MapStateSucceeded"})
	mx := h.add(last, Event{Type: "MapStateExited", Name: "Check Each Target Group"})
	h.add(mx, Event{Type: "SucceedStateEntered", Name: "Done", Payload: `{}`})
	c, err := Analyze(h.events)
	if err != nil {
		t.Fatal(err)
	}
	if c.ScanItems != 2 || c.ScanEvents != 8 || c.ScanTransitions != 2 {
		t.Errorf("scan items/events/transitions = %d/%d/%d, want 2/8/2", c.ScanItems, c.ScanEvents, c.ScanTransitions)
	}
}

func TestAnalyzeRejectsABrokenHistory(t *testing.T) {
	if _, err := Analyze([]Event{{ID: 2, Prev: 1, Type: "TaskStateEntered"}}); err == nil {
		t.Error("Analyze accepted an event that follows a missing one")
	}
}

func TestSafetyOf(t *testing.T) {
	for _, tc := range []struct {
		service, action, params string
		want                    SafetySet
	}{
		{"ec2", "CreateTags", `{"Resources":["i-0abc"]}`, 1 << SafetyTag},
		{"ec2", "CreateTags", `{"Resources":["snap-1"]}`, 0},
		{"ec2", "ModifyInstanceAttribute", `{"Attribute":"instanceInitiatedShutdownBehavior","Value":"stop"}`, 1 << SafetyShutdownStop},
		{"ec2", "ModifyInstanceAttribute", `{"DisableApiStop":{"Value":true}}`, 1 << SafetyStopProtection},
		{"ec2", "ModifyInstanceAttribute", `{"BlockDeviceMappings":[]}`, 1 << SafetyKeepVolumes},
		{"autoscaling", "DetachInstances", `{}`, 1 << SafetyAutoScalingDetach},
		{"ec2", "DescribeInstances", `not json`, 0},
	} {
		if got := safetyOf(tc.service, tc.action, tc.params); got != tc.want {
			t.Errorf("safetyOf(%s:%s %s) = %b, want %b", tc.service, tc.action, tc.params, got, tc.want)
		}
	}
}

func TestEmulatorFault(t *testing.T) {
	h, start := newHistory()
	id := h.add(start, Event{Type: "TaskStateEntered", Name: "Read Snapshot"})
	id = h.add(id, Event{Type: "TaskScheduled", Resource: "describeSnapshots", ResourceType: "aws-sdk:ec2"})
	h.add(id, Event{Type: "TaskFailed", Error: "Ec2.Ec2Exception", Cause: "Status Code: 500, Error Code: InternalError"})
	if got := EmulatorFault(h.events); got != "" {
		t.Errorf("an EC2 InternalError is AWS behaviour, not an emulator fault: %q", got)
	}
	h.add(id, Event{Type: "TaskFailed", Error: "States.Runtime", Cause: "invalid XML received: <title>500 Internal Server Error</title>"})
	if got := EmulatorFault(h.events); !strings.HasPrefix(got, "Read Snapshot: States.Runtime") {
		t.Errorf("EmulatorFault = %q", got)
	}
}

func TestAnalyzeFollowsAChildExecution(t *testing.T) {
	// GIVEN a tree of histories (emulator HistoryTree): one call, then a
	// .sync task that starts a child execution, whose first state follows
	// the child's start, which follows the parent's TaskSubmitted
	h, start := newHistory()
	find := h.task(start, "Find", "ec2", "DescribeInstances", `{}`)
	id := h.add(find, Event{Type: "TaskStateEntered", Name: "Contain Instance", Payload: `{}`})
	id = h.add(id, Event{Type: "TaskScheduled", Resource: "startExecution.sync:2", ResourceType: "states"})
	id = h.add(id, Event{Type: "TaskStarted"})
	submitted := h.add(id, Event{Type: "TaskSubmitted", Resource: "startExecution.sync:2", ResourceType: "states", Payload: `{}`})
	done := h.add(submitted, Event{Type: "TaskSucceeded", Resource: "startExecution.sync:2", ResourceType: "states", Payload: `{}`})
	h.add(done, Event{Type: "TaskStateExited", Name: "Contain Instance"})
	child := h.add(submitted, Event{Type: "ExecutionStarted", Payload: `{"InstanceId":"i-1"}`})
	h.task(child, "Isolate ENI", "ec2", "ModifyNetworkInterfaceAttribute", mnia("eni-1"))
	c, err := Analyze(h.events)
	if err != nil {
		t.Fatal(err)
	}
	// THEN StartExecution is one call, answered at TaskSubmitted (the wait
	// that ends at TaskSucceeded is not another), and the child's call
	// comes third on the chain; the execution's start is the root's
	var actions []string
	depth := map[string]int{}
	for _, call := range c.Calls {
		actions = append(actions, call.Service+":"+call.Action)
		depth[call.Action] = call.Depth
	}
	if strings.Join(actions, " ") != "ec2:DescribeInstances states:StartExecution ec2:ModifyNetworkInterfaceAttribute" {
		t.Errorf("calls %v", actions)
	}
	if depth["ModifyNetworkInterfaceAttribute"] != 3 {
		t.Errorf("the child's call is at depth %d, want 3", depth["ModifyNetworkInterfaceAttribute"])
	}
	if !c.Start.Equal(h.events[0].Time) {
		t.Errorf("start %v, want the root's %v", c.Start, h.events[0].Time)
	}
}

func TestInstanceExecutionsAtOnce(t *testing.T) {
	// GIVEN a started execution's own history: instance executions a and b
	// start, a ends, c starts, b's attempt fails and is retried, and calls
	// of other kinds run meanwhile
	h, start := newHistory()
	sync := func(typ string) Event {
		return Event{Type: typ, Resource: "startExecution.sync:2", ResourceType: "states"}
	}
	for _, typ := range []string{"TaskScheduled", "TaskScheduled", "TaskSucceeded", "TaskScheduled", "TaskFailed", "TaskScheduled", "TaskSucceeded", "TaskSucceeded"} {
		h.add(start, sync(typ))
		h.task(start, "Find", "ec2", "DescribeInstances", `{}`)
	}
	// THEN at most two ran at once
	if got := InstanceExecutionsAtOnce(h.events); got != 2 {
		t.Errorf("InstanceExecutionsAtOnce = %d, want 2", got)
	}
	// AND the fleet's credential revocation, running beside them, is not
	// an instance's execution: neither its start nor its end counts
	for _, ends := range []bool{false, true} {
		h, start := newHistory()
		revoke := h.add(start, Event{Type: "TaskScheduled", Resource: "startExecution.sync:2", ResourceType: "states",
			Parameters: `{"StateMachineArn":"arn","Input":{"Phase":"RevokeCredentials"}}`})
		if ends {
			h.add(h.add(revoke, Event{Type: "TaskStarted", Resource: "startExecution.sync:2", ResourceType: "states"}),
				Event{Type: "TaskSucceeded", Resource: "startExecution.sync:2", ResourceType: "states"})
		}
		for i := 0; i < 3; i++ {
			h.add(start, sync("TaskScheduled"))
		}
		if got := InstanceExecutionsAtOnce(h.events); got != 3 {
			t.Errorf("InstanceExecutionsAtOnce = %d with the revocation beside three (ended before them: %t), want 3", got, ends)
		}
	}
	// AND a design with no instance executions has none
	h, start = newHistory()
	h.task(start, "Find", "ec2", "DescribeInstances", `{}`)
	if got := InstanceExecutionsAtOnce(h.events); got != 0 {
		t.Errorf("InstanceExecutionsAtOnce = %d with no instance execution, want 0", got)
	}
}
