package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/essential-ir/essential-ir/internal/responder/awsconfig"
	"github.com/essential-ir/essential-ir/internal/responder/locate"
)

// Output formats.
const (
	outputText = "text"
	outputJSON = "json"
)

// globals are the options every command takes, before or after its name.
type globals struct {
	aws          awsconfig.Options
	output       string
	stack        string
	stateMachine string
}

// register adds the global flags to fs.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.aws.Profile, "profile", g.aws.Profile, "")
	fs.StringVar(&g.aws.Region, "region", g.aws.Region, "")
	fs.StringVar(&g.aws.EndpointURL, "endpoint-url", g.aws.EndpointURL, "")
	fs.StringVar(&g.output, "output", g.output, "")
	fs.StringVar(&g.stack, "stack", g.stack, "")
	fs.StringVar(&g.stateMachine, "state-machine", g.stateMachine, "")
}

// check validates the global flags.
func (g *globals) check() error {
	if g.output != outputText && g.output != outputJSON {
		return usagef("--output %q: use text or json", g.output)
	}
	return nil
}

// globalHelp documents the global flags.
const globalHelp = `Flags every command takes (the AWS CLI's settings, environment and credential chain apply):
  --profile NAME        AWS profile (default: AWS_PROFILE, else the default profile)
  --region REGION       region of the stack and the instances (default: AWS_REGION, else the profile's)
  --output text|json    text for people (default), json for scripts
  --endpoint-url URL    send every AWS call to URL (default: AWS_ENDPOINT_URL); for an emulated account
  --stack NAME          the essential-ir stack, whose outputs name the state machine (default EssentialIr)
  --state-machine ARN   the essential-ir state machine, instead of reading the stack
`

// parse parses args into fs, flags and arguments in any order ("--"
// ends the flags), and returns the arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// config loads the AWS configuration.
func (g *globals) config(ctx context.Context) (aws.Config, error) {
	return awsconfig.Load(ctx, g.aws)
}

// machine is the state machine to start: --state-machine, else the
// stack's StateMachineArn output; and the stack's evidence bucket, when
// read.
func (g *globals) machine(ctx context.Context, cfg aws.Config) (arn, bucket string, err error) {
	if g.stateMachine != "" {
		if !strings.HasPrefix(g.stateMachine, "arn:") {
			return "", "", usagef("--state-machine %q: give the state machine's ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", g.stateMachine)
		}
		return g.stateMachine, "", nil
	}
	d, err := locate.Stack(ctx, cloudformation.NewFromConfig(cfg), g.stack)
	if err != nil {
		return "", "", fmt.Errorf("find the state machine in %s: %w", cfg.Region, err)
	}
	return d.StateMachineARN, d.EvidenceBucket, nil
}
