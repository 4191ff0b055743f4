package statemachine_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// activeTarget reports whether the instance is a target of the group in any
// state but draining (draining is how ELB reports a deregistered target
// until the deregistration delay ends).
func activeTarget(t *testing.T, group, id string) bool {
	t.Helper()
	out, err := scenes.ELBv2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(group)})
	if err != nil {
		t.Fatalf("describe target health of %s: %v", group, err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if aws.ToString(d.Target.Id) == id && d.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining {
			return true
		}
	}
	return false
}

// assertDeregistered: no target group serves the instance any more, and the
// output lists exactly the groups it was removed from.
func assertDeregistered(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	for _, g := range inst.TargetGroupARNs {
		if activeTarget(t, g, inst.ID) {
			t.Errorf("%s: still an active target of %s", inst.ID, g)
		}
	}
	got := append([]string(nil), sum.DeregisteredFromTargetGroups...)
	want := append([]string(nil), inst.TargetGroupARNs...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: output DeregisteredFromTargetGroups = %v, want %v", inst.ID, got, want)
	}
}

// assertStillRegistered: the workflow did not deregister the instance.
func assertStillRegistered(t *testing.T, inst *scene.Instance) {
	t.Helper()
	for _, g := range inst.TargetGroupARNs {
		if !activeTarget(t, g, inst.ID) {
			t.Errorf("%s: no longer a target of %s, but nothing should have changed", inst.ID, g)
		}
	}
}

// targetGroupListing is what the fleet's one listing of the region's target
// groups found (listTargetGroupsOnce), read from the started execution's
// history.
type targetGroupListing struct {
	Listed []struct {
		TargetGroupArn string
		Members        struct {
			Count int
			Ids   []string
		}
	}
	Crowded   []string
	NotListed string
}

// classicListing is what the fleet's one listing of the region's classic
// load balancers found (listClassicLoadBalancersOnce).
type classicListing struct {
	Names     []string
	NotListed string
}

// fleetListings reads the fleet's listings of the load balancers from the
// output of the state that made them, beside the input check.
func fleetListings(t *testing.T, ex *emulator.Execution) (targetGroupListing, classicListing) {
	t.Helper()
	events := ownHistory(t, ex.ARN)
	for _, e := range events {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Find Instances And Target Groups" {
			var out struct {
				Results struct {
					TargetGroups         targetGroupListing
					ClassicLoadBalancers classicListing
				}
			}
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatalf("Find Instances And Target Groups output: %v", err)
			}
			return out.Results.TargetGroups, out.Results.ClassicLoadBalancers
		}
	}
	t.Fatal("the execution never left Find Instances And Target Groups")
	return targetGroupListing{}, classicListing{}
}

// loadBalancingCalls counts the ELB calls (both APIs) an execution's own
// history scheduled, by service and action ("elasticloadbalancingv2:
// describeTargetHealth"); its child executions' calls are in their own
// histories.
func loadBalancingCalls(t *testing.T, arn string) map[string]int {
	t.Helper()
	events := ownHistory(t, arn)
	calls := map[string]int{}
	for _, e := range events {
		if d := e.TaskScheduledEventDetails; d != nil && strings.HasPrefix(aws.ToString(d.ResourceType), "aws-sdk:elasticloadbalancing") {
			calls[strings.TrimPrefix(aws.ToString(d.ResourceType), "aws-sdk:")+":"+aws.ToString(d.Resource)]++
		}
	}
	return calls
}

// The region's target groups and classic load balancers are read once for
// the whole fleet, not once per instance: the started execution lists them
// and reads each group's targets, and each instance's own execution reads
// only the groups too crowded to list (more than 5 targets) and, after
// leaving a group or a balancer, that one again to verify. Each instance
// still leaves every group and balancer it is in, listed or crowded, and
// nobody else is touched. It does not run in
// parallel: tests running beside it could fill the region with more target
// groups than one page, and the listing would then (rightly) give way to
// each instance reading them itself (TestLeavesLoadBalancersOnEveryPage).
func TestLoadBalancersAreListedOnceForTheFleet(t *testing.T) {
	ctx := context.Background()
	vpc, err := scenes.VPC(ctx, "listing")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := scenes.Fleet(ctx, []*scene.VPC{vpc}, 2, scene.InstanceSpec{Name: "listed", VPC: vpc, TargetGroups: 1, ClassicLoadBalancer: true})
	if err != nil {
		t.Fatal(err)
	}
	bystanders, err := scenes.Fleet(ctx, []*scene.VPC{vpc}, 5, scene.InstanceSpec{Name: "bystander", VPC: vpc})
	if err != nil {
		t.Fatal(err)
	}
	a, b := fleet[0], fleet[1]
	for _, inst := range fleet {
		defer retireLoadBalancers(t, inst)
	}
	// A crowded group: a and the five bystanders. A listed group shared by
	// b and one bystander.
	group := func(name string, members ...*scene.Instance) string {
		tg, err := scenes.ELBv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name + "-" + vpc.ID[len(vpc.ID)-8:]), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80),
			VpcId: aws.String(vpc.ID), TargetType: elbv2types.TargetTypeEnumInstance,
		})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
		t.Cleanup(func() {
			_, _ = scenes.ELBv2.DeleteTargetGroup(context.Background(), &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		})
		var targets []elbv2types.TargetDescription
		for _, m := range members {
			targets = append(targets, elbv2types.TargetDescription{Id: aws.String(m.ID)})
		}
		if _, err := scenes.ELBv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn), Targets: targets}); err != nil {
			t.Fatal(err)
		}
		return arn
	}
	crowdedGroup := group("crowded", append([]*scene.Instance{a}, bystanders...)...)
	sharedGroup := group("shared", b, bystanders[0])

	ex := run(t, input(emu.Region(), a.ID, b.ID))
	out := mustSucceed(t, ex)

	listing, classic := fleetListings(t, ex)
	// Once the instances are contained, the started execution's state no
	// longer carries the listings: their outcomes replaced them.
	for _, e := range history(t, ex) {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Contain Each Instance" {
			if out := aws.ToString(d.Output); strings.Contains(out, `"Crowded"`) || strings.Contains(out, `"NotListed"`) || strings.Contains(out, a.TargetGroupARNs[0]) {
				t.Errorf("the state after Contain Each Instance still carries the listings: %.500s", out)
			}
		}
	}
	if listing.NotListed != "" || classic.NotListed != "" {
		t.Fatalf("the fleet did not list the load balancers: %q; %q", listing.NotListed, classic.NotListed)
	}
	for _, inst := range fleet {
		if !strings.Contains(strings.Join(classic.Names, " "), inst.ClassicLoadBalancerName) {
			t.Errorf("the classic listing %v misses %s's balancer %s", classic.Names, inst.ID, inst.ClassicLoadBalancerName)
		}
	}
	listed := map[string]int{}
	for _, g := range listing.Listed {
		listed[g.TargetGroupArn] = g.Members.Count
	}
	if n, ok := listed[sharedGroup]; !ok || n != 2 {
		t.Errorf("the listing has the shared group %s with %d targets (listed: %v), want it listed with 2", sharedGroup, n, ok)
	}
	if !strings.Contains(strings.Join(listing.Crowded, " "), crowdedGroup) {
		t.Errorf("the listing does not give the crowded group %s (6 targets) as crowded: %v", crowdedGroup, listing.Crowded)
	}
	if _, ok := listed[crowdedGroup]; ok {
		t.Errorf("the crowded group %s is listed with its targets", crowdedGroup)
	}

	// The started execution read the groups once; each instance read only
	// the crowded groups and the groups it left.
	groups := len(listing.Listed) + len(listing.Crowded)
	fleetCalls := loadBalancingCalls(t, ex.ARN)
	if fleetCalls["elasticloadbalancingv2:describeTargetGroups"] != 1 || fleetCalls["elasticloadbalancingv2:describeTargetHealth"] != groups ||
		fleetCalls["elasticloadbalancing:describeLoadBalancers"] != 1 {
		t.Errorf("the started execution made %v ELB calls, want 1 describeTargetGroups, one describeTargetHealth per group (%d) and 1 (classic) describeLoadBalancers", fleetCalls, groups)
	}
	left := map[string][]string{a.ID: {a.TargetGroupARNs[0], crowdedGroup}, b.ID: {b.TargetGroupARNs[0], sharedGroup}}
	for _, inst := range fleet {
		sum := out.summary(t, inst.ID)
		calls := loadBalancingCalls(t, sum.Execution)
		if want := len(listing.Crowded) + len(left[inst.ID]); calls["elasticloadbalancingv2:describeTargetGroups"] != 0 || calls["elasticloadbalancingv2:describeTargetHealth"] != want ||
			calls["elasticloadbalancing:describeLoadBalancers"] != 1 {
			t.Errorf("%s: its execution made %v ELB calls, want no describeTargetGroups, %d describeTargetHealth (%d crowded groups, %d groups left) and 1 (classic) describeLoadBalancers (to verify it left its balancer)",
				inst.ID, calls, want, len(listing.Crowded), len(left[inst.ID]))
		}
		if len(sum.DeregisteredFromClassicLoadBalancers) != 1 || sum.DeregisteredFromClassicLoadBalancers[0] != inst.ClassicLoadBalancerName {
			t.Errorf("%s: output DeregisteredFromClassicLoadBalancers = %v, want [%s]", inst.ID, sum.DeregisteredFromClassicLoadBalancers, inst.ClassicLoadBalancerName)
		}
		if classicMember(t, inst.ClassicLoadBalancerName, inst.ID) {
			t.Errorf("%s: still registered with classic load balancer %s", inst.ID, inst.ClassicLoadBalancerName)
		}
		got := append([]string(nil), sum.DeregisteredFromTargetGroups...)
		want := append([]string(nil), left[inst.ID]...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: output DeregisteredFromTargetGroups = %v, want %v", inst.ID, got, want)
		}
		for _, g := range left[inst.ID] {
			if activeTarget(t, g, inst.ID) {
				t.Errorf("%s: still an active target of %s", inst.ID, g)
			}
		}
	}
	for _, by := range bystanders {
		if !activeTarget(t, crowdedGroup, by.ID) {
			t.Errorf("bystander %s was taken out of the crowded group", by.ID)
		}
	}
	if !activeTarget(t, sharedGroup, bystanders[0].ID) {
		t.Errorf("bystander %s was taken out of the shared group", bystanders[0].ID)
	}
}
