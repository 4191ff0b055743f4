package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// elasticIPHolder returns the instance the Elastic IP is associated with.
func elasticIPHolder(t *testing.T, allocation string) string {
	t.Helper()
	out, err := scenes.EC2.DescribeAddresses(context.Background(), &ec2.DescribeAddressesInput{AllocationIds: []string{allocation}})
	if err != nil || len(out.Addresses) != 1 {
		t.Fatalf("describe address %s: %v", allocation, err)
	}
	return aws.ToString(out.Addresses[0].InstanceId)
}

// assertElasticIPsRecorded: by default the Elastic IP stays associated
// (what was exposed stays visible) and the output records it.
func assertElasticIPsRecorded(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	if inst.ElasticIP == "" {
		if len(sum.ElasticIps) != 0 {
			t.Errorf("%s: output ElasticIps = %v, want none", inst.ID, sum.ElasticIps)
		}
		return
	}
	if holder := elasticIPHolder(t, inst.ElasticIPAllocationID); holder != inst.ID {
		t.Errorf("%s: Elastic IP %s is on %q, want it left on the instance", inst.ID, inst.ElasticIP, holder)
	}
	if len(sum.ElasticIps) != 1 || sum.ElasticIps[0] != inst.ElasticIP || len(sum.DisassociatedElasticIps) != 0 {
		t.Errorf("%s: output ElasticIps %v, DisassociatedElasticIps %v; want [%s] and none", inst.ID, sum.ElasticIps, sum.DisassociatedElasticIps, inst.ElasticIP)
	}
}

// With DisassociateElasticIps=true the Elastic IP is released from the
// instance, verified, and recorded.
func TestElasticIPDisassociatedWhenAsked(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "eip", ElasticIP: true})
	ex := runOn(t, machineWith(t, map[string]string{"DisassociateElasticIps": "true"}), input(emu.Region(), inst.ID))
	sum := mustSucceed(t, ex).summary(t, inst.ID)
	if holder := elasticIPHolder(t, inst.ElasticIPAllocationID); holder != "" {
		t.Errorf("%s: Elastic IP %s still on %s", inst.ID, inst.ElasticIP, holder)
	}
	if len(sum.DisassociatedElasticIps) != 1 || sum.DisassociatedElasticIps[0] != inst.ElasticIP {
		t.Errorf("%s: output DisassociatedElasticIps %v, want [%s]", inst.ID, sum.DisassociatedElasticIps, inst.ElasticIP)
	}
}
