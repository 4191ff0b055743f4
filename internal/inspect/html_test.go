package inspect

import (
	"regexp"
	"strings"
	"testing"
)

func TestRenderHTMLMatchesText(t *testing.T) {
	before, after := sampleStates()
	before.Tags = append(before.Tags, Tag{Key: "Owner", Value: "<script>alert(1)</script>"})
	out := RenderHTML(before, after, RenderOptions{BeforeTitle: "RECORDED", AfterTitle: "NOW"})

	if strings.Contains(out, "<script>") {
		t.Fatalf("a tag value was not escaped:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the escaped tag value is missing:\n%s", out)
	}
	for _, want := range []string{`<table class="` + HTMLClass + `">`, "<th>RECORDED</th>", "<th>NOW</th>",
		"<caption>Instance i-0123456789abcdef0 (web-1a2b3c4d)   state: running -&gt; running</caption>"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q:\n%s", want, out)
		}
	}

	// The same sections, in the same order, as the text table.
	text := Render(before, after)
	sections := regexp.MustCompile(`<tr class="section"><th colspan="4">([^<]*)</th></tr>`).FindAllStringSubmatch(out, -1)
	if len(sections) != 8 {
		t.Fatalf("%d sections in the HTML, want 8", len(sections))
	}
	last := -1
	for _, s := range sections {
		i := strings.Index(text, "\n"+s[1]+" ")
		if i <= last {
			t.Errorf("section %q is not in the text table, or out of order", s[1])
		}
		last = i
	}

	// As many rows marked changed as in the text table.
	textChanged := strings.Count(text, gap+ChangedMark+"\n")
	htmlChanged := strings.Count(out, `<tr class="changed">`)
	if textChanged == 0 || htmlChanged != textChanged {
		t.Errorf("%d changed rows in the HTML, %d in the text table", htmlChanged, textChanged)
	}
	row := regexp.MustCompile(`<tr class="changed"><th>association</th><td>([^<]*)<br>\(associated\)</td><td>none</td><td>changed</td></tr>`)
	if !row.MatchString(out) {
		t.Errorf("the instance profile row is not a changed row with two lines before and none after:\n%s", out)
	}
}

func TestRenderUnrecordedFields(t *testing.T) {
	before, after := sampleStates()
	before.Unrecorded = []string{FieldTerminationProtection, FieldStopProtection, FieldShutdownBehavior, FieldTargetGroups}
	before.TargetGroups = nil
	before.AutoScaling.LifecycleState = ""
	before.Volumes[0].SizeGiB = 0
	before.NetworkInterfaces[0].SecurityGroups[0].RulesUnknown = true
	out := RenderWith(before, after, RenderOptions{BeforeTitle: "RECORDED 2026-11-27 10:00Z"})
	t.Log("\n" + out)

	for _, label := range []string{"termination protection", "stop protection", "shutdown behaviour", "registered in"} {
		l := findLine(t, out, label)
		if !strings.Contains(l, unrecorded) {
			t.Errorf("row %q does not say %q before: %q", label, unrecorded, l)
		}
		if strings.HasSuffix(l, ChangedMark) {
			t.Errorf("row %q is marked changed, but its value before is not known: %q", label, l)
		}
	}
	if l := findLine(t, out, "group"); !strings.Contains(l, "web-1a2b3c4d-asg ") || strings.Contains(l, "()") {
		t.Errorf("Auto Scaling row with no lifecycle state = %q", l)
	}
	if l := findLine(t, out, "vol-0ccccccccccccccccc"); !strings.Contains(l, "true   /dev/xvda  ") || strings.Contains(l, "0 GiB") {
		t.Errorf("volume of unknown size = %q, want its DeleteOnTermination and device only", l)
	}
	if !regexp.MustCompile(`sg-0bbbbbbbbbbbbbbbb  rules unknown\s`).MatchString(out) {
		t.Errorf("a group whose rules are unknown shows counts:\n%s", out)
	}
	if !strings.Contains(findLine(t, out, strings.Repeat(" ", labelWidth+len(gap))+"RECORDED"), "RECORDED 2026-11-27 10:00Z") {
		t.Error("the before column's title is not the one given")
	}
	// The state a live read gives is never marked unrecorded.
	if strings.Contains(Render(after, after), unrecorded) {
		t.Error("a state without Unrecorded fields rendered a field as not recorded")
	}
}
