package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// A fleet's instances are all contained before any instance's evidence is
// waited for: with one instance at a time (MaxConcurrency 1), the second
// instance's containment ends before the first instance's evidence phase
// starts, while the first one's snapshots are still pending. An instance's
// containment ends once its snapshots are started; it never waits for them.
// On AWS, where a snapshot takes minutes, waiting would delay every later
// instance's isolation by as much. The evidence is then preserved in full.
func TestFleetIsContainedBeforeEvidenceIsAwaited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	machine := machineWith(t, map[string]string{stack.ParamMaxConcurrency: "1"})
	spec := scene.InstanceSpec{Name: "queue", Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: 4, Encrypted: true}}}
	fleet := []*scene.Instance{build(t, spec), build(t, spec)}
	ex := runOn(t, machine, input(emu.Region(), fleet[0].ID, fleet[1].ID))
	out := mustSucceed(t, ex)

	// In the started execution, both containments end before the first
	// evidence phase starts.
	events, err := emu.History(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	var lastContained, firstEvidence int64
	for _, e := range events {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Contain Instance" {
			lastContained = e.Id
		}
		if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "Preserve Its Evidence" && firstEvidence == 0 {
			firstEvidence = e.Id
		}
	}
	if lastContained == 0 || firstEvidence == 0 || lastContained > firstEvidence {
		t.Errorf("the last containment ended at event %d and the first evidence phase started at event %d: every instance must be contained first",
			lastContained, firstEvidence)
	}

	incident := incidentID(ex)
	for _, inst := range fleet {
		sum := out.summary(t, inst.ID)
		if sum.Outcome != "CONTAINED" {
			t.Fatalf("%s: outcome %s (%s: %s)", inst.ID, sum.Outcome, sum.Error, sum.Cause)
		}
		if len(sum.SnapshotsStarted) != len(inst.VolumeIDs) {
			t.Errorf("%s: containment started %d snapshots, want one per volume (%d)", inst.ID, len(sum.SnapshotsStarted), len(inst.VolumeIDs))
		}
		// The containment never waited for a snapshot; the evidence phase
		// found them still pending and waited.
		if waits := snapshotWaits(t, sum.Execution); waits != 0 {
			t.Errorf("%s: its containment waited %d times for snapshots", inst.ID, waits)
		}
		if waits := snapshotWaits(t, sum.Evidence.Execution); waits == 0 {
			t.Errorf("%s: its evidence phase found every snapshot already complete, so the containment may have waited for them", inst.ID)
		}
		assertSnapshotsPreserved(t, inst, sum, incident)
		assertNetworkIsolated(t, inst, sum)
	}
}

// snapshotWaits counts the Wait states for snapshots an execution entered.
func snapshotWaits(t *testing.T, arn string) int {
	t.Helper()
	if arn == "" {
		t.Fatal("no execution")
	}
	events, err := emu.History(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	for _, e := range events {
		if e.Type != sfntypes.HistoryEventTypeWaitStateEntered {
			continue
		}
		switch aws.ToString(e.StateEnteredEventDetails.Name) {
		case "Wait For Unencrypted Snapshot", "Wait For Encrypted Snapshot", "Wait For Encrypted Copy", "Wait For Its Snapshots To Be Listed":
			waits++
		}
	}
	return waits
}
