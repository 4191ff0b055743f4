package cfn

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parameterKeys are the keys of a parameter declaration; the documentation
// ones (Description, ConstraintDescription, NoEcho) change no value.
var parameterKeys = map[string]bool{
	"Type": true, "Default": true, "AllowedValues": true, "AllowedPattern": true,
	"MinLength": true, "MaxLength": true, "MinValue": true, "MaxValue": true,
	"Description": true, "ConstraintDescription": true, "NoEcho": true,
}

// ssmValueType is the prefix of the parameter types whose value is read
// from Systems Manager Parameter Store.
const ssmValueType = "AWS::SSM::Parameter::Value<"

// parameter is a parameter's value as given or defaulted, before a
// Systems Manager parameter type is read.
type parameter struct {
	typ   string
	value string
}

// parameters checks the values given against the declarations, completes
// them with the defaults and returns every parameter's value. A value for
// an undeclared parameter, a missing value, or a value a constraint refuses
// is an error, as in CloudFormation.
func (t *Template) parameters(given map[string]string) (map[string]parameter, error) {
	for name := range given {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not declared by the template", name)
		}
	}
	out := map[string]parameter{}
	for name, decl := range t.Parameters {
		for k := range decl {
			if !parameterKeys[k] {
				return nil, fmt.Errorf("parameter %s: %s is not a parameter property", name, k)
			}
		}
		typ, _ := decl["Type"].(string)
		value, ok := given[name]
		if !ok {
			def, has := decl["Default"]
			if !has {
				return nil, fmt.Errorf("parameter %s has no default and no value was given", name)
			}
			s, err := scalarString(def)
			if err != nil {
				return nil, fmt.Errorf("parameter %s: Default: %w", name, err)
			}
			value = s
		}
		if err := checkParameter(typ, decl, value); err != nil {
			return nil, fmt.Errorf("parameter %s=%q: %w", name, value, err)
		}
		out[name] = parameter{typ: typ, value: value}
	}
	return out, nil
}

// checkParameter checks a value against its declaration's type and
// constraints.
func checkParameter(typ string, decl map[string]interface{}, value string) error {
	switch {
	case typ == "String", typ == "AWS::SSM::Parameter::Name":
		return checkString(decl, value)
	case typ == "Number":
		return checkNumber(decl, value)
	case typ == "CommaDelimitedList":
		for _, e := range strings.Split(value, ",") {
			if err := checkString(decl, e); err != nil {
				return err
			}
		}
		return nil
	case typ == "List<Number>":
		for _, e := range strings.Split(value, ",") {
			if err := checkNumber(decl, e); err != nil {
				return err
			}
		}
		return nil
	case strings.HasPrefix(typ, ssmValueType) && strings.HasSuffix(typ, ">"):
		// The value is the name of the Systems Manager parameter; the
		// value read from it is what Ref gives.
		return checkString(decl, value)
	default:
		return fmt.Errorf("parameter type %q is not supported", typ)
	}
}

// checkString applies AllowedValues, AllowedPattern (matching the whole
// value, as CloudFormation does), MinLength and MaxLength.
func checkString(decl map[string]interface{}, value string) error {
	if err := checkAllowed(decl, value); err != nil {
		return err
	}
	if p, ok := decl["AllowedPattern"]; ok {
		pattern, isString := p.(string)
		if !isString {
			return fmt.Errorf("AllowedPattern is a %T, want a string", p)
		}
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return fmt.Errorf("AllowedPattern %q cannot be evaluated: %w", pattern, err)
		}
		if !re.MatchString(value) {
			return fmt.Errorf("does not match AllowedPattern %s", pattern)
		}
	}
	n := float64(utf8.RuneCountInString(value))
	if lo, ok, err := number(decl, "MinLength"); err != nil {
		return err
	} else if ok && n < lo {
		return fmt.Errorf("shorter than MinLength %v", lo)
	}
	if hi, ok, err := number(decl, "MaxLength"); err != nil {
		return err
	} else if ok && n > hi {
		return fmt.Errorf("longer than MaxLength %v", hi)
	}
	return nil
}

// checkNumber checks that the value is a number within MinValue and
// MaxValue, and one of AllowedValues if given.
func checkNumber(decl map[string]interface{}, value string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil {
		return fmt.Errorf("not a number")
	}
	if lo, ok, err := number(decl, "MinValue"); err != nil {
		return err
	} else if ok && v < lo {
		return fmt.Errorf("below MinValue %v", lo)
	}
	if hi, ok, err := number(decl, "MaxValue"); err != nil {
		return err
	} else if ok && v > hi {
		return fmt.Errorf("above MaxValue %v", hi)
	}
	return checkAllowed(decl, value)
}

// checkAllowed checks the value against AllowedValues, if declared.
func checkAllowed(decl map[string]interface{}, value string) error {
	allowed, ok := decl["AllowedValues"]
	if !ok {
		return nil
	}
	list, ok := allowed.([]interface{})
	if !ok {
		return fmt.Errorf("AllowedValues is a %T, want a list", allowed)
	}
	for _, a := range list {
		s, err := scalarString(a)
		if err != nil {
			return fmt.Errorf("AllowedValues: %w", err)
		}
		if s == value {
			return nil
		}
	}
	return fmt.Errorf("not one of AllowedValues %v", list)
}

// number reads a numeric constraint of a declaration (a number or a
// numeric string).
func number(decl map[string]interface{}, key string) (float64, bool, error) {
	v, ok := decl[key]
	if !ok {
		return 0, false, nil
	}
	s, err := scalarString(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", key, err)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s is %q, want a number", key, s)
	}
	return f, true, nil
}

// scalarString is the string form CloudFormation gives a scalar: numbers
// without a trailing ".0", booleans as "true"/"false".
func scalarString(v interface{}) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	default:
		return "", fmt.Errorf("%T is not a scalar", v)
	}
}

// isListType reports whether Ref to a parameter of the type gives a list.
func isListType(typ string) bool {
	return typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") ||
		(strings.HasPrefix(typ, ssmValueType) && strings.Contains(typ, "<List<"))
}
