// Package locate finds a deployed essential-ir stack's resources from its
// CloudFormation outputs: the state machine responders start and the
// evidence bucket.
package locate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// DefaultStack is the stack name the CDK app deploys (infra/main.go).
const DefaultStack = "EssentialIr"

// The stack outputs this package reads (infra/stack).
const (
	OutputStateMachineArn        = "StateMachineArn"
	OutputEvidenceBucket         = "EvidenceBucket"
	OutputExistingEvidenceBucket = "ExistingEvidenceBucket"
)

// ErrStackNotFound is wrapped by Stack's error when the stack does not exist
// in the region.
var ErrStackNotFound = errors.New("stack not found")

// Deployment is what a stack's outputs say.
type Deployment struct {
	// StackName is the stack read.
	StackName string
	// StateMachineARN is the state machine to start.
	StateMachineARN string
	// EvidenceBucket is the bucket the stack created, or the existing one it
	// was given.
	EvidenceBucket string
	// Outputs are every output, by key.
	Outputs map[string]string
}

// CloudFormation is the part of the CloudFormation API Stack uses.
type CloudFormation interface {
	DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// Stack reads the outputs of the stack named name.
func Stack(ctx context.Context, api CloudFormation, name string) (*Deployment, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" {
			return nil, fmt.Errorf("stack %s: %w (%s)", name, ErrStackNotFound, apiErr.ErrorMessage())
		}
		return nil, fmt.Errorf("read stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("stack %s: %w", name, ErrStackNotFound)
	}
	d := &Deployment{StackName: name, Outputs: map[string]string{}}
	for _, o := range out.Stacks[0].Outputs {
		d.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	d.StateMachineARN = d.Outputs[OutputStateMachineArn]
	d.EvidenceBucket = d.Outputs[OutputEvidenceBucket]
	if d.EvidenceBucket == "" {
		d.EvidenceBucket = d.Outputs[OutputExistingEvidenceBucket]
	}
	if d.StateMachineARN == "" {
		return nil, fmt.Errorf("stack %s has no %s output: is it the essential-ir stack (status %s)?",
			name, OutputStateMachineArn, out.Stacks[0].StackStatus)
	}
	return d, nil
}
