// Package deploy deploys the synthesized stack into the emulated account as
// CloudFormation would: every resource of the template (evidence key and
// alias, evidence bucket and its policy, role and policies, log group,
// state machines) is created from its own properties, resolved by
// internal/cfn, in dependency order, through the AWS APIs (moto's
// CloudFormation ignores state machine definitions). A resource type,
// attribute or property it cannot honour is an error; the tables of what
// is ignored, and why, are in types.go.
package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// Deployment is the stack deployed in the emulated account.
type Deployment struct {
	// StackName is the stack's name, which is also the state machine's.
	StackName string
	// StateMachineARN is the containment state machine, the one responders
	// start.
	StateMachineARN string
	// InstanceStateMachineARN is the state machine that contains one
	// instance, started by the other once per instance.
	InstanceStateMachineARN string
	// Bucket is the evidence bucket: the one the stack created, or the
	// existing one EvidenceBucketName names. KeyARN is the evidence KMS
	// key.
	Bucket, KeyARN string
	// RoleARN is the state machines' role, as the template defines it.
	RoleARN string
	// LogGroupName is the state machines' log group.
	LogGroupName string
	// Definition and InstanceDefinition are the ASL the state machines
	// were created with, read back from the account.
	Definition, InstanceDefinition string
	// Outputs are the stack's outputs whose condition holds, by logical ID
	// (stack.OutputStateMachineArn, ...).
	Outputs map[string]string
	// Resources are the physical IDs (what Ref gives) of the resources
	// created, by logical ID.
	Resources map[string]string
}

// Deploy creates the stack named name, whose StateMachineName parameter is
// also name, for the stack parameters given (defaults for the others), in
// the emulated account. Each deployment has resources of its own: names the
// template does not fix are generated per stack, as CloudFormation does.
// With EvidenceBucketName set, the stack creates no bucket: that bucket
// must exist already.
func Deploy(ctx context.Context, emu *emulator.Emulator, tpl *synth.Template, name string, params map[string]string) (*Deployment, error) {
	return DeployInRegion(ctx, emu, tpl, emu.Region(), name, params)
}

// DeployInRegion is Deploy in another region of the emulated account: IAM
// (roles and their policies) is global to the account, everything else
// the stack creates is the region's.
func DeployInRegion(ctx context.Context, emu *emulator.Emulator, tpl *synth.Template, region, name string, params map[string]string) (*Deployment, error) {
	named := map[string]string{stack.ParamStateMachineName: name}
	for k, v := range params {
		if k != stack.ParamStateMachineName {
			named[k] = v
		}
	}
	a := newAccount(emu, region)
	cs, err := createStack(ctx, a, tpl.JSON, name, named)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	d := &Deployment{StackName: name, Outputs: cs.outputs, Resources: map[string]string{}}
	for id, p := range cs.resources {
		d.Resources[id] = p.ref
	}
	for _, v := range []struct {
		cfnType, prefix, attribute string
		into                       *string
	}{
		{"AWS::StepFunctions::StateMachine", stack.StateMachineID, "Arn", &d.StateMachineARN},
		{"AWS::StepFunctions::StateMachine", stack.InstanceStateMachineID, "Arn", &d.InstanceStateMachineARN},
		{"AWS::KMS::Key", stack.KeyID, "Arn", &d.KeyARN},
		{"AWS::IAM::Role", stack.RoleID, "Arn", &d.RoleARN},
		{"AWS::Logs::LogGroup", stack.LogGroupID, "", &d.LogGroupName},
	} {
		if *v.into, err = value(tpl, cs.resources, v.cfnType, v.prefix, v.attribute); err != nil {
			return nil, fmt.Errorf("deploy: %w", err)
		}
	}
	d.Bucket = d.Outputs[stack.OutputEvidenceBucket]
	if d.Bucket == "" {
		d.Bucket = d.Outputs[stack.OutputExistingEvidenceBucket]
	}
	if d.Bucket == "" || d.Outputs[stack.OutputStateMachineArn] != d.StateMachineARN {
		return nil, fmt.Errorf("deploy: outputs %v do not name the evidence bucket and the state machine %s", d.Outputs, d.StateMachineARN)
	}
	for arn, into := range map[string]*string{d.StateMachineARN: &d.Definition, d.InstanceStateMachineARN: &d.InstanceDefinition} {
		out, err := a.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("deploy: read back state machine %s: %w", arn, err)
		}
		*into = aws.ToString(out.Definition)
	}
	return d, nil
}

// value is the Ref (attribute "") or an attribute of the one resource of a
// type whose logical ID starts with prefix.
func value(tpl *synth.Template, res created, cfnType, prefix, attribute string) (string, error) {
	id, err := tpl.LogicalID(cfnType, prefix)
	if err != nil {
		return "", err
	}
	if attribute == "" {
		return res.Ref(id)
	}
	v, err := res.GetAtt(id, attribute)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s.%s is a %T", id, attribute, v)
	}
	return s, nil
}
