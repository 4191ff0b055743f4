package statemachine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// eniGroups reads the security groups of each ENI attached to the instance.
func eniGroups(t *testing.T, id string) map[string][]string {
	t.Helper()
	out, err := scenes.EC2.DescribeNetworkInterfaces(context.Background(), &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}},
	})
	if err != nil {
		t.Fatalf("describe ENIs of %s: %v", id, err)
	}
	groups := map[string][]string{}
	for _, eni := range out.NetworkInterfaces {
		var ids []string
		for _, g := range eni.Groups {
			ids = append(ids, aws.ToString(g.GroupId))
		}
		sort.Strings(ids)
		groups[aws.ToString(eni.NetworkInterfaceId)] = ids
	}
	return groups
}

// groupsNamed returns the security groups of a VPC with that name, with
// their rules.
func groupsNamed(t *testing.T, vpc, name string) []ec2types.SecurityGroup {
	t.Helper()
	out, err := scenes.EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}},
			{Name: aws.String("group-name"), Values: []string{name}},
		},
	})
	if err != nil {
		t.Fatalf("describe the groups named %s in %s: %v", name, vpc, err)
	}
	return out.SecurityGroups
}

// isolationGroups returns the isolation groups of a VPC with their rules.
func isolationGroups(t *testing.T, vpc string) []ec2types.SecurityGroup {
	t.Helper()
	return groupsNamed(t, vpc, statemachine.IsolationGroupName)
}

// assertNetworkIsolated: the VPC has exactly one isolation group, it has no
// rule in either direction, every ENI of the instance carries it and nothing
// else, and the output records each ENI's previous groups.
func assertNetworkIsolated(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	groups := isolationGroups(t, inst.VPCID)
	if len(groups) != 1 {
		t.Fatalf("%s: VPC %s has %d isolation groups, want exactly 1", inst.ID, inst.VPCID, len(groups))
	}
	sg := groups[0]
	if len(sg.IpPermissions) != 0 || len(sg.IpPermissionsEgress) != 0 {
		t.Errorf("isolation group %s has %d ingress and %d egress rules, want none", aws.ToString(sg.GroupId), len(sg.IpPermissions), len(sg.IpPermissionsEgress))
	}
	isolation := aws.ToString(sg.GroupId)
	if sum.IsolationGroupId != isolation {
		t.Errorf("%s: output IsolationGroupId %q, want %q", inst.ID, sum.IsolationGroupId, isolation)
	}
	now := eniGroups(t, inst.ID)
	if len(now) != len(inst.ENIIDs) {
		t.Errorf("%s: %d ENIs attached, want %d", inst.ID, len(now), len(inst.ENIIDs))
	}
	for eni, ids := range now {
		if !reflect.DeepEqual(ids, []string{isolation}) {
			t.Errorf("%s: ENI %s carries %v, want only the isolation group %s", inst.ID, eni, ids, isolation)
		}
	}
	recorded := map[string][]string{}
	for _, n := range sum.NetworkInterfaces {
		ids := append([]string(nil), n.PreviousGroups...)
		sort.Strings(ids)
		recorded[n.NetworkInterfaceId] = ids
	}
	for eni, before := range inst.GroupsByENI {
		want := append([]string(nil), before...)
		sort.Strings(want)
		if !reflect.DeepEqual(recorded[eni], want) {
			t.Errorf("%s: output PreviousGroups of %s = %v, want %v", inst.ID, eni, recorded[eni], want)
		}
	}
}

// assertNetworkUntouched: every ENI still carries the groups it was built
// with.
func assertNetworkUntouched(t *testing.T, inst *scene.Instance) {
	t.Helper()
	now := eniGroups(t, inst.ID)
	for eni, before := range inst.GroupsByENI {
		want := append([]string(nil), before...)
		sort.Strings(want)
		if !reflect.DeepEqual(now[eni], want) {
			t.Errorf("%s: ENI %s carries %v, want unchanged %v", inst.ID, eni, now[eni], want)
		}
	}
}

// eniMoves lists, in history order, each ModifyNetworkInterfaceAttribute
// the execution scheduled: the ENI and the groups it was given.
func eniMoves(t *testing.T, ex *emulator.Execution) []eniMove {
	t.Helper()
	events, err := emu.HistoryTree(context.Background(), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]sfntypes.HistoryEvent{}
	for _, e := range events {
		byID[e.Id] = e
	}
	var moves []eniMove
	for _, e := range events {
		// Only calls that took effect: a retried attempt (throttled, or
		// failed with a 500) is scheduled again and counted once.
		s := e.TaskSucceededEventDetails
		if s == nil || !strings.HasSuffix(aws.ToString(s.Resource), "modifyNetworkInterfaceAttribute") {
			continue
		}
		d := byID[byID[e.PreviousEventId].PreviousEventId].TaskScheduledEventDetails
		if d == nil {
			t.Fatalf("event %d: a succeeded ENI change without its scheduled event two events before", e.Id)
		}
		var m eniMove
		if err := json.Unmarshal([]byte(aws.ToString(d.Parameters)), &m); err != nil {
			t.Fatalf("parameters of a scheduled ENI change: %v", err)
		}
		moves = append(moves, m)
	}
	return moves
}

// eniMove is the parameters of one ModifyNetworkInterfaceAttribute call.
type eniMove struct {
	NetworkInterfaceId string
	Groups             []string
}

// assertUntrackedBeforeIsolated: the history shows every ENI of the instance
// given the all-traffic group alone, then the isolation group alone, in
// that order; and the VPC's all-traffic group allows all traffic both ways.
func assertUntrackedBeforeIsolated(t *testing.T, inst *scene.Instance, sum InstanceSummary, ex *emulator.Execution) {
	t.Helper()
	untrack := untrackGroup(t, inst.VPCID)
	phases := map[string][]string{}
	for _, m := range eniMoves(t, ex) {
		if len(m.Groups) != 1 {
			t.Errorf("ENI %s was given %v, want exactly one group per change", m.NetworkInterfaceId, m.Groups)
			continue
		}
		phases[m.NetworkInterfaceId] = append(phases[m.NetworkInterfaceId], m.Groups[0])
	}
	previous := map[string][]string{}
	for _, n := range sum.NetworkInterfaces {
		previous[n.NetworkInterfaceId] = n.PreviousGroups
	}
	for _, eni := range inst.ENIIDs {
		want := []string{untrack, sum.IsolationGroupId}
		if reflect.DeepEqual(previous[eni], []string{sum.IsolationGroupId}) {
			want = nil // already isolated (a re-run): left alone
		}
		if !reflect.DeepEqual(phases[eni], want) {
			t.Errorf("%s: ENI %s went through groups %v, want the all-traffic group then the isolation group %v", inst.ID, eni, phases[eni], want)
		}
	}
}

// untrackGroup returns the VPC's one all-traffic group after checking it
// allows all traffic in and out, IPv4 and IPv6.
func untrackGroup(t *testing.T, vpc string) string {
	t.Helper()
	groups := groupsNamed(t, vpc, statemachine.UntrackGroupName)
	if len(groups) != 1 {
		t.Fatalf("VPC %s: %d all-traffic groups, want 1", vpc, len(groups))
	}
	sg := groups[0]
	allows := func(perms []ec2types.IpPermission) (v4, v6 bool) {
		for _, p := range perms {
			if aws.ToString(p.IpProtocol) != "-1" {
				continue
			}
			for _, r := range p.IpRanges {
				v4 = v4 || aws.ToString(r.CidrIp) == "0.0.0.0/0"
			}
			for _, r := range p.Ipv6Ranges {
				v6 = v6 || aws.ToString(r.CidrIpv6) == "::/0"
			}
		}
		return v4, v6
	}
	in4, in6 := allows(sg.IpPermissions)
	out4, out6 := allows(sg.IpPermissionsEgress)
	if !in4 || !in6 || !out4 || !out6 {
		t.Errorf("all-traffic group %s: all traffic in v4 %v v6 %v, out v4 %v v6 %v; want all true", aws.ToString(sg.GroupId), in4, in6, out4, out6)
	}
	return aws.ToString(sg.GroupId)
}

// A VPC whose containment groups exist but are wrong, as a hand edit or an
// interrupted run would leave them: the isolation group has an inbound SSH
// rule and the default outbound rule; the all-traffic group allows only IPv4
// in and only IPv6 out. The workflow keeps both groups (no second one),
// empties the isolation group, adds exactly the two missing all-traffic
// rules, and contains the instance through them.
func TestCompletesExistingContainmentGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inst := build(t, scene.BareInstance())
	isolation, err := createIsolationGroup(ctx, inst.VPCID, true)
	if err != nil {
		t.Fatal(err)
	}
	untrack, err := createUntrackGroup(ctx, inst.VPCID)
	if err != nil {
		t.Fatal(err)
	}
	v4 := []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}
	v6 := []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}
	steps := []error{}
	_, err = scenes.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(untrack), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: v4}},
	})
	steps = append(steps, err)
	_, err = scenes.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{
		GroupId: aws.String(untrack), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: v4}},
	})
	steps = append(steps, err)
	_, err = scenes.EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(untrack), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), Ipv6Ranges: v6}},
	})
	steps = append(steps, err)
	if err := errors.Join(steps...); err != nil {
		t.Fatalf("set up the all-traffic group %s: %v", untrack, err)
	}

	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	assertContained(t, inst, out, ex, 0)
	if got := isolationGroups(t, inst.VPCID); len(got) != 1 || aws.ToString(got[0].GroupId) != isolation {
		t.Errorf("isolation groups of %s: %d, want only the existing %s", inst.VPCID, len(got), isolation)
	}
	if got := untrackGroup(t, inst.VPCID); got != untrack {
		t.Errorf("all-traffic group of %s is %s, want the existing %s", inst.VPCID, got, untrack)
	}
	events := ownHistory(t, ex.ARN)
	var added []string
	for _, e := range events {
		if d := e.TaskScheduledEventDetails; d != nil && strings.HasPrefix(aws.ToString(d.Resource), "authorizeSecurityGroup") {
			added = append(added, aws.ToString(d.Resource)+" "+aws.ToString(d.Parameters))
		}
	}
	if len(added) != 2 || !strings.Contains(added[0]+added[1], "::/0") || !strings.Contains(added[0]+added[1], "0.0.0.0/0") {
		t.Errorf("rule additions %v: want one IPv6 ingress and one IPv4 egress", added)
	}
}

// A network isolation that fails after the ENIs were moved to the
// all-traffic group must not leave them there: that group allows all
// traffic in and out. Here the read that confirms the untracking is denied
// for good, so the ENIs are on the all-traffic group when the step fails;
// the workflow then moves every ENI straight to the isolation group, and
// the instance fails saying so. It uses the global fault layer, so it does
// not run in parallel.
func TestFailedIsolationLeavesNoENIOpen(t *testing.T) {
	ctx := context.Background()
	inst := build(t, scene.InstanceSpec{Name: "isolation-fallback", ExtraENIs: 2})
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{
		Service: "ec2", Action: "DescribeNetworkInterfaces", Code: "UnauthorizedOperation",
		Message: "You are not authorized to perform this operation.", Status: 403, Count: 1000,
	}}); err != nil {
		t.Fatal(err)
	}
	ex, err := emu.RunExecution(ctx, machineARN, input(emu.Region(), inst.ID), executionTimeout)
	if clearErr := emu.SetFaults(ctx, nil); clearErr != nil {
		t.Fatal(clearErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "FAILED" {
		t.Fatalf("status %s, want FAILED: every DescribeNetworkInterfaces was denied", ex.Status)
	}
	for _, want := range []string{inst.ID, "Isolate Network failed", "You are not authorized to perform this operation", "moved straight to the isolation group"} {
		if !strings.Contains(ex.Cause, want) {
			t.Errorf("the cause does not say %q: %s", want, ex.Cause)
		}
	}
	isolation := isolationGroups(t, inst.VPCID)
	if len(isolation) != 1 {
		t.Fatalf("VPC %s has %d isolation groups, want 1", inst.VPCID, len(isolation))
	}
	untrack := untrackGroup(t, inst.VPCID)
	groups := eniGroups(t, inst.ID)
	if len(groups) != 3 {
		t.Fatalf("%d ENIs, want 3: %v", len(groups), groups)
	}
	for eni, g := range groups {
		if !reflect.DeepEqual(g, []string{aws.ToString(isolation[0].GroupId)}) {
			t.Errorf("ENI %s carries %v, want only the isolation group %s (the all-traffic group is %s)", eni, g, aws.ToString(isolation[0].GroupId), untrack)
		}
	}
	// Each ENI did go to the all-traffic group first, so the step failed
	// after the untracking moves: the case the fallback exists for.
	phases := map[string][]string{}
	for _, m := range eniMoves(t, ex) {
		phases[m.NetworkInterfaceId] = append(phases[m.NetworkInterfaceId], strings.Join(m.Groups, ","))
	}
	for _, eni := range inst.ENIIDs {
		want := []string{untrack, aws.ToString(isolation[0].GroupId)}
		if !reflect.DeepEqual(phases[eni], want) {
			t.Errorf("ENI %s went through groups %v, want the all-traffic group then the isolation group %v", eni, phases[eni], want)
		}
	}
}
