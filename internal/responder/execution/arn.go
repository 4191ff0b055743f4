package execution

import (
	"fmt"
	"regexp"
	"strings"
)

// ARN forms: arn:<partition>:states:<region>:<account>:stateMachine:<name>
// and arn:<partition>:states:<region>:<account>:execution:<machine>:<name>.
const (
	machineKind   = "stateMachine"
	executionKind = "execution"
)

// IsExecutionARN reports whether s is a Step Functions execution ARN.
func IsExecutionARN(s string) bool {
	f := strings.Split(s, ":")
	return len(f) == 8 && f[0] == "arn" && f[2] == "states" && f[5] == executionKind
}

// IsStateMachineARN reports whether s is a Step Functions state machine ARN.
func IsStateMachineARN(s string) bool {
	f := strings.Split(s, ":")
	return len(f) == 7 && f[0] == "arn" && f[2] == "states" && f[5] == machineKind
}

// ExecutionARN is the ARN of the execution of machineARN named name:
// Step Functions derives it, so an incident's execution is found without
// listing executions.
func ExecutionARN(machineARN, name string) (string, error) {
	if !IsStateMachineARN(machineARN) {
		return "", fmt.Errorf("%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", machineARN)
	}
	f := strings.Split(machineARN, ":")
	f[5] = executionKind
	return strings.Join(f, ":") + ":" + name, nil
}

// Name is the last field of an execution or state machine ARN: the
// execution's name (for an incident, its ID).
func Name(arn string) string {
	return arn[strings.LastIndex(arn, ":")+1:]
}

// MachineName is the state machine name of an execution ARN.
func MachineName(executionARN string) string {
	f := strings.Split(executionARN, ":")
	if len(f) != 8 {
		return ""
	}
	return f[6]
}

// Region is the region field of an ARN.
func Region(arn string) string {
	f := strings.Split(arn, ":")
	if len(f) < 4 {
		return ""
	}
	return f[3]
}

// ConsoleLink is the execution's page in the Step Functions console.
func ConsoleLink(executionARN string) string {
	r := Region(executionARN)
	return "https://" + r + ".console.aws.amazon.com/states/home?region=" + r + "#/v2/executions/details/" + executionARN
}

// namePattern is what Step Functions accepts as an execution name (ASCII
// letters, digits, '-' and '_', 1 to 80 characters), which the workflow
// uses as the incident ID.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// ValidIncidentID returns an error saying what is wrong with id as an
// incident ID (the execution name), or nil.
func ValidIncidentID(id string) error {
	if !namePattern.MatchString(id) {
		return fmt.Errorf("incident ID %q: use 1 to 80 letters, digits, '-' or '_' (it becomes the execution name), e.g. inc-2026-11-27-web", id)
	}
	return nil
}

// instancePattern is an EC2 instance ID, as the workflow's input check
// accepts it.
var instancePattern = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)

// ValidInstanceID returns an error saying what is wrong with id as an
// instance ID, or nil.
func ValidInstanceID(id string) error {
	if !instancePattern.MatchString(id) {
		return fmt.Errorf("%q is not an EC2 instance ID (i- followed by 8 or 17 lowercase hexadecimal digits)", id)
	}
	return nil
}
