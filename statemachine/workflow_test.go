package statemachine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// assertContained checks every post-condition of every containment step in
// the account, and the instance's summary in the output.
func assertContained(t *testing.T, inst *scene.Instance, out Output, ex *emulator.Execution, desiredBefore int32) {
	t.Helper()
	assertContainedVariant(t, deployed, inst, out, ex, desiredBefore, false, false)
}

// assertContainedVariant makes every post-condition check of containment,
// for deployment d: a stopped instance's metadata must say stopped, and a
// released Elastic IP must be off the instance and reported released.
// Outside the default deployment the record is only checked to be in d's
// bucket.
func assertContainedVariant(t *testing.T, d *deploy.Deployment, inst *scene.Instance, out Output, ex *emulator.Execution, desiredBefore int32, stopped, releasedIP bool) {
	t.Helper()
	incident := incidentID(ex)
	sum := out.summary(t, inst.ID)
	if sum.Outcome != "CONTAINED" {
		t.Fatalf("%s: outcome %s (%s: %s), want CONTAINED", inst.ID, sum.Outcome, sum.Error, sum.Cause)
	}
	if stopped {
		if sum.Metadata.State != "stopped" {
			t.Errorf("%s: metadata records state %q, want stopped", inst.ID, sum.Metadata.State)
		}
	} else {
		assertMetadataRecorded(t, inst, sum)
	}
	assertTagged(t, inst, incident)
	assertLeftAutoScalingGroup(t, inst, sum, desiredBefore)
	assertProtected(t, inst, sum)
	assertVolumesKept(t, inst)
	assertNetworkIsolated(t, inst, sum)
	assertUntrackedBeforeIsolated(t, inst, sum, ex)
	assertProfileDetached(t, inst, sum)
	assertCredentialsDenied(t, inst, sum, out)
	assertDeregistered(t, inst, sum)
	assertLeftClassicLoadBalancers(t, inst, sum)
	if releasedIP && inst.ElasticIP != "" {
		if holder := elasticIPHolder(t, inst.ElasticIPAllocationID); holder != "" {
			t.Errorf("%s: Elastic IP %s still on %s", inst.ID, inst.ElasticIP, holder)
		}
		if len(sum.DisassociatedElasticIps) != 1 || sum.DisassociatedElasticIps[0] != inst.ElasticIP {
			t.Errorf("%s: output DisassociatedElasticIps %v, want [%s]", inst.ID, sum.DisassociatedElasticIps, inst.ElasticIP)
		}
	} else {
		assertElasticIPsRecorded(t, inst, sum)
	}
	assertSnapshotsPreserved(t, inst, sum, incident)
	assertScreenshotKept(t, inst, sum, incident)
	if d == deployed {
		assertRecordWritten(t, inst, sum, incident)
		return
	}
	prefix := incident + "/" + inst.ID + "/"
	for _, object := range []string{statemachine.RecordManifestObject, statemachine.RecordInstanceObject, statemachine.RecordUserDataObject, statemachine.RecordConsoleObject} {
		if _, err := evidence().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(prefix + object)}); err != nil {
			t.Errorf("%s: record object s3://%s/%s%s: %v", inst.ID, d.Bucket, prefix, object, err)
		}
	}
}

// assertUntouched checks that the workflow changed nothing on the instance.
func assertUntouched(t *testing.T, inst *scene.Instance) {
	t.Helper()
	assertNotTagged(t, inst)
	assertStillInAutoScalingGroup(t, inst)
	assertNotProtected(t, inst)
	assertVolumesUntouched(t, inst)
	assertNetworkUntouched(t, inst)
	assertProfileUntouched(t, inst)
	assertStillRegistered(t, inst)
	assertStillBehindClassicLoadBalancer(t, inst)
	assertNoSnapshots(t, inst)
}

// build builds an instance scene or fails the test.
func build(t *testing.T, spec scene.InstanceSpec) *scene.Instance {
	t.Helper()
	inst, err := scenes.Instance(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// desired reads the desired capacity of the instance's group, 0 if none.
func desired(t *testing.T, inst *scene.Instance) int32 {
	t.Helper()
	if inst.AutoScalingGroupName == "" {
		return 0
	}
	return desiredCapacity(t, inst.AutoScalingGroupName)
}

// A compromised production web server: three ENIs with their own groups,
// an unencrypted root, an encrypted and an unencrypted data volume, an
// instance profile, an Auto Scaling group and two target groups behind two
// ALBs. Every step must take and be verified in the account.
func TestContainsCompromisedWebServer(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.CompromisedWebServer())
	before := desired(t, inst)
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertContained(t, inst, out, ex, before)
	if out.IncidentId != incidentID(ex) || len(out.Contained) != 1 || len(out.Failed) != 0 {
		t.Errorf("output header: incident %q contained %v failed %v", out.IncidentId, out.Contained, out.Failed)
	}
}

// A bare instance: one ENI, a root volume, nothing attached. Steps with
// nothing to do must say so and succeed.
func TestContainsBareInstance(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.BareInstance())
	ex := run(t, input(emu.Region(), inst.ID))
	assertContained(t, inst, mustSucceed(t, ex), ex, 0)
}

// Several instances in two VPCs in one execution, one ID given twice: each
// is contained, and each VPC gets exactly one isolation group even though
// instances in it are contained concurrently.
func TestContainsFleetAcrossTwoVPCs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var vpcs []*scene.VPC
	for _, name := range []string{"fleet-a", "fleet-b"} {
		v, err := scenes.VPC(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		vpcs = append(vpcs, v)
	}
	spec := scene.InstanceSpec{Name: "fleet", ExtraENIs: 1, Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: 4, Encrypted: true}}, InstanceProfile: true, TargetGroups: 1}
	fleet, err := scenes.Fleet(ctx, vpcs, 4, spec)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{fleet[0].ID}
	for _, inst := range fleet {
		ids = append(ids, inst.ID)
	}
	ex := run(t, input(emu.Region(), ids...))
	out := mustSucceed(t, ex)
	if len(out.Instances) != len(fleet) {
		t.Errorf("output has %d instances, want %d (duplicates removed)", len(out.Instances), len(fleet))
	}
	for _, inst := range fleet {
		assertContained(t, inst, out, ex, 0)
	}
}

// Running the workflow again on an instance it already contained succeeds
// and changes nothing more: the instance keeps its first incident ID, no
// second isolation group, no new snapshots, the pre-incident record is left
// exactly as the first run wrote it.
func TestRerunOnContainedInstance(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.CompromisedWebServer())
	before := desired(t, inst)
	first := run(t, input(emu.Region(), inst.ID))
	firstOut := mustSucceed(t, first)
	assertContained(t, inst, firstOut, first, before)
	incident := incidentID(first)
	firstSum := firstOut.summary(t, inst.ID)
	manifestBefore := assertRecordWritten(t, inst, firstSum, incident)
	// A first containment's record goes under a new incident ID, so its
	// containment does not look for one already written; the re-run does.
	const lookForRecord = "Is The Record Already Written?"
	if n := statesEntered(t, firstSum.Execution)[lookForRecord]; n != 0 {
		t.Errorf("the first containment entered %q %d times: nothing can be under its new incident ID", lookForRecord, n)
	}

	second := run(t, input(emu.Region(), inst.ID))
	sum := mustSucceed(t, second).summary(t, inst.ID)
	if n := len(sum.DetachedFromAutoScalingGroups) + len(sum.DetachedInstanceProfiles) + len(sum.DeregisteredFromTargetGroups) +
		len(sum.DeregisteredFromClassicLoadBalancers) + len(sum.Snapshots); n != 0 {
		t.Errorf("re-run reports %d changes again: %+v", n, sum)
	}
	if len(sum.AlreadyPreservedSnapshots) != len(inst.VolumeIDs) {
		t.Errorf("re-run reports %d already preserved snapshots, want %d", len(sum.AlreadyPreservedSnapshots), len(inst.VolumeIDs))
	}
	if len(sum.Record) != 1 || sum.Record[0].Written {
		t.Errorf("re-run record %+v, want the first run's record kept (Written false)", sum.Record)
	}
	if n := statesEntered(t, sum.Execution)[lookForRecord]; n != 1 {
		t.Errorf("the re-run entered %q %d times, want once", lookForRecord, n)
	}
	// The account is as the first run left it, under the first incident.
	assertTagged(t, inst, incident)
	assertSnapshotsPreserved(t, inst, firstSum, incident)
	if manifestAfter := assertRecordWritten(t, inst, InstanceSummary{Record: sum.Record}, incident); string(manifestAfter) != string(manifestBefore) {
		t.Errorf("the re-run changed the record's manifest")
	}
	if groups := isolationGroups(t, inst.VPCID); len(groups) != 1 {
		t.Errorf("VPC %s has %d isolation groups after a re-run, want 1", inst.VPCID, len(groups))
	}
	for eni, ids := range eniGroups(t, inst.ID) {
		if len(ids) != 1 || ids[0] != firstSum.IsolationGroupId {
			t.Errorf("after the re-run ENI %s carries %v, want only %s", eni, ids, firstSum.IsolationGroupId)
		}
	}
	if moves := eniMoves(t, second); len(moves) != 0 {
		t.Errorf("the re-run moved ENIs again: %+v", moves)
	}
}

// A nonexistent ID next to a real one: the execution fails before anything
// is touched, with an error naming the missing ID.
func TestNonexistentInstanceChangesNothing(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.CompromisedWebServer())
	missing := "i-0123456789abcdef0"
	ex := run(t, input(emu.Region(), inst.ID, missing))
	if ex.Status != "FAILED" || !strings.Contains(ex.Cause, missing) || !strings.Contains(ex.Cause, "Nothing was changed") {
		t.Errorf("status %s, error %q, cause %q; want FAILED naming %s and saying nothing was changed", ex.Status, ex.Error, ex.Cause, missing)
	}
	assertUntouched(t, inst)
}

// A Region other than the deployment's: the execution fails before anything
// is touched and says which deployment to use.
func TestWrongRegionChangesNothing(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.CompromisedWebServer())
	ex := run(t, input("eu-west-3", inst.ID))
	if ex.Status != "FAILED" || ex.Error != "WrongRegion" || !strings.Contains(ex.Cause, "eu-west-3") || !strings.Contains(ex.Cause, emu.Region()) {
		t.Errorf("status %s, error %q, cause %q; want FAILED WrongRegion naming both regions", ex.Status, ex.Error, ex.Cause)
	}
	assertUntouched(t, inst)
}

// One instance whose instance profile cannot be detached (a permanent
// UnauthorizedOperation): that instance fails, the other is fully
// contained, and the execution fails at the end naming the instance and the
// step.
func TestOneFailingInstanceDoesNotAbortTheOthers(t *testing.T) {
	ctx := context.Background()
	withProfile := build(t, scene.InstanceSpec{Name: "denied", InstanceProfile: true})
	other := build(t, scene.BareInstance())
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{
		Service: "ec2", Action: "DisassociateIamInstanceProfile", Code: "UnauthorizedOperation",
		Message: "You are not authorized to perform this operation.", Status: 403, Count: 100,
	}}); err != nil {
		t.Fatal(err)
	}
	defer emu.SetFaults(ctx, nil)
	ex := run(t, input(emu.Region(), withProfile.ID, other.ID))
	if ex.Status != "FAILED" || ex.Error != "ContainmentFailed" {
		t.Fatalf("status %s error %q, want FAILED ContainmentFailed", ex.Status, ex.Error)
	}
	for _, want := range []string{withProfile.ID, "Detach Instance Profile", "You are not authorized to perform this operation", "1 of 2"} {
		if !strings.Contains(ex.Cause, want) {
			t.Errorf("cause does not mention %q: %s", want, ex.Cause)
		}
	}
	if assoc := associatedProfiles(t, withProfile.ID); len(assoc) != 1 {
		t.Errorf("%s: profile associations %v; the denied detach should have left it", withProfile.ID, assoc)
	}
	// The other instance was contained all the same: its summary is in the
	// history (a failed execution has no output).
	out := tallied(t, ex)
	if len(out.Contained) != 1 || out.Contained[0] != other.ID {
		t.Errorf("contained %v, want [%s]", out.Contained, other.ID)
	}
	assertContained(t, other, out, ex, 0)
	// The failed instance was changed before it failed: its pre-incident
	// record must be stored all the same.
	assertRecordWritten(t, withProfile, out.summary(t, withProfile.ID), incidentID(ex))
}

// tallied reads the per-instance outcomes of an execution from the output of
// its "Tally Outcomes" state, which a failed execution also records.
func tallied(t *testing.T, ex *emulator.Execution) Output {
	t.Helper()
	events := ownHistory(t, ex.ARN)
	for _, e := range events {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Tally Outcomes" {
			var out Output
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatalf("Tally Outcomes output: %v", err)
			}
			return withInstances(t, ex, out)
		}
	}
	t.Fatalf("execution %s never reached Tally Outcomes", ex.ARN)
	return Output{}
}

// statesEntered counts, by name, the states an execution entered (its own
// history, not its children's).
func statesEntered(t *testing.T, arn string) map[string]int {
	t.Helper()
	events := ownHistory(t, arn)
	entered := map[string]int{}
	for _, e := range events {
		if d := e.StateEnteredEventDetails; d != nil {
			entered[aws.ToString(d.Name)]++
		}
	}
	return entered
}
