package cfn

import "fmt"

// CheckRules evaluates the template's Rules as CloudFormation does before
// it creates anything: for each rule whose RuleCondition holds (or that
// has none), every assertion must hold. A failed assertion is an error
// with its AssertDescription.
func (s *Stack) CheckRules() error {
	for _, name := range sortedKeys(s.t.Rules) {
		rule, ok := s.t.Rules[name].(map[string]interface{})
		if !ok {
			return fmt.Errorf("rule %s is a %T, want an object", name, s.t.Rules[name])
		}
		for k := range rule {
			if k != "RuleCondition" && k != "Assertions" {
				return fmt.Errorf("rule %s: %s is not a rule property", name, k)
			}
		}
		if cond, ok := rule["RuleCondition"]; ok {
			holds, err := s.boolean(cond, inRule)
			if err != nil {
				return fmt.Errorf("rule %s: RuleCondition: %w", name, err)
			}
			if !holds {
				continue
			}
		}
		assertions, ok := rule["Assertions"].([]interface{})
		if !ok {
			return fmt.Errorf("rule %s: Assertions is a %T, want a list", name, rule["Assertions"])
		}
		for i, a := range assertions {
			assertion, ok := a.(map[string]interface{})
			if !ok {
				return fmt.Errorf("rule %s: assertion %d is a %T", name, i, a)
			}
			for k := range assertion {
				if k != "Assert" && k != "AssertDescription" {
					return fmt.Errorf("rule %s: assertion %d: %s is not an assertion property", name, i, k)
				}
			}
			holds, err := s.boolean(assertion["Assert"], inRule)
			if err != nil {
				return fmt.Errorf("rule %s: assertion %d: %w", name, i, err)
			}
			if !holds {
				return fmt.Errorf("rule %s: assertion %d failed: %v", name, i, assertion["AssertDescription"])
			}
		}
	}
	return nil
}

// ruleFn evaluates Fn::Contains, Fn::EachMemberEquals and Fn::EachMemberIn.
func (s *Stack) ruleFn(name string, arg interface{}) (interface{}, error) {
	a, ok := arg.([]interface{})
	if !ok || len(a) != 2 {
		return nil, fmt.Errorf("needs 2 arguments, got %v", arg)
	}
	list, err := s.resolveList(a[0], inRule)
	if err != nil {
		return nil, err
	}
	other, err := s.resolve(a[1], inRule)
	if err != nil {
		return nil, err
	}
	contains := func(list []interface{}, v interface{}) (bool, error) {
		for _, e := range list {
			eq, err := equalValues(e, v)
			if err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	}
	switch name {
	case "Fn::Contains":
		return contains(list, other)
	case "Fn::EachMemberEquals":
		for _, e := range list {
			eq, err := equalValues(e, other)
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	default: // Fn::EachMemberIn
		in, ok := other.([]interface{})
		if !ok {
			return nil, fmt.Errorf("second argument is a %T, want a list", other)
		}
		for _, e := range list {
			found, err := contains(in, e)
			if err != nil || !found {
				return false, err
			}
		}
		return true, nil
	}
}
