// Package cfn evaluates a CloudFormation template the way CloudFormation
// does when it creates a stack: parameters (defaults and constraints),
// pseudo parameters, conditions, rules, the intrinsic functions, the order
// resources are created in, and outputs. It creates nothing itself: the
// physical IDs and attributes of resources come from a Resources
// implementation (the emulated deployment, or placeholders for static
// checks). Anything it cannot honour is an error, never a silent skip.
package cfn

import (
	"fmt"
	"sort"
)

// Template is a parsed CloudFormation template (JSON form).
type Template struct {
	// Parameters are the parameter declarations, by logical ID.
	Parameters map[string]map[string]interface{}
	// Conditions are the condition expressions, by name.
	Conditions map[string]interface{}
	// Mappings are the mappings Fn::FindInMap reads.
	Mappings map[string]interface{}
	// Rules are the template rules, checked by Stack.CheckRules.
	Rules map[string]interface{}
	// Resources are the resources, by logical ID.
	Resources map[string]*Resource
	// Outputs are the output declarations, by logical ID.
	Outputs map[string]map[string]interface{}
}

// Resource is one resource of a template.
type Resource struct {
	LogicalID string
	Type      string
	// Properties are the resource's properties, unresolved.
	Properties map[string]interface{}
	// Condition is the name of the condition the resource is created
	// under ("" for always).
	Condition string
	// DependsOn are the resources named by the DependsOn attribute.
	DependsOn []string
	// Attributes are the resource attributes other than Type, Properties,
	// Condition and DependsOn (Metadata, DeletionPolicy, ...), for the
	// deployer to honour or ignore.
	Attributes map[string]interface{}
}

// sections are the top-level sections of a template this package reads or
// may ignore (the documentation ones).
var sections = map[string]bool{
	"AWSTemplateFormatVersion": true, "Description": true, "Metadata": true,
	"Parameters": true, "Rules": true, "Mappings": true, "Conditions": true,
	"Resources": true, "Outputs": true,
}

// Parse reads a template decoded from JSON. A section it does not know, a
// Transform (macros run in CloudFormation only) or a malformed resource is
// an error.
func Parse(raw map[string]interface{}) (*Template, error) {
	for name := range raw {
		if !sections[name] {
			return nil, fmt.Errorf("template section %s is not supported", name)
		}
	}
	t := &Template{
		Parameters: map[string]map[string]interface{}{},
		Resources:  map[string]*Resource{},
		Outputs:    map[string]map[string]interface{}{},
	}
	var err error
	if t.Conditions, err = section(raw, "Conditions"); err != nil {
		return nil, err
	}
	if t.Mappings, err = section(raw, "Mappings"); err != nil {
		return nil, err
	}
	if t.Rules, err = section(raw, "Rules"); err != nil {
		return nil, err
	}
	params, err := section(raw, "Parameters")
	if err != nil {
		return nil, err
	}
	for id, p := range params {
		decl, ok := p.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("parameter %s is a %T, want an object", id, p)
		}
		t.Parameters[id] = decl
	}
	outputs, err := section(raw, "Outputs")
	if err != nil {
		return nil, err
	}
	for id, o := range outputs {
		decl, ok := o.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("output %s is a %T, want an object", id, o)
		}
		t.Outputs[id] = decl
	}
	resources, err := section(raw, "Resources")
	if err != nil {
		return nil, err
	}
	if len(resources) == 0 {
		return nil, fmt.Errorf("template has no resources")
	}
	for id, r := range resources {
		res, err := parseResource(id, r)
		if err != nil {
			return nil, err
		}
		t.Resources[id] = res
	}
	for id, r := range t.Resources {
		if _, clash := t.Parameters[id]; clash {
			return nil, fmt.Errorf("resource %s has the logical ID of a parameter", id)
		}
		if r.Condition != "" && t.Conditions[r.Condition] == nil {
			return nil, fmt.Errorf("resource %s: condition %q is not in the template", id, r.Condition)
		}
		for _, dep := range r.DependsOn {
			if t.Resources[dep] == nil {
				return nil, fmt.Errorf("resource %s depends on %q, which is not a resource of the template", id, dep)
			}
		}
	}
	return t, nil
}

// section returns a top-level section as an object (empty if absent).
func section(raw map[string]interface{}, name string) (map[string]interface{}, error) {
	v, ok := raw[name]
	if !ok {
		return map[string]interface{}{}, nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("template section %s is a %T, want an object", name, v)
	}
	return m, nil
}

// parseResource reads one resource declaration.
func parseResource(id string, v interface{}) (*Resource, error) {
	body, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("resource %s is a %T, want an object", id, v)
	}
	r := &Resource{LogicalID: id, Attributes: map[string]interface{}{}, Properties: map[string]interface{}{}}
	for k, x := range body {
		switch k {
		case "Type":
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("resource %s: Type is %v, want a string", id, x)
			}
			r.Type = s
		case "Properties":
			m, ok := x.(map[string]interface{})
			if !ok {
				return nil, fmt.Errorf("resource %s: Properties is a %T, want an object", id, x)
			}
			r.Properties = m
		case "Condition":
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("resource %s: Condition is a %T, want a condition name", id, x)
			}
			r.Condition = s
		case "DependsOn":
			deps, err := stringOrList(x)
			if err != nil {
				return nil, fmt.Errorf("resource %s: DependsOn: %w", id, err)
			}
			r.DependsOn = deps
		default:
			r.Attributes[k] = x
		}
	}
	if r.Type == "" {
		return nil, fmt.Errorf("resource %s has no Type", id)
	}
	return r, nil
}

// stringOrList reads a string or a list of strings.
func stringOrList(v interface{}) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []interface{}:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is a %T, want a string", i, e)
			}
			out[i] = s
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%T, want a string or a list of strings", v)
	}
}

// ResourceIDs returns the logical IDs of the template's resources, sorted.
func (t *Template) ResourceIDs() []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
