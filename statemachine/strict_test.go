package statemachine_test

// Scenarios that pass on a lenient emulator and fail on AWS, run on the
// strict emulated account: IAM enforced against the role as synthesized,
// EC2's refusals for Spot and instance-store instances, S3's 403 for a
// missing object without s3:ListBucket, snapshots that take time that
// grows with the volume (internal/emulator/README.md).

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// assertProtectionNotApplicable: EC2 refuses the protection for this kind
// of instance, so the workflow left it as it was and said so.
func assertProtectionNotApplicable(t *testing.T, inst *scene.Instance, name string, p protectionOutcome, before, now interface{}) {
	t.Helper()
	if p.Applicable {
		t.Errorf("%s: %s reported applicable, but EC2 refuses it for this instance", inst.ID, name)
	}
	if p.Before != p.After {
		t.Errorf("%s: %s reported changed from %v to %v, but it does not apply", inst.ID, name, p.Before, p.After)
	}
	if before != now {
		t.Errorf("%s: %s is %v in the account, was %v: it does not apply and must be left as it was", inst.ID, name, now, before)
	}
}

// assertDeniedNothing: the execution's role was refused no call, so the
// outcome is what AWS would give with the role as synthesized.
func assertDeniedNothing(t *testing.T, ex *emulator.Execution) {
	t.Helper()
	ctx := context.Background()
	arns := []string{ex.ARN}
	children, err := emu.Children(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, arn := range append(arns, children...) {
		denied, err := emu.DenialsOf(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		if len(denied) > 0 {
			t.Errorf("execution %s was refused calls its role must allow:\n%s", arn, emulator.FormatDenials(denied))
		}
	}
}

// A Spot Instance is contained: EC2 refuses termination protection, stop
// protection and a "stop" shutdown behaviour for it (EC2 User Guide,
// "Enable termination protection", "Enable stop protection"), so those are
// recorded as not applicable, and nothing keeps its network open.
func TestContainsSpotInstance(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "spot", Spot: true, ExtraENIs: 1, InstanceProfile: true,
		Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: 4, Encrypted: true}}})
	termination, stop, shutdown := protection(t, inst.ID)
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertDeniedNothing(t, ex)
	sum := out.summary(t, inst.ID)
	incident := incidentID(ex)
	nowTermination, nowStop, nowShutdown := protection(t, inst.ID)
	assertProtectionNotApplicable(t, inst, "termination protection", sum.TerminationProtection.outcome(), termination, nowTermination)
	assertProtectionNotApplicable(t, inst, "stop protection", sum.StopProtection.outcome(), stop, nowStop)
	assertProtectionNotApplicable(t, inst, "shutdown behaviour", sum.ShutdownBehaviour.outcome(), shutdown, nowShutdown)
	assertTagged(t, inst, incident)
	assertVolumesKept(t, inst)
	assertNetworkIsolated(t, inst, sum)
	assertProfileDetached(t, inst, sum)
	assertSnapshotsPreserved(t, inst, sum, incident)
	assertRecordWritten(t, inst, sum, incident)
}

// An instance-store-backed instance is contained: it cannot be stopped, so
// EC2 refuses stop protection and a "stop" shutdown behaviour for it; its
// termination protection is still turned on.
func TestContainsInstanceStoreInstance(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "instance-store", ImageID: emulator.InstanceStoreAMI, InstanceProfile: true})
	_, stop, shutdown := protection(t, inst.ID)
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertDeniedNothing(t, ex)
	sum := out.summary(t, inst.ID)
	nowTermination, nowStop, nowShutdown := protection(t, inst.ID)
	if !nowTermination || !sum.TerminationProtection.After || !sum.TerminationProtection.Applicable {
		t.Errorf("%s: termination protection %v in the account, reported %+v; want on and applicable", inst.ID, nowTermination, sum.TerminationProtection)
	}
	assertProtectionNotApplicable(t, inst, "stop protection", sum.StopProtection.outcome(), stop, nowStop)
	assertProtectionNotApplicable(t, inst, "shutdown behaviour", sum.ShutdownBehaviour.outcome(), shutdown, nowShutdown)
	assertNetworkIsolated(t, inst, sum)
	assertProfileDetached(t, inst, sum)
	assertRecordWritten(t, inst, sum, incidentID(ex))
}

// An instance whose first containment stopped before its pre-incident
// record was written (here S3 refused every write) carries the incident
// tag but has no record. A re-run keeps that incident ID, looks for the
// record, finds none (S3 answers 404 only to a caller allowed
// s3:ListBucket; 403 otherwise) and writes it.
func TestRerunWritesTheRecordAnEarlierAttemptCouldNotWrite(t *testing.T) {
	ctx := context.Background()
	inst := build(t, scene.InstanceSpec{Name: "record-later", Volumes: []scene.VolumeSpec{{SizeGiB: 8}}})
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{Service: "s3", Action: "PutObject", Code: "AccessDenied",
		Message: "Access Denied", Status: 403, Count: 1000}}); err != nil {
		t.Fatal(err)
	}
	first := run(t, input(emu.Region(), inst.ID))
	if err := emu.SetFaults(ctx, nil); err != nil {
		t.Fatal(err)
	}
	failed := tallied(t, first)
	if len(failed.Failed) != 1 || !strings.Contains(failed.Failed[0].Cause, "Record Pre-Incident State failed") {
		t.Fatalf("first attempt: want the instance failed at its record, got %+v", failed.Failed)
	}
	incident := incidentID(first)
	assertTagged(t, inst, incident)
	for eni, groups := range eniGroups(t, inst.ID) {
		if len(groups) != 1 || groups[0] != isolationGroupOf(t, inst.VPCID) {
			t.Errorf("%s: after the first attempt ENI %s carries %v, want the isolation group alone", inst.ID, eni, groups)
		}
	}

	second := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, second)
	assertDeniedNothing(t, second)
	sum := out.summary(t, inst.ID)
	// The re-run keeps the first incident ID, so the record lands where
	// the first attempt would have put it, saying it was read after that
	// attempt changed the instance.
	assertRecordStored(t, inst, sum, incident, false)
	if len(sum.Record) != 1 || !sum.Record[0].Written {
		t.Errorf("%s: the re-run reports record %+v, want it written by this run", inst.ID, sum.Record)
	}
}

// The evidence of a 16 TiB volume, the largest EBS volume, is waited for
// within an execution's history: its first snapshot, then its encrypted
// copy, each take about 45 hours of the emulated account's time
// (DefaultSnapshotSecondsPerGiB), and the reads back off to one every 15
// minutes. Waits are recorded at the time asked and not slept, so the test
// takes seconds.
func TestEvidenceOfA16TiBVolumeIsWaitedFor(t *testing.T) {
	ctx := context.Background()
	// The count model of the other tests is put aside: snapshots take
	// their scaled time.
	none, pending := 0, pendingPolls
	if err := emu.Configure(ctx, emulator.Config{SnapshotPendingDescribes: &none}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.Configure(ctx, emulator.Config{SnapshotPendingDescribes: &pending}); err != nil {
			t.Error(err)
		}
	})
	const sizeGiB = 16384
	inst := build(t, scene.InstanceSpec{Name: "huge", Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: sizeGiB}}})
	if err := emu.ResetDelays(ctx); err != nil {
		t.Fatal(err)
	}
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertDeniedNothing(t, ex)
	sum := out.summary(t, inst.ID)
	assertSnapshotsPreserved(t, inst, sum, incidentID(ex))

	// The evidence execution waited at least as long as the snapshot and
	// its copy take, and stayed far inside the history limit.
	took := float64(sizeGiB) * emulator.DefaultSnapshotSecondsPerGiB
	delays, err := emu.Delays(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waited, longest := 0.0, 0.0
	for _, d := range delays {
		if d.Kind == "wait" && strings.HasPrefix(d.State, "Wait For ") && strings.Contains(d.State, "Snapshot") {
			waited += d.RequestedSeconds
			longest = max(longest, d.RequestedSeconds)
		}
	}
	if waited < 2*took {
		t.Errorf("the snapshot waits add up to %.0f s; the snapshot and its copy take %.0f s each", waited, took)
	}
	if longest != 900 {
		t.Errorf("the longest wait between reads is %.0f s, want the 900 s cap", longest)
	}
	events := len(ownHistory(t, sum.Evidence.Execution))
	if events > 6000 {
		t.Errorf("the evidence execution recorded %d history events for two waits of %.0f hours", events, took/3600)
	}
	t.Logf("16 TiB: waited %.1f h in %d history events (limit 25,000)", waited/3600, events)
}

// protectionOutcome is a protection as the summary reports it, whatever the
// type of its values.
type protectionOutcome struct {
	Before, After interface{}
	Applicable    bool
}

func (p boolProtection) outcome() protectionOutcome {
	return protectionOutcome{Before: p.Before, After: p.After, Applicable: p.Applicable}
}

func (p stringProtection) outcome() protectionOutcome {
	return protectionOutcome{Before: p.Before, After: p.After, Applicable: p.Applicable}
}

// isolationGroupOf is the ID of the VPC's one isolation group.
func isolationGroupOf(t *testing.T, vpc string) string {
	t.Helper()
	groups := isolationGroups(t, vpc)
	if len(groups) != 1 {
		t.Fatalf("VPC %s has %d isolation groups, want 1", vpc, len(groups))
	}
	return aws.ToString(groups[0].GroupId)
}
