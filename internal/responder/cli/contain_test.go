package cli

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// stepLines are the progress lines of one instance's phase, in order.
func stepLines(out, instanceID, phase string) []string {
	var steps []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == instanceID && f[2] == phase {
			steps = append(steps, strings.Join(f[3:], " "))
		}
	}
	return steps
}

func TestContainFollowsTheWebServerToItsOutcome(t *testing.T) {
	ctx := context.Background()
	web := build(t, scene.CompromisedWebServer())
	incident := incidentID(t)
	r := essentialIR(t, "contain", "--incident", incident, "--poll-interval", "20ms", web.ID)
	if r.code != ExitOK {
		t.Fatalf("exit %d, want %d", r.code, ExitOK)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Error("piped output holds terminal escapes")
	}

	// The execution really ran to its end, as the command says.
	ex, err := emu.Describe(ctx, executionOf(incident))
	if err != nil || ex.Status != execution.StatusSucceeded {
		t.Fatalf("the incident's execution: %+v, %v", ex, err)
	}

	// One line per step, each once: the phases in the workflow's order,
	// and every step of Contain The Instance, which run side by side, in
	// whatever order they started.
	containment := stepLines(r.stdout, web.ID, "containment")
	before := []string{"started", "Check Its Input", "Read The Instance", "Contain The Instance"}
	after := []string{"Capture Console Screenshot", "Write Console Screenshot", "Write Containment Summary", "SUCCEEDED"}
	sideBySide := []string{"Isolate Network", "Detach From Auto Scaling Group", "Tag Instance", "Enable Termination Protection",
		"Enable Stop Protection", "Set Shutdown Behaviour To Stop", "Keep Volumes On Termination", "Detach Instance Profile",
		"Deregister From Target Groups", "Deregister From Classic Load Balancers", "Record Public Addresses",
		"Record Pre-Incident State", "Snapshot Volumes"}
	if len(containment) != len(before)+len(sideBySide)+len(after) ||
		strings.Join(containment[:len(before)], " | ") != strings.Join(before, " | ") ||
		strings.Join(containment[len(containment)-len(after):], " | ") != strings.Join(after, " | ") {
		t.Errorf("containment lines:\n%s\nwant %q, then the %d steps of Contain The Instance, then %q",
			strings.Join(containment, "\n"), before, len(sideBySide), after)
	} else {
		got := append([]string(nil), containment[len(before):len(before)+len(sideBySide)]...)
		want := append([]string(nil), sideBySide...)
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " | ") != strings.Join(want, " | ") {
			t.Errorf("the steps of Contain The Instance: %q, want %q", got, want)
		}
	}
	evidence := stepLines(r.stdout, web.ID, "evidence")
	if len(evidence) < 3 || evidence[0] != "started" || !contains(evidence, "Verify Each Snapshot To Keep") || evidence[len(evidence)-1] != "SUCCEEDED" {
		t.Errorf("evidence lines: %q", evidence)
	}
	if incidentSteps := stepLines(r.stdout, incident, "incident"); !contains(incidentSteps, "Contain And Revoke Credentials") ||
		!contains(incidentSteps, "Preserve Each Instance's Evidence") || incidentSteps[len(incidentSteps)-1] != "SUCCEEDED" {
		t.Errorf("incident lines: %q", incidentSteps)
	}

	// The outcome, with the console link of each execution it started.
	if !strings.Contains(r.stdout, web.ID+"  CONTAINED, evidence preserved") {
		t.Errorf("no outcome line for %s", web.ID)
	}
	// Its containment, its evidence, and the incident's credential
	// revocation.
	children, err := emu.Children(ctx, executionOf(incident))
	if err != nil || len(children) != 3 {
		t.Fatalf("children %v, %v", children, err)
	}
	for _, c := range children {
		if !strings.Contains(r.stdout, execution.ConsoleLink(c)) {
			t.Errorf("no console link to %s", c)
		}
	}
	if !strings.Contains(r.stdout, execution.ConsoleLink(executionOf(incident))) || !strings.Contains(r.stdout, "essential-ir report "+incident) {
		t.Error("no link to the incident's execution, or no next step")
	}
}

// A failed instance is reported with its step and cause, the other
// contained, and the exit code says the incident needs attention; --output
// json puts the outcome on stdout and the progress on stderr.
func TestContainReportsAnInstanceNotContained(t *testing.T) {
	ctx := context.Background()
	web := build(t, scene.CompromisedWebServer())
	bare := build(t, scene.BareInstance())
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{Service: "ec2", Action: "DisassociateIamInstanceProfile",
		Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation.", Status: 403, Count: 1000}}); err != nil {
		t.Fatal(err)
	}
	incident := incidentID(t)
	r := essentialIR(t, "contain", "--output", "json", "--incident", incident, "--poll-interval", "20ms", web.ID, bare.ID)
	if err := emu.SetFaults(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if r.code != ExitAttention {
		t.Fatalf("exit %d, want %d", r.code, ExitAttention)
	}
	var inc execution.Incident
	if err := json.Unmarshal([]byte(r.stdout), &inc); err != nil {
		t.Fatalf("stdout is not the incident as JSON: %v", err)
	}
	if inc.Status != execution.StatusFailed || len(inc.Instances) != 2 {
		t.Fatalf("incident %s with %d instances", inc.Status, len(inc.Instances))
	}
	w, b := inc.Instance(web.ID), inc.Instance(bare.ID)
	if w.Outcome != execution.OutcomeNotContained || w.CurrentStep != "Detach Instance Profile" || !strings.Contains(w.Cause, "Detach Instance Profile failed") || w.Evidence != nil {
		t.Errorf("the web server: %+v", w)
	}
	if b.Outcome != execution.OutcomeContained || b.Containment == nil || b.Evidence == nil {
		t.Errorf("the bare instance: %+v", b)
	}
	if !strings.Contains(r.stderr, web.ID+"  containment  FAILED in Detach Instance Profile: ") {
		t.Error("the progress on stderr does not say where the web server failed")
	}

	// The report says it too, with the record the failed containment
	// kept, verified, and the network to restore: the ENIs were isolated
	// before the step that failed.
	r = essentialIR(t, "report", incident)
	if r.code != ExitAttention {
		t.Fatalf("report: exit %d, want %d", r.code, ExitAttention)
	}
	for _, want := range []string{
		"**NOT CONTAINED: failed in step Detach Instance Profile**", "Detach Instance Profile failed",
		"The containment did not finish", "termination protection  not recorded",
		"Evidence: every SHA-256 verifies",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	for eni := range web.GroupsByENI {
		if !strings.Contains(r.stdout, "--network-interface-id "+eni+" --groups ") {
			t.Errorf("the report does not restore %s", eni)
		}
	}
	if !strings.Contains(r.stderr, web.ID+": NOT CONTAINED (failed in Detach Instance Profile)") {
		t.Error("stderr does not name the instance not contained")
	}
}

func TestContainWithoutWaitingThenStatus(t *testing.T) {
	ctx := context.Background()
	bare := build(t, scene.BareInstance())
	incident := incidentID(t)
	r := essentialIR(t, "contain", "--wait=false", "--incident", incident, bare.ID)
	arn := executionOf(incident)
	if r.code != ExitOK || !strings.Contains(r.stdout, arn) || !strings.Contains(r.stdout, "essential-ir status "+incident) {
		t.Fatalf("exit %d; the execution or how to follow it is not printed", r.code)
	}
	if strings.Contains(r.stdout, bare.ID) {
		t.Error("--wait=false followed the instance")
	}
	if _, err := emu.WaitExecution(ctx, arn, executionTimeout); err != nil {
		t.Fatal(err)
	}

	r = essentialIR(t, "status", incident)
	if r.code != ExitOK || !strings.Contains(r.stdout, bare.ID+"  CONTAINED, evidence preserved") {
		t.Fatalf("status: exit %d", r.code)
	}
	children, err := emu.Children(ctx, arn)
	if err != nil || len(children) != 2 {
		t.Fatalf("children %v, %v", children, err)
	}
	for _, c := range children {
		if !strings.Contains(r.stdout, execution.ConsoleLink(c)) {
			t.Errorf("status lacks the link to %s", c)
		}
	}

	// By ARN, as JSON, without naming the state machine.
	full := Run(ctx, []string{"--endpoint-url", emu.Endpoint(), "--output", "json", "status", arn}, Streams{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
	if full != ExitOK {
		t.Fatalf("status by ARN: exit %d", full)
	}
	r = essentialIR(t, "status", "--output", "json", arn)
	var inc execution.Incident
	if err := json.Unmarshal([]byte(r.stdout), &inc); err != nil {
		t.Fatal(err)
	}
	i := inc.Instance(bare.ID)
	if inc.Status != execution.StatusSucceeded || i == nil || i.Outcome != execution.OutcomeContained ||
		i.Containment.ExecutionARN != children[0] || i.Evidence.ExecutionARN != children[1] {
		t.Errorf("status JSON: %+v", inc)
	}
}

// Ctrl-C stops following, never the execution.
func TestContainInterruptedLeavesTheContainmentRunning(t *testing.T) {
	bare := build(t, scene.BareInstance())
	incident := incidentID(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := essentialIRWith(t, ctx, func(s string) {
		if strings.Contains(s, bare.ID) && strings.Contains(s, "containment  started") {
			cancel()
		}
	}, "contain", "--incident", incident, "--poll-interval", "20ms", bare.ID)
	if r.code != ExitInterrupted || !strings.Contains(r.stdout, "The containment was NOT stopped") || !strings.Contains(r.stdout, "essential-ir status "+incident) {
		t.Fatalf("exit %d, want %d with what to do", r.code, ExitInterrupted)
	}
	ex, err := emu.WaitExecution(context.Background(), executionOf(incident), executionTimeout)
	if err != nil || ex.Status != execution.StatusSucceeded {
		t.Errorf("the execution after the interruption: %+v, %v", ex, err)
	}
}

// On a terminal, a status line is drawn and redrawn in place under the
// step lines.
func TestContainOnATerminal(t *testing.T) {
	bare := build(t, scene.BareInstance())
	var stdout, stderr syncBuffer
	code := Run(context.Background(), []string{"--endpoint-url", emu.Endpoint(), "--region", emu.Region(), "--state-machine", deployed.StateMachineARN,
		"contain", "--incident", incidentID(t), "--poll-interval", "20ms", bare.ID}, Streams{Stdout: &stdout, Stderr: &stderr, StdoutTTY: true})
	out := stdout.String()
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, stderr.String())
	}
	if !strings.Contains(out, ansiClearLine) || !strings.Contains(out, "Ctrl-C stops following only") {
		t.Error("no status line on a terminal")
	}
	if strings.Count(out, ansiClearLine) < 2 || !strings.Contains(out, bare.ID+"  CONTAINED, evidence preserved") {
		t.Errorf("the status line is not cleared before the outcome:\n%q", out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
