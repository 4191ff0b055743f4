package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// classicMember reports whether a classic load balancer lists the instance.
func classicMember(t *testing.T, name, id string) bool {
	t.Helper()
	out, err := scenes.ELB.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
	if err != nil || len(out.LoadBalancerDescriptions) != 1 {
		t.Fatalf("describe classic load balancer %s: %v", name, err)
	}
	for _, i := range out.LoadBalancerDescriptions[0].Instances {
		if aws.ToString(i.InstanceId) == id {
			return true
		}
	}
	return false
}

// assertLeftClassicLoadBalancers: no classic load balancer lists the
// instance, and the output names the ones it left.
func assertLeftClassicLoadBalancers(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	var want []string
	if inst.ClassicLoadBalancerName != "" {
		want = []string{inst.ClassicLoadBalancerName}
		if classicMember(t, inst.ClassicLoadBalancerName, inst.ID) {
			t.Errorf("%s: classic load balancer %s still lists it", inst.ID, inst.ClassicLoadBalancerName)
		}
	}
	if len(sum.DeregisteredFromClassicLoadBalancers) != len(want) || (len(want) == 1 && sum.DeregisteredFromClassicLoadBalancers[0] != want[0]) {
		t.Errorf("%s: output DeregisteredFromClassicLoadBalancers = %v, want %v", inst.ID, sum.DeregisteredFromClassicLoadBalancers, want)
	}
}

// assertStillBehindClassicLoadBalancer: the workflow did not deregister it.
func assertStillBehindClassicLoadBalancer(t *testing.T, inst *scene.Instance) {
	t.Helper()
	if inst.ClassicLoadBalancerName != "" && !classicMember(t, inst.ClassicLoadBalancerName, inst.ID) {
		t.Errorf("%s: no longer behind %s, but nothing should have changed", inst.ID, inst.ClassicLoadBalancerName)
	}
}
