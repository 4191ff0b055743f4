package statemachine

import (
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// instancePhase is one of the two executions of the instance state machine
// (Workflow.Instance) the fleet starts for each instance.
type instancePhase struct {
	// phase is the execution's input Phase: ContainPhase or EvidencePhase.
	phase string
	// state names the fleet's task that starts it, as the console shows it.
	state string
	// nameFormat names the execution, from the instance ID and a UUID.
	nameFormat string
	// input are the input fields besides those of instanceInputFields,
	// JSONPaths into the Map item.
	input map[string]interface{}
	// output are the fields the fleet keeps of the execution's output.
	output []string
	// prefix starts the names of the states that handle its failure.
	prefix string
}

// The two phases of an instance: contained (isolated, with its snapshots
// started), then, once the whole fleet is contained, its evidence preserved.
var (
	containPhase = instancePhase{
		phase: ContainPhase, state: "Contain Instance", nameFormat: "{}-{}",
		input:  map[string]interface{}{"TargetGroups.$": "$.TargetGroups", "ClassicLoadBalancers.$": "$.ClassicLoadBalancers"},
		output: []string{"InstanceId", "IncidentId", "Outcome", "SnapshotCount"},
	}
	evidencePhase = instancePhase{
		phase: EvidencePhase, state: "Preserve Its Evidence", nameFormat: "{}-evidence-{}",
		input:  map[string]interface{}{"ExpectedSnapshotCount.$": "$.ExpectedSnapshotCount"},
		output: []string{"InstanceId", "Outcome"}, prefix: "Evidence: ",
	}
)

// inputFields are the names of the fields of the phase's input:
// instanceInputFields, then those of p.input, sorted.
func (p instancePhase) inputFields() []string {
	var own []string
	for k := range p.input {
		own = append(own, strings.TrimSuffix(k, ".$"))
	}
	sort.Strings(own)
	return append(append([]string(nil), instanceInputFields...), own...)
}

// ExecutionTimeoutSeconds bounds every execution of the workflow: a week,
// so the evidence of the largest EBS volumes (16 TiB: a first snapshot,
// then its encrypted copy, each perhaps a day or two) is waited for, within
// the 25,000 history events of an execution (maxSnapshotWaitSeconds).
const ExecutionTimeoutSeconds = 7 * 24 * 3600

// startInstanceExecution runs one phase of one instance of the fleet in
// its own execution of the instance state machine (Workflow.Instance),
// started and waited for (states:startExecution.sync:2). Each instance's
// history and state are then its own: the fleet execution keeps only one
// small outcome per instance and phase, so one execution can contain a
// thousand instances within the limits of an execution (25,000 history
// events, 256 KiB of state).
//
// The child execution is named "<instance-id>-<uuid>" (containment) or
// "<instance-id>-evidence-<uuid>" and is associated with this execution, so
// the console links each to the other. It ends SUCCEEDED when its phase is
// done and FAILED, with AWS's error and a cause naming the step, when it is
// not; a child that cannot be started is a failure of the instance too.
func (b *builder) startInstanceExecution(p instancePhase) sfn.IChainable {
	name := b.settings.InstanceStateMachineName
	machine := arn("states", "stateMachine:"+name)
	input := instanceInput()
	input["Phase"] = p.phase
	for k, v := range p.input {
		input[k] = v
	}
	output := map[string]interface{}{}
	for _, f := range p.output {
		output[f+".$"] = "$.Output." + f
	}
	start := sfn.NewCustomState(b.scope, jsii.String(p.state), &sfn.CustomStateProps{
		StateJson: &map[string]interface{}{
			"Type":     "Task",
			"Resource": "arn:" + *awscdk.Aws_PARTITION() + ":states:::states:startExecution.sync:2",
			"Parameters": map[string]interface{}{
				"StateMachineArn": machine,
				"Name.$":          "States.Format('" + p.nameFormat + "', $.InstanceId, States.UUID())",
				"Input":           input,
			},
			"ResultSelector": output,
			// The child runs for as long as its snapshots take: the
			// first snapshot of a 16 TiB volume, then its encrypted
			// copy, can take days. ExecutionTimeout bounds it like
			// the fleet execution's own timeout.
			"TimeoutSeconds": ExecutionTimeoutSeconds,
		},
	})
	// Starting the child is retried when Step Functions throttles or is
	// briefly unavailable; a child that ran and failed is not retried.
	start.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings("StepFunctions.ExecutionLimitExceededException", "StepFunctions.SfnException", "StepFunctions.SdkClientException"),
		Interval:       awscdk.Duration_Seconds(jsii.Number(1)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(5),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(16)),
		JitterStrategy: sfn.JitterType_FULL,
	})
	start.AddCatch(b.instanceNotContained(p), anyError())
	// Both phases start the same state machine: their access merges into
	// the same statements (PolicyStatements).
	rule := managedRule()
	b.access = append(b.access,
		Access{Action: "states:StartExecution", Resources: []string{machine}},
		Access{Action: "states:DescribeExecution", Resources: []string{arn("states", "execution:"+name+":*")}},
		Access{Action: "states:StopExecution", Resources: []string{arn("states", "execution:"+name+":*")}},
		// .sync integrations learn of the child's end through this
		// managed EventBridge rule (Step Functions Developer Guide, "IAM
		// policies for starting a new execution").
		Access{Action: "events:PutTargets", Resources: []string{rule}},
		Access{Action: "events:PutRule", Resources: []string{rule}},
		Access{Action: "events:DescribeRule", Resources: []string{rule}},
	)
	return start
}

// instanceInputFields are the fields of an instance execution's input, each
// taken from the same field of the fleet's Map item.
// FleetExecutionName, the started execution's name, names the snapshots the
// instance's containment starts, so its evidence phase finds those and no
// others (snapshotDescription).
var instanceInputFields = []string{"InstanceId", "Region", "IncidentId", "UnpreparedVpcs", "Options", "FleetExecutionName"}

// instanceInput is the input of an instance's execution.
func instanceInput() map[string]interface{} {
	in := map[string]interface{}{
		// Links the child to this execution in the console.
		"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
	}
	for _, f := range instanceInputFields {
		in[f+".$"] = "$." + f
	}
	return in
}

// instanceNotContained turns the failure of an instance's execution (of
// phase p) into the instance's outcome {"InstanceId", "Outcome": "FAILED", "Error",
// "Cause"}: the error and cause its execution failed with (the cause names
// the step), read from the DescribeExecution response that Step Functions
// gives as the cause of States.TaskFailed; or, if the execution could not be
// started or ended without an error, what Step Functions said.
func (b *builder) instanceNotContained(p instancePhase) sfn.IChainable {
	outcome := func(name, errorPath, cause string) sfn.Pass {
		return b.pass(p.prefix+name, map[string]interface{}{
			"InstanceId.$": "$.InstanceId",
			"Outcome":      "FAILED",
			"Error.$":      errorPath,
			"Cause.$":      cause,
		}, "")
	}
	read := sfn.NewPass(b.scope, jsii.String(p.prefix+"Read Why Its Execution Failed"), &sfn.PassProps{
		Parameters: &map[string]interface{}{"Execution.$": "States.StringToJson($.Failure.Cause)"},
		ResultPath: jsii.String("$.Ended"),
	})
	read.Next(b.choice(p.prefix+"Did Its Execution Give An Error?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Error")),
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Cause")),
		), outcome("Instance Failed In Its Execution", "$.Ended.Execution.Error", "$.Ended.Execution.Cause"), nil).
		Otherwise(outcome("Instance Execution Ended Without Error", "$.Failure.Error",
			"States.Format('"+p.state+" failed for instance {}: its execution ended {}', $.InstanceId, States.JsonToString($.Ended.Execution.Status))")))
	return b.choice(p.prefix+"Did Its Execution Run?").
		When(sfn.Condition_And(
			sfn.Condition_StringEquals(jsii.String("$.Failure.Error"), jsii.String("States.TaskFailed")),
			sfn.Condition_StringMatches(jsii.String("$.Failure.Cause"), jsii.String("{*")),
		), read, nil).
		Otherwise(outcome("Instance Execution Not Started", "$.Failure.Error",
			"States.Format('"+p.state+" failed for instance {}: its execution could not be run: {}', $.InstanceId, $.Failure.Cause)"))
}

// managedRule is the EventBridge rule Step Functions manages for .sync
// integrations with Step Functions.
func managedRule() string {
	return arn("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
}
