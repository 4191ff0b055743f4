package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/essential-ir/essential-ir/internal/inspect"
	"github.com/essential-ir/essential-ir/internal/responder/evidence"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

// The texts both formats share.

// outcomeText says an instance's outcome in words.
func outcomeText(i *Instance) string {
	switch i.Outcome {
	case execution.OutcomeContained:
		return "CONTAINED, evidence preserved"
	case execution.OutcomeEvidenceNotPreserved:
		return "CONTAINED, but its evidence was NOT preserved" + failedIn(i.CurrentStep)
	case execution.OutcomeNotContained:
		return "NOT CONTAINED" + failedIn(i.CurrentStep)
	case execution.OutcomePreserving:
		return "CONTAINED, evidence still being preserved"
	case execution.OutcomeContaining:
		return "BEING CONTAINED (step " + i.CurrentStep + ")"
	default:
		return "WAITING to be contained"
	}
}

func failedIn(step string) string {
	if step == "" {
		return ""
	}
	return ": failed in step " + step
}

// evidenceText says whether an instance's evidence verified.
func evidenceText(r *evidence.Record) string {
	switch {
	case !r.OK():
		return "DOES NOT VERIFY"
	case len(r.Objects) == 0:
		return "no record"
	default:
		return fmt.Sprintf("verified (%d objects)", len(r.Objects))
	}
}

// problems lists every evidence problem of an instance, each naming its
// object.
func problems(r *evidence.Record) []string {
	out := append([]string(nil), r.Problems...)
	for _, o := range r.Objects {
		for _, p := range o.Problems {
			out = append(out, o.Key+": "+p)
		}
	}
	return out
}

// problemKinds names an object's problems by their first word (REWRITTEN,
// MISSING, HASH MISMATCH, DELETED), each once.
func problemKinds(o *evidence.Object) string {
	var kinds []string
	for _, p := range o.Problems {
		kind, _, found := strings.Cut(p, ":")
		if !found || strings.ToUpper(kind) != kind {
			kind = "see below"
		}
		if !containsString(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	return strings.Join(kinds, ", ")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checksText says what an object's hash was checked against.
func checksText(o *evidence.Object) string {
	var parts []string
	for _, c := range o.Checks {
		mark := "✓"
		if !c.OK {
			mark = "✗"
		}
		parts = append(parts, mark+" "+c.Against)
	}
	return strings.Join(parts, ", ")
}

// lockText is an object's Object Lock and encryption.
func lockText(o *evidence.Object) string {
	lock := "no Object Lock retention"
	if o.LockMode != "" {
		lock = o.LockMode
		if o.LockUntil != nil {
			lock += " until " + o.LockUntil.UTC().Format("2006-01-02")
		}
	}
	enc := o.Encryption
	if enc == "" {
		enc = "unencrypted?"
	}
	return lock + ", " + enc
}

// viewTitles are the before/after column titles.
func viewTitles(i *Instance) (string, string) {
	before, after := "RECORDED (before any change)", "NOW"
	if !i.RecordedAt.IsZero() {
		before = "RECORDED " + stamp(i.RecordedAt)
	}
	if !i.NowReadAt.IsZero() {
		after = "NOW " + stamp(i.NowReadAt)
	}
	return before, after
}

// view is the before/after view, drawn by internal/inspect.
func view(i *Instance) (text, html string) {
	b, a := viewTitles(i)
	opts := inspect.RenderOptions{BeforeTitle: b, AfterTitle: a}
	return inspect.RenderWith(i.Before, i.Now, opts), inspect.RenderHTML(i.Before, i.Now, opts)
}

// stamp formats a time in UTC to the second.
func stamp(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// verifyCommand shows how to check one object by hand.
func verifyCommand(region, bucket string, o *evidence.Object) string {
	file := o.Key[strings.LastIndex(o.Key, "/")+1:]
	return fmt.Sprintf("aws s3api get-object --region %s --bucket %s --key %s --version-id %s %s && sha256sum %s   # expect %s",
		region, bucket, o.Key, o.VersionID, file, file, o.SHA256Hex)
}

// attention is the report's headline when something needs a responder.
func attention(r *Report) []string {
	var out []string
	for _, i := range r.Instances {
		if !i.Verification.OK() {
			out = append(out, fmt.Sprintf("The evidence of %s DOES NOT VERIFY: %s.", i.InstanceID, strings.Join(problems(i.Verification), " ")))
		}
		switch i.Outcome {
		case execution.OutcomeNotContained, execution.OutcomeEvidenceNotPreserved:
			out = append(out, fmt.Sprintf("%s: %s. %s: %s", i.InstanceID, outcomeText(i), i.Error, i.Cause))
		}
	}
	if inc := r.Incident; inc.Ended() && inc.Status != execution.StatusSucceeded && len(out) == 0 {
		out = append(out, fmt.Sprintf("The incident's execution ended %s. %s: %s", inc.Status, inc.Error, inc.Cause))
	}
	return out
}
