package bench

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Event is the part of a Step Functions history event the benchmark reads.
type Event struct {
	ID, Prev int64
	Type     string
	Time     time.Time
	// Name is the state's name on StateEntered and StateExited events.
	Name string
	// Iteration is the Map state's name on MapIterationStarted events.
	Iteration string
	// Resource ("modifyNetworkInterfaceAttribute") and ResourceType
	// ("aws-sdk:ec2") are set on task events.
	Resource, ResourceType string
	// Parameters are the task's parameters (TaskScheduled only).
	Parameters string
	// Error and Cause are a failed task's (TaskFailed only).
	Error, Cause string
	// Payload is the state input or output, task output, or execution
	// input or output the event carries ("" if none).
	Payload string
}

// FromHistory converts an execution history as GetExecutionHistory returns
// it.
func FromHistory(history []sfntypes.HistoryEvent) []Event {
	events := make([]Event, 0, len(history))
	for _, h := range history {
		e := Event{ID: h.Id, Prev: h.PreviousEventId, Type: string(h.Type), Time: aws.ToTime(h.Timestamp)}
		switch {
		case h.StateEnteredEventDetails != nil:
			e.Name, e.Payload = aws.ToString(h.StateEnteredEventDetails.Name), aws.ToString(h.StateEnteredEventDetails.Input)
		case h.StateExitedEventDetails != nil:
			e.Name, e.Payload = aws.ToString(h.StateExitedEventDetails.Name), aws.ToString(h.StateExitedEventDetails.Output)
		case h.TaskScheduledEventDetails != nil:
			d := h.TaskScheduledEventDetails
			e.Resource, e.ResourceType, e.Parameters = aws.ToString(d.Resource), aws.ToString(d.ResourceType), aws.ToString(d.Parameters)
		case h.TaskSucceededEventDetails != nil:
			d := h.TaskSucceededEventDetails
			e.Resource, e.ResourceType, e.Payload = aws.ToString(d.Resource), aws.ToString(d.ResourceType), aws.ToString(d.Output)
		case h.TaskFailedEventDetails != nil:
			d := h.TaskFailedEventDetails
			e.Resource, e.ResourceType = aws.ToString(d.Resource), aws.ToString(d.ResourceType)
			e.Error, e.Cause = aws.ToString(d.Error), aws.ToString(d.Cause)
		case h.TaskTimedOutEventDetails != nil:
			e.Resource, e.ResourceType = aws.ToString(h.TaskTimedOutEventDetails.Resource), aws.ToString(h.TaskTimedOutEventDetails.ResourceType)
		case h.MapIterationStartedEventDetails != nil:
			e.Iteration = aws.ToString(h.MapIterationStartedEventDetails.Name)
		case h.ExecutionStartedEventDetails != nil:
			e.Payload = aws.ToString(h.ExecutionStartedEventDetails.Input)
		case h.ExecutionSucceededEventDetails != nil:
			e.Payload = aws.ToString(h.ExecutionSucceededEventDetails.Output)
		}
		events = append(events, e)
	}
	return events
}

// Event types the analysis treats specially.
const (
	typeTaskScheduled = "TaskScheduled"
	typeTaskSucceeded = "TaskSucceeded"
)

// isCallEnd reports whether the event ends one AWS call (one attempt of a
// task): the call's result came back, good or bad.
func isCallEnd(t string) bool {
	return t == typeTaskSucceeded || t == "TaskFailed" || t == "TaskTimedOut"
}

// opensScope reports whether the event starts the concurrent part of a
// Parallel or Map state: its branches or iterations hang off it.
func opensScope(t string) bool {
	return t == "ParallelStateStarted" || t == "MapStateStarted"
}

// closesScope reports whether the event ends a Parallel or Map state: it
// depends on every branch or iteration, not only on the one event its
// PreviousEventId names.
func closesScope(t string) bool {
	switch t {
	case "ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted", "ParallelStateExited",
		"MapStateSucceeded", "MapStateFailed", "MapStateAborted", "MapStateExited":
		return true
	}
	return false
}

// closesSameState reports whether e ends the same Parallel or Map state as
// prev, an end event it follows: the …StateExited after that state's
// …StateSucceeded (or Failed, Aborted), whose scope prev already closed. A
// …StateExited names its state and never precedes an end of that state, so
// an end event that follows another state's …StateExited (a branch whose last
// state is a nested Parallel) closes its own scope.
func closesSameState(prev *Event, e *Event) bool {
	return closesScope(prev.Type) && !strings.HasSuffix(prev.Type, "Exited") && strings.HasSuffix(e.Type, "Exited")
}

// Call is one AWS call of an execution as its history shows it.
type Call struct {
	// State is the task state that made it.
	State string
	// Service is the aws-sdk service ("ec2") and Action the API action
	// ("ModifyNetworkInterfaceAttribute", PascalCase as in Calls()).
	Service, Action string
	// Parameters are the call's parameters (JSON).
	Parameters string
	// EndID is the TaskSucceeded/TaskFailed/TaskTimedOut event that ended it.
	EndID int64
	// Succeeded is true for a TaskSucceeded end.
	Succeeded bool
	// Depth is the number of AWS calls on the longest chain of dependent
	// calls from the execution's start to this call's end, this one included.
	Depth int
	// Before is the set of safety changes (SafetyKind) completed on some
	// chain of dependencies that ends at this call, this one included.
	Before SafetySet
	// End is when the call's result was recorded.
	End time.Time
	// Prev indexes, in Causal.Calls, the call before this one on its
	// longest chain (-1: it is the first).
	Prev int
}

// Causal is the causal structure of one execution history: for every AWS
// call, how many calls had to complete one after the other before it could,
// and which safety changes are among them.
//
// The history's PreviousEventId links each event to the one it follows in
// its own branch or iteration, so the events form a tree rooted at
// ExecutionStarted. A call's depth is the depth of the event it follows plus
// one. The only events that depend on more than the one they follow are the
// ends of Parallel and Map states: they wait for every branch or iteration,
// so their depth is the largest depth reached inside. Queueing behind a Map's
// MaxConcurrency is not a dependency and is not counted (the wall-clock time
// to isolation shows it).
type Causal struct {
	Calls []Call
	// ScanEvents and ScanTransitions count the events and states entered in
	// Map iterations over account-wide resources (an item with a top-level
	// TargetGroupArn or LoadBalancerName: one iteration per target group or
	// classic load balancer in the account, whether or not the instance is
	// in it); ScanItems counts those iterations.
	ScanEvents, ScanTransitions, ScanItems int
	// Start is the execution's start.
	Start time.Time
}

// Analyze derives the causal structure of a history.
func Analyze(events []Event) (*Causal, error) {
	sorted := append([]Event(nil), events...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	byID := make(map[int64]*Event, len(sorted))
	type node struct {
		depth  int
		before SafetySet
		scope  int64  // the ParallelStateStarted/MapStateStarted event it runs inside, 0 at top level
		state  string // the state it belongs to
		call   *Call  // the call in progress on this chain, if any
		tail   int    // index in c.Calls of the last call on its longest chain, -1 if none
		scan   bool   // inside a Map iteration over an account-wide resource
		// submitted: the call in progress was a .sync integration's start,
		// answered by TaskSubmitted; its TaskSucceeded later is the end of
		// the wait, not another call.
		submitted bool
	}
	nodes := make(map[int64]*node, len(sorted))
	type scopeInfo struct {
		parent int64
		name   string // the Parallel or Map state
		depth  int    // the largest depth reached inside so far
		tail   int
		before SafetySet
		scan   bool
		open   node // the opening event's
	}
	scopes := map[int64]*scopeInfo{}
	c := &Causal{}
	for i := range sorted {
		e := &sorted[i]
		byID[e.ID] = e
		if e.Type == "ExecutionStarted" && e.Prev == 0 {
			// The root's start; a child execution's start follows the
			// parent's event that started it.
			c.Start = e.Time
		}
		n := &node{tail: -1}
		p, ok := nodes[e.Prev]
		if e.Prev != 0 && !ok {
			return nil, fmt.Errorf("history event %d (%s) follows event %d, which is not in the history", e.ID, e.Type, e.Prev)
		}
		if ok {
			n.depth, n.before, n.state, n.call, n.tail, n.scan, n.submitted = p.depth, p.before, p.state, p.call, p.tail, p.scan, p.submitted
			n.scope = p.scope
			if opensScope(byID[e.Prev].Type) {
				n.scope = e.Prev
			}
		}
		if closesScope(e.Type) && e.Prev != 0 && !closesSameState(byID[e.Prev], e) {
			// The scope this event closes: the one its predecessor ran in,
			// or the predecessor itself when no branch or iteration ran. A
			// predecessor that closed a nested Parallel or Map (a branch
			// ending in one) has already moved up to the scope it ran in.
			s := n.scope
			if opensScope(byID[e.Prev].Type) {
				s = e.Prev
			}
			if info, ok := scopes[s]; ok {
				if info.depth > n.depth {
					n.depth, n.tail = info.depth, info.tail
				}
				n.before |= info.before
				n.scope, n.scan = info.parent, info.scan
			}
		}
		if e.Type == "ExecutionStarted" {
			// A child execution continues its parent's chain, but not the
			// parent's call in progress.
			n.call, n.submitted = nil, false
		}
		if e.Type == "MapIterationStarted" {
			// An iteration depends on its Map's start only, even when the
			// engine starts it after another one ends (MaxConcurrency):
			// queueing is not a dependency.
			for s := n.scope; s != 0; s = scopes[s].parent {
				if info := scopes[s]; info.name == e.Iteration && byID[s].Type == "MapStateStarted" {
					*n = info.open
					n.scope = s
					break
				}
			}
		}
		if opensScope(e.Type) {
			scopes[e.ID] = &scopeInfo{parent: n.scope, name: n.state, depth: n.depth, tail: n.tail, before: n.before, scan: n.scan, open: *n}
		}
		if strings.HasSuffix(e.Type, "StateEntered") {
			n.state, n.call = e.Name, nil
			if prev := byID[e.Prev]; prev != nil && prev.Type == "MapIterationStarted" && !n.scan && scansAccount(e.Payload) {
				n.scan = true
				c.ScanItems++
				c.ScanEvents++ // the MapIterationStarted
			}
		}
		if n.scan {
			c.ScanEvents++
			if strings.HasSuffix(e.Type, "StateEntered") {
				c.ScanTransitions++
			}
		}
		switch {
		case e.Type == typeTaskScheduled:
			service, action := splitResource(e.ResourceType, e.Resource)
			n.call = &Call{State: n.state, Service: service, Action: action, Parameters: e.Parameters}
		case isCallEnd(e.Type) && n.submitted:
			n.submitted = false
		case isCallEnd(e.Type) || e.Type == "TaskSubmitted":
			n.submitted = e.Type == "TaskSubmitted"
			call := Call{State: n.state}
			if n.call != nil {
				call = *n.call
			} else {
				call.Service, call.Action = splitResource(e.ResourceType, e.Resource)
			}
			n.depth++
			n.before |= safetyOf(call.Service, call.Action, call.Parameters)
			call.EndID, call.Succeeded, call.Depth, call.Before, call.End, call.Prev = e.ID, e.Type == typeTaskSucceeded || n.submitted, n.depth, n.before, e.Time, n.tail
			c.Calls = append(c.Calls, call)
			n.call, n.tail = nil, len(c.Calls)-1
		}
		nodes[e.ID] = n
		for s := n.scope; s != 0; s = scopes[s].parent {
			info := scopes[s]
			if n.depth > info.depth {
				info.depth, info.tail = n.depth, n.tail
			}
			info.before |= n.before
		}
	}
	return c, nil
}

// scansAccount reports whether a Map item is an account-wide resource: a
// target group or a classic load balancer.
func scansAccount(input string) bool {
	var item map[string]json.RawMessage
	if json.Unmarshal([]byte(input), &item) != nil {
		return false
	}
	_, tg := item["TargetGroupArn"]
	_, lb := item["LoadBalancerName"]
	return tg || lb
}

// splitResource turns ("aws-sdk:ec2", "modifyNetworkInterfaceAttribute")
// into ("ec2", "ModifyNetworkInterfaceAttribute"); other integrations keep
// their resource type as the service.
func splitResource(resourceType, resource string) (string, string) {
	service := strings.TrimPrefix(resourceType, "aws-sdk:")
	// "startExecution.sync:2" is the StartExecution call of a .sync
	// integration.
	action, _, _ := strings.Cut(resource, ".")
	if action != "" {
		action = strings.ToUpper(action[:1]) + action[1:]
	}
	return service, action
}

// Isolation is when one instance's network isolation completed.
type Isolation struct {
	InstanceID string
	// Depth is the number of sequential AWS calls from the execution's start
	// until the last ModifyNetworkInterfaceAttribute of the instance's ENIs
	// completed (the largest Depth among the last such call of each ENI).
	Depth int
	// Elapsed is the wall-clock time from the execution's start to that
	// call's end.
	Elapsed time.Duration
	// SafetyBefore are the safety changes on a dependency chain ending at
	// the isolating calls: done for certain before every ENI was isolated.
	SafetyBefore SafetySet
	// Complete is false if some ENI of the instance was never modified.
	Complete bool
	// Chain is the longest chain of calls ending at the deepest isolating
	// call, first call first.
	Chain []Call
}

// Isolations finds, for every instance, the last successful
// ModifyNetworkInterfaceAttribute of each of its ENIs (enis maps ENI ID to
// instance ID) and reports the instance isolated when all are done.
func (c *Causal) Isolations(enis map[string]string) map[string]*Isolation {
	last := map[string]*Call{} // by ENI
	for i := range c.Calls {
		call := &c.Calls[i]
		if call.Service != "ec2" || call.Action != "ModifyNetworkInterfaceAttribute" || !call.Succeeded {
			continue
		}
		var p struct{ NetworkInterfaceId string }
		if json.Unmarshal([]byte(call.Parameters), &p) != nil || p.NetworkInterfaceId == "" {
			continue
		}
		if prev, ok := last[p.NetworkInterfaceId]; !ok || call.EndID > prev.EndID {
			last[p.NetworkInterfaceId] = call
		}
	}
	out := map[string]*Isolation{}
	for eni, instance := range enis {
		iso, ok := out[instance]
		if !ok {
			iso = &Isolation{InstanceID: instance, Complete: true, SafetyBefore: ^SafetySet(0)}
			out[instance] = iso
		}
		call, ok := last[eni]
		if !ok {
			iso.Complete = false
			continue
		}
		if call.Depth > iso.Depth || iso.Chain == nil {
			iso.Depth = call.Depth
			iso.Chain = c.chain(call)
		}
		iso.Elapsed = max(iso.Elapsed, call.End.Sub(c.Start))
		iso.SafetyBefore &= call.Before
	}
	for _, iso := range out {
		if !iso.Complete {
			iso.SafetyBefore = 0
		}
	}
	return out
}

// chain returns the longest chain of calls ending at call, first call first.
func (c *Causal) chain(call *Call) []Call {
	var out []Call
	for cur := call; ; cur = &c.Calls[cur.Prev] {
		out = append(out, *cur)
		if cur.Prev < 0 {
			break
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// Payload is the largest piece of state data in a history.
type Payload struct {
	Bytes int `json:"bytes"`
	// Where names the event type and state, e.g. "TaskSucceeded of Find
	// Every Instance".
	Where string `json:"where"`
}

// LargestPayload returns the largest state input, state output, task output
// or execution input/output in the history, in bytes (UTF-8), which is what
// the 256 KiB quota measures.
func LargestPayload(events []Event) Payload {
	var best Payload
	for where, n := range Payloads(events) {
		if n > best.Bytes || n == best.Bytes && where < best.Where {
			best = Payload{Bytes: n, Where: where}
		}
	}
	return best
}

// ChildSuffix ends the Payloads key of an event in a child execution.
const ChildSuffix = " (child execution)"

// Payloads returns the largest payload of each kind of event and state
// ("TaskSucceeded of Find Every Instance", "ExecutionSucceeded"), so that a
// payload can be followed from one fleet size to another.
//
// In a tree of histories (emulator HistoryTree), a child execution starts
// with an ExecutionStarted event that follows the parent's event that
// started it; the events of children are told apart by a suffix:
// "ExecutionSucceeded (child execution)", "TaskSucceeded of Find Instances
// (child execution)".
func Payloads(events []Event) map[string]int {
	out := map[string]int{}
	state := map[int64]string{}
	inChild := map[int64]bool{}
	for _, e := range events {
		name := e.Name
		if name == "" {
			name = state[e.Prev]
		}
		state[e.ID] = name
		inChild[e.ID] = inChild[e.Prev] || e.Type == "ExecutionStarted" && e.Prev != 0
		if e.Payload == "" {
			continue
		}
		where := e.Type
		if name != "" && !strings.HasPrefix(e.Type, "Execution") {
			where += " of " + name
		}
		if inChild[e.ID] {
			where += ChildSuffix
		}
		out[where] = max(out[where], len(e.Payload))
	}
	return out
}

// EmulatorFault returns a description of the first call the emulator
// itself failed, "" if none: an HTTP 500 whose body is the emulator's own
// error page, which the engine reports as States.Runtime. AWS answers its
// internal errors in the service's format (for EC2, Ec2.Ec2Exception with
// InternalError), which the workflows retry; this is a fault of the
// emulator, not of the design under test.
func EmulatorFault(events []Event) string {
	state := map[int64]string{}
	for _, e := range events {
		name := e.Name
		if name == "" {
			name = state[e.Prev]
		}
		state[e.ID] = name
		if e.Type == "TaskFailed" && e.Error == "States.Runtime" && strings.Contains(e.Cause, "500 Internal Server Error") {
			return fmt.Sprintf("%s: %s: HTTP 500 Internal Server Error from the emulator", name, e.Error)
		}
	}
	return ""
}

// CountTransitions counts the states entered (…StateEntered events), which is
// what Step Functions bills and limits as state transitions.
func CountTransitions(events []Event) int {
	n := 0
	for _, e := range events {
		if strings.HasSuffix(e.Type, "StateEntered") {
			n++
		}
	}
	return n
}

// InstanceExecutionsAtOnce is the most executions that one execution's own
// history (its events in order, not a tree) shows running at once through
// tasks that start an execution and wait for it
// (`states:startExecution.sync`): for a design that contains each instance
// in an execution of its own, how many instances it worked on at once,
// which its Map's MaxConcurrency must bound. A task is running from its
// TaskScheduled to the end of that attempt. The execution that revokes
// the credentials of the whole fleet (input Phase RevokeCredentials) runs
// beside the instances' and is not one of them: its task is left out, its
// end found by following PreviousEventId back to its TaskScheduled.
func InstanceExecutionsAtOnce(events []Event) int {
	byID := map[int64]Event{}
	revocation := map[int64]bool{}
	scheduledBy := func(e Event) int64 {
		for i := 0; i < 8 && e.Type != typeTaskScheduled; i++ {
			prev, ok := byID[e.Prev]
			if !ok {
				return 0
			}
			e = prev
		}
		return e.ID
	}
	running, most := 0, 0
	for _, e := range events {
		byID[e.ID] = e
		if e.ResourceType != "states" || !strings.HasPrefix(e.Resource, "startExecution.sync") {
			continue
		}
		switch {
		case e.Type == typeTaskScheduled && isRevocation(e.Parameters):
			revocation[e.ID] = true
		case e.Type == typeTaskScheduled:
			running++
			most = max(most, running)
		case isCallEnd(e.Type) && revocation[scheduledBy(e)]:
		case isCallEnd(e.Type):
			running--
		}
	}
	return most
}

// isRevocation reports whether a startExecution task's parameters start
// the fleet's credential revocation (statemachine.RevokePhase).
func isRevocation(parameters string) bool {
	var p struct{ Input struct{ Phase string } }
	return json.Unmarshal([]byte(parameters), &p) == nil && p.Input.Phase == "RevokeCredentials"
}
