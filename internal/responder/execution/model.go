package execution

import (
	"encoding/json"
	"time"
)

// Execution statuses (Step Functions).
const (
	StatusRunning   = "RUNNING"
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusTimedOut  = "TIMED_OUT"
	StatusAborted   = "ABORTED"
)

// The Phase of an instance execution's input (statemachine.ContainPhase,
// statemachine.EvidencePhase and statemachine.RevokePhase, the execution
// that revokes the credentials of every instance of the incident).
const (
	ContainPhase  = "Contain"
	EvidencePhase = "PreserveEvidence"
	RevokePhase   = "RevokeCredentials"
)

// Outcomes of an instance, from its two executions.
const (
	// OutcomeWaiting: no execution was started for it yet.
	OutcomeWaiting = "WAITING"
	// OutcomeContaining: its containment execution is running.
	OutcomeContaining = "CONTAINING"
	// OutcomePreserving: it is contained; its evidence is not preserved
	// yet (the evidence execution runs, or waits for the fleet).
	OutcomePreserving = "CONTAINED_PRESERVING_EVIDENCE"
	// OutcomeContained: it is contained and its evidence preserved.
	OutcomeContained = "CONTAINED"
	// OutcomeEvidenceNotPreserved: it is contained, but its evidence
	// execution failed (or never ran).
	OutcomeEvidenceNotPreserved = "CONTAINED_EVIDENCE_NOT_PRESERVED"
	// OutcomeNotContained: its containment failed, or never ran.
	OutcomeNotContained = "NOT_CONTAINED"
)

// Incident is an incident's execution and the executions it started, one
// containment and one evidence execution per instance.
type Incident struct {
	// IncidentID is the execution's name.
	IncidentID   string `json:"incidentId"`
	ExecutionARN string `json:"executionArn"`
	ConsoleLink  string `json:"consoleLink"`
	Region       string `json:"region"`
	// Status is the execution's status: RUNNING, SUCCEEDED, FAILED,
	// TIMED_OUT or ABORTED.
	Status string `json:"status"`
	// Error and Cause say why it did not succeed.
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// CurrentStep is the last step it entered.
	CurrentStep string     `json:"currentStep,omitempty"`
	StartDate   *time.Time `json:"startDate,omitempty"`
	StopDate    *time.Time `json:"stopDate,omitempty"`
	// Instances are in the order of the execution's input.
	Instances []*Instance `json:"instances"`
	// Revocation is the execution that revoked the credentials issued to
	// every instance (nil when none was started: revocation off, or no
	// instance with a profile).
	Revocation *Phase `json:"revocation,omitempty"`
}

// Instance is one instance of an incident.
type Instance struct {
	InstanceID string `json:"instanceId"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
	// IncidentID is the incident the workflow filed it under: an instance
	// already under investigation keeps its first incident's ID.
	IncidentID string `json:"incidentId,omitempty"`
	// CurrentStep is the step its running execution is in, or the step
	// its failed execution failed in.
	CurrentStep string `json:"currentStep,omitempty"`
	// Error and Cause say why it was not contained or its evidence not
	// preserved.
	Error       string `json:"error,omitempty"`
	Cause       string `json:"cause,omitempty"`
	Containment *Phase `json:"containment,omitempty"`
	Evidence    *Phase `json:"evidence,omitempty"`
}

// Phase is one execution of the instance state machine.
type Phase struct {
	ExecutionARN string `json:"executionArn"`
	ConsoleLink  string `json:"consoleLink"`
	Status       string `json:"status"`
	// CurrentStep is the last step entered.
	CurrentStep string `json:"currentStep,omitempty"`
	// FailedStep is the step the execution failed in: the last step it
	// entered before it went on to handle the failure.
	FailedStep string          `json:"failedStep,omitempty"`
	Error      string          `json:"error,omitempty"`
	Cause      string          `json:"cause,omitempty"`
	StartDate  *time.Time      `json:"startDate,omitempty"`
	StopDate   *time.Time      `json:"stopDate,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	// FailedOutcome is the input of the Fail state that ended a failed
	// execution: the instance's outcome with what was recorded before it
	// failed (its Record, when written).
	FailedOutcome json.RawMessage `json:"failedOutcome,omitempty"`
}

// Ended reports whether the incident's execution is over.
func (inc *Incident) Ended() bool { return inc.Status != "" && inc.Status != StatusRunning }

// NeedsAttention reports whether the incident did not go as planned: its
// execution ended other than SUCCEEDED, or an instance was not contained
// or its evidence not preserved.
func (inc *Incident) NeedsAttention() bool {
	if inc.Ended() && inc.Status != StatusSucceeded {
		return true
	}
	for _, i := range inc.Instances {
		if i.Outcome == OutcomeNotContained || i.Outcome == OutcomeEvidenceNotPreserved {
			return true
		}
	}
	return false
}

// Instance returns the instance with the given ID, nil if none.
func (inc *Incident) Instance(id string) *Instance {
	for _, i := range inc.Instances {
		if i.InstanceID == id {
			return i
		}
	}
	return nil
}

// settle sets each instance's Outcome, CurrentStep, Error and Cause from
// its executions and the incident's.
func (inc *Incident) settle() {
	for _, i := range inc.Instances {
		i.settle(inc)
	}
}

func (i *Instance) settle(inc *Incident) {
	c, e := i.Containment, i.Evidence
	i.Error, i.Cause, i.CurrentStep = "", "", ""
	switch {
	case c == nil && !inc.Ended():
		i.Outcome = OutcomeWaiting
	case c == nil:
		i.Outcome = OutcomeNotContained
		i.Error, i.Cause = inc.Error, "no containment execution was started for this instance; the incident's execution ended "+inc.Status
		if inc.Cause != "" {
			i.Cause += ": " + inc.Cause
		}
	case c.Status == StatusRunning:
		i.Outcome, i.CurrentStep = OutcomeContaining, c.CurrentStep
	case c.Status != StatusSucceeded:
		i.Outcome, i.CurrentStep, i.Error, i.Cause = OutcomeNotContained, c.FailedStep, c.Error, c.Cause
	case e == nil && !inc.Ended():
		i.Outcome = OutcomePreserving
	case e == nil:
		i.Outcome = OutcomeEvidenceNotPreserved
		i.Error, i.Cause = inc.Error, "no evidence execution was started for this instance; the incident's execution ended "+inc.Status
	case e.Status == StatusRunning:
		i.Outcome, i.CurrentStep = OutcomePreserving, e.CurrentStep
	case e.Status != StatusSucceeded:
		i.Outcome, i.CurrentStep, i.Error, i.Cause = OutcomeEvidenceNotPreserved, e.FailedStep, e.Error, e.Cause
	default:
		i.Outcome = OutcomeContained
	}
}
