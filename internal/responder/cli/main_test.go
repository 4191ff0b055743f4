package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// One emulator, one synthesized template and one deployment serve every
// test of this package; the commands reach the emulator as they would AWS,
// through --endpoint-url.
var (
	emu      *emulator.Emulator
	template *synth.Template
	deployed *deploy.Deployment
	scenes   *scene.Builder
)

// executionTimeout bounds the wait for an execution; no test may hang.
const executionTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	// The commands read credentials and settings as the AWS CLI does:
	// give them the emulator's, and nothing of the machine's.
	dir, err := os.MkdirTemp("", "essential-ir-cli-test-")
	if err != nil {
		panic(err)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDEMULATOR", "AWS_SECRET_ACCESS_KEY": "emulator-secret",
		"AWS_CONFIG_FILE": dir + "/config", "AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_EC2_METADATA_DISABLED": "true",
		"NO_COLOR": "1",
	} {
		os.Setenv(k, v)
	}
	code := emulator.RunTestMain(m, &emu, setup)
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup synthesizes the stack and deploys it in the emulator.
func setup(e *emulator.Emulator) error {
	var err error
	if template, err = synth.Synthesize(); err != nil {
		return err
	}
	jsii.Close()
	if deployed, err = deploy.Deploy(context.Background(), e, template, "essential-ir", nil); err != nil {
		return err
	}
	scenes = scene.New(e.AWSConfig())
	return nil
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// essentialIR runs the command line against the emulator, with the
// deployment's state machine unless args name another or a stack.
func essentialIR(t *testing.T, args ...string) result {
	t.Helper()
	return essentialIRWith(t, context.Background(), nil, args...)
}

// essentialIRWith runs the command with ctx, writing its stdout also to
// tee (if not nil) as it comes.
func essentialIRWith(t *testing.T, ctx context.Context, tee func(string), args ...string) result {
	t.Helper()
	full := []string{"--endpoint-url", emu.Endpoint(), "--region", emu.Region()}
	named := false
	for _, a := range args {
		if a == "--stack" || a == "--state-machine" || strings.HasPrefix(a, "--stack=") || strings.HasPrefix(a, "--state-machine=") {
			named = true
		}
	}
	if !named {
		full = append(full, "--state-machine", deployed.StateMachineARN)
	}
	var stdout, stderr syncBuffer
	stdout.tee = tee
	code := Run(ctx, append(full, args...), Streams{Stdout: &stdout, Stderr: &stderr})
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("essential-ir %s\nexit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// syncBuffer is a buffer safe for concurrent writes, optionally teed.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	tee func(string)
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tee != nil {
		b.tee(string(p))
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// incidentID is a new incident ID for a test.
func incidentID(t *testing.T) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(strings.TrimPrefix(t.Name(), "Test")))
	if len(name) > 24 {
		name = name[:24]
	}
	return "inc-" + name + "-" + hex.EncodeToString(b[:])
}

// build builds an instance scene.
func build(t *testing.T, spec scene.InstanceSpec) *scene.Instance {
	t.Helper()
	inst, err := scenes.Instance(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// contained contains the instances as a new incident with the command and
// waits for its end; it returns the incident ID.
func contained(t *testing.T, ids ...string) string {
	t.Helper()
	incident := incidentID(t)
	r := essentialIR(t, append([]string{"contain", "--incident", incident, "--poll-interval", "20ms"}, ids...)...)
	if r.code != ExitOK {
		t.Fatalf("contain %v: exit %d\n%s%s", ids, r.code, r.stdout, r.stderr)
	}
	return incident
}

// executionOf is the ARN of the incident's execution.
func executionOf(incident string) string {
	return strings.Replace(deployed.StateMachineARN, ":stateMachine:", ":execution:", 1) + ":" + incident
}
