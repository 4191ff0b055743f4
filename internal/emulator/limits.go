package emulator

import (
	"context"
	"fmt"
	"net/http"
)

// AWS's figures that the emulated account enforces (aws_limits.py).
const (
	// HistoryEventLimit is how many events one execution's history may hold;
	// an execution that would record more fails with States.Runtime, "The
	// execution reached the maximum number of history events (25000)." (Step
	// Functions Developer Guide, "Step Functions service quotas").
	HistoryEventLimit = 25000
	// PayloadSizeLimit is the largest state input or output, or task result,
	// in bytes of UTF-8 JSON (256 KiB); a larger one fails with
	// States.DataLimitExceeded (same page).
	PayloadSizeLimit = 262144
	// InstanceStoreAMI is an AMI of moto's catalogue whose instances are
	// instance-store-backed (RootDeviceType "instance-store", no EBS root
	// volume). RegisterImage with an ImageLocation and no block device
	// mappings registers another.
	InstanceStoreAMI = "ami-04681a1dbd79675b6"
)

// Limits changes the emulated account's quotas; nil fields are left as they
// are. The quotas can only be lowered below AWS's figure, so that a test
// reaches them cheaply; ResetLimits restores AWS's.
// Tests that change them must not run in parallel.
type Limits struct {
	// HistoryEventLimit for executions started from now on (3 to 25,000).
	HistoryEventLimit *int
	// PayloadSizeLimit in bytes (2 to 262,144).
	PayloadSizeLimit *int
}

// SetLimits changes the quotas (see Limits).
func (e *Emulator) SetLimits(ctx context.Context, l Limits) error {
	wire := map[string]any{}
	if l.HistoryEventLimit != nil {
		wire["history_event_limit"] = *l.HistoryEventLimit
	}
	if l.PayloadSizeLimit != nil {
		wire["payload_size_limit"] = *l.PayloadSizeLimit
	}
	return e.control(ctx, http.MethodPost, "/_emulator/config", wire, nil)
}

// ResetLimits restores AWS's quotas.
func (e *Emulator) ResetLimits(ctx context.Context) error {
	history, payload := HistoryEventLimit, PayloadSizeLimit
	return e.SetLimits(ctx, Limits{HistoryEventLimit: &history, PayloadSizeLimit: &payload})
}

// CurrentLimits returns the quotas in force.
func (e *Emulator) CurrentLimits(ctx context.Context) (Limits, error) {
	var wire struct {
		History *int `json:"history_event_limit"`
		Payload *int `json:"payload_size_limit"`
	}
	if err := e.control(ctx, http.MethodGet, "/_emulator/config", nil, &wire); err != nil {
		return Limits{}, err
	}
	if wire.History == nil || wire.Payload == nil {
		return Limits{}, fmt.Errorf("emulator: the launcher reports no limits (aws_limits.py not loaded?)")
	}
	return Limits{HistoryEventLimit: wire.History, PayloadSizeLimit: wire.Payload}, nil
}
