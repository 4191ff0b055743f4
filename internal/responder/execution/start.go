package execution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// ErrIncidentExists is wrapped by Start's error when the incident already
// has an execution with another input.
var ErrIncidentExists = errors.New("this incident ID already has an execution")

// Start starts the containment of instanceIDs as the incident incidentID:
// an execution of machineARN named incidentID, input {"InstanceIds",
// "Region"}. Starting the same incident with the same input while it runs
// returns the running execution, as Step Functions does.
func Start(ctx context.Context, api API, machineARN, incidentID string, instanceIDs []string, region string) (string, error) {
	input, err := json.Marshal(map[string]interface{}{"InstanceIds": instanceIDs, "Region": region})
	if err != nil {
		return "", fmt.Errorf("encode the execution input: %w", err)
	}
	out, err := api.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machineARN),
		Name:            aws.String(incidentID),
		Input:           aws.String(string(input)),
	})
	if err != nil {
		var exists *sfntypes.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			return "", fmt.Errorf("start incident %s: %w (%s)", incidentID, ErrIncidentExists, aws.ToString(exists.Message))
		}
		return "", fmt.Errorf("start incident %s on %s: %w", incidentID, machineARN, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}
