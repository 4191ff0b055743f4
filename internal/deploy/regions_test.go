package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/deploy"
)

// TestDeployableTwiceAndInAnotherRegion: every name the stack fixes
// follows the StateMachineName parameter or the region, and the global
// ones (IAM) are generated per stack, so the stack deploys again in the
// same account and region under another name, and under the same name in
// another region of the same account, each with resources of its own. Under
// the same name in the same region it is refused, as CloudFormation refuses
// it: state machine names are per account and region.
func TestDeployableTwiceAndInAnotherRegion(t *testing.T) {
	ctx := context.Background()
	second := deployNamed(t, template, "essential-ir-second", nil)
	west, err := deploy.DeployInRegion(ctx, emu, template, "us-west-2", deployed.StackName, nil)
	if err != nil {
		t.Fatalf("deploy %s in us-west-2 beside the same stack in %s: %v", deployed.StackName, emu.Region(), err)
	}
	seen := map[string]string{}
	for _, d := range []*deploy.Deployment{deployed, second, west} {
		for what, v := range map[string]string{"role": d.RoleARN, "bucket": d.Bucket, "key": d.KeyARN, "state machine": d.StateMachineARN,
			"instance state machine": d.InstanceStateMachineARN} {
			if other, dup := seen[v]; dup {
				t.Errorf("%s of %s is %s, already %s", what, d.StackName, v, other)
			}
			seen[v] = what + " of " + d.StackName
		}
	}
	if !strings.Contains(west.StateMachineARN, ":us-west-2:") || west.LogGroupName != stack.LogGroupPrefix+deployed.StackName {
		t.Errorf("us-west-2 deployment: state machine %s, log group %s", west.StateMachineARN, west.LogGroupName)
	}
	if second.LogGroupName == deployed.LogGroupName {
		t.Errorf("two stacks share the log group %s", second.LogGroupName)
	}
	if _, err := deploy.Deploy(ctx, emu, template, deployed.StackName, nil); err == nil {
		t.Error("the same StateMachineName deployed twice in one region")
	}
}
