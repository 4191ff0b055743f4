package cfn

import "fmt"

// Condition evaluates a condition of the template's Conditions section,
// once.
func (s *Stack) Condition(name string) (bool, error) {
	if v, ok := s.conditions[name]; ok {
		return v, nil
	}
	expr, ok := s.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not in the template", name)
	}
	if s.evaluating[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	s.evaluating[name] = true
	defer delete(s.evaluating, name)
	v, err := s.resolve(expr, inCondition)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a condition function", name, v)
	}
	s.conditions[name] = b
	return b, nil
}

// conditionFn evaluates Fn::Equals, Fn::Not, Fn::And, Fn::Or and a
// reference to another condition.
func (s *Stack) conditionFn(name string, arg interface{}, sc scope) (interface{}, error) {
	if name == "Condition" {
		ref, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("argument is a %T, want a condition name", arg)
		}
		return s.Condition(ref)
	}
	a, ok := arg.([]interface{})
	if !ok {
		return nil, fmt.Errorf("argument is a %T, want a list", arg)
	}
	switch name {
	case "Fn::Equals":
		if len(a) != 2 {
			return nil, fmt.Errorf("needs 2 values, got %d", len(a))
		}
		x, err := s.resolve(a[0], sc)
		if err != nil {
			return nil, err
		}
		y, err := s.resolve(a[1], sc)
		if err != nil {
			return nil, err
		}
		return equalValues(x, y)
	case "Fn::Not":
		if len(a) != 1 {
			return nil, fmt.Errorf("needs 1 condition, got %d", len(a))
		}
		b, err := s.boolean(a[0], sc)
		return !b, err
	default: // Fn::And, Fn::Or
		if len(a) < 2 || len(a) > 10 {
			return nil, fmt.Errorf("needs 2 to 10 conditions, got %d", len(a))
		}
		and := name == "Fn::And"
		result := and
		for i, c := range a {
			b, err := s.boolean(c, sc)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if and {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result, nil
	}
}

// boolean resolves v and requires a condition's value.
func (s *Stack) boolean(v interface{}, sc scope) (bool, error) {
	r, err := s.resolve(v, sc)
	if err != nil {
		return false, err
	}
	b, ok := r.(bool)
	if !ok {
		return false, fmt.Errorf("%v is not a condition", r)
	}
	return b, nil
}

// equalValues compares two resolved values as CloudFormation does: scalars
// by their string form, lists element by element.
func equalValues(x, y interface{}) (bool, error) {
	xl, xIsList := x.([]interface{})
	yl, yIsList := y.([]interface{})
	if xIsList || yIsList {
		if !xIsList || !yIsList || len(xl) != len(yl) {
			return false, nil
		}
		for i := range xl {
			eq, err := equalValues(xl[i], yl[i])
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	}
	xs, err := scalarString(x)
	if err != nil {
		return false, fmt.Errorf("cannot compare %v", x)
	}
	ys, err := scalarString(y)
	if err != nil {
		return false, fmt.Errorf("cannot compare %v", y)
	}
	return xs == ys, nil
}
