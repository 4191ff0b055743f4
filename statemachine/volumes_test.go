package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// deleteOnTermination reads the DeleteOnTermination flag of each attached
// volume.
func deleteOnTermination(t *testing.T, id string) map[string]bool {
	t.Helper()
	out, err := scenes.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("describe instance %s: %v", id, err)
	}
	flags := map[string]bool{}
	for _, m := range out.Reservations[0].Instances[0].BlockDeviceMappings {
		flags[aws.ToString(m.Ebs.VolumeId)] = aws.ToBool(m.Ebs.DeleteOnTermination)
	}
	return flags
}

// assertVolumesKept: DeleteOnTermination is false on every volume.
func assertVolumesKept(t *testing.T, inst *scene.Instance) {
	t.Helper()
	flags := deleteOnTermination(t, inst.ID)
	if len(flags) != len(inst.VolumeIDs) {
		t.Errorf("%s: %d volumes attached, want %d", inst.ID, len(flags), len(inst.VolumeIDs))
	}
	for vol, del := range flags {
		if del {
			t.Errorf("%s: volume %s still has DeleteOnTermination=true", inst.ID, vol)
		}
	}
}

// assertVolumesUntouched: every volume still has DeleteOnTermination=true, as
// the scene built it.
func assertVolumesUntouched(t *testing.T, inst *scene.Instance) {
	t.Helper()
	for vol, del := range deleteOnTermination(t, inst.ID) {
		if !del {
			t.Errorf("%s: volume %s had DeleteOnTermination turned off, but nothing should have changed", inst.ID, vol)
		}
	}
}
