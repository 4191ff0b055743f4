package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// autoScalingMembership returns the instance's group and lifecycle state, or
// empty strings when it is in no group.
func autoScalingMembership(t *testing.T, id string) (group, state string) {
	t.Helper()
	out, err := scenes.AutoScaling.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("describe auto scaling instances %s: %v", id, err)
	}
	if len(out.AutoScalingInstances) == 0 {
		return "", ""
	}
	return aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName), aws.ToString(out.AutoScalingInstances[0].LifecycleState)
}

// desiredCapacity reads an Auto Scaling group's desired capacity.
func desiredCapacity(t *testing.T, group string) int32 {
	t.Helper()
	out, err := scenes.AutoScaling.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{group}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("describe auto scaling group %s: %v (%d groups)", group, err, len(out.AutoScalingGroups))
	}
	return aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity)
}

// assertLeftAutoScalingGroup: the instance is in no Auto Scaling group, the
// group kept its desired capacity (so it launches a replacement), and the
// output names the group.
func assertLeftAutoScalingGroup(t *testing.T, inst *scene.Instance, sum InstanceSummary, desiredBefore int32) {
	t.Helper()
	if group, state := autoScalingMembership(t, inst.ID); group != "" {
		t.Errorf("%s: still in Auto Scaling group %s (%s)", inst.ID, group, state)
	}
	if inst.AutoScalingGroupName == "" {
		if len(sum.DetachedFromAutoScalingGroups) != 0 {
			t.Errorf("%s: output says detached from %v, but it was in no group", inst.ID, sum.DetachedFromAutoScalingGroups)
		}
		return
	}
	if got := desiredCapacity(t, inst.AutoScalingGroupName); got != desiredBefore {
		t.Errorf("%s: desired capacity of %s = %d, want it kept at %d", inst.ID, inst.AutoScalingGroupName, got, desiredBefore)
	}
	if len(sum.DetachedFromAutoScalingGroups) != 1 || sum.DetachedFromAutoScalingGroups[0] != inst.AutoScalingGroupName {
		t.Errorf("%s: output DetachedFromAutoScalingGroups = %v, want [%s]", inst.ID, sum.DetachedFromAutoScalingGroups, inst.AutoScalingGroupName)
	}
}

// assertStillInAutoScalingGroup: the workflow did not detach the instance.
func assertStillInAutoScalingGroup(t *testing.T, inst *scene.Instance) {
	t.Helper()
	if inst.AutoScalingGroupName == "" {
		return
	}
	if group, _ := autoScalingMembership(t, inst.ID); group != inst.AutoScalingGroupName {
		t.Errorf("%s: in Auto Scaling group %q, want still in %s", inst.ID, group, inst.AutoScalingGroupName)
	}
}
