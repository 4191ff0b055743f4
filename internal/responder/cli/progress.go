package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

// ANSI escapes of the terminal view.
const (
	ansiReset     = "\x1b[0m"
	ansiDim       = "\x1b[2m"
	ansiBold      = "\x1b[1m"
	ansiRed       = "\x1b[1;31m"
	ansiGreen     = "\x1b[32m"
	ansiClearLine = "\r\x1b[2K"
)

// progressView prints what happens in an incident's executions: one line
// per instance per step. On a terminal it also keeps a status line at the
// bottom, redrawn in place, and colours outcomes; piped, it prints the
// lines alone, so a log or a script reads them.
type progressView struct {
	w        io.Writer
	terminal bool
	color    bool
	start    time.Time
	footer   bool
	now      func() time.Time
}

func newProgressView(w io.Writer, terminal bool) *progressView {
	_, noColor := os.LookupEnv("NO_COLOR")
	return &progressView{w: w, terminal: terminal, color: terminal && !noColor, start: time.Now(), now: time.Now}
}

func (v *progressView) style(s, code string) string {
	if !v.color {
		return s
	}
	return code + s + ansiReset
}

// show prints the progress lines and, on a terminal, the status line.
func (v *progressView) show(progress []execution.Progress, inc *execution.Incident) {
	if v.footer {
		io.WriteString(v.w, ansiClearLine)
		v.footer = false
	}
	for _, p := range progress {
		io.WriteString(v.w, v.line(p, inc)+"\n")
	}
	if v.terminal && !inc.Ended() {
		io.WriteString(v.w, v.status(inc))
		v.footer = true
	}
}

// done clears the status line.
func (v *progressView) done() {
	if v.footer {
		io.WriteString(v.w, ansiClearLine)
		v.footer = false
	}
}

// line is one progress line: time, who, phase, what.
func (v *progressView) line(p execution.Progress, inc *execution.Incident) string {
	who := p.InstanceID
	if who == "" {
		who = inc.IncidentID
	}
	head := fmt.Sprintf("%s  %-19s  %-11s  ", v.style(p.Time.UTC().Format("15:04:05"), ansiDim), who, p.Phase)
	switch p.Kind {
	case execution.ProgressStarted:
		return head + "started"
	case execution.ProgressStep:
		return head + p.Step
	}
	if p.Status == execution.StatusSucceeded {
		return head + v.style("SUCCEEDED", ansiGreen)
	}
	what := p.Status
	if p.Step != "" {
		what += " in " + p.Step
	}
	line := head + v.style(what, ansiRed)
	if p.Error != "" || p.Cause != "" {
		line += ": " + p.Error + ": " + shorten(p.Cause, 300)
	}
	return line
}

// status is the terminal's status line.
func (v *progressView) status(inc *execution.Incident) string {
	counts := map[string]int{}
	for _, i := range inc.Instances {
		counts[i.Outcome]++
	}
	elapsed := v.now().Sub(v.start).Round(time.Second)
	// Under 80 columns, so it never wraps: \r redraws one line only.
	s := fmt.Sprintf("%s  done %d/%d, failed %d, running %d  (Ctrl-C stops following only)",
		elapsed, counts[execution.OutcomeContained], len(inc.Instances),
		counts[execution.OutcomeNotContained]+counts[execution.OutcomeEvidenceNotPreserved],
		counts[execution.OutcomeContaining]+counts[execution.OutcomePreserving])
	return v.style(shorten(s, 79), ansiBold)
}

// shorten cuts s to n runes, on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "..."
	}
	return s
}
