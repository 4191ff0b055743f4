package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// protection reads termination protection, stop protection and the
// shutdown behaviour of an instance.
func protection(t *testing.T, id string) (termination, stop bool, shutdown string) {
	t.Helper()
	read := func(a ec2types.InstanceAttributeName) *ec2.DescribeInstanceAttributeOutput {
		out, err := scenes.EC2.DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: a})
		if err != nil {
			t.Fatalf("describe %s of %s: %v", a, id, err)
		}
		return out
	}
	termination = aws.ToBool(read(ec2types.InstanceAttributeNameDisableApiTermination).DisableApiTermination.Value)
	stop = aws.ToBool(read(ec2types.InstanceAttributeNameDisableApiStop).DisableApiStop.Value)
	shutdown = aws.ToString(read(ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior).InstanceInitiatedShutdownBehavior.Value)
	return termination, stop, shutdown
}

// assertProtected: termination and stop protection are on, the shutdown
// behaviour is stop, and the output shows the values before and after.
func assertProtected(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	termination, stop, shutdown := protection(t, inst.ID)
	if !termination || !stop || shutdown != "stop" {
		t.Errorf("%s: termination protection %v, stop protection %v, shutdown behaviour %q; want true, true, stop", inst.ID, termination, stop, shutdown)
	}
	if !sum.TerminationProtection.After || !sum.StopProtection.After || sum.ShutdownBehaviour.After != "stop" {
		t.Errorf("%s: output reports protections %+v %+v %+v", inst.ID, sum.TerminationProtection, sum.StopProtection, sum.ShutdownBehaviour)
	}
}

// assertNotProtected: the workflow did not change the protections.
func assertNotProtected(t *testing.T, inst *scene.Instance) {
	t.Helper()
	if termination, stop, _ := protection(t, inst.ID); termination || stop {
		t.Errorf("%s: protections turned on (termination %v, stop %v), but nothing should have changed", inst.ID, termination, stop)
	}
}
