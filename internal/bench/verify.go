package bench

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// Verify checks, with a few batched reads, that every instance really is
// contained the way both designs promise: tagged, out of its Auto Scaling
// group, termination and stop protection on, shutdown behaviour stop, no
// volume deleted on termination, every ENI on one group that has no rules,
// no instance profile, out of its target groups, and one completed encrypted
// evidence snapshot per volume with no unencrypted one left. A benchmark
// that skipped work would otherwise look fast. It returns the problems
// found (none: nil) and an error only if a read fails.
func Verify(ctx context.Context, cfg aws.Config, instances []*scene.Instance) ([]string, error) {
	c := ec2.NewFromConfig(cfg)
	ids := make([]string, len(instances))
	for i, inst := range instances {
		ids[i] = inst.ID
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	described := map[string]ec2types.Instance{}
	pages := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: verify: describe instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				described[aws.ToString(inst.InstanceId)] = inst
			}
		}
	}
	for _, id := range ids {
		inst, ok := described[id]
		if !ok {
			report("%s: not found", id)
			continue
		}
		tagged := false
		for _, t := range inst.Tags {
			tagged = tagged || aws.ToString(t.Key) == "SecurityIncidentStatus" && aws.ToString(t.Value) == "Investigation"
		}
		if !tagged {
			report("%s: no SecurityIncidentStatus=Investigation tag", id)
		}
		for _, m := range inst.BlockDeviceMappings {
			if m.Ebs != nil && aws.ToBool(m.Ebs.DeleteOnTermination) {
				report("%s: %s still deleted on termination", id, aws.ToString(m.DeviceName))
			}
		}
		if inst.IamInstanceProfile != nil {
			report("%s: instance profile %s still attached", id, aws.ToString(inst.IamInstanceProfile.Arn))
		}
		for _, a := range []ec2types.InstanceAttributeName{
			ec2types.InstanceAttributeNameDisableApiTermination,
			ec2types.InstanceAttributeNameDisableApiStop,
			ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior,
		} {
			out, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: a})
			if err != nil {
				return nil, fmt.Errorf("bench: verify: %s %s: %w", id, a, err)
			}
			switch {
			case a == ec2types.InstanceAttributeNameDisableApiTermination && (out.DisableApiTermination == nil || !aws.ToBool(out.DisableApiTermination.Value)),
				a == ec2types.InstanceAttributeNameDisableApiStop && (out.DisableApiStop == nil || !aws.ToBool(out.DisableApiStop.Value)),
				a == ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior &&
					(out.InstanceInitiatedShutdownBehavior == nil || aws.ToString(out.InstanceInitiatedShutdownBehavior.Value) != "stop"):
				report("%s: %s not set", id, a)
			}
		}
	}

	if err := verifyNetwork(ctx, c, ids, report); err != nil {
		return nil, err
	}
	asg, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: ids})
	if err != nil {
		return nil, fmt.Errorf("bench: verify: describe Auto Scaling instances: %w", err)
	}
	for _, a := range asg.AutoScalingInstances {
		report("%s: still in Auto Scaling group %s (%s)", aws.ToString(a.InstanceId), aws.ToString(a.AutoScalingGroupName), aws.ToString(a.LifecycleState))
	}
	lb := elbv2.NewFromConfig(cfg)
	for _, inst := range instances {
		for _, tg := range inst.TargetGroupARNs {
			out, err := lb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
			if err != nil {
				return nil, fmt.Errorf("bench: verify: target health of %s: %w", tg, err)
			}
			for _, d := range out.TargetHealthDescriptions {
				if d.Target != nil && aws.ToString(d.Target.Id) == inst.ID && (d.TargetHealth == nil || d.TargetHealth.State != "draining") {
					report("%s: still a target of %s", inst.ID, tg)
				}
			}
		}
	}
	if err := verifySnapshots(ctx, c, instances, report); err != nil {
		return nil, err
	}
	sort.Strings(problems)
	return problems, nil
}

// verifyNetwork checks that every ENI of the instances carries exactly one
// security group and that the group has no rules.
func verifyNetwork(ctx context.Context, c *ec2.Client, ids []string, report func(string, ...any)) error {
	groups := map[string]bool{}
	pages := ec2.NewDescribeNetworkInterfacesPaginator(c, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: ids}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("bench: verify: describe network interfaces: %w", err)
		}
		for _, n := range page.NetworkInterfaces {
			if len(n.Groups) != 1 {
				report("%s: ENI %s has %d security groups", aws.ToString(n.Attachment.InstanceId), aws.ToString(n.NetworkInterfaceId), len(n.Groups))
			}
			for _, g := range n.Groups {
				groups[aws.ToString(g.GroupId)] = true
			}
		}
	}
	if len(groups) == 0 {
		report("no ENI found for the instances")
		return nil
	}
	list := make([]string, 0, len(groups))
	for g := range groups {
		list = append(list, g)
	}
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: list})
	if err != nil {
		return fmt.Errorf("bench: verify: describe security groups: %w", err)
	}
	for _, g := range out.SecurityGroups {
		if len(g.IpPermissions)+len(g.IpPermissionsEgress) > 0 {
			report("ENI group %s (%s) has rules", aws.ToString(g.GroupId), aws.ToString(g.GroupName))
		}
	}
	return nil
}

// verifySnapshots checks for one completed encrypted evidence snapshot per
// volume and no unencrypted one, by the instance tag both designs put on.
func verifySnapshots(ctx context.Context, c *ec2.Client, instances []*scene.Instance, report func(string, ...any)) error {
	ids := make([]string, len(instances))
	for i, inst := range instances {
		ids[i] = inst.ID
	}
	good := map[string]int{}
	pages := ec2.NewDescribeSnapshotsPaginator(c, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters:  []ec2types.Filter{{Name: aws.String("tag:SecurityIncidentInstanceId"), Values: ids}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("bench: verify: describe snapshots: %w", err)
		}
		for _, s := range page.Snapshots {
			owner := ""
			for _, t := range s.Tags {
				if aws.ToString(t.Key) == "SecurityIncidentInstanceId" {
					owner = aws.ToString(t.Value)
				}
			}
			switch {
			case !aws.ToBool(s.Encrypted):
				report("%s: unencrypted snapshot %s left", owner, aws.ToString(s.SnapshotId))
			case s.State != ec2types.SnapshotStateCompleted:
				report("%s: snapshot %s is %s", owner, aws.ToString(s.SnapshotId), s.State)
			default:
				good[owner]++
			}
		}
	}
	for _, inst := range instances {
		if good[inst.ID] != len(inst.VolumeIDs) {
			report("%s: %d completed encrypted snapshots for %d volumes", inst.ID, good[inst.ID], len(inst.VolumeIDs))
		}
	}
	return nil
}
