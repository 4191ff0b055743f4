// Package inspect reads, with the AWS SDK, everything a responder checks on
// one EC2 instance before and after containment: its tags, Auto Scaling
// group membership, protection attributes, volumes, network interfaces and
// their security groups, IAM instance profile, ELBv2 target group
// registrations and the evidence snapshots taken of its volumes.
//
// Snapshot takes one such reading; Render prints two of them side by side,
// grouped by containment step, with each difference marked.
package inspect

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// EvidenceInstanceTagKey is the snapshot tag that names the instance an
// evidence snapshot was taken from (statemachine.InstanceIDTagKey).
const EvidenceInstanceTagKey = "SecurityIncidentInstanceId"

// EvidenceVolumeTagKey is the snapshot tag that names the volume an evidence
// snapshot was taken from (statemachine.VolumeIDTagKey). An encrypted copy's
// own VolumeId is meaningless, so this tag is the reliable source.
const EvidenceVolumeTagKey = "SecurityIncidentVolumeId"

// InstanceState is one reading of an instance and what it is attached to.
type InstanceState struct {
	InstanceID string `json:"instanceId"`
	// Name is the instance's Name tag ("" if it has none).
	Name string `json:"name,omitempty"`
	// State is the instance state name, e.g. "running".
	State string `json:"state"`
	VpcID string `json:"vpcId,omitempty"`
	// Tags are the instance's tags, sorted by key.
	Tags []Tag `json:"tags"`
	// InstanceProfile is the current IAM instance profile association, nil
	// if there is none.
	InstanceProfile *ProfileAssociation `json:"instanceProfile"`
	// AutoScaling is the instance's Auto Scaling group membership, nil if it
	// is in no group.
	AutoScaling *AutoScalingMembership `json:"autoScaling"`
	// TerminationProtection is the disableApiTermination attribute.
	TerminationProtection bool `json:"terminationProtection"`
	// StopProtection is the disableApiStop attribute.
	StopProtection bool `json:"stopProtection"`
	// ShutdownBehavior is the instanceInitiatedShutdownBehavior attribute:
	// "stop" or "terminate".
	ShutdownBehavior string `json:"shutdownBehavior"`
	// NetworkInterfaces are ordered by device index (the primary first).
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces"`
	// Volumes are the attached EBS volumes, the root device first, then by
	// device name.
	Volumes []Volume `json:"volumes"`
	// TargetGroups are the ELBv2 target groups of target type instance in the
	// region that list the instance as a target (draining included), sorted
	// by name.
	TargetGroups []TargetGroupMembership `json:"targetGroups"`
	// Snapshots are the evidence snapshots tagged with the instance ID,
	// ordered by source volume (as in Volumes), then by ID.
	Snapshots []EvidenceSnapshot `json:"snapshots"`
	// Unrecorded names the fields (Field* constants) whose value is not
	// known: a state rebuilt from an evidence record lacks what the record
	// does not hold. Render shows them as "not recorded". Snapshot reads
	// every field, so it leaves this empty.
	Unrecorded []string `json:"unrecorded,omitempty"`
}

// Fields an InstanceState built from a record may lack (Unrecorded).
const (
	FieldTerminationProtection = "terminationProtection"
	FieldStopProtection        = "stopProtection"
	FieldShutdownBehavior      = "shutdownBehavior"
	FieldAutoScaling           = "autoScaling"
	FieldTargetGroups          = "targetGroups"
	FieldSnapshots             = "snapshots"
)

// IsUnrecorded reports whether field (a Field* constant) is listed in
// Unrecorded.
func (s *InstanceState) IsUnrecorded(field string) bool {
	for _, f := range s.Unrecorded {
		if f == field {
			return true
		}
	}
	return false
}

// Tag is a key/value tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ProfileAssociation is an IAM instance profile associated with an instance.
type ProfileAssociation struct {
	ARN           string `json:"arn"`
	AssociationID string `json:"associationId"`
	// State is "associating", "associated" or "disassociating".
	State string `json:"state"`
}

// AutoScalingMembership is the instance's place in an Auto Scaling group.
type AutoScalingMembership struct {
	GroupName string `json:"groupName"`
	// LifecycleState is e.g. "InService", "Detaching" or "Standby".
	LifecycleState string `json:"lifecycleState"`
}

// NetworkInterface is one ENI attached to the instance.
type NetworkInterface struct {
	ID             string          `json:"id"`
	DeviceIndex    int32           `json:"deviceIndex"`
	SecurityGroups []SecurityGroup `json:"securityGroups"`
}

// SecurityGroup is a security group of an ENI with its rule counts. A rule
// is one source or destination (CIDR, IPv6 CIDR, prefix list or group) of
// one protocol and port range, as the EC2 console counts them.
type SecurityGroup struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	IngressRules int    `json:"ingressRules"`
	EgressRules  int    `json:"egressRules"`
	// RulesUnknown is set when the rules could not be read (a group named
	// in a record that no longer exists, for example): the counts are
	// then meaningless.
	RulesUnknown bool `json:"rulesUnknown,omitempty"`
}

// Volume is one attached EBS volume. A SizeGiB of 0 means its size and
// encryption are not known (a record holds only the attachment).
type Volume struct {
	ID                  string `json:"id"`
	Device              string `json:"device"`
	SizeGiB             int32  `json:"sizeGiB"`
	Encrypted           bool   `json:"encrypted"`
	DeleteOnTermination bool   `json:"deleteOnTermination"`
}

// TargetGroupMembership is an ELBv2 target group that lists the instance.
type TargetGroupMembership struct {
	ARN  string `json:"arn"`
	Name string `json:"name"`
	// State is the target's health state, e.g. "healthy", "initial" or
	// "draining" (deregistration in progress).
	State string `json:"state"`
}

// EvidenceSnapshot is an evidence snapshot of one of the instance's volumes.
type EvidenceSnapshot struct {
	ID string `json:"id"`
	// VolumeID is the source volume: the EvidenceVolumeTagKey tag if present,
	// else the snapshot's own VolumeId.
	VolumeID  string `json:"volumeId"`
	Encrypted bool   `json:"encrypted"`
	// State is "pending", "completed", "error", ...
	State string `json:"state"`
	// Tags are sorted by key.
	Tags []Tag `json:"tags"`
}

// Registered reports whether the target is still registered: listed and not
// draining. ELB reports a deregistered target as draining until its
// deregistration delay ends.
func (m TargetGroupMembership) Registered() bool {
	return m.State != string(elbv2types.TargetHealthStateEnumDraining) &&
		m.State != string(elbv2types.TargetHealthStateEnumUnused)
}

// clients are the AWS clients Snapshot uses.
type clients struct {
	ec2   *ec2.Client
	asg   *autoscaling.Client
	elbv2 *elbv2.Client
}

// Snapshot reads the current state of instanceID in cfg's region. It fails if
// the instance does not exist or any read fails; it changes nothing.
func Snapshot(ctx context.Context, cfg aws.Config, instanceID string) (*InstanceState, error) {
	c := clients{ec2: ec2.NewFromConfig(cfg), asg: autoscaling.NewFromConfig(cfg), elbv2: elbv2.NewFromConfig(cfg)}
	wrap := func(step string, err error) error {
		return fmt.Errorf("inspect instance %s: %s: %w", instanceID, step, err)
	}

	inst, err := c.instance(ctx, instanceID)
	if err != nil {
		return nil, wrap("describe instance", err)
	}
	st := &InstanceState{
		InstanceID: instanceID,
		State:      string(inst.State.Name),
		VpcID:      aws.ToString(inst.VpcId),
		Tags:       ec2Tags(inst.Tags),
	}
	for _, t := range st.Tags {
		if t.Key == "Name" {
			st.Name = t.Value
		}
	}

	steps := []struct {
		name string
		f    func(context.Context, *InstanceState, *ec2types.Instance) error
	}{
		{"read attributes", c.attributes},
		{"read Auto Scaling membership", c.autoScaling},
		{"read volumes", c.volumes},
		{"read network interfaces", c.networkInterfaces},
		{"read instance profile association", c.instanceProfile},
		{"read target groups", c.targetGroups},
		{"read evidence snapshots", c.snapshots},
	}
	for _, s := range steps {
		if err := s.f(ctx, st, inst); err != nil {
			return nil, wrap(s.name, err)
		}
	}
	return st, nil
}

func (c clients) instance(ctx context.Context, id string) (*ec2types.Instance, error) {
	out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, err
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], nil
			}
		}
	}
	return nil, errors.New("not found")
}

func (c clients) attributes(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	for _, a := range []ec2types.InstanceAttributeName{
		ec2types.InstanceAttributeNameDisableApiTermination,
		ec2types.InstanceAttributeNameDisableApiStop,
		ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior,
	} {
		out, err := c.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{
			InstanceId: aws.String(st.InstanceID),
			Attribute:  a,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		switch a {
		case ec2types.InstanceAttributeNameDisableApiTermination:
			st.TerminationProtection = out.DisableApiTermination != nil && aws.ToBool(out.DisableApiTermination.Value)
		case ec2types.InstanceAttributeNameDisableApiStop:
			st.StopProtection = out.DisableApiStop != nil && aws.ToBool(out.DisableApiStop.Value)
		default:
			if out.InstanceInitiatedShutdownBehavior != nil {
				st.ShutdownBehavior = aws.ToString(out.InstanceInitiatedShutdownBehavior.Value)
			}
		}
	}
	return nil
}

func (c clients) autoScaling(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	out, err := c.asg.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{
		InstanceIds: []string{st.InstanceID},
	})
	if err != nil {
		return err
	}
	for _, a := range out.AutoScalingInstances {
		if aws.ToString(a.InstanceId) == st.InstanceID {
			st.AutoScaling = &AutoScalingMembership{
				GroupName:      aws.ToString(a.AutoScalingGroupName),
				LifecycleState: aws.ToString(a.LifecycleState),
			}
		}
	}
	return nil
}

func (c clients) volumes(ctx context.Context, st *InstanceState, inst *ec2types.Instance) error {
	root := aws.ToString(inst.RootDeviceName)
	var ids []string
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs == nil || m.Ebs.VolumeId == nil {
			continue
		}
		st.Volumes = append(st.Volumes, Volume{
			ID:                  aws.ToString(m.Ebs.VolumeId),
			Device:              aws.ToString(m.DeviceName),
			DeleteOnTermination: aws.ToBool(m.Ebs.DeleteOnTermination),
		})
		ids = append(ids, aws.ToString(m.Ebs.VolumeId))
	}
	sort.SliceStable(st.Volumes, func(i, j int) bool {
		a, b := st.Volumes[i], st.Volumes[j]
		if (a.Device == root) != (b.Device == root) {
			return a.Device == root
		}
		return a.Device < b.Device
	})
	if len(ids) == 0 {
		return nil
	}
	out, err := c.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: ids})
	if err != nil {
		return err
	}
	byID := map[string]ec2types.Volume{}
	for _, v := range out.Volumes {
		byID[aws.ToString(v.VolumeId)] = v
	}
	for i := range st.Volumes {
		v, ok := byID[st.Volumes[i].ID]
		if !ok {
			return fmt.Errorf("volume %s not described", st.Volumes[i].ID)
		}
		st.Volumes[i].Encrypted = aws.ToBool(v.Encrypted)
		st.Volumes[i].SizeGiB = aws.ToInt32(v.Size)
	}
	return nil
}

func (c clients) networkInterfaces(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	out, err := c.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{st.InstanceID}}},
	})
	if err != nil {
		return err
	}
	groupSet := map[string]bool{}
	for _, n := range out.NetworkInterfaces {
		eni := NetworkInterface{ID: aws.ToString(n.NetworkInterfaceId)}
		if n.Attachment != nil {
			eni.DeviceIndex = aws.ToInt32(n.Attachment.DeviceIndex)
		}
		for _, g := range n.Groups {
			id := aws.ToString(g.GroupId)
			eni.SecurityGroups = append(eni.SecurityGroups, SecurityGroup{ID: id, Name: aws.ToString(g.GroupName)})
			groupSet[id] = true
		}
		st.NetworkInterfaces = append(st.NetworkInterfaces, eni)
	}
	sort.Slice(st.NetworkInterfaces, func(i, j int) bool {
		return st.NetworkInterfaces[i].DeviceIndex < st.NetworkInterfaces[j].DeviceIndex
	})
	if len(groupSet) == 0 {
		return nil
	}
	ids := make([]string, 0, len(groupSet))
	for id := range groupSet {
		ids = append(ids, id)
	}
	groups, err := securityGroups(ctx, c.ec2, ids)
	if err != nil {
		return err
	}
	for i := range st.NetworkInterfaces {
		sgs := st.NetworkInterfaces[i].SecurityGroups
		for j := range sgs {
			g, ok := groups[sgs[j].ID]
			if !ok {
				return fmt.Errorf("security group %s of %s not described", sgs[j].ID, st.NetworkInterfaces[i].ID)
			}
			sgs[j] = g
		}
		sort.Slice(sgs, func(a, b int) bool { return sgs[a].Name < sgs[b].Name })
	}
	return nil
}

// SecurityGroups reads the security groups ids in cfg's region with their
// rule counts, by ID. It fails if any of them does not exist.
func SecurityGroups(ctx context.Context, cfg aws.Config, ids []string) (map[string]SecurityGroup, error) {
	return securityGroups(ctx, ec2.NewFromConfig(cfg), ids)
}

func securityGroups(ctx context.Context, client *ec2.Client, ids []string) (map[string]SecurityGroup, error) {
	ids = append([]string(nil), ids...)
	sort.Strings(ids)
	groups := map[string]SecurityGroup{}
	p := ec2.NewDescribeSecurityGroupsPaginator(client, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe security groups %s: %w", strings.Join(ids, ", "), err)
		}
		for _, g := range page.SecurityGroups {
			id := aws.ToString(g.GroupId)
			groups[id] = SecurityGroup{
				ID:           id,
				Name:         aws.ToString(g.GroupName),
				IngressRules: countRules(g.IpPermissions),
				EgressRules:  countRules(g.IpPermissionsEgress),
			}
		}
	}
	return groups, nil
}

// countRules counts security group rules the way the EC2 console lists them:
// one per source or destination of each permission.
func countRules(perms []ec2types.IpPermission) int {
	n := 0
	for _, p := range perms {
		k := len(p.IpRanges) + len(p.Ipv6Ranges) + len(p.PrefixListIds) + len(p.UserIdGroupPairs)
		if k == 0 {
			k = 1
		}
		n += k
	}
	return n
}

func (c clients) instanceProfile(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	out, err := c.ec2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{st.InstanceID}}},
	})
	if err != nil {
		return err
	}
	for _, a := range out.IamInstanceProfileAssociations {
		if a.State == ec2types.IamInstanceProfileAssociationStateDisassociated || a.IamInstanceProfile == nil {
			continue
		}
		st.InstanceProfile = &ProfileAssociation{
			ARN:           aws.ToString(a.IamInstanceProfile.Arn),
			AssociationID: aws.ToString(a.AssociationId),
			State:         string(a.State),
		}
	}
	return nil
}

func (c clients) targetGroups(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	p := elbv2.NewDescribeTargetGroupsPaginator(c.elbv2, &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			if tg.TargetType != elbv2types.TargetTypeEnumInstance {
				continue
			}
			arn := aws.ToString(tg.TargetGroupArn)
			out, err := c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
			if err != nil {
				return fmt.Errorf("describe target health of %s: %w", arn, err)
			}
			for _, d := range out.TargetHealthDescriptions {
				if d.Target == nil || aws.ToString(d.Target.Id) != st.InstanceID {
					continue
				}
				m := TargetGroupMembership{ARN: arn, Name: aws.ToString(tg.TargetGroupName)}
				if d.TargetHealth != nil {
					m.State = string(d.TargetHealth.State)
				}
				if m.State == string(elbv2types.TargetHealthStateEnumUnused) {
					continue // listed only because it was asked about
				}
				st.TargetGroups = append(st.TargetGroups, m)
				break
			}
		}
	}
	sort.Slice(st.TargetGroups, func(i, j int) bool { return st.TargetGroups[i].Name < st.TargetGroups[j].Name })
	return nil
}

func (c clients) snapshots(ctx context.Context, st *InstanceState, _ *ec2types.Instance) error {
	p := ec2.NewDescribeSnapshotsPaginator(c.ec2, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters: []ec2types.Filter{{
			Name:   aws.String("tag:" + EvidenceInstanceTagKey),
			Values: []string{st.InstanceID},
		}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range page.Snapshots {
			snap := EvidenceSnapshot{
				ID:        aws.ToString(s.SnapshotId),
				VolumeID:  aws.ToString(s.VolumeId),
				Encrypted: aws.ToBool(s.Encrypted),
				State:     string(s.State),
				Tags:      ec2Tags(s.Tags),
			}
			for _, t := range snap.Tags {
				if t.Key == EvidenceVolumeTagKey && t.Value != "" {
					snap.VolumeID = t.Value
				}
			}
			st.Snapshots = append(st.Snapshots, snap)
		}
	}
	order := map[string]int{}
	for i, v := range st.Volumes {
		order[v.ID] = i
	}
	rank := func(s EvidenceSnapshot) int {
		if i, ok := order[s.VolumeID]; ok {
			return i
		}
		return len(order)
	}
	sort.Slice(st.Snapshots, func(i, j int) bool {
		a, b := st.Snapshots[i], st.Snapshots[j]
		if rank(a) != rank(b) {
			return rank(a) < rank(b)
		}
		if a.VolumeID != b.VolumeID {
			return a.VolumeID < b.VolumeID
		}
		return a.ID < b.ID
	})
	return nil
}

// ec2Tags converts and sorts EC2 tags by key.
func ec2Tags(in []ec2types.Tag) []Tag {
	out := make([]Tag, 0, len(in))
	for _, t := range in {
		out = append(out, Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
