package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/essential-ir/essential-ir/internal/inspect"
)

// recordedInstance is the part of the DescribeInstances item the workflow
// records (instance.json) that the before view shows.
type recordedInstance struct {
	InstanceId string
	VpcId      string
	State      struct{ Name string }
	Tags       []struct{ Key, Value string }
	// IamInstanceProfile is the profile associated when it was read.
	IamInstanceProfile  *struct{ Arn, Id string }
	RootDeviceName      string
	BlockDeviceMappings []struct {
		DeviceName string
		Ebs        *struct {
			VolumeId            string
			DeleteOnTermination bool
		}
	}
	NetworkInterfaces []struct {
		NetworkInterfaceId string
		Attachment         struct{ DeviceIndex int32 }
		Groups             []struct{ GroupId, GroupName string }
	}
}

// autoScalingGroupTag is the tag EC2 puts on an Auto Scaling group's
// instances.
const autoScalingGroupTag = "aws:autoscaling:groupName"

// beforeState rebuilds the instance as the workflow recorded it before
// any change: the DescribeInstances item (instance.json), completed by
// what the containment's output says each attribute was before (c, nil
// if the containment did not finish). What neither holds is Unrecorded.
func beforeState(instanceJSON []byte, c *containment) (*inspect.InstanceState, error) {
	var r recordedInstance
	if err := json.Unmarshal(instanceJSON, &r); err != nil {
		return nil, fmt.Errorf("read the recorded instance (instance.json): %w", err)
	}
	s := &inspect.InstanceState{InstanceID: r.InstanceId, State: r.State.Name, VpcID: r.VpcId, Tags: []inspect.Tag{}}
	for _, t := range r.Tags {
		s.Tags = append(s.Tags, inspect.Tag{Key: t.Key, Value: t.Value})
		switch t.Key {
		case "Name":
			s.Name = t.Value
		case autoScalingGroupTag:
			s.AutoScaling = &inspect.AutoScalingMembership{GroupName: t.Value}
		}
	}
	sort.Slice(s.Tags, func(i, j int) bool { return s.Tags[i].Key < s.Tags[j].Key })
	if p := r.IamInstanceProfile; p != nil && p.Arn != "" {
		s.InstanceProfile = &inspect.ProfileAssociation{ARN: p.Arn}
	}
	for _, m := range r.BlockDeviceMappings {
		if m.Ebs == nil || m.Ebs.VolumeId == "" {
			continue
		}
		s.Volumes = append(s.Volumes, inspect.Volume{ID: m.Ebs.VolumeId, Device: m.DeviceName, DeleteOnTermination: m.Ebs.DeleteOnTermination})
	}
	sort.SliceStable(s.Volumes, func(i, j int) bool {
		a, b := s.Volumes[i], s.Volumes[j]
		if (a.Device == r.RootDeviceName) != (b.Device == r.RootDeviceName) {
			return a.Device == r.RootDeviceName
		}
		return a.Device < b.Device
	})
	for _, n := range r.NetworkInterfaces {
		eni := inspect.NetworkInterface{ID: n.NetworkInterfaceId, DeviceIndex: n.Attachment.DeviceIndex}
		for _, g := range n.Groups {
			eni.SecurityGroups = append(eni.SecurityGroups, inspect.SecurityGroup{ID: g.GroupId, Name: g.GroupName, RulesUnknown: true})
		}
		sort.Slice(eni.SecurityGroups, func(a, b int) bool { return eni.SecurityGroups[a].Name < eni.SecurityGroups[b].Name })
		s.NetworkInterfaces = append(s.NetworkInterfaces, eni)
	}
	sort.SliceStable(s.NetworkInterfaces, func(i, j int) bool { return s.NetworkInterfaces[i].DeviceIndex < s.NetworkInterfaces[j].DeviceIndex })

	if c == nil {
		s.Unrecorded = []string{inspect.FieldTerminationProtection, inspect.FieldStopProtection, inspect.FieldShutdownBehavior, inspect.FieldTargetGroups}
		return s, nil
	}
	s.TerminationProtection = deref(c.TerminationProtection.Before)
	s.StopProtection = deref(c.StopProtection.Before)
	s.ShutdownBehavior = deref(c.ShutdownBehaviour.Before)
	for field, known := range map[string]bool{
		inspect.FieldTerminationProtection: c.TerminationProtection.Before != nil,
		inspect.FieldStopProtection:        c.StopProtection.Before != nil,
		inspect.FieldShutdownBehavior:      c.ShutdownBehaviour.Before != nil,
	} {
		if !known {
			s.Unrecorded = append(s.Unrecorded, field)
		}
	}
	sort.Strings(s.Unrecorded)
	if len(c.DetachedFromAutoScalingGroups) > 0 {
		s.AutoScaling = &inspect.AutoScalingMembership{GroupName: c.DetachedFromAutoScalingGroups[0]}
	}
	for _, arn := range c.DeregisteredFromTargetGroups {
		s.TargetGroups = append(s.TargetGroups, inspect.TargetGroupMembership{ARN: arn, Name: targetGroupName(arn)})
	}
	sort.Slice(s.TargetGroups, func(i, j int) bool { return s.TargetGroups[i].Name < s.TargetGroups[j].Name })
	return s, nil
}

// completeBefore fills, from the current state and the groups as read
// now, what a record does not hold: volume sizes and encryption (which do
// not change) and the rules of the groups the ENIs were in.
func completeBefore(before, now *inspect.InstanceState, groups map[string]inspect.SecurityGroup) {
	if now != nil {
		live := map[string]inspect.Volume{}
		for _, v := range now.Volumes {
			live[v.ID] = v
		}
		for i, v := range before.Volumes {
			if l, ok := live[v.ID]; ok {
				before.Volumes[i].SizeGiB, before.Volumes[i].Encrypted = l.SizeGiB, l.Encrypted
			}
		}
	}
	for i := range before.NetworkInterfaces {
		sgs := before.NetworkInterfaces[i].SecurityGroups
		for j := range sgs {
			if g, ok := groups[sgs[j].ID]; ok {
				sgs[j] = g
			}
		}
	}
}

// targetGroupName is the name in a target group ARN
// (...:targetgroup/<name>/<id>).
func targetGroupName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 3 {
		return parts[len(parts)-2]
	}
	return arn
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// capturedAt is when the record was taken (the manifest's CapturedAt).
func capturedAt(manifestJSON []byte) time.Time {
	var m struct{ CapturedAt time.Time }
	_ = json.Unmarshal(manifestJSON, &m) // zero when absent: the title says "recorded"
	return m.CapturedAt
}
