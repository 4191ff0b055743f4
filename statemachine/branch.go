package statemachine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// branch is one named part of a phase: a chain of states that does one
// thing, and what the phase keeps of it. A phase runs its branches side by
// side and derives, from these declarations, every path that reads a
// branch's result, so no state refers to a branch by its position and a
// step is added by adding its branch to the phase's list.
type branch struct {
	// key names the branch's result in the phase's output.
	key string
	// name is the step as a responder reads it in the console: the
	// wrapper state's name in a phase that records failures, and the step
	// a failure is reported under.
	name string
	// chain is the branch's states. Its last state's output is the
	// instance's state with the branch's results added.
	chain sfn.IChainable
	// keep is what the phase keeps of the branch: each field's JSONPath
	// ("$...") in the branch's last state, or a value built in place (an
	// object whose ".$" keys are such paths, or a literal).
	keep map[string]interface{}
	// summary lists the fields of keep that the instance's summary
	// carries (in the evidence bucket); output those of them the
	// execution's output carries too.
	summary, output []string
	// counts are fields the execution's output carries instead of a list
	// of the summary: count field -> summary list field.
	counts map[string]string
}

// rebase rewrites every JSONPath of v (a "$..." string, or the ".$" values
// of an object) to start at prefix instead of "$": "$.Profile.Arns" under
// "$[0]" becomes "$[0].Profile.Arns". Context paths ("$$.") and intrinsic
// functions are refused: a kept field is a path or a value, nothing else.
func rebase(v interface{}, prefix string) interface{} {
	switch t := v.(type) {
	case string:
		if strings.HasPrefix(t, "$$") || !strings.HasPrefix(t, "$") {
			panic(fmt.Sprintf("statemachine: a kept field must be a JSONPath of the branch's state, not %q", t))
		}
		return prefix + t[1:]
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, val := range t {
			if _, isPath := val.(string); isPath {
				out[i] = val // a literal in a list
			} else {
				out[i] = rebase(val, prefix)
			}
		}
		return out
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, val := range t {
			if strings.HasSuffix(k, ".$") {
				out[k] = rebase(val, prefix)
			} else {
				out[k] = val
			}
		}
		return out
	default:
		return v
	}
}

// selector is the ResultSelector (or Parameters) entry of a kept field:
// "field.$" for a path, "field" for a value built in place.
func selector(fields map[string]interface{}, name string, v interface{}) {
	if _, ok := v.(string); ok {
		fields[name+".$"] = v
	} else {
		fields[name] = v
	}
}

// sortedKeys returns the keys of m in order, so a phase is rendered the
// same way every time.
func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readPhase runs reads side by side, all or nothing: any failure fails the
// Parallel (and goes to the caller's catch). Its output is the input
// fields named in carry (read from the first branch, whose state starts as
// the input) and each branch's kept fields, at the top of the state.
func (b *builder) readPhase(name string, carry []string, branches []branch) sfn.Parallel {
	state := map[string]interface{}{}
	for _, f := range carry {
		state[f+".$"] = "$[0]." + f
	}
	seen := map[string]string{}
	for i, br := range branches {
		for _, f := range sortedKeys(br.keep) {
			if other, dup := seen[f]; dup {
				panic(fmt.Sprintf("statemachine: %s: field %q kept by both %s and %s", name, f, other, br.key))
			}
			seen[f] = br.key
			selector(state, f, rebase(br.keep[f], fmt.Sprintf("$[%d]", i)))
		}
	}
	read := sfn.NewParallel(b.scope, jsii.String(name), &sfn.ParallelProps{
		ResultSelector: &state,
		ResultPath:     jsii.String("$"),
	})
	for _, br := range branches {
		read.Branch(br.chain)
	}
	return read
}

// StepsPath is where the containment phase puts each step's outcome, by
// the step's key, and FailuresPath the list of the steps that failed:
// {"Step", "Error", "Cause"} each.
const (
	StepsPath    = "$.Contained.Steps"
	FailuresPath = "$.Contained.Failures"
)

// recordingPhase runs its branches side by side and never fails: each
// branch runs inside a Parallel of its own, named after its step, whose
// catch turns any failure of the branch (an error after its retries, a
// check that does not hold) into data, {"Failure": {"Step", "Error",
// "Cause"}}, so one step's failure stops no other step. Output, at
// resultPath: {"Steps": {key: the branch's kept fields, or its Failure},
// "Failures": [every Failure]}.
func (b *builder) recordingPhase(name, resultPath string, branches []branch) sfn.Parallel {
	steps := map[string]interface{}{}
	for i, br := range branches {
		steps[br.key+".$"] = fmt.Sprintf("$[%d]", i)
	}
	phase := sfn.NewParallel(b.scope, jsii.String(name), &sfn.ParallelProps{
		ResultSelector: &map[string]interface{}{
			"Steps":      steps,
			"Failures.$": "$[*].Failure",
		},
		ResultPath: jsii.String(resultPath),
	})
	for _, br := range branches {
		phase.Branch(b.recorded(br))
	}
	return phase
}

// recorded wraps a branch in a Parallel named after its step, whose output
// is the branch's kept fields, or its failure as data.
func (b *builder) recorded(br branch) sfn.IChainable {
	kept := map[string]interface{}{}
	for _, f := range sortedKeys(br.keep) {
		selector(kept, f, rebase(br.keep[f], "$[0]"))
	}
	wrapper := sfn.NewParallel(b.scope, jsii.String(br.name), &sfn.ParallelProps{
		ResultSelector: &kept,
	})
	wrapper.Branch(br.chain)
	wrapper.AddCatch(b.pass(br.name+": Failure Recorded", map[string]interface{}{
		"Failure": map[string]interface{}{
			"Step":    br.name,
			"Error.$": "$.Failure.Error",
			"Cause.$": "$.Failure.Cause",
		},
	}, ""), anyError())
	return wrapper
}

// anyError catches every error of a state, after its retries, with the
// error and cause at $.Failure: the one catch-all of the workflow.
func anyError() *sfn.CatchProps {
	return &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")}
}
