package cli

import (
	"context"
	"flag"
	"fmt"

	"github.com/essential-ir/essential-ir/internal/responder/awsconfig"
	"github.com/essential-ir/essential-ir/internal/responder/deployment"
)

const verifyHelp = `essential-ir verify-deployment: check, read only, that the deployed stack can contain instances and keep evidence.

Usage:
  essential-ir verify-deployment [--stack NAME | --state-machine ARN] [--bucket NAME]

Checks both state machines (present, active), their role (present, trusted by
Step Functions, allowing every API call the deployed definitions make), the
evidence bucket (versioning, Object Lock with a default retention, encryption,
public access blocked) and the log group each state machine logs to. Run it
after cdk deploy. Exits 3 listing what is wrong, 0 if nothing is.

The state machine comes from the stack's outputs (--stack, default EssentialIr)
or --state-machine; the bucket from the stack's outputs, --bucket, or the
definition.

Flags:
  --bucket NAME   the evidence bucket (default: the stack's output, else the one the definition writes to)

Example:
  essential-ir verify-deployment --stack EssentialIr --region eu-west-1`

func verifyCommand() command {
	var bucket string
	return command{
		name: "verify-deployment",
		help: verifyHelp,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&bucket, "bucket", "", "")
		},
		run: func(ctx context.Context, g *globals, args []string, s Streams) (int, error) {
			if len(args) != 0 {
				return 0, usagef("verify-deployment takes no arguments (got %q)", args)
			}
			cfg, err := g.config(ctx)
			if err != nil {
				return 0, err
			}
			machine, stackBucket, err := g.machine(ctx, cfg)
			if err != nil {
				return 0, err
			}
			if bucket == "" {
				bucket = stackBucket
			}
			r, err := deployment.Verify(ctx, cfg, deployment.Target{StateMachineARN: machine, Bucket: bucket}, awsconfig.S3Options(cfg))
			if err != nil {
				return 0, err
			}
			code := ExitOK
			if r.Failed() {
				code = ExitAttention
			}
			if g.output == outputJSON {
				return code, writeJSON(s.Stdout, r)
			}
			for _, c := range r.Checks {
				fmt.Fprintf(s.Stdout, "%-4s  %-22s  %s\n", c.Status, c.Name, c.Detail)
				if c.Fix != "" && c.Status != deployment.StatusOK {
					fmt.Fprintf(s.Stdout, "      %-22s  fix: %s\n", "", c.Fix)
				}
			}
			if f := r.Failures(); len(f) > 0 {
				fmt.Fprintf(s.Stdout, "\nDeployment NOT ready: %d of %d checks failed:\n", len(f), len(r.Checks))
				for _, c := range f {
					fmt.Fprintf(s.Stdout, "  - %s: %s\n", c.Name, c.Detail)
				}
			} else {
				fmt.Fprintf(s.Stdout, "\nDeployment ready: all %d checks passed.\n", len(r.Checks))
			}
			return code, nil
		},
	}
}
