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
	s := instanceSummaries([]string{`{"InstanceId":"i-1","Outcome":"CONTAINED"}`, `{"InstanceId":"i-2","Outcome":"FAILED","Error":"E"}`})
	if len(s) != 2 {
		t.Fatalf("got %d summaries, want 2", len(s))
	}
	if !strings.HasPrefix(s[0], "Instance i-1 (its own execution): CONTAINED\n{") || !strings.HasPrefix(s[1], "Instance i-2 (its own execution): FAILED\n{") {
		t.Errorf("summaries = %q", s)
	}
}
