package execution

import (
	"context"
	"time"
)

// Follow refreshes t every interval until every execution has ended,
// calling report after each refresh with what happened and the incident as
// it is now. It returns ctx's error if ctx ends first: following stops,
// the executions go on.
func Follow(ctx context.Context, t *Tracker, interval time.Duration, report func([]Progress, *Incident)) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		progress, err := t.Refresh(ctx)
		if len(progress) > 0 || err == nil {
			report(progress, t.Incident())
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if t.Done() {
			return nil
		}
		timer.Reset(interval)
	}
}

// Read reads the incident once, to the state its executions are in now.
func Read(ctx context.Context, api API, executionARN string) (*Incident, error) {
	t := NewTracker(api, executionARN)
	if _, err := t.Refresh(ctx); err != nil {
		return nil, err
	}
	// Children found in the incident's history are read in the same
	// Refresh, so one pass is complete.
	return t.Incident(), nil
}
