package main

import (
	"strings"
	"testing"
)

func TestCompactJSON(t *testing.T) {
	in := `{"b":[1,2],"a":{"x":"<y>"},"long":["` + strings.Repeat("z", 60) + `","` + strings.Repeat("w", 60) + `"]}`
	got := compactJSON(in)
	want := "{\n" +
		`  "a": {"x": "<y>"},` + "\n" +
		`  "b": [1, 2],` + "\n" +
		`  "long": [` + "\n" +
		`    "` + strings.Repeat("z", 60) + `",` + "\n" +
		`    "` + strings.Repeat("w", 60) + `"` + "\n" +
		"  ]\n" +
		"}"
	if got != want {
		t.Errorf("compactJSON =\n%s\nwant\n%s", got, want)
	}
	if got := compactJSON("not json"); got != "not json" {
		t.Errorf("compactJSON(not json) = %q", got)
	}
}

func TestInstanceSummaries(t *testing.T) {
	s := instanceSummaries([]string{`{"InstanceId":"i-1","Outcome":"CONTAINED"}`, `{"InstanceId":"i-2","Outcome":"FAILED","Error":"E"}`,
		`{"InstanceId":"i-1","Outcome":"PRESERVED"}`, `{"InstanceId":"i-3","Phase":"PreserveEvidence","Outcome":"FAILED"}`})
	want := []string{"Instance i-1, containment (its own execution): CONTAINED\n{", "Instance i-2, containment (its own execution): FAILED\n{",
		"Instance i-1, evidence (its own execution): PRESERVED\n{", "Instance i-3, evidence (its own execution): FAILED\n{"}
	if len(s) != len(want) {
		t.Fatalf("got %d summaries, want %d", len(s), len(want))
	}
	for i := range want {
		if !strings.HasPrefix(s[i], want[i]) {
			t.Errorf("summary %d = %q, want it to start %q", i, s[i], want[i])
		}
	}
}
