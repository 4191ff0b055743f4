package statemachine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/internal/diagram"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// The DOT files kept in the repository: every state, and the overview.
var (
	committedDiagram  = filepath.Join("..", "Documentation", "statemachine.dot")
	committedOverview = filepath.Join("..", "Documentation", "overview.dot")
)

func TestDiagramIsCurrent(t *testing.T) {
	for _, d := range []struct {
		path   string
		render func(*synth.Template) (string, error)
	}{{committedDiagram, diagram.FromTemplate}, {committedOverview, diagram.OverviewFromTemplate}} {
		want, err := d.render(template)
		if err != nil {
			t.Fatalf("render %s: %v", d.path, err)
		}
		got, err := os.ReadFile(d.path)
		if err != nil {
			t.Fatalf("read %s: %v; run go run ./cmd/diagram", d.path, err)
		}
		if string(got) == want {
			continue
		}
		gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(want, "\n")
		line := 0
		for line < len(gotLines) && line < len(wantLines) && gotLines[line] == wantLines[line] {
			line++
		}
		show := func(lines []string) string {
			if line < len(lines) {
				return lines[line]
			}
			return "(end of file)"
		}
		t.Errorf("%s is out of date with the definition: run go run ./cmd/diagram\nfirst difference at line %d:\ncommitted: %s\ncurrent:   %s",
			d.path, line+1, show(gotLines), show(wantLines))
	}
}

func TestDiagramDrawsEveryState(t *testing.T) {
	fleet, instance := aslDefinitions(t)
	_, states := aslStates(t)
	dot, err := diagram.DOTWithChild(fleet, instance)
	if err != nil {
		t.Fatalf("render the diagram: %v", err)
	}
	n := 0
	aslWalk(states, func(name string, s map[string]interface{}) {
		n++
		decl := "\"" + name + "\" [label="
		i := strings.Index(dot, decl)
		if i < 0 {
			t.Errorf("the diagram has no node for state %q", name)
			return
		}
		attrs := dot[i : i+strings.Index(dot[i:], "\n")]
		switch s["Type"] {
		case "Fail":
			if !strings.Contains(attrs, `color="#c00000"`) {
				t.Errorf("Fail state %q is not drawn red: %s", name, attrs)
			}
		case "Choice":
			if !strings.Contains(attrs, "shape=diamond") {
				t.Errorf("Choice state %q is not a diamond: %s", name, attrs)
			}
		}
		if _, ok := s["Catch"]; ok && !strings.Contains(dot, "\""+name+"\" -> ") && !strings.Contains(dot, "\""+name+" (done)\" -> ") {
			t.Errorf("state %q has a Catch but no edge leaves it", name)
		}
	})
	steps := 0
	aslWalk(states, func(name string, s map[string]interface{}) {
		if name == "Contain The Instance" {
			branches, _ := s["Branches"].([]interface{})
			steps = len(branches)
		}
	})
	for _, kind := range []string{"Map: for each item", fmt.Sprintf("Parallel: %d branches", steps), "Own execution of the instance state machine"} {
		if !strings.Contains(dot, kind) {
			t.Errorf("the diagram has no cluster labelled %q", kind)
		}
	}
	if n < 50 {
		t.Fatalf("found %d states: the walk is broken", n)
	}
	if _, err := diagram.DOT(`{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Missing"}}}`); err == nil {
		t.Error("DOT accepted a transition to a state that does not exist")
	}
}
