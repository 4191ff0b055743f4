package statemachine

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// startInstanceExecution contains one instance of the fleet in its own
// execution of the instance state machine (Workflow.Instance), started and
// waited for (states:startExecution.sync:2). Each instance's history and
// state are then its own: the fleet execution keeps only one small outcome
// per instance, {"InstanceId", "Outcome"}, so one execution can contain a
// thousand instances within the limits of an execution (25,000 history
// events, 256 KiB of state).
//
// The child execution is named "<instance-id>-<uuid>" and is associated
// with this execution, so the console links each to the other. It ends
// SUCCEEDED when the instance is contained and FAILED, with AWS's error and
// a cause naming the step, when it is not; a child that cannot be started
// is a failure of the instance too.
func (b *builder) startInstanceExecution() sfn.IChainable {
	name := b.settings.InstanceStateMachineName
	machine := arn("states", "stateMachine:"+name)
	start := sfn.NewCustomState(b.scope, jsii.String("Contain Instance"), &sfn.CustomStateProps{
		StateJson: &map[string]interface{}{
			"Type":     "Task",
			"Resource": "arn:" + *awscdk.Aws_PARTITION() + ":states:::states:startExecution.sync:2",
			"Parameters": map[string]interface{}{
				"StateMachineArn": machine,
				"Name.$":          "States.Format('{}-{}', $.InstanceId, States.UUID())",
				"Input":           instanceInput(),
			},
			"ResultSelector": map[string]interface{}{
				"InstanceId.$": "$.Output.InstanceId",
				"Outcome.$":    "$.Output.Outcome",
			},
			// The child runs for as long as its snapshots take; a day
			// bounds it like the fleet execution's own timeout.
			"TimeoutSeconds": 86400,
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
	start.AddCatch(b.instanceNotContained(), &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})
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
var instanceInputFields = []string{"InstanceId", "Region", "IncidentId", "UnpreparedVpcs", "Options"}

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

// instanceNotContained turns the failure of an instance's execution into
// the instance's outcome {"InstanceId", "Outcome": "FAILED", "Error",
// "Cause"}: the error and cause its execution failed with (the cause names
// the step), read from the DescribeExecution response that Step Functions
// gives as the cause of States.TaskFailed; or, if the execution could not be
// started or ended without an error, what Step Functions said.
func (b *builder) instanceNotContained() sfn.IChainable {
	outcome := func(name, errorPath, cause string) sfn.Pass {
		return b.pass(name, map[string]interface{}{
			"InstanceId.$": "$.InstanceId",
			"Outcome":      "FAILED",
			"Error.$":      errorPath,
			"Cause.$":      cause,
		}, "")
	}
	read := sfn.NewPass(b.scope, jsii.String("Read Why Its Execution Failed"), &sfn.PassProps{
		Parameters: &map[string]interface{}{"Execution.$": "States.StringToJson($.Failure.Cause)"},
		ResultPath: jsii.String("$.Ended"),
	})
	read.Next(b.choice("Did Its Execution Give An Error?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Error")),
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Cause")),
		), outcome("Instance Failed In Its Execution", "$.Ended.Execution.Error", "$.Ended.Execution.Cause"), nil).
		Otherwise(outcome("Instance Execution Ended Without Error", "$.Failure.Error",
			"States.Format('Contain Instance failed for instance {}: its execution ended {}', $.InstanceId, States.JsonToString($.Ended.Execution.Status))")))
	return b.choice("Did Its Execution Run?").
		When(sfn.Condition_And(
			sfn.Condition_StringEquals(jsii.String("$.Failure.Error"), jsii.String("States.TaskFailed")),
			sfn.Condition_StringMatches(jsii.String("$.Failure.Cause"), jsii.String("{*")),
		), read, nil).
		Otherwise(outcome("Instance Execution Not Started", "$.Failure.Error",
			"States.Format('Contain Instance failed for instance {}: its execution could not be run: {}', $.InstanceId, $.Failure.Cause)"))
}

// managedRule is the EventBridge rule Step Functions manages for .sync
// integrations with Step Functions.
func managedRule() string {
	return arn("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule")
}
