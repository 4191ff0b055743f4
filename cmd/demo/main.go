// Command demo contains a compromised web server end to end, on an emulated
// AWS account, and shows what changed.
//
// It starts the emulator (moto 5.2.1, patched; see internal/emulator),
// synthesizes the essential-ir CDK stack and creates its state machine from
// the synthesized definition, builds a realistic compromised web server (3
// ENIs, 3 volumes of which 1 is encrypted, an instance profile, an Auto
// Scaling group and 2 target groups behind 2 ALBs), reads its state, runs
// the containment workflow on it, reads its state again and prints both side
// by side, followed by the execution's outcome.
//
// Usage:
//
//	go run ./cmd/demo [-instances N] [-json] [-color]
//
// The exit code is 0 if the execution SUCCEEDED and 1 if it failed or the
// demo could not run. Ctrl-C or SIGTERM stops the emulator before exiting.
// It needs python3 with moto 5.2.1 (pip install 'moto[server]==5.2.1').
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/inspect"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/internal/synth"
	"github.com/essential-ir/essential-ir/statemachine"
)

// executionTimeout bounds the wait for the containment execution.
const executionTimeout = 5 * time.Minute

// maxInstances is the most instances this command builds in the emulated
// account; one execution accepts up to statemachine.MaxInstancesPerExecution.
const maxInstances = 100

// stateMachineName is the name the state machine is created with.
const stateMachineName = "essential-ir"

func main() {
	os.Exit(run())
}

// options are the command-line flags.
type options struct {
	instances int
	json      bool
	color     bool
}

func run() int {
	var opts options
	flag.IntVar(&opts.instances, "instances", 1, "number of compromised web servers contained in one execution")
	flag.BoolVar(&opts.json, "json", false, "print the before/after states and the execution as JSON instead of the table")
	flag.BoolVar(&opts.color, "color", false, "highlight changed rows of the table with ANSI colours")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./cmd/demo [flags]\n\n"+
			"Contains compromised EC2 web servers with the essential-ir state machine on an\n"+
			"emulated AWS account and shows each instance before and after.\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || opts.instances < 1 || opts.instances > maxInstances {
		fmt.Fprintf(os.Stderr, "demo: -instances must be between 1 and %d and no arguments are accepted\n", maxInstances)
		flag.Usage()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	d := &demo{opts: opts, out: os.Stdout, progress: os.Stdout, start: time.Now()}
	if opts.json {
		d.progress = os.Stderr // keep stdout pure JSON
	}
	status, err := d.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Whatever failed, it failed because of the signal.
			fmt.Fprintln(os.Stderr, "demo: interrupted; the emulator has been stopped")
			return 1
		}
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		if errors.Is(err, emulator.ErrMissingDependency) {
			fmt.Fprintf(os.Stderr, "demo: install it with: %s\n", emulator.InstallHint)
		}
		return 1
	}
	if status != "SUCCEEDED" {
		return 1
	}
	return 0
}

// demo holds one run's settings, outputs and timings.
type demo struct {
	opts     options
	out      io.Writer // the table or the JSON
	progress io.Writer // progress lines
	start    time.Time
	phases   []phase
}

// phase is a timed step, reported with the wall time.
type phase struct {
	name string
	took time.Duration
}

// step prints what is about to happen, runs f, and completes the line with
// f's result and the time taken.
func (d *demo) step(name, msg string, f func() (string, error)) error {
	fmt.Fprintf(d.progress, "%s... ", msg)
	t := time.Now()
	result, err := f()
	took := time.Since(t)
	if err != nil {
		fmt.Fprintf(d.progress, "failed after %s\n", round(took))
		return err
	}
	d.phases = append(d.phases, phase{name, took})
	if result != "" {
		result += ", "
	}
	fmt.Fprintf(d.progress, "%sdone in %s\n", result, round(took))
	return nil
}

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// report is what -json prints.
type report struct {
	Instances []instanceReport `json:"instances"`
	Execution executionReport  `json:"execution"`
	// WallTimeSeconds covers the whole demo, emulator start to last read.
	WallTimeSeconds float64 `json:"wallTimeSeconds"`
}

type instanceReport struct {
	InstanceID string                 `json:"instanceId"`
	Before     *inspect.InstanceState `json:"before"`
	After      *inspect.InstanceState `json:"after"`
}

type executionReport struct {
	ARN    string `json:"arn"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// Output is the execution output (JSON), null unless it succeeded.
	Output json.RawMessage `json:"output"`
	// Instances are the outcomes of the instances' own executions: the
	// output of each that succeeded, the error and cause of each that
	// failed.
	Instances []json.RawMessage `json:"instances"`
	// HistoryEvents counts the events of the execution and of every
	// instance execution it started.
	HistoryEvents   int     `json:"historyEvents"`
	DurationSeconds float64 `json:"durationSeconds"`
}

// run performs the demo and returns the execution's status.
func (d *demo) run(ctx context.Context) (string, error) {
	var emu *emulator.Emulator
	err := d.step("emulator", "Starting the emulated AWS account", func() (string, error) {
		var err error
		emu, err = emulator.Start(ctx, emulator.Options{})
		if err != nil {
			return "", fmt.Errorf("start emulator: %w", err)
		}
		return fmt.Sprintf("account %s in %s", emu.AccountID(), emu.Region()), nil
	})
	if err != nil {
		return "", err
	}
	defer func() {
		if err := emu.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "demo: stop emulator: %v\n", err)
		}
	}()

	var machineARN string
	err = d.step("synthesis", "Synthesizing the CDK stack and creating the state machine from its definition", func() (string, error) {
		var err error
		machineARN, err = createStateMachine(ctx, emu)
		return "", err
	})
	if err != nil {
		return "", err
	}

	instances, err := d.buildScene(ctx, emu)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(instances))
	for i, inst := range instances {
		ids[i] = inst.ID
	}

	cfg := emu.AWSConfig()
	before := make([]*inspect.InstanceState, len(ids))
	err = d.step("inspect before", "Inspecting "+plural(len(ids), "instance")+" before containment", func() (string, error) {
		for i, id := range ids {
			var err error
			if before[i], err = inspect.Snapshot(ctx, cfg, id); err != nil {
				return "", fmt.Errorf("inspect before containment: %w", err)
			}
		}
		return "", nil
	})
	if err != nil {
		return "", err
	}

	input, err := json.Marshal(map[string]interface{}{"InstanceIds": ids, "Region": emu.Region()})
	if err != nil {
		return "", fmt.Errorf("encode execution input: %w", err)
	}
	var ex *emulator.Execution
	err = d.step("execution", "Running the containment workflow on "+strings.Join(ids, ", "), func() (string, error) {
		arn, err := emu.StartExecution(ctx, machineARN, string(input))
		if err != nil {
			return "", err
		}
		ex, err = emu.WaitExecution(ctx, arn, executionTimeout)
		if err != nil {
			return "", fmt.Errorf("wait for execution: %w", err)
		}
		return ex.Status, nil
	})
	if err != nil {
		return "", err
	}

	after := make([]*inspect.InstanceState, len(ids))
	err = d.step("inspect after", "Inspecting "+plural(len(ids), "instance")+" after containment", func() (string, error) {
		for i, id := range ids {
			var err error
			if after[i], err = inspect.Snapshot(ctx, cfg, id); err != nil {
				return "", fmt.Errorf("inspect after containment: %w", err)
			}
		}
		return "", nil
	})
	if err != nil {
		return "", err
	}

	history, err := emu.HistoryTree(ctx, ex.ARN)
	if err != nil {
		return "", err
	}
	outcomes, err := instanceOutcomes(ctx, emu, ex.ARN)
	if err != nil {
		return "", err
	}

	if d.opts.json {
		return ex.Status, d.printJSON(ids, before, after, ex, outcomes, len(history))
	}
	fmt.Fprintln(d.out)
	for i := range ids {
		fmt.Fprint(d.out, inspect.RenderWith(before[i], after[i], inspect.RenderOptions{Color: d.opts.color}))
		fmt.Fprintln(d.out)
	}
	d.printExecution(ex, outcomes, len(history))
	return ex.Status, nil
}

// instanceOutcomes reads the outcome of each instance execution the
// execution started (each instance's containment, then its evidence): its
// output if it succeeded, else {"InstanceId", "Phase", "Outcome": "FAILED",
// "Error", "Cause"}.
func instanceOutcomes(ctx context.Context, emu *emulator.Emulator, arn string) ([]string, error) {
	children, err := emu.Children(ctx, arn)
	if err != nil {
		return nil, fmt.Errorf("list the instance executions: %w", err)
	}
	var out []string
	for _, c := range children {
		child, err := emu.Describe(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("describe instance execution %s: %w", c, err)
		}
		var phase struct{ Phase string }
		if json.Unmarshal([]byte(child.Input), &phase) == nil && phase.Phase == statemachine.RevokePhase {
			continue // the fleet's credential revocation: its outcome is in the execution's output
		}
		if child.Status == "SUCCEEDED" {
			out = append(out, child.Output)
			continue
		}
		var in struct{ InstanceId, Phase string }
		_ = json.Unmarshal([]byte(child.Input), &in) // best effort: the heading only
		failed, err := json.Marshal(map[string]string{"InstanceId": in.InstanceId, "Phase": in.Phase, "Outcome": child.Status, "Error": child.Error, "Cause": child.Cause})
		if err != nil {
			return nil, fmt.Errorf("encode the outcome of %s: %w", c, err)
		}
		out = append(out, string(failed))
	}
	return out, nil
}

// createStateMachine synthesizes the stack and creates its state machine in
// the emulator, from the definition a deployment in the emulated account and
// region would run.
func createStateMachine(ctx context.Context, emu *emulator.Emulator) (string, error) {
	type result struct {
		arn string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tpl, err := synth.Synthesize()
		if err != nil {
			done <- result{err: fmt.Errorf("synthesize stack: %w", err)}
			return
		}
		// The jsii kernel (a node process) is not needed after synthesis.
		jsii.Close()
		d, err := deploy.Deploy(ctx, emu, tpl, stateMachineName, nil)
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{arn: d.StateMachineARN}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return "", fmt.Errorf("synthesize stack: %w", ctx.Err())
	}
	return r.arn, r.err
}

// sceneDescription says what each compromised web server is made of.
const sceneDescription = "3 ENIs, 3 volumes (1 encrypted), instance profile, Auto Scaling group, 2 target groups behind 2 ALBs, a classic ELB, an Elastic IP"

// buildScene builds the compromised web servers: one in its own VPC, or
// several in one shared VPC.
func (d *demo) buildScene(ctx context.Context, emu *emulator.Emulator) ([]*scene.Instance, error) {
	b := scene.New(emu.AWSConfig())
	spec := scene.CompromisedWebServer()
	var instances []*scene.Instance
	msg := "Building a compromised web server: " + sceneDescription
	if d.opts.instances > 1 {
		msg = fmt.Sprintf("Building %d compromised web servers in one VPC, each with %s", d.opts.instances, sceneDescription)
	}
	err := d.step("scene", msg, func() (string, error) {
		if d.opts.instances == 1 {
			inst, err := b.Instance(ctx, spec)
			if err != nil {
				return "", fmt.Errorf("build compromised web server: %w", err)
			}
			instances = []*scene.Instance{inst}
		} else {
			vpc, err := b.VPC(ctx, "web-vpc")
			if err != nil {
				return "", fmt.Errorf("build VPC for the web servers: %w", err)
			}
			if instances, err = b.Fleet(ctx, []*scene.VPC{vpc}, d.opts.instances, spec); err != nil {
				return "", fmt.Errorf("build compromised web servers: %w", err)
			}
		}
		names := make([]string, len(instances))
		for i, inst := range instances {
			names[i] = inst.ID
		}
		return strings.Join(names, ", "), nil
	})
	return instances, err
}

// printExecution prints the execution's outcome: status, its output (or
// error), each instance execution's outcome, ARN, history size and timings.
func (d *demo) printExecution(ex *emulator.Execution, outcomes []string, events int) {
	w := d.out
	fmt.Fprintf(w, "Execution status: %s\n", ex.Status)
	if ex.Status == "SUCCEEDED" {
		fmt.Fprintln(w, compactJSON(ex.Output))
	} else {
		fmt.Fprintf(w, "Error: %s\nCause: %s\n", ex.Error, ex.Cause)
	}
	for _, s := range instanceSummaries(outcomes) {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintf(w, "Execution ARN:  %s\n", ex.ARN)
	fmt.Fprintf(w, "History events: %d (the execution and its instance executions)\n", events)
	var parts []string
	for _, p := range d.phases {
		parts = append(parts, fmt.Sprintf("%s %s", p.name, round(p.took)))
	}
	fmt.Fprintf(w, "Wall time:      %s (%s)\n", round(time.Since(d.start)), strings.Join(parts, ", "))
}

// summaryWidth is the width compactJSON keeps lines within where it can.
const summaryWidth = 100

// instanceSummaries returns the instance executions' outcomes as compact
// pretty JSON under a heading, one string each.
func instanceSummaries(outcomes []string) []string {
	s := make([]string, len(outcomes))
	for i, raw := range outcomes {
		var head struct{ InstanceId, Outcome, Phase string }
		_ = json.Unmarshal([]byte(raw), &head) // best effort: the heading only
		phase := "containment"
		if head.Outcome == "PRESERVED" || head.Phase == statemachine.EvidencePhase {
			phase = "evidence"
		}
		s[i] = fmt.Sprintf("Instance %s, %s (its own execution): %s\n%s", head.InstanceId, phase, head.Outcome, compactJSON(raw))
	}
	return s
}

// compactJSON pretty-prints JSON, keeping on one line every array or object
// that fits within summaryWidth; s is returned unchanged if it is not JSON.
func compactJSON(s string) string {
	var v interface{}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return s
	}
	var sb strings.Builder
	writeCompact(&sb, v, "", 0)
	return sb.String()
}

// writeCompact writes v at the given indent; used is how many columns the
// current line already holds before v.
func writeCompact(sb *strings.Builder, v interface{}, indent string, used int) {
	oneLine := flatJSON(v)
	switch x := v.(type) {
	case map[string]interface{}:
		if len(x) == 0 || used+len(oneLine) <= summaryWidth {
			sb.WriteString(oneLine)
			return
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sb.WriteString("{\n")
		for i, k := range keys {
			key, _ := json.Marshal(k)
			prefix := indent + "  " + string(key) + ": "
			sb.WriteString(prefix)
			writeCompact(sb, x[k], indent+"  ", len(prefix))
			if i < len(keys)-1 {
				sb.WriteString(",")
			}
			sb.WriteString("\n")
		}
		sb.WriteString(indent + "}")
	case []interface{}:
		if len(x) == 0 || used+len(oneLine) <= summaryWidth {
			sb.WriteString(oneLine)
			return
		}
		sb.WriteString("[\n")
		for i, e := range x {
			sb.WriteString(indent + "  ")
			writeCompact(sb, e, indent+"  ", len(indent)+2)
			if i < len(x)-1 {
				sb.WriteString(",")
			}
			sb.WriteString("\n")
		}
		sb.WriteString(indent + "]")
	default:
		sb.WriteString(oneLine)
	}
}

// flatJSON encodes v on one line with a space after each colon and comma,
// object keys sorted.
func flatJSON(v interface{}) string {
	switch x := v.(type) {
	case map[string]interface{}:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = flatJSON(k) + ": " + flatJSON(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []interface{}:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = flatJSON(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		var buf strings.Builder
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Sprintf("%q", fmt.Sprint(v))
		}
		return strings.TrimSuffix(buf.String(), "\n")
	}
}

func (d *demo) printJSON(ids []string, before, after []*inspect.InstanceState, ex *emulator.Execution, outcomes []string, events int) error {
	r := report{
		Execution: executionReport{
			ARN:             ex.ARN,
			Status:          ex.Status,
			Error:           ex.Error,
			Cause:           ex.Cause,
			HistoryEvents:   events,
			DurationSeconds: ex.Stop.Sub(ex.Start).Seconds(),
		},
		WallTimeSeconds: time.Since(d.start).Seconds(),
	}
	if json.Valid([]byte(ex.Output)) {
		r.Execution.Output = json.RawMessage(ex.Output)
	}
	for _, o := range outcomes {
		if json.Valid([]byte(o)) {
			r.Execution.Instances = append(r.Execution.Instances, json.RawMessage(o))
		}
	}
	for i, id := range ids {
		r.Instances = append(r.Instances, instanceReport{InstanceID: id, Before: before[i], After: after[i]})
	}
	enc := json.NewEncoder(d.out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// plural formats a count with its noun: "1 instance", "3 instances".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
