package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// stateMachine are the AWS::StepFunctions::StateMachine properties
// honoured.
type stateMachine struct {
	StateMachineName     string
	StateMachineType     string
	RoleArn              string
	DefinitionString     string
	Definition           *document
	LoggingConfiguration *struct {
		Destinations []struct {
			CloudWatchLogsLogGroup struct{ LogGroupArn string }
		}
		IncludeExecutionData *cfnBool
		Level                string
	}
	TracingConfiguration *struct{ Enabled *cfnBool }
	Tags                 []tag
}

// createStateMachine creates a state machine through the Step Functions
// API (moto's CloudFormation ignores definitions) with the template's
// role, definition, logging and tracing. It is named StateMachineName, or
// <logical ID>-<random> as CloudFormation names it; a state machine of that
// name already there is an error, as in CloudFormation. Ref gives the ARN;
// Fn::GetAtt Arn and Name.
func createStateMachine(ctx context.Context, a *account, r request) (*physical, error) {
	var p stateMachine
	if err := required(r.props, "RoleArn"); err != nil {
		return nil, err
	}
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	definition, err := p.definition()
	if err != nil {
		return nil, err
	}
	name := p.StateMachineName
	if name == "" {
		random, err := randomSuffix()
		if err != nil {
			return nil, err
		}
		name = shorten(r.logicalID, 80-len(random)-1) + "-" + random
	}
	arn := fmt.Sprintf("arn:%s:states:%s:%s:stateMachine:%s", a.partition, a.region, a.accountID, name)
	// Step Functions (and moto) answer CreateStateMachine for an existing
	// name with the existing machine; CloudFormation fails instead.
	_, err = a.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	var missing *sfntypes.StateMachineDoesNotExist
	switch {
	case err == nil:
		return nil, fmt.Errorf("state machine %s already exists", name)
	case !errors.As(err, &missing):
		return nil, fmt.Errorf("look for state machine %s: %w", name, err)
	}
	in := &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition), RoleArn: aws.String(p.RoleArn),
		Type: sfntypes.StateMachineTypeStandard,
	}
	if p.StateMachineType != "" {
		in.Type = sfntypes.StateMachineType(p.StateMachineType)
	}
	if l := p.LoggingConfiguration; l != nil {
		in.LoggingConfiguration = &sfntypes.LoggingConfiguration{IncludeExecutionData: isTrue(l.IncludeExecutionData), Level: sfntypes.LogLevel(l.Level)}
		for _, d := range l.Destinations {
			in.LoggingConfiguration.Destinations = append(in.LoggingConfiguration.Destinations, sfntypes.LogDestination{
				CloudWatchLogsLogGroup: &sfntypes.CloudWatchLogsLogGroup{LogGroupArn: aws.String(d.CloudWatchLogsLogGroup.LogGroupArn)},
			})
		}
	}
	if p.TracingConfiguration != nil {
		in.TracingConfiguration = &sfntypes.TracingConfiguration{Enabled: isTrue(p.TracingConfiguration.Enabled)}
	}
	for _, t := range p.Tags {
		in.Tags = append(in.Tags, sfntypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	out, err := a.sfn.CreateStateMachine(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create state machine %s: %w", name, err)
	}
	created := aws.ToString(out.StateMachineArn)
	return &physical{ref: created, atts: map[string]interface{}{"Arn": created, "Name": name}}, nil
}

// definition is the ASL: DefinitionString, or Definition as JSON; exactly
// one of them.
func (p *stateMachine) definition() (string, error) {
	switch {
	case p.DefinitionString != "" && p.Definition != nil:
		return "", fmt.Errorf("both DefinitionString and Definition")
	case p.Definition != nil:
		return p.Definition.JSON()
	case p.DefinitionString == "":
		return "", fmt.Errorf("no DefinitionString or Definition")
	case !json.Valid([]byte(p.DefinitionString)):
		return "", fmt.Errorf("DefinitionString is not valid JSON after resolution")
	}
	return p.DefinitionString, nil
}
