package cfn

import "fmt"

// Outputs resolves the outputs whose condition holds, by logical ID. An
// Export (a cross-stack value) is not supported; an output value must be a
// string or a number.
func (s *Stack) Outputs() (map[string]string, error) {
	out := map[string]string{}
	for id, decl := range s.t.Outputs {
		for k := range decl {
			switch k {
			case "Value", "Description", "Condition":
			case "Export":
				return nil, fmt.Errorf("output %s: Export (cross-stack references) is not supported", id)
			default:
				return nil, fmt.Errorf("output %s: %s is not an output property", id, k)
			}
		}
		if c, ok := decl["Condition"]; ok {
			name, isName := c.(string)
			if !isName {
				return nil, fmt.Errorf("output %s: Condition is a %T", id, c)
			}
			holds, err := s.Condition(name)
			if err != nil {
				return nil, fmt.Errorf("output %s: %w", id, err)
			}
			if !holds {
				continue
			}
		}
		v, err := s.resolve(decl["Value"], inResource)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", id, err)
		}
		if _, isBool := v.(bool); isBool {
			return nil, fmt.Errorf("output %s is a boolean", id)
		}
		str, err := scalarString(v)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", id, err)
		}
		out[id] = str
	}
	return out, nil
}
