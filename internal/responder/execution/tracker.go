package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Progress kinds.
const (
	// ProgressStarted: an execution started.
	ProgressStarted = "started"
	// ProgressStep: an execution entered a step.
	ProgressStep = "step"
	// ProgressEnded: an execution ended; Status says how.
	ProgressEnded = "ended"
)

// Phase names in Progress.
const (
	PhaseIncident    = "incident"
	PhaseContainment = "containment"
	PhaseEvidence    = "evidence"
	// PhaseRevocation is the incident's credential revocation, for every
	// instance at once (InstanceID "").
	PhaseRevocation = "revocation"
)

// Progress is one thing that happened in an incident's executions.
type Progress struct {
	Time time.Time `json:"time"`
	// InstanceID is "" for the incident's own execution.
	InstanceID string `json:"instanceId,omitempty"`
	// Phase is PhaseIncident, PhaseContainment or PhaseEvidence.
	Phase string `json:"phase"`
	// Kind is ProgressStarted, ProgressStep or ProgressEnded.
	Kind string `json:"kind"`
	// Step is the step entered (ProgressStep) or failed in (ProgressEnded).
	Step string `json:"step,omitempty"`
	// Status, Error and Cause are the execution's, when it ended.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// ExecutionARN is the execution it happened in.
	ExecutionARN string `json:"executionArn"`
}

// Tracker reads an incident's executions and what changed in them since
// its last read. It is not safe for concurrent use.
type Tracker struct {
	api      API
	incident *Incident
	parent   tracked
	children map[string]*tracked
	order    []string
	// steps caches each state machine's steps; nil when its definition
	// could not be read.
	steps map[string]*Steps
}

// tracked is what the tracker knows of one execution.
type tracked struct {
	arn string
	// seen is the Id of the last history event read, last its time.
	seen int64
	last time.Time
	// final is set once the history was read after the execution ended.
	final bool
	// phase is the instance execution's phase (nil for the incident's).
	phase *Phase
	// instanceID and phaseName say which instance and phase it runs.
	instanceID, phaseName string
	// lastNormal is the last step entered outside failure handling.
	lastNormal string
}

// NewTracker returns a tracker of the incident whose execution is
// executionARN. It reads nothing until Refresh.
func NewTracker(api API, executionARN string) *Tracker {
	return &Tracker{
		api:      api,
		incident: &Incident{IncidentID: Name(executionARN), ExecutionARN: executionARN, ConsoleLink: ConsoleLink(executionARN), Region: Region(executionARN)},
		parent:   tracked{arn: executionARN},
		children: map[string]*tracked{},
		steps:    map[string]*Steps{},
	}
}

// Incident is the incident as last read. It changes with each Refresh.
func (t *Tracker) Incident() *Incident { return t.incident }

// Done reports whether every execution has ended and been read to its end.
func (t *Tracker) Done() bool {
	if !t.parent.final {
		return false
	}
	for _, c := range t.children {
		if !c.final {
			return false
		}
	}
	return true
}

// Refresh reads the executions that have not ended (the incident's, then
// each instance's) and returns what happened in them since the last
// Refresh, in order per execution.
func (t *Tracker) Refresh(ctx context.Context) ([]Progress, error) {
	var out []Progress
	if !t.parent.final {
		p, err := t.refreshIncident(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, p...)
	}
	for _, arn := range t.order {
		c := t.children[arn]
		if c.final {
			continue
		}
		p, err := t.refreshChild(ctx, c)
		if err != nil {
			return out, err
		}
		out = append(out, p...)
	}
	t.incident.settle()
	// Each execution's events are in order; across executions, by time.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

func (t *Tracker) refreshIncident(ctx context.Context) ([]Progress, error) {
	inc := t.incident
	d, err := t.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(inc.ExecutionARN)})
	if err != nil {
		return nil, fmt.Errorf("read incident %s (execution %s): %w", inc.IncidentID, inc.ExecutionARN, err)
	}
	first := inc.Status == ""
	inc.Status, inc.Error, inc.Cause = string(d.Status), aws.ToString(d.Error), aws.ToString(d.Cause)
	inc.StartDate, inc.StopDate = d.StartDate, d.StopDate
	var out []Progress
	if first {
		t.addInstances(aws.ToString(d.Input))
		out = append(out, Progress{Time: aws.ToTime(d.StartDate), Phase: PhaseIncident, Kind: ProgressStarted, ExecutionARN: inc.ExecutionARN})
	}
	steps := t.stepsOf(ctx, aws.ToString(d.StateMachineArn))
	events, err := history(ctx, t.api, inc.ExecutionARN)
	if err != nil {
		return out, err
	}
	for _, ev := range events {
		if ev.Id <= t.parent.seen {
			continue
		}
		t.parent.seen, t.parent.last = ev.Id, aws.ToTime(ev.Timestamp)
		if name, ok := enteredState(ev); ok && isStep(steps, name, ev) && name != inc.CurrentStep {
			inc.CurrentStep = name
			out = append(out, Progress{Time: aws.ToTime(ev.Timestamp), Phase: PhaseIncident, Kind: ProgressStep, Step: name, ExecutionARN: inc.ExecutionARN})
		}
		if arn := startedExecution(ev); arn != "" && t.children[arn] == nil {
			t.children[arn] = &tracked{arn: arn}
			t.order = append(t.order, arn)
		}
	}
	if d.Status != sfntypes.ExecutionStatusRunning {
		t.parent.final = true
		out = append(out, Progress{Time: stopTime(d.StopDate, t.parent.last), Phase: PhaseIncident, Kind: ProgressEnded,
			Status: inc.Status, Error: inc.Error, Cause: inc.Cause, ExecutionARN: inc.ExecutionARN})
	}
	return out, nil
}

// addInstances lists the instances of the incident's input, in order,
// each once.
func (t *Tracker) addInstances(input string) {
	var in struct{ InstanceIds []interface{} }
	_ = json.Unmarshal([]byte(input), &in) // a malformed input lists none: the execution says why it failed
	for _, v := range in.InstanceIds {
		if id, ok := v.(string); ok {
			t.instance(id)
		}
	}
}

// instance returns the incident's instance id, added if new.
func (t *Tracker) instance(id string) *Instance {
	if i := t.incident.Instance(id); i != nil {
		return i
	}
	i := &Instance{InstanceID: id, Outcome: OutcomeWaiting}
	t.incident.Instances = append(t.incident.Instances, i)
	return i
}

func (t *Tracker) refreshChild(ctx context.Context, c *tracked) ([]Progress, error) {
	d, err := t.api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(c.arn)})
	if err != nil {
		return nil, fmt.Errorf("read instance execution %s: %w", c.arn, err)
	}
	var out []Progress
	if c.phase == nil {
		c.phase = &Phase{ExecutionARN: c.arn, ConsoleLink: ConsoleLink(c.arn)}
		var in struct{ InstanceId, Phase, IncidentId string }
		_ = json.Unmarshal([]byte(aws.ToString(d.Input)), &in) // checked below
		switch {
		case in.Phase == RevokePhase:
			// The incident's credential revocation, for every instance.
			c.phaseName = PhaseRevocation
			t.incident.Revocation = c.phase
			out = append(out, Progress{Time: aws.ToTime(d.StartDate), Phase: c.phaseName, Kind: ProgressStarted, ExecutionARN: c.arn})
		case in.InstanceId == "":
			return nil, fmt.Errorf("instance execution %s: its input names no instance (InstanceId); is it an essential-ir execution?", c.arn)
		default:
			c.instanceID, c.phaseName = in.InstanceId, PhaseContainment
			inst := t.instance(in.InstanceId)
			if in.IncidentId != "" {
				inst.IncidentID = in.IncidentId
			}
			if in.Phase == EvidencePhase {
				c.phaseName = PhaseEvidence
				inst.Evidence = c.phase
			} else {
				inst.Containment = c.phase
			}
			out = append(out, Progress{Time: aws.ToTime(d.StartDate), InstanceID: c.instanceID, Phase: c.phaseName, Kind: ProgressStarted, ExecutionARN: c.arn})
		}
	}
	p := c.phase
	p.Status, p.Error, p.Cause = string(d.Status), aws.ToString(d.Error), aws.ToString(d.Cause)
	p.StartDate, p.StopDate = d.StartDate, d.StopDate
	if d.Output != nil && json.Valid([]byte(*d.Output)) {
		p.Output = json.RawMessage(*d.Output)
		var o struct{ IncidentId string }
		if c.instanceID != "" && json.Unmarshal(p.Output, &o) == nil && o.IncidentId != "" {
			t.instance(c.instanceID).IncidentID = o.IncidentId
		}
	}
	steps := t.stepsOf(ctx, aws.ToString(d.StateMachineArn))
	events, err := history(ctx, t.api, c.arn)
	if err != nil {
		return out, err
	}
	for _, ev := range events {
		if ev.Id <= c.seen {
			continue
		}
		c.seen, c.last = ev.Id, aws.ToTime(ev.Timestamp)
		name, ok := enteredState(ev)
		if !ok {
			continue
		}
		if ev.Type == sfntypes.HistoryEventTypeFailStateEntered {
			if in := aws.ToString(ev.StateEnteredEventDetails.Input); json.Valid([]byte(in)) {
				p.FailedOutcome = json.RawMessage(in)
			}
		}
		if !isStep(steps, name, ev) || name == p.CurrentStep {
			continue
		}
		p.CurrentStep = name
		if !steps.OnFailurePath(name) {
			c.lastNormal = name
		}
		out = append(out, Progress{Time: aws.ToTime(ev.Timestamp), InstanceID: c.instanceID, Phase: c.phaseName, Kind: ProgressStep, Step: name, ExecutionARN: c.arn})
	}
	if d.Status != sfntypes.ExecutionStatusRunning {
		c.final = true
		ended := Progress{Time: stopTime(d.StopDate, c.last), InstanceID: c.instanceID, Phase: c.phaseName, Kind: ProgressEnded,
			Status: p.Status, Error: p.Error, Cause: p.Cause, ExecutionARN: c.arn}
		if d.Status != sfntypes.ExecutionStatusSucceeded {
			p.FailedStep = failedSteps(p.FailedOutcome, c.lastNormal)
			ended.Step = p.FailedStep
		}
		out = append(out, ended)
	}
	return out, nil
}

// stepsOf returns the steps of a state machine, read once; nil if its
// definition cannot be read (then Parallel and Map states are the steps).
func (t *Tracker) stepsOf(ctx context.Context, machineARN string) *Steps {
	if s, ok := t.steps[machineARN]; ok || machineARN == "" {
		return s
	}
	var steps *Steps
	d, err := t.api.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machineARN)})
	if err == nil {
		steps, _ = ParseSteps(aws.ToString(d.Definition)) // nil on a definition it cannot read: the fallback
	}
	t.steps[machineARN] = steps
	return steps
}

// stopTime is when an execution ended: its StopDate, else the time of its
// last event.
func stopTime(stop *time.Time, last time.Time) time.Time {
	if stop != nil {
		return *stop
	}
	return last
}

// failedSteps names the steps a failed execution failed in: those its
// failed outcome lists (FailedSteps: the steps of a phase run side by side
// that failed while the others went on), or else the last step it entered.
func failedSteps(outcome json.RawMessage, last string) string {
	var o struct{ FailedSteps []string }
	if json.Unmarshal(outcome, &o) == nil && len(o.FailedSteps) > 0 {
		return strings.Join(o.FailedSteps, ", ")
	}
	return last
}
