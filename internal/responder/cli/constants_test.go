package cli

import (
	"testing"

	"github.com/essential-ir/essential-ir/internal/responder/evidence"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
	"github.com/essential-ir/essential-ir/internal/responder/report"
	"github.com/essential-ir/essential-ir/statemachine"
)

// The responder packages do not import the workflow (it would link the
// CDK into the command): the names they share with it are checked here.
func TestNamesSharedWithTheWorkflow(t *testing.T) {
	for _, c := range []struct{ name, responder, workflow string }{
		{"instance record", evidence.InstanceObject, statemachine.RecordInstanceObject},
		{"user data record", evidence.UserDataObject, statemachine.RecordUserDataObject},
		{"console record", evidence.ConsoleObject, statemachine.RecordConsoleObject},
		{"manifest", evidence.ManifestObject, statemachine.RecordManifestObject},
		{"screenshot", evidence.ScreenshotObject, statemachine.ScreenshotObject},
		{"contain phase", execution.ContainPhase, statemachine.ContainPhase},
		{"evidence phase", execution.EvidencePhase, statemachine.EvidencePhase},
		{"revocation phase", execution.RevokePhase, statemachine.RevokePhase},
		{"deny policy path", report.DenyPolicyPathPrefix, statemachine.DenyPolicyPathPrefix},
		{"investigation tag", report.DefaultTagKey, statemachine.DefaultSettings().TagKey},
	} {
		if c.responder != c.workflow {
			t.Errorf("%s: the command says %q, the workflow %q", c.name, c.responder, c.workflow)
		}
	}
	if maxInstances != statemachine.MaxInstancesPerExecution {
		t.Errorf("contain accepts %d instances, an execution %d", maxInstances, statemachine.MaxInstancesPerExecution)
	}
}
