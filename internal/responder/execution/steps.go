package execution

import (
	"encoding/json"
	"fmt"
)

// Steps are the steps of a state machine as a responder follows them: its
// top-level states that do work (Task, Parallel and Map states; Choice,
// Pass, Wait, Succeed and Fail states only route), and, in a top-level
// Parallel whose branches each start with a Parallel, those Parallels: the
// named steps a phase runs side by side (Contain The Instance). Other
// states nested in a Parallel or Map are parts of their step. They come
// from the deployed definition, so the steps shown are the ones the console
// shows.
type Steps struct {
	// shown are the steps, by name.
	shown map[string]bool
	// normal are the top-level states reachable from StartAt without
	// following a Catch: a state reached only through a Catch handles a
	// failure, so it is not the step that failed.
	normal map[string]bool
}

// aslState is the part of an ASL state Steps reads.
type aslState struct {
	Type    string
	Next    string
	Default string
	Choices []struct{ Next string }
	Catch   []struct{ Next string }
	// Branches are a Parallel's branches.
	Branches []struct {
		StartAt string
		States  map[string]aslState
	}
}

// ParseSteps reads the steps of an ASL definition.
func ParseSteps(definition string) (*Steps, error) {
	var def struct {
		StartAt string
		States  map[string]aslState
	}
	if err := json.Unmarshal([]byte(definition), &def); err != nil {
		return nil, fmt.Errorf("read the state machine definition: %w", err)
	}
	s := &Steps{shown: map[string]bool{}, normal: map[string]bool{}}
	for name, st := range def.States {
		switch st.Type {
		case "Task", "Parallel", "Map":
			s.shown[name] = true
		}
		for _, br := range st.Branches {
			if first, ok := br.States[br.StartAt]; ok && first.Type == "Parallel" {
				s.shown[br.StartAt] = true
				s.normal[br.StartAt] = true
			}
		}
	}
	queue := []string{def.StartAt}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		st, ok := def.States[name]
		if !ok || s.normal[name] {
			continue
		}
		s.normal[name] = true
		queue = append(queue, st.Next, st.Default)
		for _, c := range st.Choices {
			queue = append(queue, c.Next)
		}
	}
	return s, nil
}

// Shown reports whether the state named name is a step. Without a
// definition (nil Steps), only Parallel and Map states are: see
// stepOfEvent.
func (s *Steps) Shown(name string) bool {
	return s != nil && s.shown[name]
}

// OnFailurePath reports whether the state named name is reached only by a
// Catch: it handles a failure.
func (s *Steps) OnFailurePath(name string) bool {
	return s != nil && !s.normal[name]
}
