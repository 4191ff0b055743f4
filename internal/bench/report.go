package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// FleetTarget is the fleet size the scale estimate is computed for (issue 7).
const FleetTarget = 1000

// Result is one measurement with the minimum for its design's actions.
type Result struct {
	Measurement
	Minimum Minimum `json:"minimum"`
}

// Target is one of issue 7's targets and whether the measurements meet it.
type Target struct {
	Name string `json:"name"`
	// Measured is the measured value, Goal the target value, in words.
	Measured string `json:"measured"`
	Goal     string `json:"goal"`
	Met      bool   `json:"met"`
	// Known is false when nothing measured it (for example no run with
	// existing groups).
	Known bool `json:"known"`
}

// Report is everything cmd/bench prints.
type Report struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// Load is the machine's 1-minute load average at the start and the end
	// of the run: the emulator shares the cores with whatever else runs.
	Load    string   `json:"loadAverage"`
	Command string   `json:"command"`
	Designs []string `json:"designs"`
	Volumes int      `json:"volumesPerInstance"`
	VPCs    int      `json:"vpcs"`
	// Results are per design and fleet size, as measured.
	Results []Result `json:"results"`
	// Targets are issue 7's, for the first design.
	Targets []Target `json:"targets"`
	// Scale extrapolates each design to FleetTarget instances.
	Scale []ScaleEstimate `json:"scale"`
	// WallSeconds is the whole run, emulator starts and scene building
	// included.
	WallSeconds float64 `json:"wallSeconds"`
}

// NewReport assembles a report; designs[0] is the design under test and
// designs[1], if any, the baseline it is compared with.
func NewReport(designs []Design, ms []Measurement) *Report {
	r := &Report{}
	for _, d := range designs {
		r.Designs = append(r.Designs, d.Name)
	}
	for _, m := range ms {
		r.Results = append(r.Results, Result{Measurement: m, Minimum: MinimumFor(&m)})
	}
	r.Targets = targets(r)
	r.Scale = Estimate(ms, FleetTarget)
	return r
}

// Recompute derives again, from the saved measurements, everything the
// report computes from them (each minimum, the targets, the scale
// estimate), with the current model.
func (r *Report) Recompute() {
	ms := make([]Measurement, len(r.Results))
	for i := range r.Results {
		ms[i] = r.Results[i].Measurement
		r.Results[i].Minimum = MinimumFor(&ms[i])
	}
	r.Targets = targets(r)
	r.Scale = Estimate(ms, FleetTarget)
}

// find returns the result of design at n instances with the given groups.
func (r *Report) find(design string, n int, groups string) *Result {
	for i := range r.Results {
		x := &r.Results[i]
		if x.Design == design && x.Instances == n && x.Groups == groups {
			return x
		}
	}
	return nil
}

// perInstance divides by the number of instances.
func perInstance(v, n int) float64 { return float64(v) / float64(max(n, 1)) }

// targets checks issue 7's targets against the first design's results.
func targets(r *Report) []Target {
	if len(r.Designs) == 0 {
		return nil
	}
	ours := r.Designs[0]
	var out []Target
	depth := func(groups string, goal int, name string) {
		t := Target{Name: name, Goal: fmt.Sprintf("≤ %d sequential calls, safety steps first", goal)}
		worst, safety := -1, 6
		for _, x := range r.Results {
			if x.Design != ours || x.Groups != groups || x.Status != "SUCCEEDED" {
				continue
			}
			t.Known = true
			worst = max(worst, x.Isolation.MaxDepth)
			safety = min(safety, len(x.Isolation.SafetyBefore))
		}
		if t.Known {
			t.Measured = fmt.Sprintf("%d sequential calls; %d of 6 safety steps before it", worst, safety)
			t.Met = worst <= goal && safety == int(safetyKinds)
		} else {
			t.Measured = "not measured"
		}
		out = append(out, t)
	}
	depth("existing", 4, "Isolation when the VPC's groups exist")
	depth("created", 6, "Isolation when the VPC's groups are created")

	if len(r.Designs) > 1 {
		base := r.Designs[1]
		t := Target{Name: "State transitions per instance", Goal: "≤ baseline's", Met: true}
		var parts []string
		for _, x := range r.Results {
			b := r.find(base, x.Instances, "created")
			if x.Design != ours || x.Groups != "created" || b == nil {
				continue
			}
			t.Known = true
			o, bl := perInstance(x.Transitions, x.Instances), perInstance(b.Transitions, b.Instances)
			parts = append(parts, fmt.Sprintf("N=%d: %.1f vs %.1f", x.Instances, o, bl))
			t.Met = t.Met && o <= bl
		}
		t.Measured = strings.Join(parts, "; ")
		t.Met = t.Met && t.Known
		out = append(out, t)
	}

	t := Target{Name: "AWS calls per instance", Goal: "≤ 1.2 × the minimum of its actions and checks", Met: true}
	var parts []string
	for _, x := range r.Results {
		if x.Design != ours || x.Status != "SUCCEEDED" {
			continue
		}
		t.Known = true
		calls := perInstance(x.Calls, x.Instances)
		ratio := calls / x.Minimum.Total
		parts = append(parts, fmt.Sprintf("N=%d %s: %.1f / %.1f = %.2f", x.Instances, x.Groups, calls, x.Minimum.Total, ratio))
		t.Met = t.Met && ratio <= 1.2
	}
	t.Measured = strings.Join(parts, "; ")
	t.Met = t.Met && t.Known
	out = append(out, t)
	return out
}

// WriteTable prints the report as aligned tables.
func (r *Report) WriteTable(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.printf("essential-ir benchmark, %s, %s\n", r.Date, r.Machine)
	if r.Load != "" {
		bw.printf("Load average (1 min): %s\n", r.Load)
	}
	bw.printf("Command: %s\n", r.Command)
	if len(r.Results) > 0 {
		f := r.Results[0].Scene
		bw.printf("Scene per instance: %d ENIs, %d volumes (%d unencrypted), instance profile %s, Auto Scaling group %s, %d target groups, %d classic load balancer(s), %d Elastic IP(s); each fleet in %d new VPC(s), one emulated account per design\n",
			f.ENIs, f.Volumes, f.UnencryptedVolumes, yesNo(f.InstanceProfile), yesNo(f.AutoScalingGroup), f.TargetGroups, f.ClassicLoadBalancers, f.ElasticIPs, r.VPCs)
	}
	ours := ""
	base := ""
	if len(r.Designs) > 0 {
		ours = r.Designs[0]
	}
	if len(r.Designs) > 1 {
		base = r.Designs[1]
	}
	for _, x := range r.Results {
		if x.Design != ours {
			continue
		}
		b := r.find(base, x.Instances, "created")
		title := fmt.Sprintf("%d instance(s), containment groups %s", x.Instances, x.Groups)
		if x.Groups == "existing" && b != nil {
			title += " (the baseline always creates a group per instance: its figures are from the same fleet size)"
		}
		bw.printf("\n== %s ==\n", title)
		r.writeComparison(bw, &x, b)
		r.writeActions(bw, &x, b)
		if len(x.CriticalPath) > 0 {
			bw.printf("\nLongest chain of dependent calls to isolation, %s:\n", ours)
			for i, s := range x.CriticalPath {
				bw.printf("  %2d. %s\n", i+1, s)
			}
		}
		if b != nil && len(b.CriticalPath) > 0 && x.Groups == "created" {
			bw.printf("Longest chain of dependent calls to isolation, %s:\n", base)
			for i, s := range b.CriticalPath {
				bw.printf("  %2d. %s\n", i+1, s)
			}
		}
	}
	r.writeScale(bw)
	bw.printf("\nTargets (issue 7), for %s:\n", ours)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		status := "NOT MET"
		switch {
		case !t.Known:
			status = "NOT MEASURED"
		case t.Met:
			status = "met"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Goal, status, t.Measured)
	}
	_ = tw.Flush()
	bw.printf("\nWall time of the whole run: %.0f s\n", r.WallSeconds)
	return bw.err
}

func (r *Report) writeComparison(bw *errWriter, x, b *Result) {
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\t" + x.Design + "\t"
	if b != nil {
		head += b.Design + "\tratio\t"
	}
	fmt.Fprintln(tw, head)
	row := func(name string, o, bl float64, format string) {
		line := name + "\t" + fmt.Sprintf(format, o) + "\t"
		if b != nil {
			line += fmt.Sprintf(format, bl) + "\t" + ratio(o, bl) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	text := func(name, o, bl string) {
		line := name + "\t" + o + "\t"
		if b != nil {
			line += bl + "\t\t"
		}
		fmt.Fprintln(tw, line)
	}
	bm := &Result{}
	if b != nil {
		bm = b
	}
	text("Execution status", x.Status, bm.Status)
	text("Verified contained", contained(x), contained(bm))
	row("State transitions per instance", perInstance(x.Transitions, x.Instances), perInstance(bm.Transitions, bm.Instances), "%.1f")
	row("Executions (started + the instances' own)", float64(x.Executions), float64(bm.Executions), "%.0f")
	text("Instance executions running at once (max)", atOnce(x), atOnce(bm))
	row("History events, all executions", float64(x.HistoryEvents), float64(bm.HistoryEvents), "%.0f")
	row("History events, largest execution", float64(largestExecution(x.Measurement)), float64(largestExecution(bm.Measurement)), "%.0f")
	row("History events per instance", perInstance(x.HistoryEvents, x.Instances), perInstance(bm.HistoryEvents, bm.Instances), "%.1f")
	row("  of which account-wide scans", perInstance(x.ScanEvents, x.Instances), perInstance(bm.ScanEvents, bm.Instances), "%.1f")
	row("AWS calls per execution", float64(x.Calls), float64(bm.Calls), "%.0f")
	row("AWS calls per instance", perInstance(x.Calls, x.Instances), perInstance(bm.Calls, bm.Instances), "%.1f")
	row("Minimum calls per instance (own actions)", x.Minimum.Total, bm.Minimum.Total, "%.1f")
	row("Calls / minimum", perInstance(x.Calls, x.Instances)/x.Minimum.Total, safeDiv(perInstance(bm.Calls, bm.Instances), bm.Minimum.Total), "%.2f")
	row("Failed AWS calls", float64(x.FailedCalls), float64(bm.FailedCalls), "%.0f")
	row("Sequential calls to isolation (max)", float64(x.Isolation.MaxDepth), float64(bm.Isolation.MaxDepth), "%.0f")
	row("Time to isolation, slowest instance (s)", x.Isolation.MaxSeconds, bm.Isolation.MaxSeconds, "%.1f")
	text("Safety steps before isolation", fmt.Sprintf("%d of 6", len(x.Isolation.SafetyBefore)), fmt.Sprintf("%d of 6", len(bm.Isolation.SafetyBefore)))
	row("Largest payload (bytes)", float64(x.LargestPayload.Bytes), float64(bm.LargestPayload.Bytes), "%.0f")
	row("Execution time (s)", x.ExecutionSeconds, bm.ExecutionSeconds, "%.1f")
	_ = tw.Flush()
	bw.printf("Largest payload: %s: %s", x.Design, x.LargestPayload.Where)
	if b != nil {
		bw.printf("; %s: %s", b.Design, b.LargestPayload.Where)
		if len(b.Isolation.SafetyNotBefore) > 0 {
			bw.printf("\nNot before isolation in %s: %s", b.Design, strings.Join(b.Isolation.SafetyNotBefore, ", "))
		}
	}
	if len(x.Isolation.SafetyNotBefore) > 0 {
		bw.printf("\nNot before isolation in %s: %s", x.Design, strings.Join(x.Isolation.SafetyNotBefore, ", "))
	}
	bw.printf("\n")
	for _, m := range []*Result{x, b} {
		if m != nil && len(m.DiscardedAfterFault) > 0 {
			bw.printf("%s was measured again on a new fleet after the emulator failed a call: %s\n", m.Design, strings.Join(m.DiscardedAfterFault, "; "))
		}
		if m != nil && m.EmulatorFault != "" {
			bw.printf("%s: the emulator failed a call (%s); its figures are not the design's\n", m.Design, m.EmulatorFault)
		}
		if m != nil && len(m.Problems) > 0 {
			bw.printf("%s left these post-conditions unmet: %s\n", m.Design, strings.Join(m.Problems, "; "))
		}
		if m != nil && m.Status != "SUCCEEDED" {
			bw.printf("%s failed: %s: %s\n", m.Design, m.Error, m.Cause)
		}
	}
}

func (r *Report) writeActions(bw *errWriter, x, b *Result) {
	bw.printf("\nAWS calls per instance by action (minimum: for %s's actions and checks, see Documentation/performance.md):\n", x.Design)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "action\t" + x.Design + "\t"
	var bcalls map[string]int
	if b != nil {
		head += b.Design + "\tratio\t"
		bcalls = b.CallsByAction
	}
	fmt.Fprintln(tw, head+"minimum\t"+x.Design+"/min\t")
	for _, a := range Actions(x.Minimum, x.CallsByAction, bcalls) {
		o := perInstance(x.CallsByAction[a], x.Instances)
		line := a + "\t" + fmt.Sprintf("%.2f", o) + "\t"
		if b != nil {
			bl := perInstance(b.CallsByAction[a], b.Instances)
			line += fmt.Sprintf("%.2f", bl) + "\t" + ratio(o, bl) + "\t"
		}
		min := x.Minimum.PerAction[a]
		line += fmt.Sprintf("%.2f", min) + "\t" + ratio(o, min) + "\t"
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

func (r *Report) writeScale(bw *errWriter) {
	if len(r.Scale) == 0 {
		return
	}
	bw.printf("\n== Fleet scale: %d instances in one execution (limits: %d history events, %d-byte payloads) ==\n", FleetTarget, HistoryLimit, PayloadLimit)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "\t"
	for _, s := range r.Scale {
		head += s.Design + "\t"
	}
	fmt.Fprintln(tw, head)
	row := func(name string, f func(ScaleEstimate) string) {
		line := name + "\t"
		for _, s := range r.Scale {
			line += f(s) + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	row("Fitted on fleets of", func(s ScaleEstimate) string { return joinInts(s.From) })
	row("Events outside scans: fixed", func(s ScaleEstimate) string { return fmt.Sprintf("%.0f", s.Fixed) })
	row("Events outside scans: per instance", func(s ScaleEstimate) string { return fmt.Sprintf("%.1f", s.PerInstance) })
	row("Events per account-wide item scanned", func(s ScaleEstimate) string { return fmt.Sprintf("%.1f", s.ScanEventsPerItem) })
	row("Items scanned that each instance brings", func(s ScaleEstimate) string { return fmt.Sprintf("%.1f", s.ItemsPerInstance) })
	row("Listing once for the fleet: events per item, started / instance", func(s ScaleEstimate) string {
		if s.RootScanPerItem == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f / %.1f", s.RootScanPerItem, s.ChildScanPerItem)
	})
	row("Listing holds, own load balancers, up to", func(s ScaleEstimate) string {
		if s.RootScanPerItem == 0 {
			return "-"
		}
		return fmt.Sprint(s.ListedUpTo)
	})
	row("Past a page: events per item each instance reads", func(s ScaleEstimate) string {
		if s.PastPageScanPerItem == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", s.PastPageScanPerItem)
	})
	row(fmt.Sprintf("Events at %d, own load balancers", FleetTarget), func(s ScaleEstimate) string { return fmt.Sprintf("%.0f", s.OwnItems) })
	row(fmt.Sprintf("Events at %d, shared load balancers", FleetTarget), func(s ScaleEstimate) string { return fmt.Sprintf("%.0f", s.SharedItems) })
	row(fmt.Sprintf("Started execution's events at %d", FleetTarget), func(s ScaleEstimate) string {
		if s.RootAt == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", s.RootAt)
	})
	row(fmt.Sprintf("One instance's execution at %d, own / shared", FleetTarget), func(s ScaleEstimate) string {
		if s.RootAt == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f / %.0f", s.ChildOwnAt, s.ChildSharedAt)
	})
	row("Largest fleet within 25,000 events, own", func(s ScaleEstimate) string { return fmt.Sprint(s.MaxOwn) })
	row("Largest fleet within 25,000 events, shared", func(s ScaleEstimate) string { return fmt.Sprint(s.MaxShared) })
	row(fmt.Sprintf("Transitions at %d, own / shared", FleetTarget), func(s ScaleEstimate) string {
		return fmt.Sprintf("%.0f / %.0f", s.TransitionsOwn, s.TransitionsShared)
	})
	row("Largest payload growth per instance (bytes)", func(s ScaleEstimate) string { return fmt.Sprintf("%.0f", s.PayloadPerInstance) })
	row(fmt.Sprintf("Largest payload at %d (bytes)", FleetTarget), func(s ScaleEstimate) string { return fmt.Sprintf("%.0f", s.Payload) })
	row("Largest fleet within 256 KiB payloads", func(s ScaleEstimate) string { return fmt.Sprint(s.MaxPayload) })
	_ = tw.Flush()
	for _, s := range r.Scale {
		bw.printf("Growing payload, %s: %s\n", s.Design, s.PayloadWhere)
	}
}

// largestExecution is the largest history of one execution: the quota of
// 25,000 events applies to each.
func largestExecution(m Measurement) int {
	if m.Executions <= 1 {
		return m.HistoryEvents
	}
	return max(m.RootHistoryEvents, m.LargestChildHistory)
}

// contained says how many instances were verified contained.
func contained(m *Result) string {
	if m.Instances == 0 {
		return ""
	}
	if len(m.Problems) == 0 {
		return fmt.Sprintf("%d/%d", m.Instances, m.Instances)
	}
	return fmt.Sprintf("%d problems", len(m.Problems))
}

// atOnce formats the most instance executions m's started execution ran at
// once, or "-" for a design that contains every instance in one execution.
func atOnce(m *Result) string {
	if m.ExecutionsAtOnce == 0 {
		return "-"
	}
	return fmt.Sprint(m.ExecutionsAtOnce)
}

// ratio formats a ÷ b, or "-" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// safeDiv is a ÷ b, or 0 when b is zero.
func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// joinInts lists sorted integers as "1,5,10".
func joinInts(xs []int) string {
	s := append([]int(nil), xs...)
	sort.Ints(s)
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}
