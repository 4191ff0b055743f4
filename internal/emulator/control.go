package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// Call is one request the state machine engine made (engine port only, in
// arrival order).
type Call struct {
	// Service is the SigV4 signing name ("ec2", "iam", "states", "s3", ...),
	// except that ELBv2 calls are "elasticloadbalancingv2" (classic ELB stays
	// "elasticloadbalancing").
	Service string
	// Action is the API operation ("CreateTags"); for S3 it is derived from the
	// method and path ("PutObject", "GetBucketPolicy", ...).
	Action string
	// Status is the HTTP status answered (an injected fault's status too).
	Status int
	// Time is when the call arrived.
	Time time.Time
}

// FaultRule fails engine calls. Rules replace each other as a set (SetFaults).
type FaultRule struct {
	// Service as in Call.Service; "elasticloadbalancing" matches both ELB APIs.
	Service string
	// Action to fail; "" or "*" fails any action of Service.
	Action string
	// Code and Message of the error, answered in the service's wire format.
	Code, Message string
	// Status is the HTTP status (default 400).
	Status int
	// Count is how many matching calls fail before the rule is spent.
	Count int
}

// Delay is a Wait-state or Retry-backoff sleep the engine requested.
type Delay struct {
	// Kind is "wait" or "retry".
	Kind string
	// RequestedSeconds is the delay AWS would sleep (before time scaling).
	RequestedSeconds float64
	// State is the name of the state that slept, if known.
	State string
}

// Config changes emulator behaviour at run time; nil fields are left as they are.
type Config struct {
	// TimeScale multiplies every Wait and Retry sleep (0: no real sleeping,
	// only a 10 ms yield).
	TimeScale *float64
	// SnapshotPendingDescribes: snapshots created from now on report "pending"
	// for their first N DescribeSnapshots views (0: for their scaled time,
	// see Limits.SnapshotSecondsPerGiB).
	SnapshotPendingDescribes *int
}

func (e *Emulator) control(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("emulator: encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.Endpoint()+path, body)
	if err != nil {
		return fmt.Errorf("emulator: building %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("emulator: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("emulator: reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("emulator: %s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("emulator: decoding %s %s: %w", method, path, err)
		}
	}
	return nil
}

type wireCall struct {
	Service string  `json:"service"`
	Action  string  `json:"action"`
	Status  int     `json:"status"`
	Time    float64 `json:"time"`
}

// Calls returns the engine's calls so far, in order.
func (e *Emulator) Calls(ctx context.Context) ([]Call, error) {
	var wire []wireCall
	if err := e.control(ctx, http.MethodGet, "/_emulator/calls", nil, &wire); err != nil {
		return nil, err
	}
	calls := make([]Call, len(wire))
	for i, w := range wire {
		sec, frac := math.Modf(w.Time)
		calls[i] = Call{Service: w.Service, Action: w.Action, Status: w.Status, Time: time.Unix(int64(sec), int64(frac*1e9))}
	}
	return calls, nil
}

// ResetCalls forgets the recorded calls.
func (e *Emulator) ResetCalls(ctx context.Context) error {
	return e.control(ctx, http.MethodPost, "/_emulator/calls/reset", nil, nil)
}

type wireRule struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
	Count   int    `json:"count"`
}

// SetFaults replaces the fault rules (nil or empty clears them).
func (e *Emulator) SetFaults(ctx context.Context, rules []FaultRule) error {
	wire := struct {
		Rules []wireRule `json:"rules"`
	}{Rules: make([]wireRule, 0, len(rules))}
	for _, r := range rules {
		wire.Rules = append(wire.Rules, wireRule(r))
	}
	return e.control(ctx, http.MethodPost, "/_emulator/faults", wire, nil)
}

// Faults returns the current rules with their remaining counts.
func (e *Emulator) Faults(ctx context.Context) ([]FaultRule, error) {
	var wire struct {
		Rules []wireRule `json:"rules"`
	}
	if err := e.control(ctx, http.MethodGet, "/_emulator/faults", nil, &wire); err != nil {
		return nil, err
	}
	rules := make([]FaultRule, len(wire.Rules))
	for i, r := range wire.Rules {
		rules[i] = FaultRule(r)
	}
	return rules, nil
}

type wireDelay struct {
	Kind             string  `json:"kind"`
	RequestedSeconds float64 `json:"requested_seconds"`
	State            string  `json:"state"`
}

// Delays returns the Wait/Retry delays requested so far, in order.
func (e *Emulator) Delays(ctx context.Context) ([]Delay, error) {
	var wire []wireDelay
	if err := e.control(ctx, http.MethodGet, "/_emulator/delays", nil, &wire); err != nil {
		return nil, err
	}
	delays := make([]Delay, len(wire))
	for i, w := range wire {
		delays[i] = Delay(w)
	}
	return delays, nil
}

// ResetDelays forgets the recorded delays.
func (e *Emulator) ResetDelays(ctx context.Context) error {
	return e.control(ctx, http.MethodPost, "/_emulator/delays/reset", nil, nil)
}

// Configure changes the time scale and/or the snapshot pending count.
func (e *Emulator) Configure(ctx context.Context, c Config) error {
	wire := map[string]any{}
	if c.TimeScale != nil {
		wire["time_scale"] = *c.TimeScale
	}
	if c.SnapshotPendingDescribes != nil {
		wire["snapshot_pending_describes"] = *c.SnapshotPendingDescribes
	}
	return e.control(ctx, http.MethodPost, "/_emulator/config", wire, nil)
}
