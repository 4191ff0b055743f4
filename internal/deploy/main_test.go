package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// One emulator, one synthesized template and one default deployment serve
// every test of this package; other deployments have names of their own.
var (
	emu      *emulator.Emulator
	template *synth.Template
	deployed *deploy.Deployment
)

func TestMain(m *testing.M) {
	os.Exit(emulator.RunTestMain(m, &emu, setup))
}

// setup synthesizes the stack and deploys it with the default parameters.
func setup(e *emulator.Emulator) error {
	var err error
	if template, err = synth.Synthesize(); err != nil {
		return err
	}
	deployed, err = deploy.Deploy(context.Background(), e, template, "essential-ir", nil)
	return err
}

// mutated returns a deep copy of the synthesized template changed by
// change, which the shared template never sees.
func mutated(t *testing.T, change func(resources map[string]interface{})) *synth.Template {
	t.Helper()
	raw, err := json.Marshal(template.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var copied map[string]interface{}
	if err := json.Unmarshal(raw, &copied); err != nil {
		t.Fatal(err)
	}
	change(copied["Resources"].(map[string]interface{}))
	return &synth.Template{JSON: copied, Stack: template.Stack}
}

// properties returns the properties of the one resource of a type whose
// logical ID starts with prefix, in a template's resources.
func properties(t *testing.T, resources map[string]interface{}, cfnType, prefix string) map[string]interface{} {
	t.Helper()
	var found map[string]interface{}
	for id, r := range resources {
		body := r.(map[string]interface{})
		if body["Type"] == cfnType && len(id) >= len(prefix) && id[:len(prefix)] == prefix {
			if found != nil {
				t.Fatalf("two %s resources start with %s", cfnType, prefix)
			}
			found = body["Properties"].(map[string]interface{})
		}
	}
	if found == nil {
		t.Fatalf("no %s resource starts with %s", cfnType, prefix)
	}
	return found
}

// deployNamed deploys a template as a stack of its own.
func deployNamed(t *testing.T, tpl *synth.Template, name string, params map[string]string) *deploy.Deployment {
	t.Helper()
	d, err := deploy.Deploy(context.Background(), emu, tpl, name, params)
	if err != nil {
		t.Fatalf("deploy %s: %v", name, err)
	}
	return d
}
