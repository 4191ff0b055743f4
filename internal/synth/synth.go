// Package synth synthesizes the essential-ir stack in-process and turns the
// state machine definition it contains into the exact ASL a deployment would
// run, with CloudFormation references resolved. Tests, the demo and the
// benchmarks use it so they all run the synthesized definition unchanged.
package synth

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/cfn"
)

// StackName is the stack's construct ID in the CDK app.
const StackName = "EssentialIr"

// Template is a synthesized CloudFormation template.
type Template struct {
	// JSON is the template as CloudFormation reads it.
	JSON map[string]interface{}
	// Stack is the CDK stack it came from, for CDK assertions.
	Stack awscdk.Stack
}

// Synthesize builds the stack in a fresh CDK app (cdk-nag included) and
// returns its template.
func Synthesize() (*Template, error) {
	app := awscdk.NewApp(&awscdk.AppProps{AnalyticsReporting: jsii.Bool(false)})
	st := stack.New(app, StackName, nil)
	tpl := assertions.Template_FromStack(st, nil)
	raw, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		return nil, fmt.Errorf("encode synthesized template: %w", err)
	}
	var out map[string]interface{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode synthesized template: %w", err)
	}
	return &Template{JSON: out, Stack: st}, nil
}

// Deployment is where and how the template is deployed: the values of the
// pseudo parameters and of the stack parameters (defaults for those absent),
// and the physical names of resources the definition refers to, by logical
// ID for Ref and by "LogicalID.Attribute" for Fn::GetAtt.
type Deployment struct {
	Partition, Region, AccountID string
	Parameters                   map[string]string
	Resources                    map[string]string
	// Placeholders resolves a resource absent from Resources to its
	// logical ID: for static checks of the definition's shape, never for a
	// definition that runs.
	Placeholders bool
}

// LogicalID returns the logical ID of the one resource of a type whose
// logical ID starts with prefix (the construct ID).
func (t *Template) LogicalID(cfnType, prefix string) (string, error) {
	ids, _ := t.ResourcesOfType(cfnType)
	var found []string
	for _, id := range ids {
		if len(id) >= len(prefix) && id[:len(prefix)] == prefix {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%d resources of type %s start with %q: %v", len(found), cfnType, prefix, found)
	}
	return found[0], nil
}

// ResourcesOfType returns the logical IDs and bodies of every resource of a
// CloudFormation type, sorted by logical ID.
func (t *Template) ResourcesOfType(cfnType string) ([]string, []map[string]interface{}) {
	resources, _ := t.JSON["Resources"].(map[string]interface{})
	var ids []string
	for id, r := range resources {
		if body, ok := r.(map[string]interface{}); ok && body["Type"] == cfnType {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	bodies := make([]map[string]interface{}, len(ids))
	for i, id := range ids {
		bodies[i] = resources[id].(map[string]interface{})
	}
	return ids, bodies
}

// Definition returns the ASL of the containment state machine (the one
// responders start) with every reference resolved for the deployment d.
func (t *Template) Definition(d Deployment) (string, error) {
	return t.definitionOf(stack.StateMachineID, d)
}

// InstanceDefinition returns the ASL of the state machine that contains one
// instance, resolved for the deployment d.
func (t *Template) InstanceDefinition(d Deployment) (string, error) {
	return t.definitionOf(stack.InstanceStateMachineID, d)
}

// definitionOf resolves the definition of the state machine whose construct
// ID is id, with the one evaluator of the template's functions.
func (t *Template) definitionOf(id string, d Deployment) (string, error) {
	logical, err := t.LogicalID("AWS::StepFunctions::StateMachine", id)
	if err != nil {
		return "", err
	}
	tpl, err := cfn.Parse(t.JSON)
	if err != nil {
		return "", err
	}
	st, err := cfn.NewStack(tpl, cfn.Options{
		Pseudo:     cfn.Pseudo{Partition: d.Partition, Region: d.Region, AccountID: d.AccountID, StackName: StackName},
		Parameters: d.Parameters,
		Resources:  deploymentResources(d),
	})
	if err != nil {
		return "", err
	}
	v, err := st.Resolve(tpl.Resources[logical].Properties["DefinitionString"])
	if err != nil {
		return "", fmt.Errorf("resolve DefinitionString of %s: %w", logical, err)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("DefinitionString of %s resolved to %T, want a string", logical, v)
	}
	if !json.Valid([]byte(s)) {
		return "", fmt.Errorf("DefinitionString of %s is not valid JSON after resolution", logical)
	}
	return s, nil
}

// deploymentResources resolves references to resources for a Deployment:
// from Resources, else (with Placeholders) to the logical ID for Ref and
// "LogicalID.Attribute" for Fn::GetAtt.
type deploymentResources Deployment

// Ref is the physical ID given for the resource, or its placeholder.
func (d deploymentResources) Ref(id string) (string, error) {
	if v, ok := d.Resources[id]; ok {
		return v, nil
	}
	if d.Placeholders {
		return id, nil
	}
	return "", fmt.Errorf("Ref %s: no value given in Deployment.Resources", id)
}

// GetAtt is the attribute given for the resource, or its placeholder.
func (d deploymentResources) GetAtt(id, attr string) (interface{}, error) {
	key := id + "." + attr
	if v, ok := d.Resources[key]; ok {
		return v, nil
	}
	if d.Placeholders {
		return key, nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s: no value given in Deployment.Resources", key)
}
