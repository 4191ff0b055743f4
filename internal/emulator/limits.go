package emulator

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"
)

// AWS's figures that the emulated account enforces (aws_limits.py), and the
// defaults of its timing model.
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
	// DefaultSnapshotSecondsPerGiB is how many scaled seconds an EBS snapshot
	// takes per GiB of its volume unless configured (about 100 MiB/s: a
	// 2 TiB volume's snapshot takes 5 h 41 min).
	DefaultSnapshotSecondsPerGiB = 10.0
	// InstanceStoreAMI is an AMI of moto's catalogue whose instances are
	// instance-store-backed (RootDeviceType "instance-store", no EBS root
	// volume). RegisterImage with an ImageLocation and no block device
	// mappings registers another.
	InstanceStoreAMI = "ami-04681a1dbd79675b6"
)

// Limits changes the emulated account's quotas and snapshot timing; nil
// fields are left as they are. The quotas can only be lowered below AWS's
// figure, so that a test reaches them cheaply; ResetLimits restores AWS's.
// Tests that change them must not run in parallel.
type Limits struct {
	// HistoryEventLimit for executions started from now on (3 to 25,000).
	HistoryEventLimit *int
	// PayloadSizeLimit in bytes (2 to 262,144).
	PayloadSizeLimit *int
	// SnapshotSecondsPerGiB for snapshots created from now on; 0 completes
	// them at once. A snapshot created while SnapshotPendingDescribes is
	// above 0 follows that count instead.
	SnapshotSecondsPerGiB *float64
}

// SetLimits changes the quotas and the snapshot timing (see Limits).
func (e *Emulator) SetLimits(ctx context.Context, l Limits) error {
	wire := map[string]any{}
	if l.HistoryEventLimit != nil {
		wire["history_event_limit"] = *l.HistoryEventLimit
	}
	if l.PayloadSizeLimit != nil {
		wire["payload_size_limit"] = *l.PayloadSizeLimit
	}
	if l.SnapshotSecondsPerGiB != nil {
		wire["snapshot_seconds_per_gib"] = *l.SnapshotSecondsPerGiB
	}
	return e.control(ctx, http.MethodPost, "/_emulator/config", wire, nil)
}

// ResetLimits restores AWS's quotas and the default snapshot timing.
func (e *Emulator) ResetLimits(ctx context.Context) error {
	history, payload, perGiB := HistoryEventLimit, PayloadSizeLimit, DefaultSnapshotSecondsPerGiB
	return e.SetLimits(ctx, Limits{HistoryEventLimit: &history, PayloadSizeLimit: &payload, SnapshotSecondsPerGiB: &perGiB})
}

// CurrentLimits returns the quotas and the snapshot timing in force.
func (e *Emulator) CurrentLimits(ctx context.Context) (Limits, error) {
	var wire struct {
		History *int     `json:"history_event_limit"`
		Payload *int     `json:"payload_size_limit"`
		PerGiB  *float64 `json:"snapshot_seconds_per_gib"`
	}
	if err := e.control(ctx, http.MethodGet, "/_emulator/config", nil, &wire); err != nil {
		return Limits{}, err
	}
	if wire.History == nil || wire.Payload == nil || wire.PerGiB == nil {
		return Limits{}, fmt.Errorf("emulator: the launcher reports no limits (aws_limits.py not loaded?)")
	}
	return Limits{HistoryEventLimit: wire.History, PayloadSizeLimit: wire.Payload, SnapshotSecondsPerGiB: wire.PerGiB}, nil
}

// ScaledNow returns the emulated account's clock: real time, plus every
// scaled second that Wait states and Retry backoffs asked for and did not
// really sleep (TimeScale). Snapshot completion follows it.
func (e *Emulator) ScaledNow(ctx context.Context) (time.Time, error) {
	var wire struct {
		Now *float64 `json:"scaled_now"`
	}
	if err := e.control(ctx, http.MethodGet, "/_emulator/config", nil, &wire); err != nil {
		return time.Time{}, err
	}
	if wire.Now == nil {
		return time.Time{}, fmt.Errorf("emulator: the launcher reports no scaled clock (aws_limits.py not loaded?)")
	}
	sec, frac := math.Modf(*wire.Now)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
