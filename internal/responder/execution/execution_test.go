package execution

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const (
	machine      = "arn:aws:states:eu-west-1:123456789012:stateMachine:essential-ir"
	childMachine = "arn:aws:states:eu-west-1:123456789012:stateMachine:essential-ir-instance"
	parentARN    = "arn:aws:states:eu-west-1:123456789012:execution:essential-ir:inc-1"
	containARN   = "arn:aws:states:eu-west-1:123456789012:execution:essential-ir-instance:i-0123456789abcdef0-1111"
	evidenceARN  = "arn:aws:states:eu-west-1:123456789012:execution:essential-ir-instance:i-0123456789abcdef0-evidence-2222"
)

// A definition with a step reached only through a Catch.
const instanceDefinition = `{"StartAt": "Route", "States": {
	"Route": {"Type": "Choice", "Choices": [{"Next": "Secure"}], "Default": "Secure"},
	"Secure": {"Type": "Parallel", "Next": "Isolate", "Catch": [{"Next": "Keep Record"}], "Branches": []},
	"Isolate": {"Type": "Task", "Next": "Done", "Catch": [{"Next": "Keep Record"}]},
	"Keep Record": {"Type": "Parallel", "Next": "Failed", "Branches": []},
	"Failed": {"Type": "Fail"},
	"Done": {"Type": "Succeed"}}}`

const parentDefinition = `{"StartAt": "Contain Each", "States": {
	"Contain Each": {"Type": "Map", "Next": "Tally"},
	"Tally": {"Type": "Pass", "End": true}}}`

func TestParseSteps(t *testing.T) {
	s, err := ParseSteps(instanceDefinition)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"Route": false, "Secure": true, "Isolate": true, "Keep Record": true, "Failed": false, "Done": false} {
		if s.Shown(name) != want {
			t.Errorf("Shown(%q) = %t, want %t", name, !want, want)
		}
	}
	if s.OnFailurePath("Isolate") || !s.OnFailurePath("Keep Record") {
		t.Error("the state reached only by a Catch is not on the failure path, or a normal one is")
	}
	if _, err := ParseSteps("{"); err == nil {
		t.Error("a malformed definition parsed")
	}
}

func TestARNs(t *testing.T) {
	arn, err := ExecutionARN(machine, "inc-1")
	if err != nil || arn != parentARN {
		t.Errorf("ExecutionARN = %q, %v; want %q", arn, err, parentARN)
	}
	if _, err := ExecutionARN(parentARN, "x"); err == nil {
		t.Error("ExecutionARN accepted an execution ARN as the state machine")
	}
	if !IsExecutionARN(parentARN) || IsExecutionARN(machine) || IsStateMachineARN(parentARN) {
		t.Error("ARN kinds confused")
	}
	if Name(parentARN) != "inc-1" || MachineName(containARN) != "essential-ir-instance" || Region(parentARN) != "eu-west-1" {
		t.Error("ARN fields misread")
	}
	want := "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/" + parentARN
	if got := ConsoleLink(parentARN); got != want {
		t.Errorf("ConsoleLink = %q, want %q", got, want)
	}
	for id, ok := range map[string]bool{"inc-2026-11-27-web": true, "a_b": true, "": false, "inc 1": false, strings.Repeat("a", 81): false} {
		if (ValidIncidentID(id) == nil) != ok {
			t.Errorf("ValidIncidentID(%q) = %v", id, ValidIncidentID(id))
		}
	}
	for id, ok := range map[string]bool{"i-0123456789abcdef0": true, "i-01234567": true, "i-0123456789ABCDEF0": false, "i-123": false, "vol-0123456789abcdef0": false} {
		if (ValidInstanceID(id) == nil) != ok {
			t.Errorf("ValidInstanceID(%q) = %v", id, ValidInstanceID(id))
		}
	}
}

// fake is a Step Functions API over fixed executions.
type fake struct {
	executions map[string]*sfn.DescribeExecutionOutput
	histories  map[string][]sfntypes.HistoryEvent
	reads      map[string]int
}

func (f *fake) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	return nil, fmt.Errorf("not used")
}

func (f *fake) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	d, ok := f.executions[*in.ExecutionArn]
	if !ok {
		return nil, fmt.Errorf("no execution %s", *in.ExecutionArn)
	}
	return d, nil
}

func (f *fake) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.reads[*in.ExecutionArn]++
	return &sfn.GetExecutionHistoryOutput{Events: f.histories[*in.ExecutionArn]}, nil
}

func (f *fake) DescribeStateMachine(_ context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	def := map[string]string{machine: parentDefinition, childMachine: instanceDefinition}[*in.StateMachineArn]
	return &sfn.DescribeStateMachineOutput{Definition: aws.String(def)}, nil
}

// events numbers events from 1, each a second after the one before, the
// first at second `at`.
func events(at int64, evs ...sfntypes.HistoryEvent) []sfntypes.HistoryEvent {
	for i := range evs {
		evs[i].Id = int64(i + 1)
		evs[i].Timestamp = aws.Time(time.Unix(at+int64(i), 0))
	}
	return evs
}

func entered(typ sfntypes.HistoryEventType, name string, input string) sfntypes.HistoryEvent {
	return sfntypes.HistoryEvent{Type: typ, StateEnteredEventDetails: &sfntypes.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input)}}
}

func submitted(child string) sfntypes.HistoryEvent {
	return sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskSubmitted, TaskSubmittedEventDetails: &sfntypes.TaskSubmittedEventDetails{
		ResourceType: aws.String("states"), Resource: aws.String("startExecution.sync:2"),
		Output: aws.String(`{"ExecutionArn":"` + child + `","StartDate":1}`)}}
}

func failedChild(child string) sfntypes.HistoryEvent {
	return sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeTaskFailed, TaskFailedEventDetails: &sfntypes.TaskFailedEventDetails{
		ResourceType: aws.String("states"), Resource: aws.String("startExecution.sync:2"), Error: aws.String("States.TaskFailed"),
		Cause: aws.String(`{"ExecutionArn":"` + child + `","Status":"FAILED"}`)}}
}

func describe(machineARN string, status sfntypes.ExecutionStatus, input string, start int64) *sfn.DescribeExecutionOutput {
	return &sfn.DescribeExecutionOutput{StateMachineArn: aws.String(machineARN), Status: status, Input: aws.String(input), StartDate: aws.Time(time.Unix(start, 0))}
}

func TestTrackerFollowsChildrenFromHistory(t *testing.T) {
	f := &fake{reads: map[string]int{},
		executions: map[string]*sfn.DescribeExecutionOutput{
			parentARN:  describe(machine, sfntypes.ExecutionStatusRunning, `{"InstanceIds":["i-0123456789abcdef0","i-0fedcba9876543210"],"Region":"eu-west-1"}`, 0),
			containARN: describe(childMachine, sfntypes.ExecutionStatusRunning, `{"InstanceId":"i-0123456789abcdef0","Phase":"Contain","IncidentId":"inc-1"}`, 100),
		},
		histories: map[string][]sfntypes.HistoryEvent{
			parentARN: events(0, sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted},
				entered(sfntypes.HistoryEventTypeMapStateEntered, "Contain Each", "{}"), submitted(containARN)),
			containARN: events(100, sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted},
				entered(sfntypes.HistoryEventTypeChoiceStateEntered, "Route", "{}"),
				entered(sfntypes.HistoryEventTypeParallelStateEntered, "Secure", "{}")),
		},
	}
	tr := NewTracker(f, parentARN)
	ctx := context.Background()
	p, err := tr.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(p); got != "incident started, incident step Contain Each, containment started, containment step Secure" {
		t.Errorf("first refresh: %s", got)
	}
	inc := tr.Incident()
	if len(inc.Instances) != 2 || inc.Instances[0].Outcome != OutcomeContaining || inc.Instances[0].CurrentStep != "Secure" || inc.Instances[1].Outcome != OutcomeWaiting {
		t.Errorf("instances after the first refresh: %+v %+v", inc.Instances[0], inc.Instances[1])
	}
	if tr.Done() {
		t.Error("done while running")
	}

	// The containment fails in Isolate, then handles the failure; the
	// evidence phase never runs; the incident fails.
	f.histories[containARN] = events(100, append(f.histories[containARN][:3:3],
		entered(sfntypes.HistoryEventTypeTaskStateEntered, "Isolate", "{}"),
		entered(sfntypes.HistoryEventTypeParallelStateEntered, "Keep Record", "{}"),
		entered(sfntypes.HistoryEventTypeFailStateEntered, "Failed", `{"InstanceId":"i-0123456789abcdef0","Outcome":"FAILED","Record":[{"Bucket":"b"}]}`))...)
	f.executions[containARN].Status, f.executions[containARN].Error, f.executions[containARN].Cause = sfntypes.ExecutionStatusFailed, aws.String("Ec2.Ec2Exception"), aws.String("Isolate ENI failed")
	f.executions[containARN].StopDate = aws.Time(time.Unix(150, 0))
	f.histories[parentARN] = events(0, append(f.histories[parentARN][:3:3], failedChild(containARN))...)
	f.executions[parentARN].Status, f.executions[parentARN].Error = sfntypes.ExecutionStatusFailed, aws.String("ContainmentFailed")
	f.executions[parentARN].StopDate = aws.Time(time.Unix(200, 0))
	readsBefore := f.reads[containARN]
	if p, err = tr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kinds(p); got != "containment step Isolate, containment step Keep Record, containment ended FAILED in Isolate, incident ended FAILED" {
		t.Errorf("second refresh: %s", got)
	}
	i := inc.Instances[0]
	if i.Outcome != OutcomeNotContained || i.CurrentStep != "Isolate" || i.Error != "Ec2.Ec2Exception" || i.Containment.FailedStep != "Isolate" {
		t.Errorf("failed instance: %+v", i)
	}
	if !strings.Contains(string(i.Containment.FailedOutcome), `"Record"`) {
		t.Errorf("the Fail state's input was not kept: %s", i.Containment.FailedOutcome)
	}
	if j := inc.Instances[1]; j.Outcome != OutcomeNotContained || !strings.Contains(j.Cause, "no containment execution was started") {
		t.Errorf("instance never started: %+v", j)
	}
	if !tr.Done() || !inc.NeedsAttention() {
		t.Errorf("Done %t, NeedsAttention %t after the incident failed", tr.Done(), inc.NeedsAttention())
	}
	if f.reads[containARN] != readsBefore+1 {
		t.Errorf("history of the containment read %d times in one refresh", f.reads[containARN]-readsBefore)
	}
	// Nothing more is read once everything ended.
	if p, err = tr.Refresh(ctx); err != nil || len(p) != 0 || f.reads[containARN] != readsBefore+1 {
		t.Errorf("a refresh after the end read again or reported %v (%v)", p, err)
	}
}

// The incident's revocation execution names no instance: it is the
// incident's, followed like the others, and its outcome kept.
func TestTrackerFollowsTheRevocation(t *testing.T) {
	revokeARN := strings.Replace(containARN, containARN[strings.LastIndex(containARN, ":")+1:], "revoke-credentials-1", 1)
	f := &fake{reads: map[string]int{},
		executions: map[string]*sfn.DescribeExecutionOutput{
			parentARN: describe(machine, sfntypes.ExecutionStatusRunning, `{"InstanceIds":["i-0123456789abcdef0"],"Region":"eu-west-1"}`, 0),
			revokeARN: describe(childMachine, sfntypes.ExecutionStatusSucceeded, `{"Phase":"RevokeCredentials","InstanceIds":["i-0123456789abcdef0"],"IncidentId":"inc-1"}`, 100),
		},
		histories: map[string][]sfntypes.HistoryEvent{
			parentARN: events(0, sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted},
				entered(sfntypes.HistoryEventTypeParallelStateEntered, "Contain And Revoke Credentials", "{}"), submitted(revokeARN)),
			revokeARN: events(100, sfntypes.HistoryEvent{Type: sfntypes.HistoryEventTypeExecutionStarted}),
		},
	}
	f.executions[revokeARN].Output = aws.String(`{"Outcome":"REVOKED","Policies":["arn:aws:iam::123456789012:policy/essential-ir/x/inc-1-x-1"]}`)
	f.executions[revokeARN].StopDate = aws.Time(time.Unix(110, 0))
	tr := NewTracker(f, parentARN)
	p, err := tr.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(p); !strings.Contains(got, "revocation started") || !strings.Contains(got, "revocation ended SUCCEEDED") {
		t.Errorf("progress: %s", got)
	}
	inc := tr.Incident()
	if inc.Revocation == nil || inc.Revocation.Status != StatusSucceeded || !strings.Contains(string(inc.Revocation.Output), "REVOKED") {
		t.Errorf("revocation %+v", inc.Revocation)
	}
	if len(inc.Instances) != 1 || inc.Instances[0].Containment != nil {
		t.Errorf("the revocation was taken for an instance's execution: %+v", inc.Instances)
	}
}

func kinds(ps []Progress) string {
	var s []string
	for _, p := range ps {
		k := p.Phase + " " + p.Kind
		switch p.Kind {
		case ProgressStep:
			k += " " + p.Step
		case ProgressEnded:
			k += " " + p.Status
			if p.Step != "" {
				k += " in " + p.Step
			}
		}
		s = append(s, k)
	}
	return strings.Join(s, ", ")
}

func TestSettleOutcomes(t *testing.T) {
	ok := &Phase{Status: StatusSucceeded}
	failed := &Phase{Status: StatusFailed, FailedStep: "Secure Each Snapshot", Error: "E", Cause: "C"}
	running := &Phase{Status: StatusRunning, CurrentStep: "Isolate"}
	for _, c := range []struct {
		status                string
		containment, evidence *Phase
		want                  string
	}{
		{StatusRunning, nil, nil, OutcomeWaiting},
		{StatusRunning, running, nil, OutcomeContaining},
		{StatusRunning, ok, nil, OutcomePreserving},
		{StatusRunning, ok, running, OutcomePreserving},
		{StatusSucceeded, ok, ok, OutcomeContained},
		{StatusFailed, ok, failed, OutcomeEvidenceNotPreserved},
		{StatusFailed, ok, nil, OutcomeEvidenceNotPreserved},
		{StatusFailed, failed, nil, OutcomeNotContained},
		{StatusAborted, nil, nil, OutcomeNotContained},
	} {
		inc := &Incident{Status: c.status}
		i := &Instance{Containment: c.containment, Evidence: c.evidence}
		i.settle(inc)
		if i.Outcome != c.want {
			t.Errorf("incident %s, containment %+v, evidence %+v: outcome %s, want %s", c.status, c.containment, c.evidence, i.Outcome, c.want)
		}
	}
}
