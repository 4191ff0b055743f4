package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

const containHelp = `essential-ir contain: contain EC2 instances now, and follow the containment to the end.

Usage:
  essential-ir contain --incident INCIDENT-ID INSTANCE-ID [INSTANCE-ID...]

Starts the essential-ir state machine on the instances, as one incident: the
incident ID becomes the execution's name, the SecurityIncidentId tag and the
evidence prefix. Then prints one line per instance per step as each instance
is isolated and its evidence preserved, and ends with each instance's outcome
and console links. Ctrl-C stops following; the containment goes on (follow
it again with essential-ir status INCIDENT-ID).

Flags:
  --incident ID         required: the incident ID, 1 to 80 letters, digits, '-' or '_',
                        e.g. inc-2026-11-27-web. Starting it again with the same
                        instances follows the running execution.
  --wait=false          start and return at once, without following
  --dry-run             not supported by this deployment yet: exits 2 and starts nothing
  --poll-interval DUR   how often to read the executions while following (default 2s)

Example:
  essential-ir contain --incident inc-2026-11-27-web i-0123456789abcdef0 i-0fedcba9876543210`

// maxInstances is the most instances one execution takes
// (statemachine.MaxInstancesPerExecution).
const maxInstances = 1000

func containCommand() command {
	var (
		incident string
		wait     bool
		dryRun   bool
		interval time.Duration
	)
	return command{
		name: "contain",
		help: containHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&incident, "incident", "", "")
			fs.BoolVar(&wait, "wait", true, "")
			fs.BoolVar(&dryRun, "dry-run", false, "")
			fs.DurationVar(&interval, "poll-interval", 2*time.Second, "")
		},
		run: func(ctx context.Context, g *globals, args []string, s Streams) (int, error) {
			if dryRun {
				fmt.Fprintln(s.Stderr, "essential-ir: --dry-run is not supported by this deployment yet: the workflow has no dry run, "+
					"and it ignores input it does not know, so it would really contain the instances. Nothing was started.")
				return ExitUsage, nil
			}
			ids, err := containArgs(incident, args, interval)
			if err != nil {
				return 0, err
			}
			return contain(ctx, g, s, incident, ids, wait, interval)
		},
	}
}

// containArgs checks the incident ID and the instance IDs, and returns
// the IDs, each once.
func containArgs(incident string, args []string, interval time.Duration) ([]string, error) {
	if incident == "" {
		return nil, usagef("--incident is required: the incident ID names the execution, the tags and the evidence (e.g. --incident inc-2026-11-27-web)")
	}
	if err := execution.ValidIncidentID(incident); err != nil {
		return nil, usageError{err.Error()}
	}
	if len(args) == 0 {
		return nil, usagef("no instance to contain: give one or more instance IDs after the flags")
	}
	if interval <= 0 {
		return nil, usagef("--poll-interval must be positive")
	}
	seen := map[string]bool{}
	var ids []string
	for _, id := range args {
		if err := execution.ValidInstanceID(id); err != nil {
			return nil, usageError{err.Error() + "; nothing was started"}
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) > maxInstances {
		return nil, usagef("%d instances: one containment takes at most %d; split them into several incidents", len(ids), maxInstances)
	}
	return ids, nil
}

func contain(ctx context.Context, g *globals, s Streams, incident string, ids []string, wait bool, interval time.Duration) (int, error) {
	cfg, err := g.config(ctx)
	if err != nil {
		return 0, err
	}
	machine, _, err := g.machine(ctx, cfg)
	if err != nil {
		return 0, err
	}
	if r := execution.Region(machine); r != cfg.Region {
		return 0, usagef("the state machine %s is in %s, but the region is %s: the workflow contains instances of its own region only; pass --region %s", machine, r, cfg.Region, r)
	}
	api := sfn.NewFromConfig(cfg)
	arn, err := execution.Start(ctx, api, machine, incident, ids, cfg.Region)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(s.Stderr, "essential-ir: interrupted while starting incident %s: it may or may not have started; check with: essential-ir status %s\n", incident, incident)
			return ExitInterrupted, nil
		}
		return 0, err
	}
	out, tty := s.Stdout, s.StdoutTTY
	if g.output == outputJSON {
		out, tty = s.Stderr, s.StderrTTY
	}
	fmt.Fprintf(out, "Started incident %s on %d instance(s): %s\n  %s\n", incident, len(ids), arn, execution.ConsoleLink(arn))
	if !wait {
		fmt.Fprintf(out, "Not following (--wait=false). Follow it: essential-ir status %s\n", incident)
		if g.output == outputJSON {
			return ExitOK, writeJSON(s.Stdout, map[string]string{"incidentId": incident, "executionArn": arn, "consoleLink": execution.ConsoleLink(arn), "status": execution.StatusRunning})
		}
		return ExitOK, nil
	}
	view := newProgressView(out, tty)
	tracker := execution.NewTracker(api, arn)
	err = execution.Follow(ctx, tracker, interval, view.show)
	view.done()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(out, "\nStopped following (interrupted). The containment was NOT stopped: it goes on in AWS.\n"+
			"Follow it again: essential-ir status %s\n  %s\n", incident, execution.ConsoleLink(arn))
		return ExitInterrupted, nil
	}
	if err != nil {
		return 0, fmt.Errorf("follow incident %s (it goes on; see essential-ir status %s): %w", incident, incident, err)
	}
	inc := tracker.Incident()
	if g.output == outputJSON {
		return incidentCode(inc), writeJSON(s.Stdout, inc)
	}
	fmt.Fprintln(s.Stdout)
	writeIncident(s.Stdout, inc)
	return incidentCode(inc), nil
}
