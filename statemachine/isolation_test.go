package statemachine_test

import (
	"context"
	"reflect"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

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

// isolationGroups returns the isolation groups of a VPC with their rules.
func isolationGroups(t *testing.T, vpc string) []ec2types.SecurityGroup {
	t.Helper()
	out, err := scenes.EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}},
			{Name: aws.String("group-name"), Values: []string{statemachine.IsolationGroupName}},
		},
	})
	if err != nil {
		t.Fatalf("describe isolation groups of %s: %v", vpc, err)
	}
	return out.SecurityGroups
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
