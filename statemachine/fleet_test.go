package statemachine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/bench"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// A fleet's instances are all contained before any instance's evidence is
// waited for: with one instance at a time (MaxConcurrency 1), the second
// instance's containment ends before the first instance's evidence phase
// starts, while the first one's snapshots are still pending. An instance's
// containment ends once its snapshots are started; it never waits for them.
// On AWS, where a snapshot takes minutes, waiting would delay every later
// instance's isolation by as much. The evidence is then preserved in full,
// and MaxConcurrency holds: never two instance executions at once (with
// MaxConcurrency 2 the emulator runs two).
func TestFleetIsContainedBeforeEvidenceIsAwaited(t *testing.T) {
	t.Parallel()
	machine := machineWith(t, map[string]string{stack.ParamMaxConcurrency: "1"})
	spec := scene.InstanceSpec{Name: "queue", Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: 4, Encrypted: true}}}
	fleet := []*scene.Instance{build(t, spec), build(t, spec)}
	ex := runOn(t, machine, input(emu.Region(), fleet[0].ID, fleet[1].ID))
	out := mustSucceed(t, ex)

	// In the started execution, both containments end before the first
	// evidence phase starts.
	events := ownHistory(t, ex.ARN)
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
	// MaxConcurrency bounds the instance executions: one at a time here.
	if n := bench.InstanceExecutionsAtOnce(bench.FromHistory(events)); n != 1 {
		t.Errorf("%d instance executions ran at once, MaxConcurrency is 1", n)
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

// When an instance's evidence cannot be secured (every CopySnapshot denied,
// so its unencrypted volume's snapshot cannot be copied encrypted), the
// instance stays contained, its unencrypted snapshot is kept (never deleted
// without a verified copy), the other instance's evidence is preserved, and
// the execution fails EvidenceNotPreserved naming the instance, the step and
// AWS's error. It uses the global fault layer, so it does not run in
// parallel.
func TestEvidenceFailureKeepsTheFleetContained(t *testing.T) {
	ctx := context.Background()
	plain := build(t, scene.InstanceSpec{Name: "copy-denied", Volumes: []scene.VolumeSpec{{SizeGiB: 8}}})
	encrypted := build(t, scene.InstanceSpec{Name: "copy-not-needed", Volumes: []scene.VolumeSpec{{SizeGiB: 8, Encrypted: true}}})
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{
		Service: "ec2", Action: "CopySnapshot", Code: "UnauthorizedOperation",
		Message: "You are not authorized to perform this operation.", Status: 403, Count: 1000,
	}}); err != nil {
		t.Fatal(err)
	}
	ex, err := emu.RunExecution(ctx, machineARN, input(emu.Region(), plain.ID, encrypted.ID), executionTimeout)
	if clearErr := emu.SetFaults(ctx, nil); clearErr != nil {
		t.Fatal(clearErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "FAILED" || ex.Error != "EvidenceNotPreserved" {
		t.Fatalf("status %s error %q, want FAILED EvidenceNotPreserved: every CopySnapshot was denied\ncause: %s", ex.Status, ex.Error, ex.Cause)
	}
	for _, want := range []string{plain.ID, "Copy Snapshot failed", "You are not authorized to perform this operation", "all 2 instances were contained"} {
		if !strings.Contains(ex.Cause, want) {
			t.Errorf("the cause does not say %q: %s", want, ex.Cause)
		}
	}
	out := tallied(t, ex)
	if len(out.Contained) != 2 || len(out.Failed) != 0 {
		t.Errorf("contained %v, failed %v: want both contained", out.Contained, out.Failed)
	}
	if len(out.EvidencePreserved) != 1 || out.EvidencePreserved[0] != encrypted.ID || len(out.EvidenceFailed) != 1 || out.EvidenceFailed[0].InstanceId != plain.ID {
		t.Errorf("evidence preserved %v, failed %v: want %s preserved and %s failed", out.EvidencePreserved, out.EvidenceFailed, encrypted.ID, plain.ID)
	}
	incident := incidentID(ex)
	assertContained(t, encrypted, out, ex, 0)
	// The instance whose evidence failed is contained all the same.
	assertContainedButEvidence(t, plain, out, ex)
	// The unencrypted snapshot is kept: it is the only copy of the
	// volume's evidence.
	kept := 0
	for _, s := range volumeSnapshots(t, plain.VolumeIDs) {
		if tagMap(s.Tags)[statemachine.IncidentIDTagKey] == incident && !aws.ToBool(s.Encrypted) {
			kept++
		}
	}
	if kept != 1 {
		t.Errorf("%s: %d unencrypted evidence snapshots of its volume remain, want 1 (kept, as it could not be copied)", plain.ID, kept)
	}
}

// withContainment is out with the instance's outcome restored to that of its
// containment, whatever its evidence phase did.
func withContainment(out Output, id string) Output {
	instances := make([]InstanceSummary, len(out.Instances))
	copy(instances, out.Instances)
	for i, s := range instances {
		if s.InstanceId == id && s.Evidence.Outcome == "FAILED" {
			instances[i].Outcome, instances[i].Error, instances[i].Cause = "CONTAINED", "", ""
			instances[i].Evidence = EvidenceOutcome{}
		}
	}
	out.Instances = instances
	return out
}

// snapshotWaits counts the Wait states for snapshots an execution entered.
func snapshotWaits(t *testing.T, arn string) int {
	t.Helper()
	if arn == "" {
		t.Fatal("no execution")
	}
	entered := statesEntered(t, arn)
	waits := 0
	for _, wait := range []string{"Wait For Its Snapshots", "Wait For The Snapshots To Keep", "Wait For Its Snapshots To Be Listed"} {
		waits += entered[wait]
	}
	return waits
}
