// Package bench measures containment workflows on the emulated AWS account:
// essential-ir's synthesized definition and a baseline in the seed's order
// (BaselineDefinition), on the same scenes, from their execution histories
// and the calls the emulator recorded. cmd/bench is its command line.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// Design is a state machine definition under test.
type Design struct {
	// Name identifies it in the report ("essential-ir", "baseline").
	Name string
	// ListingPage is the page of its DescribeTargetGroups and
	// DescribeLoadBalancers calls (0: not known), which bounds the
	// payload of a read of a page.
	ListingPage int
	// Definition is its ASL, created as it is when Deploy is nil.
	Definition string
	// Prepare, if set, readies the design once (essential-ir's synthesis
	// takes half a minute); Run calls it while the first account is built,
	// so that it never competes with a measured execution. It must be safe
	// to call again.
	Prepare func(context.Context) error
	// Deploy, if set, creates the design's state machine in a fresh
	// emulated account (with whatever else the design needs there) and
	// returns its ARN and the definition it runs.
	Deploy func(ctx context.Context, emu *emulator.Emulator, name string) (arn, definition string, err error)
	// SharedGroups is true if the design prepares containment groups once
	// per VPC (else it creates one per instance); ValidatesInput is true if
	// it reads every instance before changing any. The minimum counts
	// calls for these accordingly.
	SharedGroups, ValidatesInput bool
}

// Options configure Run.
type Options struct {
	// Instances lists the fleet sizes to measure, one execution per design
	// each.
	Instances []int
	// Volumes is the number of EBS volumes of every instance (at least 1).
	Volumes int
	// VPCs is the number of VPCs each fleet is spread over (round-robin).
	VPCs int
	// Existing adds, after the smallest fleet, one more execution of the
	// first design (the design under test) on one new instance in a VPC
	// whose containment groups that design has just created.
	Existing bool
	// PastAPage adds, with Existing, one more execution of the first
	// design on one instance in a region that holds more target groups
	// and classic load balancers than one page (GroupsPastAPage): there
	// each instance reads them itself, and the scale estimate takes that
	// cost from this measurement once the fleet's own load balancers
	// outgrow the page.
	PastAPage bool
	// Timeout bounds each execution.
	Timeout time.Duration
	// Progress receives one line per phase; nil discards them.
	Progress io.Writer
	// HistoryDir, if set, receives every execution's history and the
	// definition it ran, as JSON files named after the design and fleet.
	HistoryDir string
}

// GroupsPastAPage labels the measurement of Options.PastAPage.
const GroupsPastAPage = "existing, region past a page"

// pageFiller is how many target groups and classic load balancers
// Options.PastAPage adds to the region: more than the page of 100 the
// definition reads.
const pageFiller = 101

// Measurement is what one execution of one design showed.
type Measurement struct {
	Design    string `json:"design"`
	Instances int    `json:"instances"`
	// Groups is "created" when the design had to create the VPCs'
	// containment groups, "existing" when they were already there, and
	// GroupsPastAPage when they were and the region held more load
	// balancers than one page.
	Groups string `json:"groups"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// ExecutionSeconds is from the execution's start to its stop.
	ExecutionSeconds float64 `json:"executionSeconds"`
	// HistoryEvents counts the events of the execution and of every
	// execution it started (one per instance, for a design that contains
	// each instance in its own execution).
	HistoryEvents int `json:"historyEvents"`
	// RootHistoryEvents is the started execution's own history, and
	// LargestChildHistory the largest history of an execution it started
	// (0 when it started none): the 25,000-event quota is per execution.
	RootHistoryEvents   int `json:"rootHistoryEvents"`
	LargestChildHistory int `json:"largestChildHistory"`
	// Executions is how many executions the measurement spans, and
	// ExecutionsAtOnce the most of those the started execution ran at once
	// (InstanceExecutionsAtOnce; 0 for a design with a single execution).
	Executions       int `json:"executions"`
	ExecutionsAtOnce int `json:"executionsAtOnce,omitempty"`
	// Transitions are the states entered.
	Transitions int `json:"transitions"`
	// Calls are the AWS calls the engine made (the emulator's count), and
	// FailedCalls those answered with an HTTP error.
	Calls         int            `json:"calls"`
	FailedCalls   int            `json:"failedCalls"`
	CallsByAction map[string]int `json:"callsByAction"`
	// Isolation summarizes, over the instances, when every ENI was isolated.
	Isolation IsolationSummary `json:"isolation"`
	// LargestPayload is the largest state input/output, task output or
	// execution input/output in the history.
	LargestPayload Payload `json:"largestPayload"`
	// Payloads are the largest payload of each kind of event and state
	// (Payloads), for the scale estimate; saved, so a report rendered from
	// JSON estimates as the run did.
	Payloads map[string]int `json:"payloads,omitempty"`
	// Scene describes the instances and account the execution ran on.
	Scene SceneFacts `json:"scene"`
	// SharedGroups, ValidatesInput and ListingPage are the design's (see
	// Design).
	SharedGroups   bool `json:"sharedGroups"`
	ValidatesInput bool `json:"validatesInput"`
	ListingPage    int  `json:"listingPage,omitempty"`
	// CriticalPath is the longest chain of dependent calls to the
	// isolation of the instance that took the most, as "State
	// (service:Action)".
	CriticalPath []string `json:"criticalPath"`
	// ScanEvents, ScanTransitions and ScanItems are Causal's: the part of
	// the history spent on account-wide scans.
	ScanEvents      int `json:"scanEvents"`
	ScanTransitions int `json:"scanTransitions"`
	ScanItems       int `json:"scanItems"`
	// RootScanEvents and RootScanItems are the part of those in the
	// started execution's own history (a listing made once for the fleet),
	// for a design that contains each instance in an execution of its own.
	RootScanEvents int `json:"rootScanEvents,omitempty"`
	RootScanItems  int `json:"rootScanItems,omitempty"`
	// EmulatorFault describes a call the emulator itself failed
	// (EmulatorFault), "" if none. DiscardedAfterFault lists the faults of
	// earlier attempts of this measurement, discarded and measured again.
	EmulatorFault       string   `json:"emulatorFault,omitempty"`
	DiscardedAfterFault []string `json:"discardedAfterFault,omitempty"`
	// Problems are post-conditions the account did not meet afterwards
	// (Verify); empty when every instance was found contained.
	Problems []string `json:"problems"`
}

// IsolationSummary is Isolation over all instances of an execution.
type IsolationSummary struct {
	// Isolated counts instances whose every ENI was modified.
	Isolated int `json:"isolated"`
	// MinDepth and MaxDepth are the fewest and most sequential AWS calls
	// from the start until an instance's ENIs were all isolated.
	MinDepth int `json:"minDepth"`
	MaxDepth int `json:"maxDepth"`
	// MaxSeconds is the longest wall-clock time from the start until an
	// instance's ENIs were all isolated (Map queueing included).
	MaxSeconds float64 `json:"maxSeconds"`
	// SafetyBefore lists the safety changes done, for every instance, on a
	// dependency chain ending at its isolation; SafetyNotBefore the others.
	SafetyBefore    []string `json:"safetyBefore"`
	SafetyNotBefore []string `json:"safetyNotBefore"`
}

// SceneFacts describe what was contained, as the minimum needs them.
type SceneFacts struct {
	// Per instance (the same for all).
	ENIs                 int  `json:"enis"`
	Volumes              int  `json:"volumes"`
	UnencryptedVolumes   int  `json:"unencryptedVolumes"`
	TargetGroups         int  `json:"targetGroups"`
	ClassicLoadBalancers int  `json:"classicLoadBalancers"`
	ElasticIPs           int  `json:"elasticIps"`
	InstanceProfile      bool `json:"instanceProfile"`
	AutoScalingGroup     bool `json:"autoScalingGroup"`
	// In the execution.
	Instances int `json:"instances"`
	VPCs      int `json:"vpcs"`
	// In the account when the execution ran: every target group (instance
	// type) and classic load balancer a per-instance scan reads.
	AccountTargetGroups         int `json:"accountTargetGroups"`
	AccountClassicLoadBalancers int `json:"accountClassicLoadBalancers"`
}

// Run measures every design at every fleet size, one execution each.
//
// Each design gets its own emulated account, warmed up first by a whole
// execution on a spare instance in a spare VPC (the emulator's first use of
// each API and state is several times slower than the next: see
// Documentation/performance.md). Each fleet then gets new VPCs, so the
// containment groups are always created in them. After each execution its
// instances' load balancers and target groups are deleted, so that the
// account-wide scans of the next execution see only its own, as the first
// did (and, in a region past a page, its fillers).
func Run(ctx context.Context, opts Options, designs []Design) ([]Measurement, error) {
	if len(designs) == 0 || len(opts.Instances) == 0 || opts.Volumes < 1 || opts.VPCs < 1 {
		return nil, errors.New("bench: need designs, fleet sizes, at least 1 volume and 1 VPC")
	}
	sizes := append([]int(nil), opts.Instances...)
	sort.Ints(sizes)
	var all []Measurement
	// The last design first: the design under test is prepared (synthesized)
	// meanwhile.
	for j := len(designs) - 1; j >= 0; j-- {
		ms, err := runDesign(ctx, opts, designs, j, sizes)
		all = append(all, ms...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// Spec is the scene of every instance: scene.CompromisedWebServer with the
// given number of volumes (its three first, then alternately encrypted and
// unencrypted 10 GiB data volumes).
func Spec(volumes int) scene.InstanceSpec {
	spec := scene.CompromisedWebServer()
	base := spec.Volumes
	spec.Volumes = nil
	for i := 0; i < volumes; i++ {
		if i < len(base) {
			spec.Volumes = append(spec.Volumes, base[i])
		} else {
			spec.Volumes = append(spec.Volumes, scene.VolumeSpec{SizeGiB: 10, Encrypted: i%2 == 1})
		}
	}
	return spec
}

func (o Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// warmUpInput starts an execution that ends before any AWS call in both
// designs (an empty instance list): it makes the emulator parse and cache
// the definition, so that parsing is not measured as execution time.
const warmUpInput = `{"InstanceIds": [], "Region": "us-east-1"}`

// warmUpDefinition reads once from every service the designs call, so that
// the emulator's first-call costs (client creation, service models) are not
// measured either.
const warmUpDefinition = `{"StartAt": "Warm Up", "States": {"Warm Up": {"Type": "Parallel", "End": true, "ResultPath": null, "Branches": [
 {"StartAt": "EC2", "States": {"EC2": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeAvailabilityZones", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "Auto Scaling", "States": {"Auto Scaling": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:autoscaling:describeAutoScalingGroups", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "ELBv2", "States": {"ELBv2": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:elasticloadbalancingv2:describeTargetGroups", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "ELB", "States": {"ELB": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:elasticloadbalancing:describeLoadBalancers", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "IAM", "States": {"IAM": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:iam:listRoles", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "S3", "States": {"S3": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets", "Parameters": {}, "ResultPath": null, "End": true}}},
 {"StartAt": "KMS", "States": {"KMS": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:kms:listKeys", "Parameters": {}, "ResultPath": null, "End": true}}}
]}}}`

// warmUp runs the warm-up executions: every service once, the design on
// an empty list (its definition parsed), then the design on a spare
// instance in a spare VPC, whose load balancing is then removed. The
// engine's calls are forgotten by measure.
func warmUp(ctx context.Context, emu *emulator.Emulator, b *scene.Builder, spec scene.InstanceSpec, arn string, timeout time.Duration, warn func(string, ...any)) error {
	wu, err := emu.CreateStateMachine(ctx, "bench-warm-up", warmUpDefinition)
	if err != nil {
		return err
	}
	for _, run := range []struct{ arn, input string }{{wu, "{}"}, {arn, warmUpInput}} {
		ex, err := emu.RunExecution(ctx, run.arn, run.input, timeout)
		if err != nil {
			return err
		}
		if run.arn == wu && ex.Status != "SUCCEEDED" {
			return fmt.Errorf("warm-up execution %s: %s: %s", ex.Status, ex.Error, ex.Cause)
		}
	}
	vpc, err := b.VPC(ctx, "bench-warm-up")
	if err != nil {
		return fmt.Errorf("build VPC: %w", err)
	}
	spec.VPC = vpc
	inst, err := b.Instance(ctx, spec)
	if err != nil {
		return fmt.Errorf("build instance: %w", err)
	}
	input, err := json.Marshal(map[string]any{"InstanceIds": []string{inst.ID}, "Region": emu.Region()})
	if err != nil {
		return fmt.Errorf("encode input: %w", err)
	}
	ex, err := emu.RunExecution(ctx, arn, string(input), timeout)
	if err != nil {
		return err
	}
	if ex.Status != "SUCCEEDED" {
		// Not fatal: the measured executions will show whatever is wrong.
		warn("warm-up containment of %s %s: %s: %s", inst.ID, ex.Status, ex.Error, ex.Cause)
	}
	return removeLoadBalancing(ctx, b, []*scene.Instance{inst})
}

// runDesign measures designs[j] at every fleet size in one emulated
// account; designs[0] is also measured with existing groups (Options.Existing)
// after the smallest fleet.
func runDesign(ctx context.Context, opts Options, designs []Design, j int, sizes []int) ([]Measurement, error) {
	start := time.Now()
	d := designs[j]
	if d.Prepare != nil {
		if err := d.Prepare(ctx); err != nil {
			return nil, fmt.Errorf("bench: prepare %s: %w", d.Name, err)
		}
	}
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", d.Name, err)
	}
	defer func() { _ = emu.Stop() }()
	arn, definition := "", d.Definition
	if d.Deploy != nil {
		arn, definition, err = d.Deploy(ctx, emu, d.Name)
	} else {
		arn, err = emu.CreateStateMachine(ctx, d.Name, d.Definition)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: deploy %s: %w", d.Name, err)
	}
	d.Definition = definition
	b := scene.New(emu.AWSConfig())
	spec := Spec(opts.Volumes)
	if err := warmUp(ctx, emu, b, spec, arn, opts.Timeout, opts.progress); err != nil {
		return nil, fmt.Errorf("bench: warm up the emulator for %s: %w", d.Name, err)
	}
	opts.progress("%s: emulated account ready and warmed up in %s", d.Name, time.Since(start).Round(100*time.Millisecond))

	var out []Measurement
	for i, n := range sizes {
		start := time.Now()
		vpcs := make([]*scene.VPC, opts.VPCs)
		for k := range vpcs {
			if vpcs[k], err = b.VPC(ctx, fmt.Sprintf("bench-%d-vpc%d", n, k)); err != nil {
				return out, fmt.Errorf("bench: build VPC: %w", err)
			}
		}
		fleet, err := b.Fleet(ctx, vpcs, n, spec)
		if err != nil {
			return out, fmt.Errorf("bench: build %d instances: %w", n, err)
		}
		opts.progress("%s, %d instance(s): built in %d VPC(s) in %s", d.Name, n, len(vpcs), time.Since(start).Round(100*time.Millisecond))
		// Nothing else may compete for the CPU while an execution is measured.
		for _, other := range designs {
			if other.Prepare != nil {
				if err := other.Prepare(ctx); err != nil {
					return out, fmt.Errorf("bench: prepare %s: %w", other.Name, err)
				}
			}
		}
		m, err := measure(ctx, emu, opts, d, arn, fleet, "created")
		if err != nil {
			return out, err
		}
		if m.EmulatorFault != "" {
			// Measure again on a new fleet, once; the report says so.
			opts.progress("%s, %d instance(s): %s after an emulator fault (%s); measuring again on a new fleet", d.Name, n, m.Status, m.EmulatorFault)
			if err := removeLoadBalancing(ctx, b, fleet); err != nil {
				return out, err
			}
			for k := range vpcs {
				if vpcs[k], err = b.VPC(ctx, fmt.Sprintf("bench-%d-vpc%d-again", n, k)); err != nil {
					return out, fmt.Errorf("bench: build VPC: %w", err)
				}
			}
			if fleet, err = b.Fleet(ctx, vpcs, n, spec); err != nil {
				return out, fmt.Errorf("bench: build %d instances: %w", n, err)
			}
			fault := m.EmulatorFault
			if m, err = measure(ctx, emu, opts, d, arn, fleet, "created"); err != nil {
				return out, err
			}
			m.DiscardedAfterFault = append(m.DiscardedAfterFault, fault)
		}
		out = append(out, *m)
		opts.progress("%s, %d instance(s): %s in %.1f s (%d events, %d calls)", d.Name, n, m.Status, m.ExecutionSeconds, m.HistoryEvents, m.Calls)
		// Every measurement's account-wide scans see its own load
		// balancers only (and a region past a page its fillers).
		if err := removeLoadBalancing(ctx, b, fleet); err != nil {
			return out, err
		}
		if opts.Existing && i == 0 && j == 0 {
			probe := spec
			probe.VPC = vpcs[0]
			inst, err := b.Instance(ctx, probe)
			if err != nil {
				return out, fmt.Errorf("bench: build instance in a prepared VPC: %w", err)
			}
			m, err := measure(ctx, emu, opts, d, arn, []*scene.Instance{inst}, "existing")
			if err != nil {
				return out, err
			}
			out = append(out, *m)
			opts.progress("%s, 1 instance, groups existing: %s in %.1f s (%d events, %d calls)", d.Name, m.Status, m.ExecutionSeconds, m.HistoryEvents, m.Calls)
			if err := removeLoadBalancing(ctx, b, []*scene.Instance{inst}); err != nil {
				return out, err
			}
			if opts.PastAPage {
				if m, err = measurePastAPage(ctx, emu, opts, d, arn, b, spec, vpcs[0]); err != nil {
					return out, err
				}
				out = append(out, *m)
			}
		}
	}
	return out, nil
}

// measurePastAPage measures d on one instance in vpc, after filling the
// region with pageFiller empty target groups and classic load balancers,
// which it deletes again afterwards.
func measurePastAPage(ctx context.Context, emu *emulator.Emulator, opts Options, d Design, arn string, b *scene.Builder, spec scene.InstanceSpec, vpc *scene.VPC) (*Measurement, error) {
	start := time.Now()
	fillers, err := b.FillRegion(ctx, vpc, pageFiller)
	defer func() { _ = fillers.Remove(ctx, b) }()
	if err != nil {
		return nil, fmt.Errorf("bench: fill the region past a page: %w", err)
	}
	probe := spec
	probe.VPC = vpc
	inst, err := b.Instance(ctx, probe)
	if err != nil {
		return nil, fmt.Errorf("bench: build instance in a region past a page: %w", err)
	}
	opts.progress("%s, 1 instance, region past a page: %d filler target groups and classic load balancers built in %s", d.Name, pageFiller, time.Since(start).Round(100*time.Millisecond))
	m, err := measure(ctx, emu, opts, d, arn, []*scene.Instance{inst}, GroupsPastAPage)
	if err != nil {
		return nil, err
	}
	opts.progress("%s, 1 instance, region past a page: %s in %.1f s (%d events, %d calls)", d.Name, m.Status, m.ExecutionSeconds, m.HistoryEvents, m.Calls)
	if err := removeLoadBalancing(ctx, b, []*scene.Instance{inst}); err != nil {
		return nil, err
	}
	return m, nil
}

// removeLoadBalancing deletes the instances' load balancers and target
// groups.
func removeLoadBalancing(ctx context.Context, b *scene.Builder, instances []*scene.Instance) error {
	for _, inst := range instances {
		for _, lb := range inst.LoadBalancerARNs {
			if _, err := b.ELBv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)}); err != nil {
				return fmt.Errorf("bench: delete load balancer %s: %w", lb, err)
			}
		}
		for _, tg := range inst.TargetGroupARNs {
			if _, err := b.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}); err != nil {
				return fmt.Errorf("bench: delete target group %s: %w", tg, err)
			}
		}
		if name := inst.ClassicLoadBalancerName; name != "" {
			if _, err := b.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(name)}); err != nil {
				return fmt.Errorf("bench: delete classic load balancer %s: %w", name, err)
			}
		}
	}
	return nil
}

// measure runs one execution of d on instances and measures it.
func measure(ctx context.Context, emu *emulator.Emulator, opts Options, d Design, arn string, instances []*scene.Instance, groups string) (*Measurement, error) {
	ids := make([]string, len(instances))
	enis := map[string]string{}
	vpcs := map[string]bool{}
	for i, inst := range instances {
		ids[i] = inst.ID
		vpcs[inst.VPCID] = true
		for _, eni := range inst.ENIIDs {
			enis[eni] = inst.ID
		}
	}
	facts, err := sceneFacts(ctx, emu.AWSConfig(), instances, len(vpcs))
	if err != nil {
		return nil, err
	}
	input, err := json.Marshal(map[string]any{"InstanceIds": ids, "Region": emu.Region()})
	if err != nil {
		return nil, fmt.Errorf("bench: encode input: %w", err)
	}
	if err := emu.ResetCalls(ctx); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ex, err := emu.RunExecution(ctx, arn, string(input), opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("bench: %s on %d instances: %w", d.Name, len(ids), err)
	}
	calls, err := emu.Calls(ctx)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	// The whole tree: a design may contain each instance in an execution
	// of its own.
	history, err := emu.HistoryTree(ctx, ex.ARN)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	events := FromHistory(history)
	root, largestChild, executions := executionSizes(history)
	if opts.HistoryDir != "" {
		if err := keep(opts.HistoryDir, fmt.Sprintf("%s-%d-%s", d.Name, len(ids), groups), d.Definition, history); err != nil {
			return nil, err
		}
	}
	causal, err := Analyze(events)
	if err != nil {
		return nil, fmt.Errorf("bench: %s history: %w", d.Name, err)
	}
	rootScan, atOnce := &Causal{}, 0
	if executions > 1 {
		history, err := emu.History(ctx, ex.ARN)
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		own := FromHistory(history)
		if rootScan, err = Analyze(own); err != nil {
			return nil, fmt.Errorf("bench: %s history: %w", d.Name, err)
		}
		atOnce = InstanceExecutionsAtOnce(own)
	}
	isos := causal.Isolations(enis)
	m := &Measurement{
		Design:              d.Name,
		SharedGroups:        d.SharedGroups,
		ValidatesInput:      d.ValidatesInput,
		ListingPage:         d.ListingPage,
		ScanEvents:          causal.ScanEvents,
		ScanTransitions:     causal.ScanTransitions,
		ScanItems:           causal.ScanItems,
		RootScanEvents:      rootScan.ScanEvents,
		RootScanItems:       rootScan.ScanItems,
		CriticalPath:        criticalPath(isos),
		Instances:           len(ids),
		Groups:              groups,
		Status:              ex.Status,
		Error:               ex.Error,
		Cause:               ex.Cause,
		ExecutionSeconds:    ex.Stop.Sub(ex.Start).Seconds(),
		HistoryEvents:       len(events),
		RootHistoryEvents:   root,
		LargestChildHistory: largestChild,
		Executions:          executions,
		ExecutionsAtOnce:    atOnce,
		Transitions:         CountTransitions(events),
		Calls:               len(calls),
		CallsByAction:       map[string]int{},
		Isolation:           summarize(isos),
		LargestPayload:      LargestPayload(events),
		Payloads:            Payloads(events),
		EmulatorFault:       EmulatorFault(events),
		Scene:               *facts,
	}
	for _, c := range calls {
		m.CallsByAction[c.Service+":"+c.Action]++
		if c.Status >= 400 {
			m.FailedCalls++
		}
	}
	if m.Problems, err = Verify(ctx, emu.AWSConfig(), instances); err != nil {
		return nil, err
	}
	return m, nil
}

// executionSizes splits a tree of histories (emulator HistoryTree: each
// execution's events begin with its ExecutionStarted) into the root's event
// count, the largest child's, and the number of executions.
func executionSizes(tree []sfntypes.HistoryEvent) (root, largestChild, executions int) {
	size := 0
	flush := func() {
		if executions == 1 {
			root = size
		} else if executions > 1 {
			largestChild = max(largestChild, size)
		}
	}
	for _, e := range tree {
		if e.Type == sfntypes.HistoryEventTypeExecutionStarted {
			flush()
			executions++
			size = 0
		}
		size++
	}
	flush()
	return root, largestChild, executions
}

// keep writes a history and its definition into dir.
func keep(dir, name, definition string, history []sfntypes.HistoryEvent) error {
	b, err := json.MarshalIndent(history, "", " ")
	if err != nil {
		return fmt.Errorf("bench: encode history: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-history.json"), b, 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+"-definition.json"), []byte(definition), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// summarize folds per-instance isolations into one summary.
func summarize(isos map[string]*Isolation) IsolationSummary {
	s := IsolationSummary{MinDepth: -1}
	common := ^SafetySet(0)
	for _, iso := range isos {
		if !iso.Complete {
			common = 0
			continue
		}
		s.Isolated++
		if s.MinDepth < 0 || iso.Depth < s.MinDepth {
			s.MinDepth = iso.Depth
		}
		s.MaxDepth = max(s.MaxDepth, iso.Depth)
		s.MaxSeconds = max(s.MaxSeconds, iso.Elapsed.Seconds())
		common &= iso.SafetyBefore
	}
	if s.MinDepth < 0 {
		s.MinDepth = 0
	}
	for k := SafetyKind(0); k < safetyKinds; k++ {
		if common.Has(k) {
			s.SafetyBefore = append(s.SafetyBefore, k.String())
		} else {
			s.SafetyNotBefore = append(s.SafetyNotBefore, k.String())
		}
	}
	return s
}

// criticalPath is the chain of the instance isolated deepest.
func criticalPath(isos map[string]*Isolation) []string {
	var deepest *Isolation
	for _, iso := range isos {
		if iso.Complete && (deepest == nil || iso.Depth > deepest.Depth) {
			deepest = iso
		}
	}
	if deepest == nil {
		return nil
	}
	out := make([]string, len(deepest.Chain))
	for i, c := range deepest.Chain {
		out[i] = fmt.Sprintf("%s (%s:%s)", c.State, c.Service, c.Action)
	}
	return out
}

// sceneFacts reads what the minimum depends on: the first instance's
// resources (every instance has the same) and the account's load balancing.
func sceneFacts(ctx context.Context, cfg aws.Config, instances []*scene.Instance, vpcs int) (*SceneFacts, error) {
	inst := instances[0]
	f := &SceneFacts{
		ENIs:                 len(inst.ENIIDs),
		Volumes:              len(inst.VolumeIDs),
		TargetGroups:         len(inst.TargetGroupARNs),
		InstanceProfile:      inst.InstanceProfileARN != "",
		AutoScalingGroup:     inst.AutoScalingGroupName != "",
		Instances:            len(instances),
		VPCs:                 vpcs,
		ClassicLoadBalancers: len(instanceClassicLBs(inst)),
	}
	if inst.ElasticIP != "" {
		f.ElasticIPs = 1
	}
	for _, enc := range inst.EncryptedByVolume {
		if !enc {
			f.UnencryptedVolumes++
		}
	}
	tgs := elbv2.NewDescribeTargetGroupsPaginator(elbv2.NewFromConfig(cfg), &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(400)})
	for tgs.HasMorePages() {
		page, err := tgs.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: count target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			if tg.TargetType == "instance" {
				f.AccountTargetGroups++
			}
		}
	}
	lbs := elb.NewDescribeLoadBalancersPaginator(elb.NewFromConfig(cfg), &elb.DescribeLoadBalancersInput{})
	for lbs.HasMorePages() {
		page, err := lbs.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("bench: count classic load balancers: %w", err)
		}
		f.AccountClassicLoadBalancers += len(page.LoadBalancerDescriptions)
	}
	return f, nil
}

// instanceClassicLBs lists the classic load balancers the scene registered
// the instance with.
func instanceClassicLBs(inst *scene.Instance) []string {
	if inst.ClassicLoadBalancerName == "" {
		return nil
	}
	return []string{inst.ClassicLoadBalancerName}
}
