package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// history reads every event of an execution's history, oldest first.
func history(ctx context.Context, api API, arn string) ([]sfntypes.HistoryEvent, error) {
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(api, &sfn.GetExecutionHistoryInput{
		ExecutionArn: aws.String(arn),
		MaxResults:   1000,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the history of %s: %w", arn, err)
		}
		events = append(events, page.Events...)
	}
	return events, nil
}

// startedExecution returns the ARN of the execution a history event says
// a states:startExecution task started, or "": the TaskSubmitted and
// TaskSucceeded outputs carry its ExecutionArn, and so does the cause of a
// TaskFailed States.TaskFailed (the child's DescribeExecution as JSON). A
// start that was refused started nothing.
func startedExecution(ev sfntypes.HistoryEvent) string {
	switch {
	case ev.TaskSubmittedEventDetails != nil:
		d := ev.TaskSubmittedEventDetails
		if isStartExecution(d.ResourceType, d.Resource) {
			return executionARNIn(aws.ToString(d.Output))
		}
	case ev.TaskSucceededEventDetails != nil:
		d := ev.TaskSucceededEventDetails
		if isStartExecution(d.ResourceType, d.Resource) {
			return executionARNIn(aws.ToString(d.Output))
		}
	case ev.TaskFailedEventDetails != nil:
		d := ev.TaskFailedEventDetails
		if isStartExecution(d.ResourceType, d.Resource) && aws.ToString(d.Error) == "States.TaskFailed" {
			return executionARNIn(aws.ToString(d.Cause))
		}
	}
	return ""
}

// isStartExecution reports whether a task event is of the optimised
// states:startExecution integration (startExecution, .sync, .sync:2,
// .waitForTaskToken).
func isStartExecution(resourceType, resource *string) bool {
	if aws.ToString(resourceType) != "states" {
		return false
	}
	r := aws.ToString(resource)
	return r == "startExecution" || strings.HasPrefix(r, "startExecution.")
}

// executionARNIn returns the ExecutionArn member of a JSON object, or "".
func executionARNIn(text string) string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return ""
	}
	for k, v := range obj {
		var s string
		if strings.EqualFold(k, "executionArn") && json.Unmarshal(v, &s) == nil && IsExecutionARN(s) {
			return s
		}
	}
	return ""
}

// enteredState returns the name of the state a StateEntered event enters,
// and whether it is one.
func enteredState(ev sfntypes.HistoryEvent) (string, bool) {
	if ev.StateEnteredEventDetails == nil {
		return "", false
	}
	return aws.ToString(ev.StateEnteredEventDetails.Name), true
}

// isStep reports whether entering the state named name, by event ev, is
// entering a step: one of steps, or, without a definition, a Parallel or
// Map state.
func isStep(steps *Steps, name string, ev sfntypes.HistoryEvent) bool {
	if steps != nil {
		return steps.Shown(name)
	}
	return ev.Type == sfntypes.HistoryEventTypeParallelStateEntered || ev.Type == sfntypes.HistoryEventTypeMapStateEntered
}
