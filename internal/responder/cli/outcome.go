package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

// writeIncident prints an incident's outcome: the execution, then each
// instance with its outcome, step, error and links, then a count and what
// to run next.
func writeIncident(w io.Writer, inc *execution.Incident) {
	fmt.Fprintf(w, "Incident %s: %s", inc.IncidentID, inc.Status)
	if inc.StartDate != nil {
		fmt.Fprintf(w, " (started %s", inc.StartDate.UTC().Format("2006-01-02 15:04:05Z"))
		if inc.StopDate != nil {
			fmt.Fprintf(w, ", ended %s", inc.StopDate.UTC().Format("15:04:05Z"))
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintf(w, "\n  %s\n", inc.ConsoleLink)
	if inc.Status != execution.StatusSucceeded && inc.Error != "" {
		fmt.Fprintf(w, "  Error  %s\n  Cause  %s\n", inc.Error, inc.Cause)
	}
	if inc.Status == execution.StatusRunning && inc.CurrentStep != "" {
		fmt.Fprintf(w, "  Step   %s\n", inc.CurrentStep)
	}
	if r := inc.Revocation; r != nil {
		// The credentials already issued to every instance, denied by one
		// execution for the whole incident.
		fmt.Fprintf(w, "  %-11s  %-9s  %s\n", "credentials", r.Status, r.ConsoleLink)
	}
	counts := map[string]int{}
	for _, i := range inc.Instances {
		counts[i.Outcome]++
		fmt.Fprintf(w, "\n%s  %s\n", i.InstanceID, instanceOutcome(i))
		if i.IncidentID != "" && i.IncidentID != inc.IncidentID {
			fmt.Fprintf(w, "  Already under investigation: filed under incident %s\n", i.IncidentID)
		}
		if i.Error != "" || i.Cause != "" {
			fmt.Fprintf(w, "  Error  %s\n  Cause  %s\n", i.Error, i.Cause)
		}
		for _, p := range []struct {
			name  string
			phase *execution.Phase
		}{{"containment", i.Containment}, {"evidence", i.Evidence}} {
			if p.phase != nil {
				fmt.Fprintf(w, "  %-11s  %-9s  %s\n", p.name, p.phase.Status, p.phase.ConsoleLink)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", tally(inc, counts))
	if inc.Ended() {
		fmt.Fprintf(w, "Next: essential-ir report %s > %s.md   (what changed, evidence verified, how to release)\n", inc.IncidentID, inc.IncidentID)
	} else {
		fmt.Fprintf(w, "Follow it: essential-ir status %s\n", inc.IncidentID)
	}
}

// instanceOutcome says an instance's outcome in words.
func instanceOutcome(i *execution.Instance) string {
	switch i.Outcome {
	case execution.OutcomeContained:
		return "CONTAINED, evidence preserved"
	case execution.OutcomeEvidenceNotPreserved:
		return "CONTAINED, but evidence NOT preserved" + stepSuffix(" (failed in %s)", i.CurrentStep)
	case execution.OutcomeNotContained:
		return "NOT CONTAINED" + stepSuffix(" (failed in %s)", i.CurrentStep)
	case execution.OutcomePreserving:
		return "CONTAINED, preserving evidence" + stepSuffix(" (step %s)", i.CurrentStep)
	case execution.OutcomeContaining:
		return "being contained" + stepSuffix(" (step %s)", i.CurrentStep)
	default:
		return "waiting to be contained"
	}
}

func stepSuffix(format, step string) string {
	if step == "" {
		return ""
	}
	return fmt.Sprintf(format, step)
}

// tally counts the outcomes in one sentence.
func tally(inc *execution.Incident, counts map[string]int) string {
	n := len(inc.Instances)
	parts := []string{fmt.Sprintf("%d of %d contained with evidence preserved", counts[execution.OutcomeContained], n)}
	for _, c := range []struct{ outcome, words string }{
		{execution.OutcomeNotContained, "NOT contained"},
		{execution.OutcomeEvidenceNotPreserved, "contained but evidence NOT preserved"},
		{execution.OutcomePreserving, "contained, evidence pending"},
		{execution.OutcomeContaining, "being contained"},
		{execution.OutcomeWaiting, "waiting"},
	} {
		if counts[c.outcome] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c.outcome], c.words))
		}
	}
	return strings.Join(parts, "; ") + "."
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v interface{}) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// incidentCode is the exit code of an incident's state.
func incidentCode(inc *execution.Incident) int {
	if inc.NeedsAttention() {
		return ExitAttention
	}
	return ExitOK
}
