package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// volumeSnapshots returns every snapshot of the given volumes, whoever made it.
func volumeSnapshots(t *testing.T, volumes []string) []ec2types.Snapshot {
	t.Helper()
	out, err := scenes.EC2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
		Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: volumes}},
	})
	if err != nil {
		t.Fatalf("describe snapshots of %v: %v", volumes, err)
	}
	return out.Snapshots
}

// tagMap turns EC2 tags into a map.
func tagMap(tags []ec2types.Tag) map[string]string {
	m := map[string]string{}
	for _, tag := range tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

// assertSnapshotsPreserved: for this incident every volume has exactly one
// snapshot, completed, encrypted and tagged with the investigation status,
// incident, instance and volume; no unencrypted snapshot of the incident
// remains (each was deleted after its encrypted copy was verified); and the
// output lists one snapshot per volume.
func assertSnapshotsPreserved(t *testing.T, inst *scene.Instance, sum InstanceSummary, incident string) {
	t.Helper()
	perVolume := map[string]int{}
	for _, s := range volumeSnapshots(t, inst.VolumeIDs) {
		tags := tagMap(s.Tags)
		if tags[statemachine.IncidentIDTagKey] != incident {
			continue
		}
		vol := aws.ToString(s.VolumeId)
		id := aws.ToString(s.SnapshotId)
		perVolume[vol]++
		if !aws.ToBool(s.Encrypted) {
			t.Errorf("%s: snapshot %s of %s is not encrypted", inst.ID, id, vol)
		}
		if s.State != ec2types.SnapshotStateCompleted {
			t.Errorf("%s: snapshot %s of %s is %s, want completed", inst.ID, id, vol, s.State)
		}
		want := map[string]string{
			"SecurityIncidentStatus":      "Investigation",
			statemachine.InstanceIDTagKey: inst.ID,
			statemachine.VolumeIDTagKey:   vol,
			statemachine.IncidentIDTagKey: incident,
		}
		for k, v := range want {
			if tags[k] != v {
				t.Errorf("%s: snapshot %s tag %s = %q, want %q", inst.ID, id, k, tags[k], v)
			}
		}
	}
	for _, vol := range inst.VolumeIDs {
		if perVolume[vol] != 1 {
			t.Errorf("%s: volume %s has %d evidence snapshots for incident %s, want 1", inst.ID, vol, perVolume[vol], incident)
		}
	}
	if len(sum.Snapshots) != len(inst.VolumeIDs) {
		t.Errorf("%s: output lists %d snapshots, want one per volume (%d)", inst.ID, len(sum.Snapshots), len(inst.VolumeIDs))
	}
	for _, s := range sum.Snapshots {
		if inst.EncryptedByVolume[s.VolumeId] == (s.DeletedUnencryptedSnapshotId != "") {
			t.Errorf("%s: output for volume %s (encrypted %v) reports replaced snapshot %q", inst.ID, s.VolumeId, inst.EncryptedByVolume[s.VolumeId], s.DeletedUnencryptedSnapshotId)
		}
	}
}

// assertNoSnapshots: the workflow took no snapshot of the instance.
func assertNoSnapshots(t *testing.T, inst *scene.Instance) {
	t.Helper()
	if snaps := volumeSnapshots(t, inst.VolumeIDs); len(snaps) != 0 {
		t.Errorf("%s: %d snapshots of its volumes exist, but nothing should have been done", inst.ID, len(snaps))
	}
}
