package cfn

import (
	"fmt"
	"regexp"
	"strings"
)

// Pseudo are the values of the pseudo parameters (AWS::Region, ...) for one
// stack.
type Pseudo struct {
	Partition, Region, AccountID, StackName string
	// StackID defaults to an ARN made of the others; URLSuffix to
	// amazonaws.com.
	StackID, URLSuffix string
}

// Resources gives what Ref and Fn::GetAtt return for the template's
// resources: the deployed resources' physical IDs and attributes.
type Resources interface {
	// Ref is the value Ref gives for the resource (its physical ID, or
	// what its type documents).
	Ref(logicalID string) (string, error)
	// GetAtt is the value of one attribute of the resource.
	GetAtt(logicalID, attribute string) (interface{}, error)
}

// Options are what a Stack is evaluated with.
type Options struct {
	Pseudo Pseudo
	// Parameters are the parameter values given; the others take their
	// defaults.
	Parameters map[string]string
	// SSM reads a Systems Manager parameter, for the parameters of an
	// AWS::SSM::Parameter::Value<...> type. If nil, using such a
	// parameter is an error.
	SSM func(name string) (string, error)
	// Resources resolves references to resources. If nil, any reference
	// to a resource is an error.
	Resources Resources
}

// Stack is a template being evaluated for one stack: its parameter values
// are checked and its conditions evaluated when it is made. It is not safe
// for concurrent use.
type Stack struct {
	t          *Template
	pseudo     Pseudo
	params     map[string]parameter
	ssm        func(string) (string, error)
	ssmValues  map[string]string
	resources  Resources
	conditions map[string]bool
	evaluating map[string]bool
}

// stackNamePattern is the pattern CloudFormation accepts for stack names.
var stackNamePattern = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9]{0,127}$`)

// NewStack checks the parameter values against the template, fills in the
// defaults and evaluates every condition.
func NewStack(t *Template, o Options) (*Stack, error) {
	p := o.Pseudo
	if p.Partition == "" || p.Region == "" || p.AccountID == "" || p.StackName == "" {
		return nil, fmt.Errorf("pseudo parameters: partition, region, account and stack name are all needed, got %+v", p)
	}
	if !stackNamePattern.MatchString(p.StackName) {
		return nil, fmt.Errorf("stack name %q: CloudFormation accepts %s", p.StackName, stackNamePattern)
	}
	if p.URLSuffix == "" {
		p.URLSuffix = "amazonaws.com"
	}
	if p.StackID == "" {
		p.StackID = fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", p.Partition, p.Region, p.AccountID, p.StackName)
	}
	params, err := t.parameters(o.Parameters)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		t: t, pseudo: p, params: params, ssm: o.SSM, ssmValues: map[string]string{},
		resources: o.Resources, conditions: map[string]bool{}, evaluating: map[string]bool{},
	}
	for name := range t.Conditions {
		if _, err := s.Condition(name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Template is the template the stack evaluates.
func (s *Stack) Template() *Template { return s.t }

// Pseudo is the stack's pseudo parameters, defaults filled in.
func (s *Stack) Pseudo() Pseudo { return s.pseudo }

// Creates reports whether the stack creates a resource: it is in the
// template and its condition, if any, holds.
func (s *Stack) Creates(logicalID string) (bool, error) {
	r, ok := s.t.Resources[logicalID]
	if !ok {
		return false, fmt.Errorf("%s is not a resource of the template", logicalID)
	}
	if r.Condition == "" {
		return true, nil
	}
	return s.Condition(r.Condition)
}

// pseudoValue is the value of a pseudo parameter; ok is false if name is
// not one.
func (s *Stack) pseudoValue(name string) (interface{}, bool) {
	switch name {
	case "AWS::Partition":
		return s.pseudo.Partition, true
	case "AWS::Region":
		return s.pseudo.Region, true
	case "AWS::AccountId":
		return s.pseudo.AccountID, true
	case "AWS::StackName":
		return s.pseudo.StackName, true
	case "AWS::StackId":
		return s.pseudo.StackID, true
	case "AWS::URLSuffix":
		return s.pseudo.URLSuffix, true
	case "AWS::NotificationARNs":
		return []interface{}{}, true
	case "AWS::NoValue":
		return noValue{}, true
	}
	return nil, false
}

// Parameter is the value Ref gives for a parameter: a string, or a list of
// strings for the list types. A Systems Manager parameter type is read
// through Options.SSM on first use.
func (s *Stack) Parameter(name string) (interface{}, error) {
	p, ok := s.params[name]
	if !ok {
		return nil, fmt.Errorf("%s is not a parameter of the template", name)
	}
	value := p.value
	if strings.HasPrefix(p.typ, ssmValueType) {
		v, err := s.readSSM(name, p.value)
		if err != nil {
			return nil, err
		}
		value = v
	}
	if isListType(p.typ) {
		parts := strings.Split(value, ",")
		out := make([]interface{}, len(parts))
		for i, e := range parts {
			out[i] = e
		}
		return out, nil
	}
	return value, nil
}

// readSSM reads the Systems Manager parameter a parameter names, once.
func (s *Stack) readSSM(param, ssmName string) (string, error) {
	if v, ok := s.ssmValues[ssmName]; ok {
		return v, nil
	}
	if s.ssm == nil {
		return "", fmt.Errorf("parameter %s is read from Systems Manager parameter %s, and no Systems Manager was given", param, ssmName)
	}
	v, err := s.ssm(ssmName)
	if err != nil {
		return "", fmt.Errorf("parameter %s: read Systems Manager parameter %s: %w", param, ssmName, err)
	}
	s.ssmValues[ssmName] = v
	return v, nil
}
