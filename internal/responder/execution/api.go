// Package execution starts an incident's execution of the essential-ir
// state machine, finds the executions it starts (one containment and one
// evidence execution per instance) and follows them step by step, all
// through the Step Functions API.
//
// An incident's execution is named after the incident, so its ARN derives
// from the state machine's (ExecutionARN). The executions it starts are
// read from its history: the events of its startExecution.sync:2 tasks
// carry each child's ExecutionArn, so nothing is listed or filtered by
// name.
package execution

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// API is the part of the Step Functions API this package uses.
type API interface {
	StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	DescribeStateMachine(context.Context, *sfn.DescribeStateMachineInput, ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
}
