package statemachine_test

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/internal/synth"
	"github.com/essential-ir/essential-ir/statemachine"
)

// One emulator, one synthesized template and one state machine serve every
// test of this package.
var (
	emu        *emulator.Emulator
	template   *synth.Template
	machineARN string
	deployed   *deploy.Deployment
	scenes     *scene.Builder
)

// pendingPolls is how many DescribeSnapshots calls see each new snapshot
// "pending" before it completes, so every test exercises the wait loops.
const pendingPolls = 2

// executionTimeout bounds one execution; no test may hang.
const executionTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(emulator.RunTestMain(m, &emu, setup))
}

// setup synthesizes the stack and deploys it in the emulator: the evidence
// key and bucket, and the state machine from the synthesized definition,
// unchanged but for resolved references.
func setup(e *emulator.Emulator) error {
	var err error
	template, err = synth.Synthesize()
	if err != nil {
		return err
	}
	ctx := context.Background()
	deployed, err = deploy.Deploy(ctx, e, template, "essential-ir", nil)
	if err != nil {
		return err
	}
	machineARN = deployed.StateMachineARN
	polls := pendingPolls
	if err := e.Configure(ctx, emulator.Config{SnapshotPendingDescribes: &polls}); err != nil {
		return err
	}
	scenes = scene.New(e.AWSConfig())
	return nil
}

// machines holds state machines created for non-default stack parameters,
// by their parameters; deployments holds their deployments.
var machines, deployments sync.Map

// machineWith returns a state machine created from the definition as
// deployed with the given stack parameters (defaults for the others).
func machineWith(t *testing.T, params map[string]string) string {
	t.Helper()
	var keys []string
	for k, v := range params {
		keys = append(keys, k+"="+v)
	}
	sort.Strings(keys)
	key := strings.Join(keys, ",")
	if arn, ok := machines.Load(key); ok {
		return arn.(string)
	}
	name := "essential-ir-" + strings.NewReplacer("=", "-", ",", "-").Replace(key)
	d, err := deploy.Deploy(context.Background(), emu, template, name, params)
	if err != nil {
		t.Fatalf("deploy with %s: %v", key, err)
	}
	actual, loaded := machines.LoadOrStore(key, d.StateMachineARN)
	if !loaded {
		deployments.Store(key, d)
	}
	return actual.(string)
}

// runOn starts an execution of a given state machine and waits for its end.
func runOn(t *testing.T, machine, in string) *emulator.Execution {
	t.Helper()
	ex, err := emu.RunExecution(context.Background(), machine, in, executionTimeout)
	if err != nil {
		t.Fatalf("execution with input %s: %v", in, err)
	}
	return ex
}

// input is the execution input for instance IDs in region.
func input(region string, ids ...string) string {
	b, _ := json.Marshal(map[string]interface{}{"InstanceIds": ids, "Region": region})
	return string(b)
}

// run starts an execution with the given input and waits for its end.
func run(t *testing.T, in string) *emulator.Execution {
	t.Helper()
	ex, err := emu.RunExecution(context.Background(), machineARN, in, executionTimeout)
	if err != nil {
		t.Fatalf("execution with input %s: %v", in, err)
	}
	return ex
}

// incidentID is the execution name, which the workflow uses as incident ID.
func incidentID(ex *emulator.Execution) string {
	return ex.ARN[strings.LastIndex(ex.ARN, ":")+1:]
}

// mustSucceed fails the test unless the execution SUCCEEDED.
func mustSucceed(t *testing.T, ex *emulator.Execution) Output {
	t.Helper()
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: status %s, want SUCCEEDED\nerror: %s\ncause: %s", ex.ARN, ex.Status, ex.Error, ex.Cause)
	}
	var out Output
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatalf("execution output is not the documented summary: %v\n%s", err, ex.Output)
	}
	return withInstances(t, ex, out)
}

// withInstances completes an execution's output with each instance's own
// outcome: the output, or the error and cause, of the execution of the
// instance state machine that contained it, then of the one that preserved
// its evidence. An instance whose evidence was not preserved is FAILED, with
// that execution's error and cause.
func withInstances(t *testing.T, ex *emulator.Execution, out Output) Output {
	t.Helper()
	ctx := context.Background()
	children, err := emu.Children(ctx, ex.ARN)
	if err != nil {
		t.Fatalf("the instance executions of %s: %v", ex.ARN, err)
	}
	evidence := map[string]EvidenceOutcome{}
	for _, arn := range children {
		child, err := emu.Describe(ctx, arn)
		if err != nil {
			t.Fatalf("describe instance execution %s: %v", arn, err)
		}
		var in struct{ InstanceId, Phase string }
		if err := json.Unmarshal([]byte(child.Input), &in); err == nil && in.Phase == statemachine.RevokePhase {
			if out.RevocationExecution != nil {
				t.Errorf("two revocation executions: %s and %s", out.RevocationExecution.ARN, arn)
			}
			out.RevocationExecution = child
			continue
		}
		if err := json.Unmarshal([]byte(child.Input), &in); err != nil || in.InstanceId == "" {
			t.Fatalf("instance execution %s: input %q has no InstanceId", arn, child.Input)
		}
		if in.Phase == statemachine.EvidencePhase {
			if _, twice := evidence[in.InstanceId]; twice {
				t.Errorf("the evidence of %s was preserved by two executions", in.InstanceId)
			}
			evidence[in.InstanceId] = evidenceOutcome(t, child)
			continue
		}
		if in.Phase != statemachine.ContainPhase {
			t.Errorf("instance execution %s: phase %q", arn, in.Phase)
		}
		var sum InstanceSummary
		switch child.Status {
		case "SUCCEEDED":
			if err := json.Unmarshal([]byte(child.Output), &sum); err != nil {
				t.Fatalf("instance execution %s: output is not the documented summary: %v\n%s", arn, err, child.Output)
			}
		case "FAILED":
			// The failed outcome (with the record it kept) is the input of
			// the Fail state that ended the execution.
			sum = failedOutcome(t, arn)
			if sum.Error != child.Error || sum.Cause != child.Cause {
				t.Errorf("instance execution %s failed with %s: %s, but its outcome says %s: %s", arn, child.Error, child.Cause, sum.Error, sum.Cause)
			}
		default:
			t.Fatalf("instance execution %s of %s: status %s", arn, in.InstanceId, child.Status)
		}
		if sum.InstanceId != in.InstanceId {
			t.Errorf("instance execution %s was started for %s but reports %s", arn, in.InstanceId, sum.InstanceId)
		}
		sum.Execution = arn
		out.Instances = append(out.Instances, sum)
	}
	if len(out.Instances) != len(out.Contained)+len(out.Failed) {
		t.Errorf("%d instance executions, but the output counts %d contained and %d failed", len(out.Instances), len(out.Contained), len(out.Failed))
	}
	if len(evidence) != len(out.EvidencePreserved)+len(out.EvidenceFailed) || len(evidence) != len(out.Contained) {
		t.Errorf("%d evidence executions for %d contained instances, but the output counts %d preserved and %d failed",
			len(evidence), len(out.Contained), len(out.EvidencePreserved), len(out.EvidenceFailed))
	}
	for i, sum := range out.Instances {
		ev, ok := evidence[sum.InstanceId]
		if sum.Outcome != "CONTAINED" {
			if ok {
				t.Errorf("%s was not contained, but its evidence phase ran", sum.InstanceId)
			}
			continue
		}
		if !ok {
			t.Errorf("%s was contained, but no execution preserved its evidence", sum.InstanceId)
			continue
		}
		sum.Evidence = ev
		if ev.Outcome == "FAILED" {
			sum.Outcome, sum.Error, sum.Cause = "FAILED", ev.Error, ev.Cause
		}
		out.Instances[i] = sum
	}
	for _, f := range out.Failed {
		if f.Outcome != "FAILED" || f.InstanceId == "" {
			t.Errorf("a failed entry of the output is %+v", f)
		}
	}
	return out
}

// evidenceOutcome is the outcome of an execution of the evidence phase: its
// output when it SUCCEEDED, its error and cause when it FAILED.
func evidenceOutcome(t *testing.T, ex *emulator.Execution) EvidenceOutcome {
	t.Helper()
	var ev EvidenceOutcome
	switch ex.Status {
	case "SUCCEEDED":
		if err := json.Unmarshal([]byte(ex.Output), &ev); err != nil || ev.Outcome != "PRESERVED" {
			t.Fatalf("evidence execution %s: output is not the documented outcome (%v)\n%s", ex.ARN, err, ex.Output)
		}
	case "FAILED":
		ev = EvidenceOutcome{Outcome: "FAILED", Error: ex.Error, Cause: ex.Cause}
	default:
		t.Fatalf("evidence execution %s: status %s", ex.ARN, ex.Status)
	}
	ev.Execution = ex.ARN
	return ev
}

// ownHistory is an execution's own history, not its child executions'.
func ownHistory(t *testing.T, arn string) []sfntypes.HistoryEvent {
	t.Helper()
	events, err := emu.History(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// failedOutcome reads a failed instance execution's outcome from its
// history: the input of its "Instance Not Contained" state.
func failedOutcome(t *testing.T, arn string) InstanceSummary {
	t.Helper()
	events := ownHistory(t, arn)
	for _, e := range events {
		if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "Instance Not Contained" {
			var sum InstanceSummary
			if err := json.Unmarshal([]byte(aws.ToString(d.Input)), &sum); err != nil {
				t.Fatalf("instance execution %s: the failed outcome is not the documented summary: %v", arn, err)
			}
			return sum
		}
	}
	t.Fatalf("instance execution %s failed without reaching Instance Not Contained", arn)
	return InstanceSummary{}
}

// Output is the execution output a responder reads in the console, and
// (Instances) the outcome of each instance's own execution.
type Output struct {
	IncidentId        string
	Region            string
	InstanceCount     int
	Contained         []string
	Failed            []InstanceSummary
	EvidencePreserved []string
	EvidenceFailed    []InstanceSummary
	// CredentialRevocation is the fleet's revocation of the credentials
	// issued to its instances.
	CredentialRevocation Revocation
	Instances            []InstanceSummary `json:"-"`
	// RevocationExecution is the execution that revoked them, if any.
	RevocationExecution *emulator.Execution `json:"-"`
}

// Revocation is the outcome of a fleet's credential revocation.
type Revocation struct {
	Outcome          string
	Policies         []string
	Roles            []string
	RoleCount        int
	InstancesCovered int
	Execution        string
	Error, Cause     string
}

// Snapshot is one secured snapshot of an instance's evidence.
type Snapshot struct {
	VolumeId, SnapshotId, DeletedUnencryptedSnapshotId string
}

// EvidenceOutcome is the outcome of an instance's evidence phase.
type EvidenceOutcome struct {
	Execution     string `json:"-"`
	InstanceId    string
	Outcome       string
	Error, Cause  string
	SnapshotCount int
	Snapshots     []Snapshot
}

// InstanceSummary is one instance's part of the output.
type InstanceSummary struct {
	// Execution is the instance's own execution.
	Execution  string `json:"-"`
	InstanceId string
	Outcome    string
	Error      string
	Cause      string
	Metadata   struct {
		State, InstanceType, ImageId, VpcId, SubnetId, PrivateIpAddress string
	}
	Tags                          []struct{ Key, Value string }
	DetachedFromAutoScalingGroups []string
	TerminationProtection         boolProtection
	StopProtection                boolProtection
	ShutdownBehaviour             stringProtection
	IsolationGroupId              string
	NetworkInterfaces             []struct {
		NetworkInterfaceId string
		PreviousGroups     []string
	}
	DetachedInstanceProfiles             []string
	InstanceProfileRoles                 []string
	DeregisteredFromTargetGroups         []string
	DeregisteredFromClassicLoadBalancers []string
	ElasticIps                           []string
	DisassociatedElasticIps              []string
	SnapshotsStarted                     []string
	// Snapshots are the snapshots its evidence phase secured, read from
	// its evidence summary (Evidence is that phase's outcome).
	Snapshots                 []Snapshot      `json:"-"`
	Evidence                  EvidenceOutcome `json:"-"`
	AlreadyPreservedSnapshots []string
	SnapshotCount             int
	SummaryObject             struct{ Bucket, Key, Sha256 string }
	ConsoleScreenshot         struct{ Object, Sha256, VersionId string }
	Record                    []struct {
		Bucket, ManifestKey, ManifestSha256 string
		Written                             bool
		Objects                             []struct{ Object, Sha256, VersionId string }
	}
}

// boolProtection is termination or stop protection as the summary reports
// it: its value before and after, and whether EC2 allows it for the
// instance (not for Spot Instances, nor stop protection for
// instance-store-backed ones).
type boolProtection struct {
	Before, After bool
	Applicable    bool
}

// stringProtection is the shutdown behaviour as the summary reports it.
type stringProtection struct {
	Before, After string
	Applicable    bool
}

// summary returns one instance's summary: its compact entry in the output,
// completed by the full summary the workflow wrote to the evidence bucket,
// whose bytes must hash to the SHA-256 the output gives.
func (o Output) summary(t *testing.T, id string) InstanceSummary {
	t.Helper()
	for _, s := range o.Instances {
		if s.InstanceId != id {
			continue
		}
		if s.Outcome != "CONTAINED" {
			return s
		}
		obj := s.SummaryObject
		body, sha, _, _ := recordObject(t, obj.Bucket, obj.Key)
		if sha != obj.Sha256 || obj.Sha256 == "" {
			t.Errorf("%s: summary s3://%s/%s hashes to %s, the output says %q", id, obj.Bucket, obj.Key, sha, obj.Sha256)
		}
		var full InstanceSummary
		if err := json.Unmarshal(body, &full); err != nil {
			t.Fatalf("%s: summary object is not the documented summary: %v\n%s", id, err, body)
		}
		if len(full.SnapshotsStarted) != s.SnapshotCount || full.InstanceId != id || full.IsolationGroupId != s.IsolationGroupId {
			t.Errorf("%s: output (%d snapshots, group %s) and summary object (%d, %s) disagree", id, s.SnapshotCount, s.IsolationGroupId, len(full.SnapshotsStarted), full.IsolationGroupId)
		}
		full.SummaryObject, full.SnapshotCount, full.Evidence, full.Execution = obj, s.SnapshotCount, s.Evidence, s.Execution
		full.Snapshots = evidenceSnapshots(t, s.Evidence)
		return full
	}
	t.Fatalf("output has no summary for %s", id)
	return InstanceSummary{}
}

// evidenceSnapshots returns the snapshots an evidence phase secured, from
// its output.
func evidenceSnapshots(t *testing.T, ev EvidenceOutcome) []Snapshot {
	t.Helper()
	if len(ev.Snapshots) != ev.SnapshotCount {
		t.Errorf("%s: evidence output counts %d snapshots but lists %v", ev.InstanceId, ev.SnapshotCount, ev.Snapshots)
	}
	return ev.Snapshots
}
