package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// assertMetadataRecorded: the output's metadata is the instance's, as EC2
// reports it.
func assertMetadataRecorded(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	out, err := scenes.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{inst.ID}})
	if err != nil || len(out.Reservations) != 1 {
		t.Fatalf("describe instance %s: %v", inst.ID, err)
	}
	i := out.Reservations[0].Instances[0]
	m := sum.Metadata
	if m.InstanceType != string(i.InstanceType) || m.ImageId != aws.ToString(i.ImageId) || m.VpcId != inst.VPCID ||
		m.SubnetId != inst.SubnetID || m.PrivateIpAddress != aws.ToString(i.PrivateIpAddress) || m.State != "running" {
		t.Errorf("%s: output metadata %+v does not match EC2 (type %s, image %s, vpc %s, subnet %s, ip %s)", inst.ID, m,
			i.InstanceType, aws.ToString(i.ImageId), inst.VPCID, inst.SubnetID, aws.ToString(i.PrivateIpAddress))
	}
}
