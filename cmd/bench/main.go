// Command bench measures the essential-ir workflow against a baseline in the
// seed's order, on the emulated AWS account: N compromised web servers with V
// volumes each, spread over new VPCs, one execution per design and fleet
// size, each design in its own account. It prints, side by side with ratios, the state
// transitions, history events and AWS calls per instance (in total and per
// action, with the minimum the actions and their checks need), the
// sequential AWS calls from the start until every ENI of an instance is
// isolated, the largest state payload and the wall time; then the
// extrapolation to a fleet of 1,000 instances in one execution and issue
// 7's targets, met or not.
//
//	go run ./cmd/bench                                  # fleets of 1 and 5, about 3 minutes
//	go run ./cmd/bench -instances 1,5,10,20 -volumes 3  # Documentation/performance.md, about 12
//
// Exit status: 0 when every execution succeeded and every instance was
// verified contained, 1 otherwise or on error, 2 on bad usage.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/internal/bench"
	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/synth"
	"github.com/essential-ir/essential-ir/statemachine"
)

// maxInstances is the most instances this command builds in the emulated
// account; one execution accepts up to statemachine.MaxInstancesPerExecution.
const maxInstances = 100

type options struct {
	instances []int
	volumes   int
	vpcs      int
	existing  bool
	pastPage  bool
	baseline  bool
	json      bool
	timeout   time.Duration
	// histories is where execution histories are kept ("" nowhere).
	histories string
	// render is a saved -json report to print as tables ("" measures).
	render string
	// definition is a file holding the ASL to measure instead of the
	// synthesized one ("" synthesizes).
	definition string
}

func main() {
	os.Exit(run())
}

// run measures (or renders) and returns the exit status.
func run() int {
	var opts options
	sizes := flag.String("instances", "1,5", "comma-separated fleet sizes; each is one execution per design")
	flag.IntVar(&opts.volumes, "volumes", 3, "EBS volumes per instance (the first 3 as in the demo's web server, then alternately encrypted)")
	flag.IntVar(&opts.vpcs, "vpcs", 2, "VPCs each fleet is spread over")
	flag.BoolVar(&opts.existing, "existing", true, "also measure essential-ir on 1 instance in a VPC whose containment groups exist")
	flag.BoolVar(&opts.pastPage, "past-page", true, "with -existing, also measure essential-ir on 1 instance in a region with more target groups and classic load balancers than one page of 100")
	flag.BoolVar(&opts.baseline, "baseline", true, "also run the baseline (the seed's order) on the same scenes")
	flag.BoolVar(&opts.json, "json", false, "print the report as JSON instead of tables")
	flag.DurationVar(&opts.timeout, "timeout", 10*time.Minute, "bound on each execution")
	flag.StringVar(&opts.histories, "histories", "", "write every execution's history and definition as JSON into this directory")
	flag.StringVar(&opts.render, "render", "", "print a report saved with -json as tables, measuring nothing (the minimum, targets and scale estimate are derived again)")
	flag.StringVar(&opts.definition, "definition", "", "measure the ASL in this file (CloudFormation references resolved) instead of synthesizing the stack")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./cmd/bench [flags]\n\n"+
			"Measures the essential-ir workflow and a baseline in the seed's order on an emulated\n"+
			"AWS account, side by side (see Documentation/performance.md).\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	var err error
	if opts.instances, err = parseSizes(*sizes); err != nil || flag.NArg() > 0 || opts.volumes < 1 || opts.vpcs < 1 {
		if err == nil {
			err = errors.New("-volumes and -vpcs must be at least 1 and no arguments are accepted")
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		flag.Usage()
		return 2
	}

	if opts.render != "" {
		return render(opts.render)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start, loadStart := time.Now(), loadAverage()
	report, err := measure(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: interrupted")
			return 1
		}
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		if errors.Is(err, emulator.ErrMissingDependency) {
			fmt.Fprintf(os.Stderr, "bench: install it with: %s\n", emulator.InstallHint)
		}
		if report == nil {
			return 1
		}
	}
	report.WallSeconds = time.Since(start).Seconds()
	if loadStart != "" {
		report.Load = fmt.Sprintf("%s at the start, %s at the end", loadStart, loadAverage())
	}
	if opts.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(report); werr != nil {
			fmt.Fprintf(os.Stderr, "bench: write JSON: %v\n", werr)
			return 1
		}
	} else if werr := report.WriteTable(os.Stdout); werr != nil {
		fmt.Fprintf(os.Stderr, "bench: write report: %v\n", werr)
		return 1
	}
	if err != nil {
		return 1
	}
	for _, r := range report.Results {
		if r.Status != "SUCCEEDED" || len(r.Problems) > 0 {
			return 1
		}
	}
	return 0
}

// render prints a saved JSON report as tables.
func render(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	var report bench.Report
	if err := json.Unmarshal(b, &report); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s is not a saved report: %v\n", path, err)
		return 1
	}
	// The measurements are kept; what is derived from them follows the
	// current model.
	report.Recompute()
	if err := report.WriteTable(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: write report: %v\n", err)
		return 1
	}
	return 0
}

// parseSizes parses "1,5,10" into distinct fleet sizes within 1..maxInstances.
func parseSizes(s string) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxInstances {
			return nil, fmt.Errorf("-instances: %q is not a fleet size between 1 and %d", f, maxInstances)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// measure runs the benchmark; the report holds whatever was measured even
// when err is not nil.
func measure(ctx context.Context, opts options) (*bench.Report, error) {
	ours := bench.Design{Name: "essential-ir", SharedGroups: true, ValidatesInput: true, ListingPage: statemachine.ListingPageSize}
	if opts.definition != "" {
		b, err := os.ReadFile(opts.definition)
		if err != nil {
			return nil, fmt.Errorf("read -definition: %w", err)
		}
		ours.Definition = string(b)
	} else {
		synthesized := synthesizeInBackground()
		ours.Prepare = func(ctx context.Context) error {
			_, err := synthesized(ctx)
			return err
		}
		ours.Deploy = func(ctx context.Context, emu *emulator.Emulator, name string) (string, string, error) {
			tpl, err := synthesized(ctx)
			if err != nil {
				return "", "", err
			}
			d, err := deploy.Deploy(ctx, emu, tpl, name, nil)
			if err != nil {
				return "", "", err
			}
			return d.StateMachineARN, d.Definition, nil
		}
	}
	designs := []bench.Design{ours}
	if opts.baseline {
		def, err := bench.BaselineDefinition()
		if err != nil {
			return nil, err
		}
		designs = append(designs, bench.Design{Name: "baseline", Definition: def, ListingPage: bench.BaselineListingPage})
	}
	ms, err := bench.Run(ctx, bench.Options{
		Instances:  opts.instances,
		Volumes:    opts.volumes,
		VPCs:       opts.vpcs,
		Existing:   opts.existing,
		PastAPage:  opts.pastPage,
		Timeout:    opts.timeout,
		Progress:   os.Stderr,
		HistoryDir: opts.histories,
	}, designs)
	report := bench.NewReport(designs, ms)
	report.Date = time.Now().Format("2006-01-02")
	report.Machine = machine()
	report.Command = "go run ./cmd/bench " + strings.Join(os.Args[1:], " ")
	report.Volumes, report.VPCs = opts.volumes, opts.vpcs
	return report, err
}

// synthesizeInBackground starts synthesizing the CDK stack at once and
// returns a function that waits for the template; it may be called any
// number of times.
func synthesizeInBackground() func(context.Context) (*synth.Template, error) {
	var (
		tpl  *synth.Template
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tpl, err = synth.Synthesize()
		// The jsii kernel (a node process) is not needed after synthesis.
		jsii.Close()
		if err != nil {
			err = fmt.Errorf("synthesize stack: %w", err)
		}
	}()
	return func(ctx context.Context) (*synth.Template, error) {
		select {
		case <-done:
			return tpl, err
		case <-ctx.Done():
			return nil, fmt.Errorf("synthesize stack: %w", ctx.Err())
		}
	}
}

// loadAverage is the 1-minute load average ("" if unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// machine describes where the benchmark ran.
func machine() string {
	mem := ""
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb float64
			if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %f kB", &kb); err == nil {
				mem = fmt.Sprintf(", %.0f GiB", kb/(1<<20))
				break
			}
		}
	}
	return fmt.Sprintf("%d cores%s, %s, emulated AWS account (moto 5.2.1 via internal/emulator)", runtime.NumCPU(), mem, runtime.Version())
}
