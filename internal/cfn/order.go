package cfn

import (
	"fmt"
	"sort"
	"strings"
)

// Order returns the logical IDs of the resources the stack creates (those
// whose condition holds), each after every resource it refers to (Ref,
// Fn::GetAtt, Fn::Sub) or names in DependsOn; ties in logical ID order. A
// reference to an unknown name or a dependency cycle is an error.
func (s *Stack) Order() ([]string, error) {
	deps := map[string]map[string]bool{}
	for _, id := range s.t.ResourceIDs() {
		created, err := s.Creates(id)
		if err != nil {
			return nil, err
		}
		if created {
			deps[id] = map[string]bool{}
		}
	}
	for id := range deps {
		r := s.t.Resources[id]
		refs := map[string]bool{}
		if err := s.references(r.Properties, refs); err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		for _, d := range r.DependsOn {
			refs[d] = true
		}
		for d := range refs {
			if d == id {
				return nil, fmt.Errorf("resource %s refers to itself", id)
			}
			// A resource that is not created satisfies the ordering; a
			// value actually read from it fails when it is resolved.
			if _, created := deps[d]; created {
				deps[id][d] = true
			}
		}
	}
	var order []string
	for len(deps) > 0 {
		var ready []string
		for id, d := range deps {
			if len(d) == 0 {
				ready = append(ready, id)
			}
		}
		if len(ready) == 0 {
			var left []string
			for id := range deps {
				left = append(left, id)
			}
			sort.Strings(left)
			return nil, fmt.Errorf("dependency cycle among %v", left)
		}
		sort.Strings(ready)
		for _, id := range ready {
			delete(deps, id)
			for _, d := range deps {
				delete(d, id)
			}
		}
		order = append(order, ready...)
	}
	return order, nil
}

// references adds to refs the resources v refers to.
func (s *Stack) references(v interface{}, refs map[string]bool) error {
	switch x := v.(type) {
	case []interface{}:
		for _, e := range x {
			if err := s.references(e, refs); err != nil {
				return err
			}
		}
	case map[string]interface{}:
		if len(x) == 1 {
			if name, ok := x["Ref"].(string); ok {
				return s.addReference(name, refs)
			}
			if att, ok := x["Fn::GetAtt"]; ok {
				return s.addGetAttReference(att, refs)
			}
			if arg, ok := x["Fn::Sub"]; ok {
				return s.subReferences(arg, refs)
			}
		}
		for _, e := range x {
			if err := s.references(e, refs); err != nil {
				return err
			}
		}
	}
	return nil
}

// addReference adds name to refs if it is a resource; a name that is
// neither a resource, a parameter nor a pseudo parameter is an error.
func (s *Stack) addReference(name string, refs map[string]bool) error {
	if _, ok := s.pseudoValue(name); ok {
		return nil
	}
	if _, ok := s.params[name]; ok {
		return nil
	}
	if _, ok := s.t.Resources[name]; !ok {
		return fmt.Errorf("Ref %s: neither a pseudo parameter, a parameter nor a resource", name)
	}
	refs[name] = true
	return nil
}

// addGetAttReference adds the resource of an Fn::GetAtt to refs.
func (s *Stack) addGetAttReference(arg interface{}, refs map[string]bool) error {
	var id string
	switch a := arg.(type) {
	case string:
		id, _, _ = strings.Cut(a, ".")
	case []interface{}:
		if len(a) > 0 {
			id, _ = a[0].(string)
		}
	}
	if _, ok := s.t.Resources[id]; !ok {
		return fmt.Errorf("Fn::GetAtt %v: %q is not a resource of the template", arg, id)
	}
	refs[id] = true
	return nil
}

// subReferences adds the resources an Fn::Sub refers to.
func (s *Stack) subReferences(arg interface{}, refs map[string]bool) error {
	text, vars, err := subArgs(arg)
	if err != nil {
		return fmt.Errorf("Fn::Sub: %w", err)
	}
	if err := s.references(vars, refs); err != nil {
		return err
	}
	parts, err := parseSub(text)
	if err != nil {
		return fmt.Errorf("Fn::Sub: %w", err)
	}
	for _, p := range parts {
		if !p.isVariable {
			continue
		}
		if _, given := vars[p.text]; given {
			continue
		}
		if _, isPseudo := s.pseudoValue(p.text); isPseudo {
			continue
		}
		if _, isParam := s.params[p.text]; isParam {
			continue
		}
		if id, _, dotted := strings.Cut(p.text, "."); dotted {
			if _, ok := s.t.Resources[id]; !ok {
				return fmt.Errorf("Fn::Sub ${%s}: %q is not a resource of the template", p.text, id)
			}
			refs[id] = true
			continue
		}
		if err := s.addReference(p.text, refs); err != nil {
			return fmt.Errorf("Fn::Sub ${%s}: %w", p.text, err)
		}
	}
	return nil
}
