package cfn

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// noValue is what Ref AWS::NoValue gives, until the property or list
// element holding it is removed.
type noValue struct{}

// scope is where in the template a value is: it decides which functions
// may appear.
type scope int

const (
	// inResource is resource properties and outputs.
	inResource scope = iota
	// inCondition is the Conditions section: no reference to a resource.
	inCondition
	// inRule is the Rules section: parameters and rule functions only.
	inRule
)

// Resolve evaluates every intrinsic function in v (part of the template:
// a property value, an output value) and removes the properties and list
// elements that are AWS::NoValue. It returns nil if v itself is
// AWS::NoValue.
func (s *Stack) Resolve(v interface{}) (interface{}, error) {
	r, err := s.resolve(v, inResource)
	if err != nil {
		return nil, err
	}
	if _, ok := r.(noValue); ok {
		return nil, nil
	}
	return r, nil
}

// ResolveProperties resolves a resource's properties, dropping those that
// are AWS::NoValue.
func (s *Stack) ResolveProperties(r *Resource) (map[string]interface{}, error) {
	out := map[string]interface{}{}
	for _, k := range sortedKeys(r.Properties) {
		v, err := s.resolve(r.Properties[k], inResource)
		if err != nil {
			return nil, fmt.Errorf("%s property %s: %w", r.LogicalID, k, err)
		}
		if _, drop := v.(noValue); !drop {
			out[k] = v
		}
	}
	return out, nil
}

// resolve evaluates v in a scope.
func (s *Stack) resolve(v interface{}, sc scope) (interface{}, error) {
	switch x := v.(type) {
	case string, float64, bool, nil:
		return x, nil
	case []interface{}:
		out := make([]interface{}, 0, len(x))
		for i, e := range x {
			r, err := s.resolve(e, sc)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]interface{}:
		name, arg, ok, err := intrinsic(x, sc)
		if err != nil {
			return nil, err
		}
		if ok {
			r, err := s.call(name, arg, sc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			return r, nil
		}
		out := map[string]interface{}{}
		for _, k := range sortedKeys(x) {
			r, err := s.resolve(x[k], sc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%T is not a template value", v)
	}
}

// intrinsic reports whether an object is a function call: one key, Ref or
// Fn::<name> (or Condition, inside a condition). A function key beside
// other keys is an error.
func intrinsic(x map[string]interface{}, sc scope) (string, interface{}, bool, error) {
	isFunction := func(k string) bool {
		return k == "Ref" || strings.HasPrefix(k, "Fn::") || (k == "Condition" && sc == inCondition)
	}
	for k, arg := range x {
		if !isFunction(k) {
			continue
		}
		if len(x) != 1 {
			return "", nil, false, fmt.Errorf("%s has sibling keys %v: a function must be the only key of its object", k, sortedKeys(x))
		}
		return k, arg, true, nil
	}
	return "", nil, false, nil
}

// call evaluates one function.
func (s *Stack) call(name string, arg interface{}, sc scope) (interface{}, error) {
	switch name {
	case "Ref":
		return s.ref(arg, sc)
	case "Fn::GetAtt":
		if sc != inResource {
			return nil, fmt.Errorf("not allowed outside resources and outputs")
		}
		return s.getAtt(arg)
	case "Fn::Join":
		return s.join(arg, sc)
	case "Fn::Sub":
		return s.sub(arg, sc)
	case "Fn::Select":
		return s.selectFn(arg, sc)
	case "Fn::Split":
		return s.split(arg, sc)
	case "Fn::FindInMap":
		return s.findInMap(arg, sc)
	case "Fn::Base64":
		v, err := s.resolveString(arg, sc)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(v)), nil
	case "Fn::If":
		if sc != inResource {
			return nil, fmt.Errorf("not allowed outside resources and outputs")
		}
		return s.ifFn(arg)
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		if sc == inResource || (sc == inRule && name == "Condition") {
			return nil, fmt.Errorf("a condition function is allowed only in Conditions and Rules")
		}
		return s.conditionFn(name, arg, sc)
	case "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn":
		if sc != inRule {
			return nil, fmt.Errorf("a rule function is allowed only in Rules")
		}
		return s.ruleFn(name, arg)
	default:
		return nil, fmt.Errorf("intrinsic function %s is not supported", name)
	}
}

// ref resolves Ref: a pseudo parameter, a parameter or a resource.
func (s *Stack) ref(arg interface{}, sc scope) (interface{}, error) {
	name, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("argument is a %T, want a name", arg)
	}
	if v, ok := s.pseudoValue(name); ok {
		return v, nil
	}
	if _, ok := s.params[name]; ok {
		return s.Parameter(name)
	}
	if _, ok := s.t.Resources[name]; !ok {
		return nil, fmt.Errorf("%s is neither a pseudo parameter, a parameter nor a resource", name)
	}
	if sc != inResource {
		return nil, fmt.Errorf("resource %s cannot be referred to here", name)
	}
	if err := s.mustCreate(name); err != nil {
		return nil, err
	}
	return s.resources.Ref(name)
}

// getAtt resolves Fn::GetAtt: [logicalID, attribute] or "logicalID.attribute".
func (s *Stack) getAtt(arg interface{}) (interface{}, error) {
	var id, attr string
	switch a := arg.(type) {
	case string:
		i := strings.Index(a, ".")
		if i <= 0 || i == len(a)-1 {
			return nil, fmt.Errorf("%q is not LogicalID.Attribute", a)
		}
		id, attr = a[:i], a[i+1:]
	case []interface{}:
		if len(a) != 2 {
			return nil, fmt.Errorf("needs [LogicalID, Attribute], got %v", a)
		}
		var ok1, ok2 bool
		id, ok1 = a[0].(string)
		attr, ok2 = a[1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("needs two strings [LogicalID, Attribute], got %v", a)
		}
	default:
		return nil, fmt.Errorf("argument is a %T", arg)
	}
	if _, ok := s.t.Resources[id]; !ok {
		return nil, fmt.Errorf("%s is not a resource of the template", id)
	}
	if err := s.mustCreate(id); err != nil {
		return nil, err
	}
	return s.resources.GetAtt(id, attr)
}

// mustCreate fails unless the stack creates the resource and a Resources
// implementation was given.
func (s *Stack) mustCreate(id string) error {
	created, err := s.Creates(id)
	if err != nil {
		return err
	}
	if !created {
		return fmt.Errorf("resource %s is not created: its condition %s is false", id, s.t.Resources[id].Condition)
	}
	if s.resources == nil {
		return fmt.Errorf("resource %s: no deployed resources to refer to", id)
	}
	return nil
}

// join resolves Fn::Join: [delimiter, [values]].
func (s *Stack) join(arg interface{}, sc scope) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("needs [delimiter, list], got %v", arg)
	}
	sep, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("delimiter is a %T, want a string", a[0])
	}
	list, err := s.resolveList(a[1], sc)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(list))
	for i, e := range list {
		if _, isBool := e.(bool); isBool {
			return nil, fmt.Errorf("element %d is a boolean", i)
		}
		if parts[i], err = scalarString(e); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return strings.Join(parts, sep), nil
}

// selectFn resolves Fn::Select: [index, list].
func (s *Stack) selectFn(arg interface{}, sc scope) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("needs [index, list], got %v", arg)
	}
	idx, err := s.resolveString(a[0], sc)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return nil, fmt.Errorf("index %q is not an integer", idx)
	}
	list, err := s.resolveList(a[1], sc)
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(list) {
		return nil, fmt.Errorf("index %d out of a list of %d", i, len(list))
	}
	return list[i], nil
}

// split resolves Fn::Split: [delimiter, string].
func (s *Stack) split(arg interface{}, sc scope) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("needs [delimiter, string], got %v", arg)
	}
	sep, ok := a[0].(string)
	if !ok || sep == "" {
		return nil, fmt.Errorf("delimiter is %v, want a non-empty string", a[0])
	}
	src, err := s.resolveString(a[1], sc)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(src, sep)
	out := make([]interface{}, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// findInMap resolves Fn::FindInMap: [map, top-level key, second-level key].
func (s *Stack) findInMap(arg interface{}, sc scope) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 3 {
		return nil, fmt.Errorf("needs [MapName, TopLevelKey, SecondLevelKey], got %v", arg)
	}
	keys := make([]string, 3)
	for i, k := range a {
		v, err := s.resolveString(k, sc)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		keys[i] = v
	}
	var cur interface{} = s.t.Mappings
	for i, k := range keys {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil, fmt.Errorf("%v: level %d is not an object", keys, i)
		}
		if cur, ok = m[k]; !ok {
			return nil, fmt.Errorf("%v: no %q", keys, k)
		}
	}
	return cur, nil
}

// ifFn resolves Fn::If: [condition, value if true, value if false]; only the
// chosen value is evaluated.
func (s *Stack) ifFn(arg interface{}) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 3 {
		return nil, fmt.Errorf("needs [condition, then, else], got %v", arg)
	}
	name, ok := a[0].(string)
	if !ok {
		return nil, fmt.Errorf("condition is a %T, want a condition name", a[0])
	}
	holds, err := s.Condition(name)
	if err != nil {
		return nil, err
	}
	if holds {
		return s.resolve(a[1], inResource)
	}
	return s.resolve(a[2], inResource)
}

// resolveString resolves v and requires a scalar, as a string.
func (s *Stack) resolveString(v interface{}, sc scope) (string, error) {
	r, err := s.resolve(v, sc)
	if err != nil {
		return "", err
	}
	if _, isBool := r.(bool); isBool {
		return "", fmt.Errorf("%v is a boolean, want a string", r)
	}
	return scalarString(r)
}

// resolveList resolves v and requires a list.
func (s *Stack) resolveList(v interface{}, sc scope) ([]interface{}, error) {
	r, err := s.resolve(v, sc)
	if err != nil {
		return nil, err
	}
	list, ok := r.([]interface{})
	if !ok {
		return nil, fmt.Errorf("%T, want a list", r)
	}
	return list, nil
}

// sortedKeys returns an object's keys, sorted, so that errors and
// evaluation order do not depend on map order.
func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
