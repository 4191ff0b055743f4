package statemachine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// fillerBalancers is more than a page of DescribeTargetGroups and of
// DescribeLoadBalancers (100 each in the definition).
const fillerBalancers = 105

// A region with more target groups and classic load balancers than fit a
// page, the instance's own created after them: the workflow reads every
// page, leaves the groups and the balancer that list the instance, and
// touches no other.
func TestLeavesLoadBalancersOnEveryPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vpc, err := scenes.VPC(ctx, "pages")
	if err != nil {
		t.Fatal(err)
	}
	other := build(t, scene.BareInstance())
	fillers, err := scenes.FillRegion(ctx, vpc, fillerBalancers)
	t.Cleanup(func() {
		if err := fillers.Remove(context.Background(), scenes); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	groups, balancers := fillers.TargetGroupARNs, fillers.ClassicNames
	if err != nil {
		t.Fatal(err)
	}
	// Another instance is a target of one filler group and balancer: it
	// must stay one.
	if _, err := scenes.ELBv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(groups[0]), Targets: []elbv2types.TargetDescription{{Id: aws.String(other.ID)}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := scenes.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String(balancers[0]), Instances: []elbtypes.Instance{{InstanceId: aws.String(other.ID)}},
	}); err != nil {
		t.Fatal(err)
	}

	inst := build(t, scene.CompromisedWebServer())
	defer retireLoadBalancers(t, inst)
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertContained(t, inst, out, ex, desired(t, inst))

	// Every page was read, in each instance's own execution.
	pages := map[string]int{}
	for _, e := range history(t, ex) {
		if d := e.StateEnteredEventDetails; d != nil {
			switch name := aws.ToString(d.Name); name {
			case "List More Target Groups", "List More Classic Load Balancers":
				pages[name]++
			}
		}
	}
	if pages["List More Target Groups"] < 1 || pages["List More Classic Load Balancers"] < 1 {
		t.Errorf("pages read after the first: %v; want at least one more of each with %d filler balancers", pages, fillerBalancers)
	}
	if !activeTarget(t, groups[0], other.ID) {
		t.Errorf("instance %s was taken out of filler target group %s, which the contained instance is not in", other.ID, groups[0])
	}
	if !classicMember(t, balancers[0], other.ID) {
		t.Errorf("instance %s was taken out of filler classic load balancer %s", other.ID, balancers[0])
	}
	if strings.Contains(strings.Join(out.summary(t, inst.ID).DeregisteredFromTargetGroups, " "), groups[0]) {
		t.Errorf("the output lists filler target group %s as left", groups[0])
	}
}
