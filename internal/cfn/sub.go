package cfn

import (
	"fmt"
	"strings"
)

// subPart is a piece of an Fn::Sub string: literal text or a variable.
type subPart struct {
	text       string
	isVariable bool
}

// parseSub splits an Fn::Sub string into literal text and ${variables};
// ${!Literal} is the literal text ${Literal}.
func parseSub(text string) ([]subPart, error) {
	var parts []subPart
	literal := strings.Builder{}
	for i := 0; i < len(text); {
		if !strings.HasPrefix(text[i:], "${") {
			literal.WriteByte(text[i])
			i++
			continue
		}
		if strings.HasPrefix(text[i:], "${!") {
			literal.WriteString("${")
			i += 3
			continue
		}
		end := strings.IndexByte(text[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%q: ${ without a closing }", text)
		}
		name := strings.TrimSpace(text[i+2 : i+end])
		if name == "" {
			return nil, fmt.Errorf("%q: empty ${}", text)
		}
		if literal.Len() > 0 {
			parts = append(parts, subPart{text: literal.String()})
			literal.Reset()
		}
		parts = append(parts, subPart{text: name, isVariable: true})
		i += end + 1
	}
	if literal.Len() > 0 {
		parts = append(parts, subPart{text: literal.String()})
	}
	return parts, nil
}

// subArgs reads Fn::Sub's argument: a string, or [string, {variables}].
func subArgs(arg interface{}) (string, map[string]interface{}, error) {
	switch a := arg.(type) {
	case string:
		return a, nil, nil
	case []interface{}:
		if len(a) != 2 {
			return "", nil, fmt.Errorf("needs a string or [string, {variables}], got %v", arg)
		}
		text, ok := a[0].(string)
		if !ok {
			return "", nil, fmt.Errorf("the string to substitute is a %T", a[0])
		}
		vars, ok := a[1].(map[string]interface{})
		if !ok {
			return "", nil, fmt.Errorf("the variables are a %T, want an object", a[1])
		}
		return text, vars, nil
	default:
		return "", nil, fmt.Errorf("argument is a %T", arg)
	}
}

// sub resolves Fn::Sub. A variable is, in order: one of the given
// variables, a pseudo parameter, a parameter, Resource.Attribute
// (Fn::GetAtt) or a resource (Ref).
func (s *Stack) sub(arg interface{}, sc scope) (interface{}, error) {
	text, rawVars, err := subArgs(arg)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, k := range sortedKeys(rawVars) {
		v, err := s.resolveString(rawVars[k], sc)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", k, err)
		}
		vars[k] = v
	}
	parts, err := parseSub(text)
	if err != nil {
		return nil, err
	}
	out := strings.Builder{}
	for _, p := range parts {
		if !p.isVariable {
			out.WriteString(p.text)
			continue
		}
		v, err := s.subVariable(p.text, vars, sc)
		if err != nil {
			return nil, fmt.Errorf("${%s}: %w", p.text, err)
		}
		out.WriteString(v)
	}
	return out.String(), nil
}

// subVariable is the value of one ${variable}.
func (s *Stack) subVariable(name string, vars map[string]string, sc scope) (string, error) {
	if v, ok := vars[name]; ok {
		return v, nil
	}
	var r interface{}
	var err error
	if _, isPseudo := s.pseudoValue(name); isPseudo || s.params[name].typ != "" || !strings.Contains(name, ".") {
		r, err = s.resolve(map[string]interface{}{"Ref": name}, sc)
	} else {
		r, err = s.resolve(map[string]interface{}{"Fn::GetAtt": name}, sc)
	}
	if err != nil {
		return "", err
	}
	if _, isBool := r.(bool); isBool {
		return "", fmt.Errorf("is a boolean")
	}
	return scalarString(r)
}
