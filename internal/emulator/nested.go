package emulator

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Children returns the ARNs of the executions that executionARN started
// through the optimised Step Functions integration
// (arn:aws:states:::states:startExecution, .sync, .sync:2 and
// .waitForTaskToken), in start order, each once. They are read from its
// history: the ExecutionArn of a TaskSubmitted or TaskSucceeded output and,
// for a child that failed (TaskFailed States.TaskFailed), of the Cause, which
// is the child's DescribeExecution as JSON. A start that failed (the
// StartExecution call itself was refused) started nothing and is not listed.
// Executions started from inside Map iterations and Parallel branches are in
// the same history, so they are listed too; grandchildren are not (see
// HistoryTree).
func (e *Emulator) Children(ctx context.Context, executionARN string) ([]string, error) {
	events, err := e.History(ctx, executionARN)
	if err != nil {
		return nil, err
	}
	var arns []string
	for _, c := range childrenOf(events) {
		arns = append(arns, c.arn)
	}
	return arns, nil
}

// HistoryTree returns the whole tree of histories under an execution: its
// own events, as History returns them, then, for each of its Children in
// start order, that child's HistoryTree, depth first.
//
// Every execution numbers its events from 1, so each child's events are
// renumbered: its event Id and PreviousEventId are offset by the number of
// events already emitted before it. Ids therefore stay unique across the tree
// (they run 1..len(tree)), and each PreviousEventId still names the same
// event of the same execution. The one exception links the executions: a
// child's ExecutionStarted event, which has no previous event in its own
// history, gets as PreviousEventId the parent's event that first names the
// child (the TaskSubmitted of the task that started it), and the child's
// other events without a previous one (its first state's entry) get the
// child's ExecutionStarted, so a chain of PreviousEventIds runs from the
// root's start to any event of the tree. The root's events keep 0. Each execution's part of the tree begins
// with its ExecutionStarted event. An execution reached twice is listed
// once.
func (e *Emulator) HistoryTree(ctx context.Context, executionARN string) ([]sfntypes.HistoryEvent, error) {
	var tree []sfntypes.HistoryEvent
	visited := map[string]bool{}
	var walk func(arn string, startedBy int64) error
	walk = func(arn string, startedBy int64) error {
		if visited[arn] {
			return nil
		}
		visited[arn] = true
		events, err := e.History(ctx, arn)
		if err != nil {
			return err
		}
		offset := int64(len(tree))
		var started int64 // the tree Id of this execution's ExecutionStarted
		for _, ev := range events {
			ev.Id += offset
			switch {
			case ev.PreviousEventId != 0:
				ev.PreviousEventId += offset
			case ev.Type == sfntypes.HistoryEventTypeExecutionStarted:
				ev.PreviousEventId, started = startedBy, ev.Id
			case startedBy != 0:
				// The first state's entry (PreviousEventId 0 in its
				// own history) follows the child's start.
				ev.PreviousEventId = started
			}
			tree = append(tree, ev)
		}
		for _, child := range childrenOf(events) {
			if err := walk(child.arn, child.event+offset); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(executionARN, 0); err != nil {
		return nil, err
	}
	return tree, nil
}

// child is an execution another one started: its ARN, and the Id of the
// first event of the parent's history that names it.
type child struct {
	arn   string
	event int64
}

// childrenOf lists the executions a history's startExecution tasks started.
func childrenOf(events []sfntypes.HistoryEvent) []child {
	var children []child
	seen := map[string]bool{}
	var id int64
	add := func(text string) {
		arn := executionARNIn(text)
		if arn != "" && !seen[arn] {
			seen[arn] = true
			children = append(children, child{arn: arn, event: id})
		}
	}
	for _, ev := range events {
		id = ev.Id
		switch {
		case ev.TaskSubmittedEventDetails != nil:
			d := ev.TaskSubmittedEventDetails
			if isStartExecution(d.ResourceType, d.Resource) {
				add(aws.ToString(d.Output))
			}
		case ev.TaskSucceededEventDetails != nil:
			d := ev.TaskSucceededEventDetails
			if isStartExecution(d.ResourceType, d.Resource) {
				add(aws.ToString(d.Output))
			}
		case ev.TaskFailedEventDetails != nil:
			d := ev.TaskFailedEventDetails
			if isStartExecution(d.ResourceType, d.Resource) && aws.ToString(d.Error) == "States.TaskFailed" {
				add(aws.ToString(d.Cause))
			}
		}
	}
	return children
}

// isStartExecution reports whether a task event belongs to the optimised
// states:startExecution integration (resource "startExecution",
// "startExecution.sync", "startExecution.sync:2", ...).
func isStartExecution(resourceType, resource *string) bool {
	if aws.ToString(resourceType) != "states" {
		return false
	}
	r := aws.ToString(resource)
	return r == "startExecution" || strings.HasPrefix(r, "startExecution.")
}

// executionARNIn returns the ExecutionArn member (any case) of a JSON object,
// or "".
func executionARNIn(text string) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return ""
	}
	for k, v := range obj {
		if s, ok := v.(string); ok && strings.EqualFold(k, "executionArn") && strings.Contains(s, ":execution:") {
			return s
		}
	}
	return ""
}
