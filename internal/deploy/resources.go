package deploy

import "fmt"

// physical is a resource created in the emulated account.
type physical struct {
	typ string
	// ref is what Ref gives ("" if the type documents no Ref value).
	ref string
	// atts are the attributes Fn::GetAtt gives.
	atts map[string]interface{}
}

// created are the resources of one stack created so far, by logical ID:
// what the template's Ref and Fn::GetAtt resolve to.
type created map[string]*physical

// Ref is the value Ref gives for a created resource.
func (c created) Ref(id string) (string, error) {
	p, ok := c[id]
	if !ok {
		return "", fmt.Errorf("Ref %s: the resource is not created yet", id)
	}
	if p.ref == "" {
		return "", fmt.Errorf("Ref %s: Ref of %s is not supported by the emulated deployment", id, p.typ)
	}
	return p.ref, nil
}

// GetAtt is an attribute of a created resource.
func (c created) GetAtt(id, attr string) (interface{}, error) {
	p, ok := c[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: the resource is not created yet", id, attr)
	}
	v, ok := p.atts[attr]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute %s of %s is not supported by the emulated deployment", id, attr, attr, p.typ)
	}
	return v, nil
}
