package inspect

import (
	"strings"
	"testing"
)

func sampleStates() (before, after *InstanceState) {
	before = &InstanceState{
		InstanceID: "i-0123456789abcdef0",
		Name:       "web-1a2b3c4d",
		State:      "running",
		Tags: []Tag{
			{Key: "Environment", Value: "production"},
			{Key: "Name", Value: "web-1a2b3c4d"},
		},
		InstanceProfile: &ProfileAssociation{
			ARN:   "arn:aws:iam::123456789012:instance-profile/web-1a2b3c4d-role",
			State: "associated",
		},
		AutoScaling:      &AutoScalingMembership{GroupName: "web-1a2b3c4d-asg", LifecycleState: "InService"},
		ShutdownBehavior: "terminate",
		NetworkInterfaces: []NetworkInterface{{
			ID: "eni-0aaaaaaaaaaaaaaaa",
			SecurityGroups: []SecurityGroup{
				{ID: "sg-0bbbbbbbbbbbbbbbb", Name: "web-1a2b3c4d-web", IngressRules: 2, EgressRules: 1},
			},
		}},
		Volumes: []Volume{
			{ID: "vol-0ccccccccccccccccc", Device: "/dev/xvda", SizeGiB: 8, DeleteOnTermination: true},
		},
		TargetGroups: []TargetGroupMembership{{
			ARN:   "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg0-1a2b3c4d/50dc6c495c0c9188",
			Name:  "web-tg0-1a2b3c4d",
			State: "healthy",
		}},
	}
	after = &InstanceState{
		InstanceID: before.InstanceID,
		Name:       before.Name,
		State:      "running",
		Tags: []Tag{
			{Key: "Environment", Value: "production"},
			{Key: "Name", Value: "web-1a2b3c4d"},
			{Key: "SecurityIncidentStatus", Value: "Investigation"},
		},
		TerminationProtection: true,
		StopProtection:        true,
		ShutdownBehavior:      "stop",
		NetworkInterfaces: []NetworkInterface{{
			ID: "eni-0aaaaaaaaaaaaaaaa",
			SecurityGroups: []SecurityGroup{
				{ID: "sg-0dddddddddddddddd", Name: "essential-ir-isolation"},
			},
		}},
		Volumes: []Volume{
			{ID: "vol-0ccccccccccccccccc", Device: "/dev/xvda", SizeGiB: 8},
		},
		Snapshots: []EvidenceSnapshot{{
			ID: "snap-0eeeeeeeeeeeeeeee", VolumeID: "vol-0ccccccccccccccccc", Encrypted: true, State: "completed",
			Tags: []Tag{{Key: EvidenceInstanceTagKey, Value: "i-0123456789abcdef0"}},
		}},
	}
	return before, after
}

// findLine returns the first line starting with prefix.
func findLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starts with %q in:\n%s", prefix, out)
	return ""
}

func TestRenderLayout(t *testing.T) {
	before, after := sampleStates()
	out := Render(before, after)
	t.Log("\n" + out)

	if strings.Contains(out, "\x1b[") {
		t.Error("default output contains ANSI escapes")
	}
	for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if n := len([]rune(l)); n > TableWidth {
			t.Errorf("line %d is %d columns, max %d: %q", i+1, n, TableWidth, l)
		}
	}
	if TableWidth > 110 {
		t.Errorf("TableWidth = %d, want at most 110", TableWidth)
	}

	// Sections appear once each, in the workflow's order.
	titles := []string{"1. Tag", "2. Auto Scaling", "3. Termination/stop protection", "4. DeleteOnTermination",
		"5. Network", "6. Instance profile", "7. Target groups", "8. Snapshots"}
	last := -1
	for _, title := range titles {
		i := strings.Index(out, "\n"+title)
		if i < 0 {
			t.Fatalf("section %q missing", title)
		}
		if i <= last {
			t.Errorf("section %q out of order", title)
		}
		last = i
	}

	// Columns: before at labelWidth+2, after at labelWidth+2+cellWidth+2.
	beforeCol := labelWidth + len(gap)
	afterCol := beforeCol + cellWidth + len(gap)
	head := findLine(t, out, strings.Repeat(" ", beforeCol)+"BEFORE")
	if got := strings.Index(head, "AFTER"); got != afterCol {
		t.Errorf("AFTER header at column %d, want %d", got, afterCol)
	}
	term := findLine(t, out, "termination protection")
	if got, want := term[beforeCol:beforeCol+3], "off"; got != want {
		t.Errorf("termination protection before = %q, want %q", got, want)
	}
	if got, want := term[afterCol:afterCol+2], "on"; got != want {
		t.Errorf("termination protection after = %q, want %q", got, want)
	}
}

func TestRenderMarksChangedRows(t *testing.T) {
	before, after := sampleStates()
	out := Render(before, after)

	changed := []string{
		"SecurityIncidentStatus", // tag added
		"group",                  // detached from the ASG
		"termination protection",
		"stop protection",
		"shutdown behaviour",
		"vol-0ccccccccccccccccc", // DeleteOnTermination off
		"eni-0aaaaaaaaaaaaaaaa",  // moved to the isolation group
		"association",            // profile detached
		"web-tg0-1a2b3c4d",       // deregistered
		"snap-0eeeeeeeeeeeeeeee", // snapshot taken
	}
	for _, label := range changed {
		if l := findLine(t, out, label); !strings.HasSuffix(l, gap+ChangedMark) {
			t.Errorf("row %q not marked %s: %q", label, ChangedMark, l)
		}
	}
	for _, label := range []string{"Environment", "Name"} {
		if l := findLine(t, out, label); strings.Contains(l, ChangedMark) {
			t.Errorf("unchanged row %q marked: %q", label, l)
		}
	}
	if l := findLine(t, out, "SecurityIncidentStatus"); !strings.Contains(l, absent) || !strings.Contains(l, "Investigation") {
		t.Errorf("added tag row = %q, want %q before and the value after", l, absent)
	}
	if l := findLine(t, out, "association"); !strings.Contains(l, none) {
		t.Errorf("association row = %q, want %q after", l, none)
	}

	// Identical states: nothing is marked.
	if same := Render(before, before); strings.Contains(same, ChangedMark) {
		t.Errorf("identical states rendered with a %s row:\n%s", ChangedMark, same)
	}
}

func TestRenderColorAndNil(t *testing.T) {
	before, after := sampleStates()
	if out := RenderWith(before, after, RenderOptions{Color: true}); !strings.Contains(out, ansiYellow+ChangedMark+ansiReset) {
		t.Error("colour output does not highlight the changed mark")
	}
	if out := Render(nil, after); !strings.Contains(out, "i-0123456789abcdef0") {
		t.Errorf("Render(nil, after) lost the instance ID:\n%s", out)
	}
}

func TestWrap(t *testing.T) {
	arn := "arn:aws:iam::123456789012:instance-profile/web-1a2b3c4d-role"
	lines := wrap(arn, cellWidth)
	if len(lines) != 2 {
		t.Fatalf("wrap(%q) = %q, want 2 lines", arn, lines)
	}
	for _, l := range lines {
		if len(l) > cellWidth {
			t.Errorf("line %q longer than %d", l, cellWidth)
		}
	}
	if got := strings.TrimSpace(lines[0]) + strings.TrimSpace(lines[1]); got != arn {
		t.Errorf("wrapped lines rejoin to %q, want %q", got, arn)
	}
}
