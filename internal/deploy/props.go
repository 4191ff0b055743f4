package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// decode reads a resource's resolved properties into the struct that lists
// every property (and nested field) the emulated deployment honours for its
// type. A key the struct does not have, compared exactly as CloudFormation
// does, is an error: the deployment cannot honour it.
func decode(props map[string]interface{}, into interface{}) error {
	if err := checkKeys(props, reflect.TypeOf(into), ""); err != nil {
		return err
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return fmt.Errorf("encode properties: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("properties: %w", err)
	}
	return nil
}

// unmarshalerType is json.Unmarshaler: such a type reads its own value.
var unmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

// checkKeys checks that every object key in v names a field of t, exactly.
func checkKeys(v interface{}, t reflect.Type, path string) error {
	if v == nil || reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkKeys(v, t.Elem(), path)
	case reflect.Struct:
		m, ok := v.(map[string]interface{})
		if !ok {
			return fmt.Errorf("%s is a %T, want an object", strings.TrimPrefix(path, "."), v)
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
				name = tag
			}
			fields[name] = f.Type
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("property %s is not supported by the emulated deployment", strings.TrimPrefix(path+"."+k, "."))
			}
			if err := checkKeys(m[k], ft, path+"."+k); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, ok := v.([]interface{})
		if !ok {
			return fmt.Errorf("%s is a %T, want a list", strings.TrimPrefix(path, "."), v)
		}
		for i, e := range list {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// cfnInt is an integer property: CloudFormation accepts a number or a
// numeric string (Ref to a Number parameter gives a string).
type cfnInt int64

// UnmarshalJSON reads a number or a numeric string.
func (n *cfnInt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	*n = cfnInt(v)
	return nil
}

// cfnBool is a boolean property: true/false or the strings "true"/"false"
// in any case, as CloudFormation accepts.
type cfnBool bool

// UnmarshalJSON reads a boolean or a boolean string.
func (v *cfnBool) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	switch {
	case strings.EqualFold(s, "true"):
		*v = true
	case strings.EqualFold(s, "false"):
		*v = false
	default:
		return fmt.Errorf("%s is not a boolean", b)
	}
	return nil
}

// isTrue reports whether an optional boolean is set and true.
func isTrue(v *cfnBool) bool { return v != nil && bool(*v) }

// document is a JSON document property (a policy): an object, or a string
// holding JSON, as CloudFormation accepts both.
type document struct {
	value interface{}
}

// UnmarshalJSON reads an object or a string of JSON.
func (d *document) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		b = []byte(s)
	}
	var v map[string]interface{}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("not a JSON document: %w", err)
	}
	d.value = v
	return nil
}

// JSON is the document's text, as CloudFormation sends it (no HTML
// escaping of <, > and &).
func (d *document) JSON() (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d.value); err != nil {
		return "", fmt.Errorf("encode document: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// tag is a resource tag, as CloudFormation's Tags properties list them.
type tag struct {
	Key, Value string
}

// required fails for each named property that is empty.
func required(props map[string]interface{}, names ...string) error {
	for _, n := range names {
		if v, ok := props[n]; !ok || v == nil || v == "" {
			return fmt.Errorf("required property %s is missing", n)
		}
	}
	return nil
}
