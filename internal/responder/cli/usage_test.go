package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/responder/execution"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// run runs the command with exactly args.
func run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := Run(context.Background(), args, Streams{Stdout: &stdout, Stderr: &stderr})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		if r := run(t, args...); r.code != ExitOK || !strings.Contains(r.stdout, "Commands:") || !strings.Contains(r.stdout, "Exit codes:") {
			t.Errorf("%v: exit %d", args, r.code)
		}
	}
	if r := run(t); r.code != ExitUsage || !strings.Contains(r.stdout, "Commands:") {
		t.Errorf("no command: exit %d", r.code)
	}
	for _, c := range []string{"contain", "status", "report", "verify-deployment"} {
		for _, args := range [][]string{{c, "--help"}, {"help", c}} {
			r := run(t, args...)
			if r.code != ExitOK || !strings.HasPrefix(r.stdout, "essential-ir "+c+":") || !strings.Contains(r.stdout, "--profile NAME") || !strings.Contains(r.stdout, "Example") {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stdout)
			}
		}
	}
}

// A command-line mistake exits 2, says what is wrong and starts nothing.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"isolate", "i-0123456789abcdef0"}, `unknown command "isolate"`},
		{[]string{"contain", "i-0123456789abcdef0"}, "--incident is required"},
		{[]string{"contain", "--incident", "inc 1", "i-0123456789abcdef0"}, "use 1 to 80 letters"},
		{[]string{"contain", "--incident", "inc-1"}, "no instance to contain"},
		{[]string{"contain", "--incident", "inc-usage", "i-0123456789abcdef0", "sg-0123"}, `"sg-0123" is not an EC2 instance ID`},
		{[]string{"contain", "--incident", "inc-usage", "--dry-run", "i-0123456789abcdef0"}, "not supported by this deployment yet"},
		{[]string{"--output", "yaml", "status", "inc-1"}, `--output "yaml"`},
		{[]string{"status"}, "give one incident ID"},
		{[]string{"contain", "--bogus", "x"}, "flag provided but not defined: -bogus"},
		{[]string{"verify-deployment", "extra"}, "takes no arguments"},
	} {
		r := essentialIR(t, c.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, r.code, r.stderr, ExitUsage, c.says)
		}
	}
	// Nothing was started for the rejected containments.
	_, err := sfn.NewFromConfig(emu.AWSConfig()).DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionOf("inc-usage"))})
	if err == nil {
		t.Error("a rejected containment started an execution")
	}
}

func TestEnvironmentAndServiceErrors(t *testing.T) {
	// No region anywhere.
	if r := run(t, "--endpoint-url", emu.Endpoint(), "status", "inc-1"); r.code != ExitEnvironment || !strings.Contains(r.stderr, "--region") {
		t.Errorf("no region: exit %d, %q", r.code, r.stderr)
	}
	// No credentials anywhere.
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		if r := essentialIR(t, "status", "inc-1"); r.code != ExitEnvironment || !strings.Contains(r.stderr, "aws sts get-caller-identity") {
			t.Errorf("no credentials: exit %d, %q", r.code, r.stderr)
		}
	})
	// An unknown profile.
	if r := essentialIR(t, "--profile", "no-such-profile", "status", "inc-1"); r.code != ExitEnvironment || !strings.Contains(r.stderr, "aws configure list-profiles") {
		t.Errorf("unknown profile: exit %d, %q", r.code, r.stderr)
	}
	// No such incident, no such stack: AWS says so, and the command says
	// what to do.
	if r := essentialIR(t, "status", "inc-never-started"); r.code != ExitService || !strings.Contains(r.stderr, "no such incident") {
		t.Errorf("unknown incident: exit %d, %q", r.code, r.stderr)
	}
	if r := essentialIR(t, "--stack", "NoSuchStack", "status", "inc-1"); r.code != ExitService || !strings.Contains(r.stderr, "deploy the stack") {
		t.Errorf("unknown stack: exit %d, %q", r.code, r.stderr)
	}
	// The endpoint cannot be reached.
	if r := run(t, "--region", "us-east-1", "--endpoint-url", "http://127.0.0.1:1", "--state-machine", deployed.StateMachineARN, "status", "inc-1"); r.code != ExitOther || !strings.Contains(r.stderr, "could not be reached") {
		t.Errorf("unreachable endpoint: exit %d, %q", r.code, r.stderr)
	}
	// The same incident started twice with other instances.
	bare := build(t, scene.BareInstance())
	incident := contained(t, bare.ID)
	if r := essentialIR(t, "contain", "--incident", incident, "i-0123456789abcdef0"); r.code != ExitService || !strings.Contains(r.stderr, "already has an execution") {
		t.Errorf("an incident started again with other instances: exit %d, %q", r.code, r.stderr)
	}
	if ex, err := emu.Describe(context.Background(), executionOf(incident)); err != nil || ex.Status != execution.StatusSucceeded {
		t.Errorf("the first execution: %+v, %v", ex, err)
	}
}
