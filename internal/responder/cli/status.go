package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

const statusHelp = `essential-ir status: where an incident is.

Usage:
  essential-ir status INCIDENT-ID | EXECUTION-ARN

Prints the incident's execution and, for each instance, its outcome (contained,
NOT contained, evidence preserved or not), the step it is in or failed in with
the error and cause, and the console links of its two executions (containment,
then evidence). Reads only. Exits 3 if an instance was not contained or its
evidence not preserved, 0 otherwise (also while it runs without failures).

Example:
  essential-ir status inc-2026-11-27-web`

func statusCommand() command {
	return command{
		name: "status",
		help: statusHelp,
		run: func(ctx context.Context, g *globals, args []string, s Streams) (int, error) {
			if len(args) != 1 {
				return 0, usagef("give one incident ID or execution ARN")
			}
			cfg, arn, _, err := incidentExecution(ctx, g, args[0])
			if err != nil {
				return 0, err
			}
			inc, err := execution.Read(ctx, sfn.NewFromConfig(cfg), arn)
			if err != nil {
				return 0, err
			}
			if g.output == outputJSON {
				return incidentCode(inc), writeJSON(s.Stdout, inc)
			}
			writeIncident(s.Stdout, inc)
			return incidentCode(inc), nil
		},
	}
}

// incidentExecution resolves an incident ID or execution ARN to the
// execution's ARN, with the configuration to read it and the stack's
// evidence bucket when the stack was read.
func incidentExecution(ctx context.Context, g *globals, ref string) (aws.Config, string, string, error) {
	if execution.IsExecutionARN(ref) {
		if g.aws.Region == "" {
			// The ARN names its region.
			g.aws.Region = execution.Region(ref)
		}
		cfg, err := g.config(ctx)
		return cfg, ref, "", err
	}
	if err := execution.ValidIncidentID(ref); err != nil {
		return aws.Config{}, "", "", usagef("%q is neither an incident ID nor an execution ARN", ref)
	}
	cfg, err := g.config(ctx)
	if err != nil {
		return cfg, "", "", err
	}
	machine, bucket, err := g.machine(ctx, cfg)
	if err != nil {
		return cfg, "", "", err
	}
	arn, err := execution.ExecutionARN(machine, ref)
	if err != nil {
		return cfg, "", "", fmt.Errorf("incident %s: %w", ref, err)
	}
	return cfg, arn, bucket, nil
}
