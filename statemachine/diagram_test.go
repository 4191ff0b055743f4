package statemachine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/internal/diagram"
)

// committedDiagram is the DOT file kept in the repository.
var committedDiagram = filepath.Join("..", "Documentation", "statemachine.dot")

func TestDiagramIsCurrent(t *testing.T) {
	want, err := diagram.FromTemplate(template)
	if err != nil {
		t.Fatalf("render the diagram: %v", err)
	}
	got, err := os.ReadFile(committedDiagram)
	if err != nil {
		t.Fatalf("read %s: %v; run go run ./cmd/diagram", committedDiagram, err)
	}
	if string(got) != want {
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
		t.Fatalf("%s is out of date with the definition: run go run ./cmd/diagram\nfirst difference at line %d:\ncommitted: %s\ncurrent:   %s",
			committedDiagram, line+1, show(gotLines), show(wantLines))
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
