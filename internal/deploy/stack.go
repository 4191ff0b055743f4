package deploy

import (
	"context"
	"fmt"

	"github.com/essential-ir/essential-ir/internal/cfn"
)

// createdStack is a stack created in the emulated account.
type createdStack struct {
	stack     *cfn.Stack
	resources created
	outputs   map[string]string
}

// createStack creates a stack from a template in the account, as
// CloudFormation would: rules checked, then every resource whose condition
// holds, in dependency order, from its resolved properties; then the
// outputs. Nothing is rolled back on error: the resources created before
// the failure stay in the account, and the error names them.
func createStack(ctx context.Context, a *account, raw map[string]interface{}, stackName string, params map[string]string) (*createdStack, error) {
	tpl, err := cfn.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	if err := checkSupported(tpl); err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	if err := a.bootstrap(ctx); err != nil {
		return nil, err
	}
	res := created{}
	opts := cfn.Options{
		Pseudo:     cfn.Pseudo{Partition: a.partition, Region: a.region, AccountID: a.accountID, StackName: stackName},
		Parameters: params,
		SSM:        a.parameterReader(ctx),
		Resources:  res,
	}
	st, err := cfn.NewStack(tpl, opts)
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	if err := st.CheckRules(); err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	order, err := st.Order()
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	if err := validate(tpl, opts, order); err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	for i, id := range order {
		r := tpl.Resources[id]
		typ := resourceTypes[r.Type]
		props, err := st.ResolveProperties(r)
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w (created before it: %v)", stackName, err, order[:i])
		}
		for name := range typ.ignored {
			delete(props, name)
		}
		p, err := typ.create(ctx, a, request{stackName: stackName, logicalID: id, props: props})
		if err != nil {
			return nil, fmt.Errorf("stack %s: create %s (%s): %w (created before it: %v)", stackName, id, r.Type, err, order[:i])
		}
		p.typ = r.Type
		res[id] = p
	}
	outputs, err := st.Outputs()
	if err != nil {
		return nil, fmt.Errorf("stack %s: %w", stackName, err)
	}
	return &createdStack{stack: st, resources: res, outputs: outputs}, nil
}
