// Package emulator runs essential-ir's Step Functions workflows locally against
// an emulated AWS: moto 5.2.1, patched to behave like AWS where a containment
// workflow depends on it (see launcher.py for every fix and the AWS behaviour
// it restores).
//
// Start launches one Python process (embedded launcher.py) that serves the
// moto app on two loopback ports:
//
//   - the API port (Endpoint, AWSConfig): for tests, scene builders and SDK
//     clients; never counted or faulted;
//   - the engine port: where the state machine engine's own aws-sdk calls go.
//     Those calls are recorded in order (Calls) and can be failed on purpose
//     (SetFaults) in each service's real error wire format.
//
// Wait states and Retry backoff are recorded (Delays) and their real sleeps
// are multiplied by a time scale (Configure; default 0, i.e. no real sleeping).
//
// The Python process exits when its stdin closes, so a crashed test binary
// never leaks it; Stop ends it explicitly.
//
// Requirements: python3 with moto 5.2.1 (pip install 'moto[server]==5.2.1').
package emulator

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The launcher and the modules beside it (each adds patches, engine guards or
// control settings through the registries launcher.py defines).
//
//go:embed *.py
var launcherFiles embed.FS

const (
	region    = "us-east-1"
	accountID = "123456789012"

	// InstallHint is the command that installs what the emulator needs.
	InstallHint = "pip install 'moto[server]==5.2.1'"

	// exitMotoMissing is launcher.py's exit code when moto 5.2.1 is missing.
	exitMotoMissing = 3
)

// ErrMissingDependency is wrapped by Start's error when Python or moto 5.2.1
// is not installed.
var ErrMissingDependency = errors.New("python3 with moto 5.2.1 is required: " + InstallHint)

// Options configures Start.
type Options struct {
	// SnapshotPendingDescribes makes each new EBS snapshot report State
	// "pending" for its first N DescribeSnapshots views (0: it completes
	// after its scaled time, see Limits.SnapshotSecondsPerGiB).
	SnapshotPendingDescribes int
	// Python is the interpreter to run; default "python3".
	Python string
	// StartTimeout bounds the wait for the launcher's READY line; default 60s.
	StartTimeout time.Duration
}

// Emulator is a running emulated AWS (one Python process).
type Emulator struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	dir       string
	errPath   string
	apiPort   int
	engPort   int
	done      chan struct{} // closed when the process has exited
	waitErr   error
	stopOnce  sync.Once
	stopErr   error
	sfnClient *sfn.Client

	roleMu    sync.Mutex // guards roleReady
	roleReady bool       // RoleARN's role exists
}

// Start writes the embedded launcher to a temporary directory, starts it and
// waits until both ports listen. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	python := opts.Python
	if python == "" {
		python = "python3"
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	if _, err := exec.LookPath(python); err != nil {
		return nil, fmt.Errorf("emulator: %s not found: %w (%w)", python, ErrMissingDependency, err)
	}
	dir, err := os.MkdirTemp("", "essential-ir-emulator-")
	if err != nil {
		return nil, fmt.Errorf("emulator: creating temp dir: %w", err)
	}
	if err := writeLauncher(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	script := filepath.Join(dir, "launcher.py")
	errPath := filepath.Join(dir, "stderr.log")
	errFile, err := os.Create(errPath)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("emulator: creating stderr log: %w", err)
	}
	defer errFile.Close()

	cmd := exec.Command(python, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = errFile
	stdin, err := cmd.StdinPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("emulator: stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("emulator: stdout pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("emulator: starting %s: %w", python, err)
	}
	e := &Emulator{cmd: cmd, stdin: stdin, dir: dir, errPath: errPath, done: make(chan struct{})}

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.HasPrefix(line, "READY ") {
				ready <- line
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		e.waitErr = cmd.Wait()
		close(e.done)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case line := <-ready:
		if err := e.parseReady(line); err != nil {
			_ = e.Stop()
			return nil, err
		}
	case <-e.done:
		err := e.exitError()
		_ = e.Stop()
		return nil, err
	case <-timer.C:
		_ = e.Stop()
		return nil, fmt.Errorf("emulator: no READY within %s; stderr:\n%s", timeout, e.stderrTail())
	case <-ctx.Done():
		_ = e.Stop()
		return nil, fmt.Errorf("emulator: waiting for READY: %w", ctx.Err())
	}

	e.sfnClient = sfn.NewFromConfig(e.AWSConfig())
	if opts.SnapshotPendingDescribes > 0 {
		n := opts.SnapshotPendingDescribes
		if err := e.Configure(ctx, Config{SnapshotPendingDescribes: &n}); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	return e, nil
}

func (e *Emulator) parseReady(line string) error {
	f := strings.Fields(line)
	if len(f) != 3 {
		return fmt.Errorf("emulator: malformed READY line %q", line)
	}
	api, err1 := strconv.Atoi(f[1])
	eng, err2 := strconv.Atoi(f[2])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("emulator: malformed READY line %q: %w", line, err)
	}
	e.apiPort, e.engPort = api, eng
	return nil
}

func (e *Emulator) exitError() error {
	var exitErr *exec.ExitError
	if errors.As(e.waitErr, &exitErr) && exitErr.ExitCode() == exitMotoMissing {
		return fmt.Errorf("emulator: %w; launcher said: %s", ErrMissingDependency, strings.TrimSpace(e.stderrTail()))
	}
	return fmt.Errorf("emulator: launcher exited before READY (%v); stderr:\n%s", e.waitErr, e.stderrTail())
}

// stderrTail returns the last few KiB of the launcher's stderr.
func (e *Emulator) stderrTail() string {
	b, err := os.ReadFile(e.errPath)
	if err != nil {
		return fmt.Sprintf("(stderr unavailable: %v)", err)
	}
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop ends the emulator: closes its stdin, sends SIGTERM to its process
// group (SIGKILL after 5 s), waits for it and removes its temporary directory.
// It is safe to call more than once.
func (e *Emulator) Stop() error {
	e.stopOnce.Do(func() {
		_ = e.stdin.Close()
		pgid := e.cmd.Process.Pid
		select {
		case <-e.done:
		default:
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-e.done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				<-e.done
			}
		}
		if err := os.RemoveAll(e.dir); err != nil {
			e.stopErr = fmt.Errorf("emulator: removing %s: %w", e.dir, err)
		}
	})
	return e.stopErr
}

// PID returns the launcher's process id.
func (e *Emulator) PID() int { return e.cmd.Process.Pid }

// Endpoint is the base URL of the API port, for SDK clients and tests.
func (e *Emulator) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", e.apiPort) }

// EngineEndpoint is the base URL of the engine port (where the state machine
// engine's calls go). Tests normally do not use it.
func (e *Emulator) EngineEndpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", e.engPort) }

// Region is the emulated region.
func (e *Emulator) Region() string { return region }

// AccountID is the emulated account.
func (e *Emulator) AccountID() string { return accountID }

// AWSConfig returns an SDK configuration for the API port: static test
// credentials, the emulator's region, BaseEndpoint = Endpoint() and at most
// two attempts per call. S3 clients must also set UsePathStyle = true.
func (e *Emulator) AWSConfig() aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEMULATOR", "emulator-secret", ""),
		BaseEndpoint: aws.String(e.Endpoint()),
		// A fresh connection per request: a kept-alive connection the
		// emulator's HTTP server had closed broke requests on a loaded
		// 2-core machine, and the SDK's retry of a request that had
		// succeeded (a create) then failed as "already exists".
		HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Retryer: func() aws.Retryer {
			return retry.AddWithMaxAttempts(retry.NewStandard(), 5)
		},
	}
}

// Execution is the outcome (or current state) of a state machine execution.
type Execution struct {
	ARN    string
	Status string
	Input  string
	Output string
	Error  string
	Cause  string
	Start  time.Time
	Stop   time.Time
}

// StartExecution starts an unnamed execution (AWS gives it a UUID name).
func (e *Emulator) StartExecution(ctx context.Context, stateMachineARN, input string) (string, error) {
	return e.StartNamedExecution(ctx, stateMachineARN, "", input)
}

// StartNamedExecution starts an execution named name ("" for a UUID name,
// as AWS gives an unnamed one).
func (e *Emulator) StartNamedExecution(ctx context.Context, stateMachineARN, name, input string) (string, error) {
	if input == "" {
		input = "{}"
	}
	in := &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Input:           aws.String(input),
	}
	if name != "" {
		in.Name = aws.String(name)
	}
	out, err := e.sfnClient.StartExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("emulator: starting execution of %s: %w", stateMachineARN, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Describe returns the execution's current state.
func (e *Emulator) Describe(ctx context.Context, executionARN string) (*Execution, error) {
	out, err := e.sfnClient.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return nil, fmt.Errorf("emulator: describing execution %s: %w", executionARN, err)
	}
	return &Execution{
		ARN:    aws.ToString(out.ExecutionArn),
		Status: string(out.Status),
		Input:  aws.ToString(out.Input),
		Output: aws.ToString(out.Output),
		Error:  aws.ToString(out.Error),
		Cause:  aws.ToString(out.Cause),
		Start:  aws.ToTime(out.StartDate),
		Stop:   aws.ToTime(out.StopDate),
	}, nil
}

// WaitExecution polls DescribeExecution until the execution is no longer
// RUNNING. After timeout it returns an error naming the execution and the last
// state it entered.
func (e *Emulator) WaitExecution(ctx context.Context, executionARN string, timeout time.Duration) (*Execution, error) {
	deadline := time.Now().Add(timeout)
	delay := 10 * time.Millisecond
	for {
		ex, err := e.Describe(ctx, executionARN)
		if err != nil {
			return nil, err
		}
		if ex.Status != string(sfntypes.ExecutionStatusRunning) {
			return ex, nil
		}
		if time.Now().After(deadline) {
			last := "(unknown)"
			if name, herr := e.lastStateEntered(ctx, executionARN); herr == nil && name != "" {
				last = name
			}
			return ex, fmt.Errorf("emulator: execution %s still RUNNING after %s (last state entered: %s)", executionARN, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("emulator: waiting for %s: %w", executionARN, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

func (e *Emulator) lastStateEntered(ctx context.Context, executionARN string) (string, error) {
	out, err := e.sfnClient.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
		ExecutionArn: aws.String(executionARN),
		ReverseOrder: true,
	})
	if err != nil {
		return "", fmt.Errorf("emulator: execution history of %s: %w", executionARN, err)
	}
	events := out.Events
	// Newest first when the server honours ReverseOrder; check by event id.
	if len(events) > 1 && events[0].Id < events[len(events)-1].Id {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	for _, ev := range events {
		if d := ev.StateEnteredEventDetails; d != nil {
			return aws.ToString(d.Name), nil
		}
	}
	return "", nil
}

// RunExecution starts an execution and waits for it (see WaitExecution).
func (e *Emulator) RunExecution(ctx context.Context, stateMachineARN, input string, timeout time.Duration) (*Execution, error) {
	return e.RunNamedExecution(ctx, stateMachineARN, "", input, timeout)
}

// RunNamedExecution starts an execution named name (see
// StartNamedExecution) and waits for it (see WaitExecution).
func (e *Emulator) RunNamedExecution(ctx context.Context, stateMachineARN, name, input string, timeout time.Duration) (*Execution, error) {
	arn, err := e.StartNamedExecution(ctx, stateMachineARN, name, input)
	if err != nil {
		return nil, err
	}
	return e.WaitExecution(ctx, arn, timeout)
}

// StopExecution aborts a running execution.
func (e *Emulator) StopExecution(ctx context.Context, executionARN string) error {
	_, err := e.sfnClient.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return fmt.Errorf("emulator: stopping execution %s: %w", executionARN, err)
	}
	return nil
}

// History returns every event of an execution's history, all pages.
func (e *Emulator) History(ctx context.Context, executionARN string) ([]sfntypes.HistoryEvent, error) {
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(e.sfnClient, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("emulator: execution history of %s: %w\nemulator stderr (tail):\n%s", executionARN, err, e.stderrTail())
		}
		events = append(events, page.Events...)
	}
	return events, nil
}

// Log returns the last few KiB of the emulator's standard error: moto's
// tracebacks and the harness's own notes, for a failing test to print.
func (e *Emulator) Log() string { return e.stderrTail() }

// writeLauncher writes the embedded launcher and its modules into dir.
func writeLauncher(dir string) error {
	files, err := launcherFiles.ReadDir(".")
	if err != nil {
		return fmt.Errorf("emulator: listing the embedded launcher: %w", err)
	}
	for _, f := range files {
		data, err := launcherFiles.ReadFile(f.Name())
		if err != nil {
			return fmt.Errorf("emulator: reading embedded %s: %w", f.Name(), err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name()), data, 0o600); err != nil {
			return fmt.Errorf("emulator: writing %s: %w", f.Name(), err)
		}
	}
	return nil
}
