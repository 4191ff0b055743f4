package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/essential-ir/essential-ir/internal/inspect"
	"github.com/essential-ir/essential-ir/internal/responder/evidence"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

const id = "i-0123456789abcdef0"

// recorded is an instance.json as the workflow records it (trimmed).
const recorded = `{"InstanceId": "i-0123456789abcdef0", "VpcId": "vpc-1", "State": {"Code": 16, "Name": "running"},
 "RootDeviceName": "/dev/xvda",
 "Tags": [{"Key": "Name", "Value": "web-1"}, {"Key": "aws:autoscaling:groupName", "Value": "web-asg"}],
 "IamInstanceProfile": {"Arn": "arn:aws:iam::123456789012:instance-profile/web-role", "Id": "AIPA"},
 "BlockDeviceMappings": [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-2", "DeleteOnTermination": false}},
                         {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-1", "DeleteOnTermination": true}}],
 "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "Attachment": {"DeviceIndex": 0},
                        "Groups": [{"GroupId": "sg-web", "GroupName": "web"}, {"GroupId": "sg-admin", "GroupName": "admin"}]}]}`

// output is a containment execution's output (trimmed).
const output = `{"InstanceId": "i-0123456789abcdef0", "Outcome": "CONTAINED", "IncidentId": "inc-1",
 "DetachedFromAutoScalingGroups": ["web-asg"],
 "TerminationProtection": {"Before": false, "After": true}, "StopProtection": {"Before": false, "After": true},
 "ShutdownBehaviour": {"Before": "terminate", "After": "stop"}, "IsolationGroupId": "sg-iso",
 "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "PreviousGroups": ["sg-admin", "sg-web"]}],
 "DetachedInstanceProfiles": ["arn:aws:iam::123456789012:instance-profile/web-role"],
 "InstanceProfileRoles": ["web-role"],
 "DeregisteredFromTargetGroups": ["arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/abc"],
 "DeregisteredFromClassicLoadBalancers": ["web-clb"], "ElasticIps": ["203.0.113.10"], "DisassociatedElasticIps": [],
 "SnapshotCount": 2}`

// nowState is the instance as a live read sees it once contained.
func nowState() *inspect.InstanceState {
	return &inspect.InstanceState{
		InstanceID: id, Name: "web-1", State: "running",
		Tags:                  []inspect.Tag{{Key: "Name", Value: "web-1"}, {Key: "SecurityIncidentId", Value: "inc-1"}, {Key: "SecurityIncidentStatus", Value: "Investigation"}},
		TerminationProtection: true, StopProtection: true, ShutdownBehavior: "stop",
		NetworkInterfaces: []inspect.NetworkInterface{{ID: "eni-1", SecurityGroups: []inspect.SecurityGroup{{ID: "sg-iso", Name: "essential-ir-isolation"}}}},
		Volumes:           []inspect.Volume{{ID: "vol-1", Device: "/dev/xvda", SizeGiB: 8}, {ID: "vol-2", Device: "/dev/sdf", SizeGiB: 20, Encrypted: true}},
	}
}

// denyPolicyARN is the incident's deny policy, from its revocation
// execution.
const denyPolicyARN = "arn:aws:iam::123456789012:policy/essential-ir/0cc175b9c0f1b6a831c399e269772661/inc-1-0cc175b9c0f1b6a831c399e269772661-1"

func contained(t *testing.T) *containment {
	t.Helper()
	var c containment
	if err := json.Unmarshal([]byte(output), &c); err != nil {
		t.Fatal(err)
	}
	c.DenyPolicies = []string{denyPolicyARN}
	return &c
}

func TestBeforeStateFromRecord(t *testing.T) {
	before, err := beforeState([]byte(recorded), contained(t))
	if err != nil {
		t.Fatal(err)
	}
	if before.Name != "web-1" || before.AutoScaling == nil || before.AutoScaling.GroupName != "web-asg" || before.InstanceProfile == nil {
		t.Errorf("name, group or profile not read: %+v", before)
	}
	if before.ShutdownBehavior != "terminate" || before.TerminationProtection || len(before.Unrecorded) != 0 {
		t.Errorf("the output's Before values not used: shutdown %q, unrecorded %v", before.ShutdownBehavior, before.Unrecorded)
	}
	if len(before.Volumes) != 2 || before.Volumes[0].ID != "vol-1" {
		t.Errorf("volumes not ordered root first: %+v", before.Volumes)
	}
	if len(before.TargetGroups) != 1 || before.TargetGroups[0].Name != "web-tg" {
		t.Errorf("target groups: %+v", before.TargetGroups)
	}
	g := before.NetworkInterfaces[0].SecurityGroups
	if len(g) != 2 || g[0].Name != "admin" || !g[0].RulesUnknown {
		t.Errorf("groups: %+v", g)
	}
	completeBefore(before, nowState(), map[string]inspect.SecurityGroup{"sg-web": {ID: "sg-web", Name: "web", IngressRules: 2, EgressRules: 1}})
	if before.Volumes[1].SizeGiB != 20 || !before.Volumes[1].Encrypted {
		t.Errorf("volume details not completed from the live read: %+v", before.Volumes[1])
	}
	if g := before.NetworkInterfaces[0].SecurityGroups; g[1].RulesUnknown || g[1].IngressRules != 2 || !g[0].RulesUnknown {
		t.Errorf("group rules not completed: %+v", g)
	}

	// Without the output (a failed containment), what only it holds is
	// not recorded.
	failed, err := beforeState([]byte(recorded), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{inspect.FieldTerminationProtection, inspect.FieldStopProtection, inspect.FieldShutdownBehavior, inspect.FieldTargetGroups} {
		if !failed.IsUnrecorded(f) {
			t.Errorf("%s is not marked unrecorded without the output", f)
		}
	}
}

func TestReleaseCommands(t *testing.T) {
	c := contained(t)
	before, _ := beforeState([]byte(recorded), c)
	cmds := releaseCommands("us-east-1", id, before, nowState(), c, DefaultTagKey)
	var all []string
	for _, cmd := range cmds {
		if !strings.HasSuffix(cmd.Command, " --region us-east-1") || cmd.Comment == "" {
			t.Errorf("command without region or comment: %+v", cmd)
		}
		all = append(all, cmd.Command)
	}
	want := []string{
		"aws ec2 modify-instance-attribute --instance-id " + id + " --attribute instanceInitiatedShutdownBehavior --value terminate",
		"aws ec2 modify-instance-attribute --instance-id " + id + " --no-disable-api-termination",
		"aws ec2 modify-instance-attribute --instance-id " + id + " --no-disable-api-stop",
		"aws autoscaling attach-instances --instance-ids " + id + " --auto-scaling-group-name web-asg",
		"aws iam detach-role-policy --role-name web-role --policy-arn " + denyPolicyARN,
		"aws ec2 associate-iam-instance-profile --instance-id " + id + " --iam-instance-profile Arn=arn:aws:iam::123456789012:instance-profile/web-role",
		"aws elbv2 register-targets --target-group-arn arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/abc --targets Id=" + id,
		"aws elb register-instances-with-load-balancer --load-balancer-name web-clb --instances " + id,
		"aws ec2 modify-network-interface-attribute --network-interface-id eni-1 --groups sg-admin sg-web",
		"aws ec2 delete-tags --resources " + id + " --tags Key=SecurityIncidentId Key=SecurityIncidentStatus",
	}
	got := strings.Join(all, "\n")
	last := -1
	for _, w := range want {
		i := strings.Index(got, w)
		if i < 0 {
			t.Errorf("missing: %s\nin:\n%s", w, got)
			continue
		}
		if i < last {
			t.Errorf("out of order: %s", w)
		}
		last = i
	}
	// vol-1 was deleted on termination before and is not now; vol-2 was not.
	if !strings.Contains(got, `"DeviceName": "/dev/xvda", "Ebs": {"DeleteOnTermination": true}`) || strings.Contains(got, "/dev/sdf") {
		t.Errorf("DeleteOnTermination commands wrong:\n%s", got)
	}
	// A failed containment's record lacks the protections: each is listed
	// if on now, saying so.
	failed, _ := beforeState([]byte(recorded), nil)
	var unknown []string
	for _, cmd := range releaseCommands("us-east-1", id, failed, nowState(), nil, DefaultTagKey) {
		if strings.Contains(cmd.Comment, "not recorded") {
			unknown = append(unknown, cmd.Command)
		}
	}
	if len(unknown) != 3 {
		t.Errorf("commands for the unrecorded protections: %q", unknown)
	}

	// Once released, nothing is left to undo.
	if rest := releaseCommands("us-east-1", id, before, releasedState(before), c, DefaultTagKey); len(rest) != len(c.InstanceProfileRoles)*len(c.DenyPolicies)+len(c.DeregisteredFromClassicLoadBalancers) {
		t.Errorf("after a release, %d commands remain: %+v", len(rest), rest)
	}
}

// releasedState is the instance back as recorded.
func releasedState(before *inspect.InstanceState) *inspect.InstanceState {
	s := *before
	for i := range s.TargetGroups {
		s.TargetGroups[i].State = "healthy"
	}
	return &s
}

// sample is a report of one contained instance whose instance.json was
// rewritten.
func sample(t *testing.T) *Report {
	t.Helper()
	c := contained(t)
	before, _ := beforeState([]byte(recorded), c)
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	inst := &execution.Instance{InstanceID: id, Outcome: execution.OutcomeContained,
		Containment: &execution.Phase{ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:essential-ir-instance:" + id + "-1", ConsoleLink: "https://console/c", Status: "SUCCEEDED"},
		Evidence:    &execution.Phase{ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:essential-ir-instance:" + id + "-evidence-1", ConsoleLink: "https://console/e", Status: "SUCCEEDED"}}
	inc := &execution.Incident{IncidentID: "inc-1", ExecutionARN: "arn:aws:states:us-east-1:123456789012:execution:essential-ir:inc-1",
		ConsoleLink: "https://console/inc", Region: "us-east-1", Status: "SUCCEEDED", StartDate: &start, Instances: []*execution.Instance{inst}}
	rec := &evidence.Record{InstanceID: id, IncidentID: "inc-1", Bucket: "evidence-b", Prefix: "inc-1/" + id + "/",
		Objects: []*evidence.Object{{
			Key: "inc-1/" + id + "/instance.json", Role: evidence.RoleInstance, VersionID: "v1",
			SHA256Hex:    "0d0e9c1a7c3b5b8e1f62a9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5",
			SHA256Base64: "DQ6cGnw7W44fYqnF1OPyobDJ2Of2pbTD0uHwqbjH1uU=",
			Checks:       []evidence.Check{{Against: evidence.SourceS3, OK: true}, {Against: evidence.SourceManifest, OK: true}},
			Problems:     []string{"REWRITTEN: a LATER version, which a read without a version ID returns, (v2, ...) exists beside the recorded one"},
			LockMode:     "GOVERNANCE",
		}}}
	return &Report{GeneratedAt: start.Add(time.Hour), Incident: inc, Instances: []*Instance{{
		Instance: inst, Name: "web-1", Changes: changes(c), Before: before, Now: nowState(),
		RecordedAt: start, NowReadAt: start.Add(time.Hour), Verification: rec,
		Snapshots: []Snapshot{{VolumeID: "vol-1", SnapshotID: "snap-2", DeletedUnencryptedSnapshotID: "snap-1"}},
		Release:   releaseCommands("us-east-1", id, before, nowState(), c, DefaultTagKey),
	}}}
}

func TestMarkdown(t *testing.T) {
	r := sample(t)
	var b strings.Builder
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	t.Log("\n" + md)
	// The view is inspect's own table, verbatim.
	text, _ := view(r.Instances[0])
	if !strings.Contains(md, "```text\n"+text+"```") {
		t.Error("the before/after view is not inspect's table in a fenced block")
	}
	for _, want := range []string{
		"> **⚠ NEEDS ATTENTION**", "DOES NOT VERIFY", "REWRITTEN: a LATER version",
		"RECORDED 2026-11-27 10:00:00Z", "NOW 2026-11-27 11:00:00Z",
		"`0d0e9c1a7c3b5b8e1f62a9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5`", "`DQ6cGnw7W44fYqnF1OPyobDJ2Of2pbTD0uHwqbjH1uU=`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	for _, want := range []string{"1 ENI moved to isolation group sg-iso", "Detached from Auto Scaling group web-asg",
		"`snap-2` of volume `vol-1` (encrypted copy of `snap-1`", "aws iam detach-role-policy --role-name web-role --policy-arn " + denyPolicyARN,
		"[containment](https://console/c) SUCCEEDED", "sha256sum instance.json   # expect 0d0e9c1a"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	// A cell with a pipe stays one cell.
	if got := mdCell("a | b\nc"); got != `a \| b c` {
		t.Errorf("mdCell = %q", got)
	}

	// Verified evidence: no alert.
	r.Instances[0].Verification.Objects[0].Problems = nil
	b.Reset()
	_ = WriteMarkdown(&b, r)
	if strings.Contains(b.String(), "NEEDS ATTENTION") || !strings.Contains(b.String(), "every SHA-256 verifies") {
		t.Error("a verified report raises an alert, or does not say it verifies")
	}
}

func TestHTML(t *testing.T) {
	r := sample(t)
	r.Instances[0].Cause = `<img src=x onerror=alert(1)>`
	r.Instances[0].Error = "E"
	var b strings.Builder
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(page, "</html>\n") {
		t.Error("not a complete page")
	}
	if strings.Contains(page, "<img") || !strings.Contains(page, "&lt;img src=x") {
		t.Error("the cause was not escaped")
	}
	_, table := view(r.Instances[0])
	if !strings.Contains(page, table) {
		t.Error("the before/after view is not inspect's HTML table")
	}
	for _, want := range []string{`<div class="alert"><strong>NEEDS ATTENTION</strong>`, `<span class="bad">DOES NOT VERIFY: REWRITTEN</span>`,
		"0d0e9c1a7c3b5b8e1f62a9c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5", "DQ6cGnw7W44fYqnF1OPyobDJ2Of2pbTD0uHwqbjH1uU=",
		`<a href="https://console/e">evidence</a> SUCCEEDED`, "aws elb register-instances-with-load-balancer"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}
