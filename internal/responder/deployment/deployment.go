// Package deployment checks, read only, that an essential-ir deployment
// can contain an instance and keep its evidence: both state machines
// present and active, their role present, trusted by Step Functions and
// allowing every API call the deployed definitions make, the evidence
// bucket versioned, with Object Lock default retention and encryption, and
// the log group the state machines log to.
//
// What it checks is read from the deployment itself: the instance state
// machine and the evidence bucket are those the definition names, the API
// calls are the definitions' tasks.
package deployment

import (
	"fmt"
	"strings"
)

// Statuses of a check.
const (
	StatusOK   = "OK"
	StatusWarn = "WARN"
	StatusFail = "FAIL"
)

// Check is one thing checked.
type Check struct {
	// Name says what was checked.
	Name string `json:"name"`
	// Status is StatusOK, StatusWarn or StatusFail.
	Status string `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Fix says what to do, when it is not OK.
	Fix string `json:"fix,omitempty"`
}

// Result is a deployment's check.
type Result struct {
	StateMachineARN         string   `json:"stateMachineArn"`
	InstanceStateMachineARN string   `json:"instanceStateMachineArn,omitempty"`
	RoleARN                 string   `json:"roleArn,omitempty"`
	Bucket                  string   `json:"bucket,omitempty"`
	LogGroups               []string `json:"logGroups,omitempty"`
	Checks                  []Check  `json:"checks"`
}

// Failed reports whether any check failed.
func (r *Result) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// Failures are the failed checks.
func (r *Result) Failures() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			out = append(out, c)
		}
	}
	return out
}

func (r *Result) ok(name, format string, args ...interface{}) {
	r.Checks = append(r.Checks, Check{Name: name, Status: StatusOK, Detail: fmt.Sprintf(format, args...)})
}

func (r *Result) warn(name, fix, format string, args ...interface{}) {
	r.Checks = append(r.Checks, Check{Name: name, Status: StatusWarn, Detail: fmt.Sprintf(format, args...), Fix: fix})
}

func (r *Result) fail(name, fix, format string, args ...interface{}) {
	r.Checks = append(r.Checks, Check{Name: name, Status: StatusFail, Detail: fmt.Sprintf(format, args...), Fix: fix})
}

// roleName is the name in a role ARN (arn:aws:iam::<account>:role/<path>/<name>).
func roleName(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// logGroupName is the name in a log group ARN
// (arn:aws:logs:<region>:<account>:log-group:<name>[:*]).
func logGroupName(arn string) string {
	const marker = ":log-group:"
	i := strings.Index(arn, marker)
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(arn[i+len(marker):], ":*")
}
