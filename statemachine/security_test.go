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
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
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
		{"Delete Evidence", "s3:deleteObject",
			map[string]interface{}{"Bucket": d.Bucket, "Key": "inc-probe/" + inst.ID + "/instance.json"},
			"s3:DeleteObject", "arn:aws:s3:::" + d.Bucket + "/inc-probe/" + inst.ID + "/instance.json"},
		{"Shorten Retention", "s3:putObjectRetention",
			map[string]interface{}{"Bucket": d.Bucket, "Key": "inc-probe/" + inst.ID + "/instance.json", "BypassGovernanceRetention": true,
				"Retention": map[string]interface{}{"Mode": "GOVERNANCE", "RetainUntilDate": "2030-01-01T00:00:00Z"}},
			"s3:PutObjectRetention", "arn:aws:s3:::" + d.Bucket + "/inc-probe/" + inst.ID + "/instance.json"},
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
	if now := groupsOf(t, eni); !reflect.DeepEqual(sortedStrings(now), sortedStrings(groups)) {
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

// directInput is a valid input of the instance state machine for an
// instance, as the fleet sends it for its containment.
func directInput(instanceID string) map[string]interface{} {
	return map[string]interface{}{
		"InstanceId":           instanceID,
		"Region":               emu.Region(),
		"IncidentId":           "inc-direct",
		"FleetExecutionName":   "inc-direct",
		"Phase":                statemachine.ContainPhase,
		"UnpreparedVpcs":       []interface{}{},
		"Options":              map[string]interface{}{"RevokeCredentials": true, "DisassociateElasticIps": false, "SnapshotPollSeconds": 15},
		"TargetGroups":         map[string]interface{}{"NotListed": "not listed by a fleet"},
		"ClassicLoadBalancers": map[string]interface{}{"NotListed": "not listed by a fleet"},
	}
}

// TestInstanceStateMachineRefusesBadInput starts the instance state machine
// directly, as someone allowed states:StartExecution on it could, with each
// field wrong in turn: each input is refused (InvalidInput) before any call
// to AWS, and the instance is unchanged. The valid input, started the same
// way, contains the instance.
func TestInstanceStateMachineRefusesBadInput(t *testing.T) {
	inst := build(t, scene.BareInstance())
	type change func(in map[string]interface{})
	set := func(path string, v interface{}) change {
		return func(in map[string]interface{}) {
			m := in
			parts := strings.Split(path, ".")
			for _, p := range parts[:len(parts)-1] {
				m = m[p].(map[string]interface{})
			}
			if v == nil {
				delete(m, parts[len(parts)-1])
				return
			}
			m[parts[len(parts)-1]] = v
		}
	}
	evidence := func(count interface{}) change {
		return func(in map[string]interface{}) {
			in["Phase"] = statemachine.EvidencePhase
			delete(in, "TargetGroups")
			delete(in, "ClassicLoadBalancers")
			in["ExpectedSnapshotCount"] = count
		}
	}
	// Each case, and the field its refusal names.
	cases := map[string]struct {
		c     change
		field string
	}{
		"InstanceId a number":           {set("InstanceId", 42), "InstanceId"},
		"InstanceId upper case":         {set("InstanceId", strings.ToUpper(inst.ID)), "InstanceId"},
		"InstanceId with a slash":       {set("InstanceId", inst.ID[:6]+"/"+inst.ID[6:]), "InstanceId"},
		"InstanceId of a group":         {set("InstanceId", "sg-0123456789abcdef0"), "InstanceId"},
		"InstanceId i- alone":           {set("InstanceId", "i-"), "InstanceId"},
		"InstanceId missing":            {set("InstanceId", nil), "InstanceId"},
		"Region another":                {set("Region", "eu-west-1"), "Region"},
		"Region missing":                {set("Region", nil), "Region"},
		"IncidentId with a slash":       {set("IncidentId", "inc/../other"), "IncidentId"},
		"IncidentId with a space":       {set("IncidentId", "inc 1"), "IncidentId"},
		"IncidentId empty":              {set("IncidentId", ""), "IncidentId"},
		"IncidentId a number":           {set("IncidentId", 7), "IncidentId"},
		"IncidentId missing":            {set("IncidentId", nil), "IncidentId"},
		"FleetExecutionName with slash": {set("FleetExecutionName", "a/b"), "FleetExecutionName"},
		"FleetExecutionName missing":    {set("FleetExecutionName", nil), "FleetExecutionName"},
		"Phase unknown":                 {set("Phase", "Release"), "Phase"},
		"Phase missing":                 {set("Phase", nil), "Phase"},
		"RevokeCredentials a string":    {set("Options.RevokeCredentials", "false"), "Options.RevokeCredentials"},
		"RevokeCredentials missing":     {set("Options.RevokeCredentials", nil), "Options.RevokeCredentials"},
		"DisassociateElasticIps string": {set("Options.DisassociateElasticIps", "true"), "Options.DisassociateElasticIps"},
		"SnapshotPollSeconds zero":      {set("Options.SnapshotPollSeconds", 0), "Options.SnapshotPollSeconds"},
		"SnapshotPollSeconds a string":  {set("Options.SnapshotPollSeconds", "15"), "Options.SnapshotPollSeconds"},
		"SnapshotPollSeconds too long":  {set("Options.SnapshotPollSeconds", 99999), "Options.SnapshotPollSeconds"},
		"Options with an unknown key":   {set("Options.Debug", true), "Options"},
		"Options a string":              {set("Options", "revoke"), "Options"},
		"UnpreparedVpcs a string":       {set("UnpreparedVpcs", "vpc-1"), "UnpreparedVpcs"},
		"UnpreparedVpcs an object":      {set("UnpreparedVpcs", map[string]interface{}{}), "UnpreparedVpcs"},
		"TargetGroups a string":         {set("TargetGroups", "none"), "TargetGroups/ClassicLoadBalancers"},
		"TargetGroups a list":           {set("TargetGroups", []interface{}{}), "TargetGroups/ClassicLoadBalancers"},
		"ClassicLoadBalancers missing":  {set("ClassicLoadBalancers", nil), "TargetGroups/ClassicLoadBalancers"},
		"an unknown key":                {set("DryRun", true), "its keys"},
		"started by no execution":       {set("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID", "someone"), "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"},
		"ExpectedSnapshotCount below 0": {evidence(-1), "ExpectedSnapshotCount"},
		"ExpectedSnapshotCount string":  {evidence("3"), "ExpectedSnapshotCount"},
		"evidence with listings":        {func(in map[string]interface{}) { evidence(1)(in); in["TargetGroups"] = map[string]interface{}{} }, "its keys"},
	}
	before := instanceFacts(t, inst.ID)
	type result struct {
		name string
		ex   *emulator.Execution
		err  error
	}
	results := make(chan result, len(cases))
	for name, c := range cases {
		in := directInput(inst.ID)
		c.c(in)
		raw, _ := json.Marshal(in)
		go func(name string) {
			ex, err := emu.RunExecution(context.Background(), deployed.InstanceStateMachineARN, string(raw), executionTimeout)
			results <- result{name, ex, err}
		}(name)
	}
	for range cases {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
			continue
		}
		if r.ex.Status != "FAILED" || r.ex.Error != "InvalidInput" || !strings.Contains(r.ex.Cause, "Nothing was read or changed") ||
			!strings.Contains(r.ex.Cause, "refused: "+cases[r.name].field) {
			t.Errorf("%s: %s %s: %s, want FAILED InvalidInput", r.name, r.ex.Status, r.ex.Error, r.ex.Cause)
			continue
		}
		for _, e := range ownHistory(t, r.ex.ARN) {
			if e.TaskScheduledEventDetails != nil {
				t.Errorf("%s: refused, but after a call to %s", r.name, aws.ToString(e.TaskScheduledEventDetails.ResourceType))
			}
		}
	}
	if after := instanceFacts(t, inst.ID); !reflect.DeepEqual(before, after) {
		t.Errorf("the instance changed: %v, then %v", before, after)
	}
	// The valid input passes the check (the containment then fails on
	// isolation: only the fleet prepares the VPC's groups).
	ex := runOn(t, deployed.InstanceStateMachineARN, mustJSON(t, directInput(inst.ID)))
	if ex.Error == "InvalidInput" {
		t.Fatalf("the valid input was refused: %s", ex.Cause)
	}
	read := false
	for _, e := range ownHistory(t, ex.ARN) {
		if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "Read The Instance" {
			read = true
		}
	}
	if !read {
		t.Errorf("the valid input did not reach Read The Instance: %s %s", ex.Error, ex.Cause)
	}
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v interface{}) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// instanceFacts are what containment changes of an instance, as text: its
// tags and each ENI's groups, sorted.
func instanceFacts(t *testing.T, id string) []string {
	t.Helper()
	out, err := scenes.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("describe %s: %v", id, err)
	}
	i := out.Reservations[0].Instances[0]
	var facts []string
	for _, tag := range i.Tags {
		facts = append(facts, "tag "+aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	for _, eni := range i.NetworkInterfaces {
		facts = append(facts, "eni "+aws.ToString(eni.NetworkInterfaceId)+" "+strings.Join(sortedStrings(groupsOf(t, aws.ToString(eni.NetworkInterfaceId))), ","))
	}
	sort.Strings(facts)
	return facts
}

// TestIncidentNameWithOtherCharactersChangesNothing: an execution of the
// fleet state machine whose name, the incident ID, holds a character its
// instances' executions would refuse is refused before any call to AWS.
func TestIncidentNameWithOtherCharactersChangesNothing(t *testing.T) {
	inst := build(t, scene.BareInstance())
	ex, err := emu.RunNamedExecution(context.Background(), machineARN, "inc+web", input(emu.Region(), inst.ID), executionTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != "FAILED" || ex.Error != "InvalidInput" || !strings.Contains(ex.Cause, "letters, digits") {
		t.Fatalf("%s %s: %s, want FAILED InvalidInput", ex.Status, ex.Error, ex.Cause)
	}
	for _, e := range ownHistory(t, ex.ARN) {
		if e.TaskScheduledEventDetails != nil {
			t.Errorf("refused, but after a call to %s", aws.ToString(e.TaskScheduledEventDetails.ResourceType))
		}
	}
}

// TestEvidenceBucketRefusesAnOverwrite: the stack's bucket policy refuses
// to anyone, the account itself included, a write without If-None-Match,
// which could add a version over an evidence object; a write-once one is
// accepted, once.
func TestEvidenceBucketRefusesAnOverwrite(t *testing.T) {
	ctx := context.Background()
	c := evidence()
	key := "inc-overwrite/i-0123456789abcdef0/instance.json"
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(deployed.Bucket), Key: aws.String(key), Body: strings.NewReader("{}")}); err == nil {
		t.Error("a write without If-None-Match was accepted")
	} else if !strings.Contains(err.Error(), "StatusCode: 403") {
		t.Errorf("a write without If-None-Match: %v, want 403", err)
	}
	once := func() error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(deployed.Bucket), Key: aws.String(key), Body: strings.NewReader("{}"),
			IfNoneMatch: aws.String("*"), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256})
		return err
	}
	if err := once(); err != nil {
		t.Fatalf("a write-once write: %v", err)
	}
	if err := once(); err == nil {
		t.Error("a second write-once write to the same key was accepted")
	}
}

// existingBucket creates a bucket for the EvidenceBucketName parameter:
// versioned or not, with Object Lock or not, and encrypted by default with
// a KMS key of its own (which the stack's role may not use) or not.
func existingBucket(t *testing.T, name string, versioned, locked, foreignKey bool) string {
	t.Helper()
	ctx := context.Background()
	c := evidence()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(locked)}); err != nil {
		t.Fatal(err)
	}
	if versioned && !locked {
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
	}
	if foreignKey {
		key, err := kms.NewFromConfig(emu.AWSConfig()).CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("a key the stack's role may not use")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
			Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: key.KeyMetadata.Arn}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

// TestExistingEvidenceBucketIsChecked: with EvidenceBucketName, each
// execution first checks the bucket; one without versioning, without
// Object Lock, or that the role cannot write to (a default key it may not
// use) fails the execution before anything is read or changed, saying what
// to fix; a suitable one is used.
func TestExistingEvidenceBucketIsChecked(t *testing.T) {
	for _, c := range []struct {
		name                          string
		versioned, locked, foreignKey bool
		want                          string
	}{
		{"unversioned", false, false, false, "versioning is not enabled"},
		{"unlocked", true, false, false, "Object Lock is not enabled"},
		{"foreignkey", true, true, true, "cannot write to it"},
		{"usable", true, true, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			bucket := existingBucket(t, "existing-evidence-"+c.name, c.versioned, c.locked, c.foreignKey)
			d, err := deploy.Deploy(context.Background(), emu, template, "essential-ir-given-"+c.name, map[string]string{"EvidenceBucketName": bucket})
			if err != nil {
				t.Fatal(err)
			}
			machine := d.StateMachineARN
			inst := build(t, scene.BareInstance())
			before := instanceFacts(t, inst.ID)
			ex := runOn(t, machine, input(emu.Region(), inst.ID))
			if c.want == "" {
				out := mustSucceed(t, ex)
				if s := out.summary(t, inst.ID); s.SummaryObject.Bucket != bucket {
					t.Errorf("summary written to %s, want %s", s.SummaryObject.Bucket, bucket)
				}
				return
			}
			if ex.Status != "FAILED" || ex.Error != "EvidenceBucketNotUsable" || !strings.Contains(ex.Cause, c.want) || !strings.Contains(ex.Cause, bucket) {
				t.Fatalf("%s %s: %s; want EvidenceBucketNotUsable saying %q", ex.Status, ex.Error, ex.Cause, c.want)
			}
			for _, e := range ownHistory(t, ex.ARN) {
				if d := e.TaskScheduledEventDetails; d != nil && aws.ToString(d.ResourceType) != "aws-sdk:s3" {
					t.Errorf("the bucket was refused after a call to %s %s", aws.ToString(d.ResourceType), aws.ToString(d.Resource))
				}
			}
			if after := instanceFacts(t, inst.ID); !reflect.DeepEqual(before, after) {
				t.Errorf("the instance changed: %v, then %v", before, after)
			}
		})
	}
}

// TestTwoStacksInOneAccountEachContain: a second stack in the same account
// and region (another StateMachineName) deploys beside the first, and each
// contains an instance at the same time, each with its own role, bucket,
// keys and log group.
func TestTwoStacksInOneAccountEachContain(t *testing.T) {
	twin, err := deploy.Deploy(context.Background(), emu, template, "essential-ir-twin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if twin.RoleARN == deployed.RoleARN || twin.Bucket == deployed.Bucket || twin.KeyARN == deployed.KeyARN || twin.LogGroupName == deployed.LogGroupName {
		t.Fatalf("the second stack shares resources with the first: %+v", twin)
	}
	type run struct {
		d    *deploy.Deployment
		inst *scene.Instance
		ex   *emulator.Execution
		err  error
	}
	runs := []*run{{d: deployed, inst: build(t, scene.BareInstance())}, {d: twin, inst: build(t, scene.BareInstance())}}
	done := make(chan struct{})
	for _, r := range runs {
		go func(r *run) {
			r.ex, r.err = emu.RunExecution(context.Background(), r.d.StateMachineARN, input(emu.Region(), r.inst.ID), executionTimeout)
			done <- struct{}{}
		}(r)
	}
	for range runs {
		<-done
	}
	for _, r := range runs {
		if r.err != nil {
			t.Fatal(r.err)
		}
		out := mustSucceed(t, r.ex)
		if s := out.summary(t, r.inst.ID); s.SummaryObject.Bucket != r.d.Bucket {
			t.Errorf("stack %s wrote its summary to %s, not its bucket %s", r.d.StackName, s.SummaryObject.Bucket, r.d.Bucket)
		}
		if denials, err := emu.DenialsOf(context.Background(), r.ex.ARN); err != nil || len(denials) > 0 {
			t.Errorf("stack %s: denials %v (%v)", r.d.StackName, denials, err)
		}
	}
}

// sortedStrings is a sorted copy of a list.
func sortedStrings(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}
