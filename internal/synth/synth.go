// Package synth synthesizes the essential-ir stack in-process and turns the
// state machine definition it contains into the exact ASL a deployment would
// run, with CloudFormation references resolved. Tests, the demo and the
// benchmarks use it so they all run the synthesized definition unchanged.
package synth

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/infra/stack"
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
// ID is id.
func (t *Template) definitionOf(id string, d Deployment) (string, error) {
	logical, err := t.LogicalID("AWS::StepFunctions::StateMachine", id)
	if err != nil {
		return "", err
	}
	resources, _ := t.JSON["Resources"].(map[string]interface{})
	body, _ := resources[logical].(map[string]interface{})
	props, _ := body["Properties"].(map[string]interface{})
	v, err := t.resolve(props["DefinitionString"], d)
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

// resolve evaluates the intrinsic functions a definition uses: Ref (to
// pseudo parameters and parameters) and Fn::Join.
func (t *Template) resolve(v interface{}, d Deployment) (interface{}, error) {
	switch x := v.(type) {
	case string, float64, bool, nil:
		return x, nil
	case []interface{}:
		out := make([]interface{}, len(x))
		for i, e := range x {
			r, err := t.resolve(e, d)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]interface{}:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			return t.ref(ref, d)
		}
		if att, ok := x["Fn::GetAtt"].([]interface{}); ok && len(x) == 1 && len(att) == 2 {
			key := fmt.Sprintf("%v.%v", att[0], att[1])
			if v, ok := d.Resources[key]; ok {
				return v, nil
			}
			if d.Placeholders {
				return key, nil
			}
			return nil, fmt.Errorf("Fn::GetAtt %s: no value given in Deployment.Resources", key)
		}
		if cond, ok := x["Fn::If"].([]interface{}); ok && len(x) == 1 && len(cond) == 3 {
			name, _ := cond[0].(string)
			holds, err := t.condition(name, d)
			if err != nil {
				return nil, err
			}
			if holds {
				return t.resolve(cond[1], d)
			}
			return t.resolve(cond[2], d)
		}
		if join, ok := x["Fn::Join"].([]interface{}); ok && len(x) == 1 {
			if len(join) != 2 {
				return nil, fmt.Errorf("Fn::Join needs [delimiter, list], got %v", join)
			}
			sep, _ := join[0].(string)
			parts, err := t.resolve(join[1], d)
			if err != nil {
				return nil, err
			}
			list, ok := parts.([]interface{})
			if !ok {
				return nil, fmt.Errorf("Fn::Join list resolved to %T", parts)
			}
			s := ""
			for i, p := range list {
				if i > 0 {
					s += sep
				}
				switch pv := p.(type) {
				case string:
					s += pv
				case float64:
					s += strconv.FormatFloat(pv, 'f', -1, 64)
				default:
					return nil, fmt.Errorf("Fn::Join element resolved to %T", p)
				}
			}
			return s, nil
		}
		for k := range x {
			if len(k) > 4 && k[:4] == "Fn::" {
				return nil, fmt.Errorf("intrinsic %s is not supported here", k)
			}
		}
		out := map[string]interface{}{}
		for k, e := range x {
			r, err := t.resolve(e, d)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unexpected %T in template", v)
	}
}

// condition evaluates a template condition made of Fn::Equals.
func (t *Template) condition(name string, d Deployment) (bool, error) {
	conds, _ := t.JSON["Conditions"].(map[string]interface{})
	c, ok := conds[name].(map[string]interface{})
	if !ok {
		return false, fmt.Errorf("condition %q is not in the template", name)
	}
	eq, ok := c["Fn::Equals"].([]interface{})
	if !ok || len(eq) != 2 {
		return false, fmt.Errorf("condition %q: only Fn::Equals is supported, got %v", name, c)
	}
	a, err := t.resolve(eq[0], d)
	if err != nil {
		return false, err
	}
	b, err := t.resolve(eq[1], d)
	if err != nil {
		return false, err
	}
	return fmt.Sprint(a) == fmt.Sprint(b), nil
}

// ref resolves a Ref to a pseudo parameter, a stack parameter or a resource.
func (t *Template) ref(name string, d Deployment) (interface{}, error) {
	if v, ok := d.Resources[name]; ok {
		return v, nil
	}
	switch name {
	case "AWS::Partition":
		return d.Partition, nil
	case "AWS::Region":
		return d.Region, nil
	case "AWS::AccountId":
		return d.AccountID, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	}
	params, _ := t.JSON["Parameters"].(map[string]interface{})
	p, ok := params[name].(map[string]interface{})
	if resources, _ := t.JSON["Resources"].(map[string]interface{}); !ok && resources[name] != nil && d.Placeholders {
		return name, nil
	}
	if !ok {
		return nil, fmt.Errorf("Ref %q is neither a pseudo parameter nor a stack parameter", name)
	}
	if v, ok := d.Parameters[name]; ok {
		return v, nil
	}
	def, ok := p["Default"]
	if !ok {
		return nil, fmt.Errorf("parameter %q has no default and no value was given", name)
	}
	switch dv := def.(type) {
	case string:
		return dv, nil
	case float64:
		return strconv.FormatFloat(dv, 'f', -1, 64), nil
	default:
		return fmt.Sprint(dv), nil
	}
}
