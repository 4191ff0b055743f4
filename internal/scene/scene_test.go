package scene_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// emu is the emulated AWS shared by every test in the package.
var emu *emulator.Emulator

func TestMain(m *testing.M) { os.Exit(emulator.RunTestMain(m, &emu)) }

var (
	builderOnce sync.Once
	builder     *scene.Builder
)

func newBuilder(t *testing.T) (*scene.Builder, context.Context) {
	t.Helper()
	builderOnce.Do(func() { builder = scene.New(emu.AWSConfig()) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return builder, ctx
}

func describeInstance(t *testing.T, ctx context.Context, b *scene.Builder, id string) ec2types.Instance {
	t.Helper()
	out, err := b.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("describe instance %s: %v", id, err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("describe instance %s: not found", id)
	}
	return out.Reservations[0].Instances[0]
}

func TestCompromisedWebServer(t *testing.T) {
	t.Parallel()
	b, ctx := newBuilder(t)
	inst, err := b.Instance(ctx, scene.CompromisedWebServer())
	if err != nil {
		t.Fatal(err)
	}
	checkWebServer(t, ctx, b, inst)
	if inst.ClassicLoadBalancerName == "" {
		t.Errorf("the compromised web server has no classic ELB")
	}
	if inst.ElasticIP == "" || inst.ElasticIPAllocationID == "" {
		t.Errorf("the compromised web server has no Elastic IP")
	}
	attr, err := b.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(inst.ID), Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior,
	})
	if err != nil || aws.ToString(attr.InstanceInitiatedShutdownBehavior.Value) != "terminate" {
		t.Errorf("shutdown behaviour %v (%v), want terminate", attr, err)
	}
}

func checkWebServer(t *testing.T, ctx context.Context, b *scene.Builder, inst *scene.Instance) {
	t.Helper()
	di := describeInstance(t, ctx, b, inst.ID)
	if got := aws.ToString(di.VpcId); got != inst.VPCID {
		t.Errorf("VPC = %s, want %s", got, inst.VPCID)
	}
	tags := map[string]string{}
	for _, tg := range di.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags["Name"] != inst.Name || tags["Environment"] != "production" || tags[scene.TagScene] != inst.Suffix {
		t.Errorf("instance tags = %v", tags)
	}

	// Three ENIs, each with its own distinct security groups.
	if len(di.NetworkInterfaces) != 3 || len(inst.ENIIDs) != 3 {
		t.Fatalf("instance has %d ENIs (scene says %d), want 3", len(di.NetworkInterfaces), len(inst.ENIIDs))
	}
	groupOwner := map[string]string{}
	for _, ni := range di.NetworkInterfaces {
		eni := aws.ToString(ni.NetworkInterfaceId)
		want := inst.GroupsByENI[eni]
		if len(ni.Groups) == 0 || len(ni.Groups) != len(want) {
			t.Errorf("ENI %s has groups %v, scene says %v", eni, ni.Groups, want)
		}
		for _, g := range ni.Groups {
			id := aws.ToString(g.GroupId)
			if other, ok := groupOwner[id]; ok {
				t.Errorf("group %s on both %s and %s", id, other, eni)
			}
			groupOwner[id] = eni
		}
	}
	if n := len(inst.GroupsByENI[inst.ENIIDs[0]]); n != 2 {
		t.Errorf("primary ENI has %d groups, want 2", n)
	}
	sgs, err := b.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: inst.GroupsByENI[inst.ENIIDs[0]]})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, g := range sgs.SecurityGroups {
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				rules = append(rules, fmt.Sprintf("%s/%d<-%s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToString(r.CidrIp)))
			}
		}
	}
	joined := strings.Join(rules, " ")
	for _, want := range []string{"tcp/22<-10.0.0.0/8", "tcp/443<-0.0.0.0/0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("primary ENI rules %q lack %s", joined, want)
		}
	}

	// Volumes: 8 GiB plain root, 20 GiB encrypted, 10 GiB plain; all
	// DeleteOnTermination.
	vols, err := b.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: inst.VolumeIDs})
	if err != nil {
		t.Fatal(err)
	}
	if len(vols.Volumes) != 3 {
		t.Fatalf("%d volumes, want 3", len(vols.Volumes))
	}
	wantSize := map[string]int32{inst.VolumeIDs[0]: 8, inst.VolumeIDs[1]: 20, inst.VolumeIDs[2]: 10}
	wantEnc := map[string]bool{inst.VolumeIDs[1]: true}
	for _, v := range vols.Volumes {
		id := aws.ToString(v.VolumeId)
		if aws.ToInt32(v.Size) != wantSize[id] || aws.ToBool(v.Encrypted) != wantEnc[id] || inst.EncryptedByVolume[id] != wantEnc[id] {
			t.Errorf("volume %s: size %d encrypted %v, want %d %v", id, aws.ToInt32(v.Size), aws.ToBool(v.Encrypted), wantSize[id], wantEnc[id])
		}
		if len(v.Attachments) != 1 || aws.ToString(v.Attachments[0].InstanceId) != inst.ID {
			t.Errorf("volume %s attachments %v", id, v.Attachments)
		}
	}
	if len(di.BlockDeviceMappings) != 3 {
		t.Errorf("%d block device mappings, want 3", len(di.BlockDeviceMappings))
	}
	for _, m := range di.BlockDeviceMappings {
		if m.Ebs == nil || !aws.ToBool(m.Ebs.DeleteOnTermination) {
			t.Errorf("mapping %s: DeleteOnTermination not true", aws.ToString(m.DeviceName))
		}
	}

	// Instance profile.
	assoc, err := b.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{inst.ID}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(assoc.IamInstanceProfileAssociations) != 1 ||
		aws.ToString(assoc.IamInstanceProfileAssociations[0].IamInstanceProfile.Arn) != inst.InstanceProfileARN {
		t.Errorf("profile associations %+v, want %s", assoc.IamInstanceProfileAssociations, inst.InstanceProfileARN)
	}
	if inst.RoleName == "" {
		t.Error("no role name")
	}

	// ASG membership.
	asi, err := b.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{inst.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asi.AutoScalingInstances) != 1 || aws.ToString(asi.AutoScalingInstances[0].AutoScalingGroupName) != inst.AutoScalingGroupName ||
		aws.ToString(asi.AutoScalingInstances[0].LifecycleState) != "InService" {
		t.Errorf("ASG instances %+v, want InService in %s", asi.AutoScalingInstances, inst.AutoScalingGroupName)
	}
	asg, err := b.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{inst.AutoScalingGroupName}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asg.AutoScalingGroups) != 1 || aws.ToInt32(asg.AutoScalingGroups[0].DesiredCapacity) != 1 || aws.ToInt32(asg.AutoScalingGroups[0].MinSize) != 0 {
		t.Errorf("ASG %+v: want desired 1, min 0", asg.AutoScalingGroups)
	}

	// Two target groups, each registered and behind its own ALB.
	if len(inst.TargetGroupARNs) != 2 || len(inst.LoadBalancerARNs) != 2 || inst.LoadBalancerARNs[0] == inst.LoadBalancerARNs[1] {
		t.Fatalf("target groups %v behind %v", inst.TargetGroupARNs, inst.LoadBalancerARNs)
	}
	for i, tg := range inst.TargetGroupARNs {
		th, err := b.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		if err != nil {
			t.Fatal(err)
		}
		if len(th.TargetHealthDescriptions) != 1 || aws.ToString(th.TargetHealthDescriptions[0].Target.Id) != inst.ID {
			t.Errorf("target group %s targets %+v, want only %s", tg, th.TargetHealthDescriptions, inst.ID)
		}
		ls, err := b.ELBv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(inst.LoadBalancerARNs[i])})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls.Listeners) != 1 || len(ls.Listeners[0].DefaultActions) != 1 ||
			aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != tg {
			t.Errorf("load balancer %s listeners %+v don't forward to %s", inst.LoadBalancerARNs[i], ls.Listeners, tg)
		}
	}
}

func TestBareInstance(t *testing.T) {
	t.Parallel()
	b, ctx := newBuilder(t)
	inst, err := b.Instance(ctx, scene.BareInstance())
	if err != nil {
		t.Fatal(err)
	}
	di := describeInstance(t, ctx, b, inst.ID)
	if len(di.NetworkInterfaces) != 1 || len(inst.ENIIDs) != 1 {
		t.Errorf("%d ENIs, want 1", len(di.NetworkInterfaces))
	}
	if len(inst.VolumeIDs) != 1 {
		t.Errorf("volumes %v, want just the root", inst.VolumeIDs)
	}
	if di.IamInstanceProfile != nil || inst.InstanceProfileARN != "" {
		t.Errorf("unexpected instance profile %+v", di.IamInstanceProfile)
	}
	asi, err := b.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{inst.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asi.AutoScalingInstances) != 0 || inst.AutoScalingGroupName != "" {
		t.Errorf("unexpectedly in ASG: %+v", asi.AutoScalingInstances)
	}
	if len(inst.TargetGroupARNs) != 0 || inst.ClassicLoadBalancerName != "" {
		t.Errorf("unexpected load balancing: %v %q", inst.TargetGroupARNs, inst.ClassicLoadBalancerName)
	}
}

func TestClassicLoadBalancer(t *testing.T) {
	t.Parallel()
	b, ctx := newBuilder(t)
	spec := scene.BareInstance()
	spec.Name = "legacy-app-with-a-rather-long-name"
	spec.ClassicLoadBalancer = true
	spec.TargetGroups = 1
	spec.Volumes = []scene.VolumeSpec{{SizeGiB: 16, Encrypted: true}}
	inst, err := b.Instance(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(inst.ClassicLoadBalancerName) > 32 {
		t.Errorf("classic ELB name %q longer than 32", inst.ClassicLoadBalancerName)
	}
	out, err := b.ELB.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: aws.String(inst.ClassicLoadBalancerName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.InstanceStates) != 1 || aws.ToString(out.InstanceStates[0].InstanceId) != inst.ID {
		t.Errorf("classic ELB instances %+v, want %s", out.InstanceStates, inst.ID)
	}
	if len(inst.TargetGroupARNs) != 1 {
		t.Errorf("target groups %v, want 1", inst.TargetGroupARNs)
	}
	if len(inst.VolumeIDs) != 1 || !inst.EncryptedByVolume[inst.VolumeIDs[0]] {
		t.Errorf("want one encrypted root volume, got %v %v", inst.VolumeIDs, inst.EncryptedByVolume)
	}
}

func TestFleetSpread(t *testing.T) {
	t.Parallel()
	b, ctx := newBuilder(t)
	var vpcs []*scene.VPC
	for i := 0; i < 2; i++ {
		v, err := b.VPC(ctx, "fleet")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.SubnetIDs) != 2 {
			t.Fatalf("VPC %s has subnets %v", v.ID, v.SubnetIDs)
		}
		vpcs = append(vpcs, v)
	}
	if vpcs[0].ID == vpcs[1].ID {
		t.Fatal("two VPCs share an ID")
	}
	spec := scene.BareInstance()
	spec.Name = "worker"
	spec.ExtraENIs = 1
	spec.AutoScalingGroup = true
	fleet, err := b.Fleet(ctx, vpcs, 5, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(fleet) != 5 {
		t.Fatalf("fleet of %d, want 5", len(fleet))
	}
	for i, inst := range fleet {
		if want := vpcs[i%2].ID; inst.VPCID != want {
			t.Errorf("member %d in %s, want %s", i, inst.VPCID, want)
		}
		if len(inst.ENIIDs) != 2 {
			t.Errorf("member %d has %d ENIs, want 2", i, len(inst.ENIIDs))
		}
	}
	for i, want := range []int{3, 2} {
		out, err := b.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcs[i].ID}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, r := range out.Reservations {
			got += len(r.Instances)
		}
		if got != want {
			t.Errorf("VPC %d has %d instances, want %d", i, got, want)
		}
	}
}

// TestParallelScenesDontClash builds two full scenes at once (with the same
// spec and in the same VPC) and checks nothing is shared.
func TestParallelScenesDontClash(t *testing.T) {
	t.Parallel()
	b, ctx := newBuilder(t)
	vpc, err := b.VPC(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	insts := make([]*scene.Instance, 2)
	t.Run("group", func(t *testing.T) {
		for i := range insts {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				spec := scene.CompromisedWebServer()
				spec.VPC = vpc
				spec.ClassicLoadBalancer = true
				inst, err := b.Instance(ctx, spec)
				if err != nil {
					t.Fatal(err)
				}
				insts[i] = inst
			})
		}
	})
	if insts[0] == nil || insts[1] == nil {
		t.FailNow()
	}
	seen := map[string]int{}
	for i, inst := range insts {
		ids := []string{inst.ID, inst.Name, inst.InstanceProfileARN, inst.RoleName, inst.AutoScalingGroupName, inst.ClassicLoadBalancerName}
		ids = append(ids, inst.ENIIDs...)
		ids = append(ids, inst.VolumeIDs...)
		ids = append(ids, inst.TargetGroupARNs...)
		ids = append(ids, inst.LoadBalancerARNs...)
		for _, gs := range inst.GroupsByENI {
			ids = append(ids, gs...)
		}
		for _, id := range ids {
			if j, ok := seen[id]; ok && j != i {
				t.Errorf("%q shared by scenes %d and %d", id, j, i)
			}
			seen[id] = i
		}
	}
	for _, inst := range insts {
		checkWebServer(t, ctx, b, inst)
	}
}
