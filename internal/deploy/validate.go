package deploy

import (
	"fmt"
	"slices"

	"github.com/essential-ir/essential-ir/internal/cfn"
)

// placeholders stand for the resources before any exists: Ref and
// Fn::GetAtt give placeholder strings, for the attributes the type
// supports.
type placeholders struct{ tpl *cfn.Template }

// Ref is a placeholder for the resource's Ref value.
func (p placeholders) Ref(id string) (string, error) {
	if resourceTypes[p.tpl.Resources[id].Type].noRef {
		return "", fmt.Errorf("Ref %s: Ref of %s is not supported by the emulated deployment", id, p.tpl.Resources[id].Type)
	}
	return "placeholder-" + id, nil
}

// GetAtt is a placeholder for a supported attribute.
func (p placeholders) GetAtt(id, attr string) (interface{}, error) {
	typ := p.tpl.Resources[id].Type
	if !slices.Contains(resourceTypes[typ].attributes, attr) {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute %s of %s is not supported by the emulated deployment", id, attr, attr, typ)
	}
	return "placeholder-" + id + "." + attr, nil
}

// validate resolves every resource the stack creates against placeholders
// and checks its properties, nested ones included, before anything is
// created, so that a property the deployment cannot honour leaves the
// account untouched.
func validate(tpl *cfn.Template, o cfn.Options, order []string) error {
	o.Resources = placeholders{tpl: tpl}
	st, err := cfn.NewStack(tpl, o)
	if err != nil {
		return err
	}
	for _, id := range order {
		r := tpl.Resources[id]
		typ := resourceTypes[r.Type]
		props, err := st.ResolveProperties(r)
		if err != nil {
			return err
		}
		for name := range typ.ignored {
			delete(props, name)
		}
		if err := checkKeys(props, typ.props, ""); err != nil {
			return fmt.Errorf("resource %s (%s): %w", id, r.Type, err)
		}
	}
	return nil
}
