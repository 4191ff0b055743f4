package diagram

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/essential-ir/essential-ir/internal/synth"
)

// Machine is one state machine of the overview: its name as the console
// shows it and its definition (ASL JSON).
type Machine struct {
	Name, Definition string
}

// OverviewFromTemplate renders the overview of a synthesized template's
// state machines, resolved for Deployment: the one responders start and the
// one it starts for each instance, by their default names.
func OverviewFromTemplate(t *synth.Template) (string, error) {
	fleet, err := t.Definition(Deployment)
	if err != nil {
		return "", fmt.Errorf("resolve the definition for the overview: %w", err)
	}
	instance, err := t.InstanceDefinition(Deployment)
	if err != nil {
		return "", fmt.Errorf("resolve the instance definition for the overview: %w", err)
	}
	return Overview([]Machine{{Name: "essential-ir", Definition: fleet}, {Name: "essential-ir-instance", Definition: instance}})
}

// serviceNames are the names a reader knows the AWS services by, from the
// ASL aws-sdk service names.
var serviceNames = map[string]string{
	"ec2":                    "EC2",
	"autoscaling":            "Auto Scaling",
	"elasticloadbalancingv2": "ELB",
	"elasticloadbalancing":   "ELB",
	"iam":                    "IAM",
	"s3":                     "S3",
	"kms":                    "KMS",
	"sns":                    "SNS",
	"sfn":                    "Step Functions",
}

// Overview renders the state machines as one picture a page can hold: each
// machine a box of its steps (its top-level Task, Map and Parallel
// states, in flow order; Choice, Pass and Wait states only route and are
// left out), a step that runs named steps side by side listing them, an
// arrow from a step that starts executions of another machine to that
// machine, and the AWS services each machine calls. The full detail, every
// state, is DOT's.
func Overview(machines []Machine) (string, error) {
	parsed := make([]machine, len(machines))
	for i, m := range machines {
		if err := json.Unmarshal([]byte(m.Definition), &parsed[i]); err != nil {
			return "", fmt.Errorf("overview of %s: %w", m.Name, err)
		}
	}
	var b strings.Builder
	b.WriteString("digraph overview {\n")
	b.WriteString("  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=16, nodesep=0.25, ranksep=0.35, newrank=true];\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=14, shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9f6\", color=\"#4a78a8\", margin=\"0.15,0.06\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=12, color=\"#555555\"];\n")

	var links []edge
	first := map[string]string{} // machine name -> ID of its start
	for i, m := range machines {
		steps, next := overviewSteps(parsed[i])
		prefix := fmt.Sprintf("m%d_", i)
		fmt.Fprintf(&b, "  subgraph cluster_m%d {\n    label=%s; style=\"rounded\"; color=\"#888888\"; fontsize=18;\n", i, quote(m.Name))
		start := prefix + "start"
		fmt.Fprintf(&b, "    %s [label=\"\", shape=circle, width=0.2, style=filled, fillcolor=\"#333333\"];\n", quote(start))
		for _, name := range steps {
			s := parsed[i].States[name]
			fmt.Fprintf(&b, "    %s [%s];\n", quote(prefix+name), overviewLabel(name, s, serviceLine(s)))
			if child := startedMachine(s, machines); child != "" {
				links = append(links, edge{from: prefix + name, to: child, attrs: "style=dashed, color=\"#4a78a8\", label=\" one execution\\n per instance \""})
			}
		}
		done := prefix + "done"
		fmt.Fprintf(&b, "    %s [label=\"SUCCEEDED, or FAILED\\nnaming each step that failed\", shape=box, style=\"rounded\", color=\"#888888\", fontcolor=\"#333333\"];\n", quote(done))
		b.WriteString("  }\n")
		first[m.Name] = start
		for _, to := range next[""] {
			fmt.Fprintf(&b, "  %s -> %s;\n", quote(start), quote(prefix+to))
		}
		for _, from := range steps {
			targets := next[from]
			if len(targets) == 0 {
				fmt.Fprintf(&b, "  %s -> %s;\n", quote(prefix+from), quote(done))
			}
			for _, to := range targets {
				fmt.Fprintf(&b, "  %s -> %s;\n", quote(prefix+from), quote(prefix+to))
			}
		}
	}
	for _, l := range links {
		if to, ok := first[l.to]; ok {
			fmt.Fprintf(&b, "  %s -> %s [%s];\n", quote(l.from), quote(to), l.attrs)
		}
	}
	b.WriteString("}\n")
	return b.String(), nil
}

// overviewSteps returns a machine's steps in flow order and, for each (and
// "" for the start), the steps reached next through routing states only;
// none for a step whose flow ends (End, Succeed, or Fail).
func overviewSteps(m machine) ([]string, map[string][]string) {
	isStep := func(name string) bool {
		switch m.States[name].Type {
		case "Task", "Map", "Parallel":
			return true
		}
		return false
	}
	// reach follows routing states from name to the steps they lead to.
	reach := func(names []string) []string {
		seen := map[string]bool{}
		var out []string
		var walk func(string)
		walk = func(n string) {
			if n == "" || seen[n] {
				return
			}
			seen[n] = true
			if isStep(n) {
				out = append(out, n)
				return
			}
			s := m.States[n]
			for _, c := range s.Choices {
				if next, _ := c["Next"].(string); next != "" {
					walk(next)
				}
			}
			walk(s.Default)
			walk(s.Next)
		}
		for _, n := range names {
			walk(n)
		}
		return out
	}
	next := map[string][]string{"": reach([]string{m.StartAt})}
	var order []string
	queue := append([]string(nil), next[""]...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		order = append(order, n)
		next[n] = reach([]string{m.States[n].Next})
		queue = append(queue, next[n]...)
	}
	return order, next
}

// overviewLabel is a step's node: its name; the named steps it runs side by
// side, for a Parallel whose branches each start with a Parallel; the
// branches' first states for another Parallel; "for each ..." for a Map.
func overviewLabel(name string, s state, services string) string {
	calls := ""
	if services != "" {
		calls = "<br/><font point-size=\"11\" color=\"#7a5a00\">" + html(services) + "</font>"
	}
	switch s.Type {
	case "Parallel":
		var names []string
		for _, br := range s.Branches {
			names = append(names, br.StartAt)
		}
		rows := []string{"<b>" + html(name) + "</b>"}
		side := "side by side"
		if allParallel(s.Branches) {
			side = "side by side, each recorded done or failed"
		}
		rows = append(rows, "<font point-size=\"11\">"+html(side)+":</font>")
		// Two columns, so a long list stays short.
		half := (len(names) + 1) / 2
		for i := 0; i < half; i++ {
			row := "• " + html(names[i])
			if j := i + half; j < len(names) {
				row += "      • " + html(names[j])
			}
			rows = append(rows, "<font point-size=\"12\">"+row+"</font>")
		}
		return "label=<" + strings.Join(rows, "<br align=\"left\"/>") + "<br align=\"left\"/>" + calls + ">, fillcolor=\"#e4f1e0\", color=\"#4f8a3c\""
	case "Map":
		return "label=<" + html(name) + "<br/><font point-size=\"11\">(for each item)</font>" + calls + ">, peripheries=2"
	}
	return "label=<" + strings.ReplaceAll(html(wrap(name)), "\n", "<br/>") + calls + ">"
}

// serviceLine names the AWS services a step calls, for its node.
func serviceLine(s state) string {
	seen := map[string]bool{}
	var names []string
	for svc := range servicesOf(s) {
		n := serviceNames[svc]
		if n == "" {
			n = svc
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, " · ")
}

// allParallel says whether every branch starts with a Parallel: the named,
// recorded steps of a phase (statemachine/branch.go).
func allParallel(branches []machine) bool {
	for _, br := range branches {
		if br.States[br.StartAt].Type != "Parallel" {
			return false
		}
	}
	return len(branches) > 0
}

// servicesOf returns the aws-sdk services a state calls, in it and in every
// state nested in it.
func servicesOf(s state) map[string]bool {
	out := map[string]bool{}
	if strings.Contains(s.Resource, ":aws-sdk:") {
		rest := s.Resource[strings.Index(s.Resource, ":aws-sdk:")+len(":aws-sdk:"):]
		out[strings.SplitN(rest, ":", 2)[0]] = true
	}
	nested := append([]machine(nil), s.Branches...)
	for _, p := range []*machine{s.ItemProcessor, s.Iterator} {
		if p != nil {
			nested = append(nested, *p)
		}
	}
	for _, m := range nested {
		for _, inner := range m.States {
			for svc := range servicesOf(inner) {
				out[svc] = true
			}
		}
	}
	return out
}

// startedMachine is the name of the machine a step starts executions of
// (a startExecution task in it, naming the machine at the end of its
// StateMachineArn), or "".
func startedMachine(s state, machines []Machine) string {
	var found string
	var visit func(state)
	visit = func(st state) {
		target, _ := st.Parameters["StateMachineArn"].(string)
		if strings.Contains(st.Resource, ":states:::states:startExecution") && target != "" {
			for _, m := range machines {
				if strings.HasSuffix(target, ":stateMachine:"+m.Name) {
					found = m.Name
				}
			}
		}
		nested := append([]machine(nil), st.Branches...)
		for _, p := range []*machine{st.ItemProcessor, st.Iterator} {
			if p != nil {
				nested = append(nested, *p)
			}
		}
		for _, m := range nested {
			for _, inner := range m.States {
				visit(inner)
			}
		}
	}
	visit(s)
	return found
}

// html escapes text for a Graphviz HTML-like label.
func html(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;").Replace(s)
}
