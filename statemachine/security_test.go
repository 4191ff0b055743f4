package statemachine_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// The tests of this file check, on the emulated account with IAM enforced,
// that the role and its policies refuse what the workflow never does
// (Documentation/security.md).

// TestRoleRefusedToAnotherStateMachine: a state machine that is not one of
// the stack's cannot act with the stack's role, even when whoever created
// it could pass the role: the role's trust policy names only the stack's
// two state machines (aws:SourceArn), so Step Functions cannot assume it.
func TestRoleRefusedToAnotherStateMachine(t *testing.T) {
	ctx := context.Background()
	def, _ := json.Marshal(map[string]interface{}{
		"StartAt": "Read Instances",
		"States": map[string]interface{}{
			"Read Instances": map[string]interface{}{
				"Type":       "Task",
				"Resource":   "arn:aws:states:::aws-sdk:ec2:describeInstances",
				"Parameters": map[string]interface{}{},
				"End":        true,
			},
		},
	})
	other, err := emu.CreateStateMachineWithRole(ctx, "not-essential-ir", string(def), deployed.RoleARN)
	if err != nil {
		t.Fatal(err)
	}
	ex := runOn(t, other, "{}")
	if ex.Status != "FAILED" {
		t.Fatalf("a state machine outside the stack ran with its role: %s %s", ex.Status, ex.Output)
	}
	denials, err := emu.DenialsOf(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(denials) != 1 || denials[0].IAMAction != "sts:AssumeRole" || !strings.Contains(denials[0].Reason, "trust policy") {
		t.Fatalf("denials %v, want one sts:AssumeRole refused by the trust policy", denials)
	}
}

// probe is one call the role must refuse: an aws-sdk integration and its
// parameters, and the IAM action and resource ARN part the refusal names.
type probe struct {
	name, resource string
	params         map[string]interface{}
	iamAction      string
	refusedOn      string
}

// TestRoleRefusesWhatTheWorkflowNeverDoes replaces the instance state
// machine of a stack of its own with one that makes, with the stack's role,
// the calls an attacker who could change that state machine would make:
// each is refused by a condition of the role's policies (or the bucket
// policy), and nothing changes. The workflow's own calls, which these
// conditions allow, are every other test of this package.
func TestRoleRefusesWhatTheWorkflowNeverDoes(t *testing.T) {
	ctx := context.Background()
	d, err := deploy.Deploy(ctx, emu, template, "essential-ir-probe", nil)
	if err != nil {
		t.Fatal(err)
	}
	inst := build(t, scene.InstanceSpec{Name: "probe", Volumes: []scene.VolumeSpec{{SizeGiB: 8}, {SizeGiB: 8, Encrypted: true}}})
	ec2c := scenes.EC2
	snapshot := func(volume string, tags map[string]string) string {
		t.Helper()
		in := &ec2.CreateSnapshotInput{VolumeId: aws.String(volume)}
		if len(tags) > 0 {
			spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeSnapshot}
			for k, v := range tags {
				spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			in.TagSpecifications = []ec2types.TagSpecification{spec}
		}
		out, err := ec2c.CreateSnapshot(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.SnapshotId)
	}
	plain, encrypted := inst.VolumeIDs[0], inst.VolumeIDs[1]
	incident := map[string]string{statemachine.IncidentIDTagKey: "inc-probe"}
	noIncident := snapshot(plain, nil)
	encryptedEvidence := snapshot(encrypted, incident)
	copyLookalike := snapshot(plain, map[string]string{statemachine.IncidentIDTagKey: "inc-probe", statemachine.SourceSnapshotTagKey: noIncident})
	plainEvidence := snapshot(plain, incident)
	eni, groups := inst.ENIIDs[0], inst.GroupsByENI[inst.ENIIDs[0]]

	ec2Arn := func(kind string) string { return "arn:aws:ec2:" + emu.Region() + ":" + emu.AccountID() + ":" + kind }
	snapArn := "arn:aws:ec2:" + emu.Region() + "::snapshot/"
	evidenceTags := []interface{}{map[string]interface{}{"ResourceType": "snapshot", "Tags": []interface{}{map[string]interface{}{"Key": statemachine.IncidentIDTagKey, "Value": "inc-probe"}}}}
	probes := []probe{
		{"Move An ENI Onto Another Group", "ec2:modifyNetworkInterfaceAttribute",
			map[string]interface{}{"NetworkInterfaceId": eni, "Groups": groups[:1]},
			"ec2:ModifyNetworkInterfaceAttribute", ec2Arn("security-group/" + groups[0])},
		{"Delete An Encrypted Evidence Snapshot", "ec2:deleteSnapshot", map[string]interface{}{"SnapshotId": encryptedEvidence},
			"ec2:DeleteSnapshot", snapArn + encryptedEvidence},
		{"Delete A Snapshot Of No Incident", "ec2:deleteSnapshot", map[string]interface{}{"SnapshotId": noIncident},
			"ec2:DeleteSnapshot", snapArn + noIncident},
		{"Delete An Encrypted Copy", "ec2:deleteSnapshot", map[string]interface{}{"SnapshotId": copyLookalike},
			"ec2:DeleteSnapshot", snapArn + copyLookalike},
		{"Tag A Snapshot With An Incident", "ec2:createTags",
			map[string]interface{}{"Resources": []string{noIncident}, "Tags": []interface{}{map[string]interface{}{"Key": statemachine.IncidentIDTagKey, "Value": "inc-probe"}}},
			"ec2:CreateTags", snapArn + noIncident},
		{"Tag The Instance With Another Key", "ec2:createTags",
			map[string]interface{}{"Resources": []string{inst.ID}, "Tags": []interface{}{map[string]interface{}{"Key": "Owner", "Value": "attacker"}}},
			"ec2:CreateTags", ec2Arn("instance/" + inst.ID)},
		{"Change User Data", "ec2:modifyInstanceAttribute",
			map[string]interface{}{"InstanceId": inst.ID, "UserData": map[string]interface{}{"Value": "IyEvYmluL3NoCg=="}},
			"ec2:ModifyInstanceAttribute", ec2Arn("instance/" + inst.ID)},
		{"Turn Termination Protection Off", "ec2:modifyInstanceAttribute",
			map[string]interface{}{"InstanceId": inst.ID, "DisableApiTermination": map[string]interface{}{"Value": false}},
			"ec2:ModifyInstanceAttribute", ec2Arn("instance/" + inst.ID)},
		{"Copy A Snapshot Of No Incident", "ec2:copySnapshot",
			map[string]interface{}{"SourceSnapshotId": noIncident, "SourceRegion": emu.Region(), "Encrypted": true, "KmsKeyId": d.KeyARN, "TagSpecifications": evidenceTags},
			"ec2:CopySnapshot", snapArn + noIncident},
		{"Copy Evidence Unencrypted", "ec2:copySnapshot",
			map[string]interface{}{"SourceSnapshotId": plainEvidence, "SourceRegion": emu.Region(), "TagSpecifications": evidenceTags},
			"ec2:CopySnapshot", snapArn + "*"},
		{"Create An Untagged Group", "ec2:createSecurityGroup",
			map[string]interface{}{"GroupName": "not-essential-ir", "Description": "probe", "VpcId": inst.VPCID},
			"ec2:CreateSecurityGroup", ec2Arn("security-group/*")},
		{"Overwrite Evidence", "s3:putObject",
			map[string]interface{}{"Bucket": d.Bucket, "Key": "inc-probe/" + inst.ID + "/manifest.json", "Body": "{}"},
			"s3:PutObject", "arn:aws:s3:::" + d.Bucket + "/inc-probe/" + inst.ID + "/manifest.json"},
	}
	var branches []interface{}
	for _, p := range probes {
		branches = append(branches, map[string]interface{}{
			"StartAt": p.name,
			"States": map[string]interface{}{
				p.name: map[string]interface{}{
					"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:" + p.resource, "Parameters": p.params,
					"ResultSelector": map[string]interface{}{"Outcome": "ALLOWED"},
					"Catch":          []interface{}{map[string]interface{}{"ErrorEquals": []string{"States.ALL"}, "Next": p.name + " Refused"}},
					"End":            true,
				},
				p.name + " Refused": map[string]interface{}{"Type": "Pass", "Parameters": map[string]interface{}{"Outcome": "REFUSED", "Cause.$": "$.Cause"}, "End": true},
			},
		})
	}
	def, _ := json.Marshal(map[string]interface{}{
		"StartAt": "Probe",
		"States":  map[string]interface{}{"Probe": map[string]interface{}{"Type": "Parallel", "Branches": branches, "End": true}},
	})
	if _, err := sfn.NewFromConfig(emu.AWSConfig()).UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{
		StateMachineArn: aws.String(d.InstanceStateMachineARN), Definition: aws.String(string(def)),
	}); err != nil {
		t.Fatal(err)
	}
	before := snapshotsOf(t, plain, encrypted)
	ex := runOn(t, d.InstanceStateMachineARN, "{}")
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("probe execution %s: %s %s", ex.Status, ex.Error, ex.Cause)
	}
	var outcomes []struct{ Outcome, Cause string }
	if err := json.Unmarshal([]byte(ex.Output), &outcomes); err != nil || len(outcomes) != len(probes) {
		t.Fatalf("probe output %s: %v", ex.Output, err)
	}
	denials, err := emu.DenialsOf(ctx, ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range probes {
		if outcomes[i].Outcome != "REFUSED" {
			t.Errorf("%s: allowed", p.name)
			continue
		}
		found := false
		for _, dn := range denials {
			if dn.IAMAction == p.iamAction && dn.Resource == p.refusedOn {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: refused (%s), but not as %s on %s; denials: %v", p.name, outcomes[i].Cause, p.iamAction, p.refusedOn, denials)
		}
	}
	if after := snapshotsOf(t, plain, encrypted); !reflect.DeepEqual(before, after) {
		t.Errorf("snapshots changed: before %v, after %v", before, after)
	}
	if now := groupsOf(t, eni); !reflect.DeepEqual(now, groups) {
		t.Errorf("ENI %s groups changed from %v to %v", eni, groups, now)
	}
}

// snapshotsOf lists the snapshots of volumes with their tags, sorted.
func snapshotsOf(t *testing.T, volumes ...string) []string {
	t.Helper()
	out, err := scenes.EC2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
		Filters: []ec2types.Filter{{Name: aws.String("volume-id"), Values: volumes}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, s := range out.Snapshots {
		var tags []string
		for _, tag := range s.Tags {
			tags = append(tags, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		sort.Strings(tags)
		list = append(list, aws.ToString(s.SnapshotId)+" "+strings.Join(tags, ","))
	}
	sort.Strings(list)
	return list
}

// groupsOf is the security groups of an ENI.
func groupsOf(t *testing.T, eni string) []string {
	t.Helper()
	out, err := scenes.EC2.DescribeNetworkInterfaces(context.Background(), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil || len(out.NetworkInterfaces) != 1 {
		t.Fatalf("ENI %s: %v", eni, err)
	}
	var ids []string
	for _, g := range out.NetworkInterfaces[0].Groups {
		ids = append(ids, aws.ToString(g.GroupId))
	}
	return ids
}
