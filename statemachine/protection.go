package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// instanceAttribute is one instance attribute the workflow sets and verifies.
type instanceAttribute struct {
	step      string      // step name, e.g. "Enable Termination Protection"
	attribute string      // DescribeInstanceAttribute name, e.g. "disableApiTermination"
	field     string      // response field, e.g. "DisableApiTermination"
	modify    interface{} // ModifyInstanceAttribute parameters besides InstanceId
	want      interface{} // the verified value: true or a string
	statePath string      // where before/after values are kept, e.g. "$.TerminationProtection"
}

// protections are set so that nothing short of a deliberate change can
// destroy the instance and its volatile data: termination protection, stop
// protection, and an instance-initiated shutdown that stops rather than
// terminates. ModifyInstanceAttribute takes one attribute per call.
func protections() []instanceAttribute {
	return []instanceAttribute{
		{
			step: "Enable Termination Protection", attribute: "disableApiTermination", field: "DisableApiTermination",
			modify: map[string]interface{}{"DisableApiTermination": map[string]interface{}{"Value": true}},
			want:   true, statePath: "$.TerminationProtection",
		},
		{
			step: "Enable Stop Protection", attribute: "disableApiStop", field: "DisableApiStop",
			modify: map[string]interface{}{"DisableApiStop": map[string]interface{}{"Value": true}},
			want:   true, statePath: "$.StopProtection",
		},
		{
			// The Attribute/Value form: documented by EC2 and the one form that
			// sets only this attribute.
			step: "Set Shutdown Behaviour To Stop", attribute: "instanceInitiatedShutdownBehavior", field: "InstanceInitiatedShutdownBehavior",
			modify: map[string]interface{}{"Attribute": "instanceInitiatedShutdownBehavior", "Value": "stop"},
			want:   "stop", statePath: "$.ShutdownBehaviour",
		},
	}
}

// readAttribute reads the attribute into resultPath.
func (b *builder) readAttribute(a instanceAttribute, name, resultPath string, failed sfn.IChainable) sfn.TaskStateBase {
	return b.call(sdkCall{
		name:           name,
		service:        "ec2",
		action:         "describeInstanceAttribute",
		iamAction:      "ec2:DescribeInstanceAttribute",
		resources:      []string{"*"},
		params:         map[string]interface{}{"InstanceId.$": "$.InstanceId", "Attribute": a.attribute},
		resultSelector: map[string]interface{}{"Value.$": "$." + a.field + ".Value"},
		resultPath:     resultPath,
		onFailure:      failed,
	})
}

// readBefore reads the attribute's value before any change, at
// a.statePath.Before: kept for the summary and for a later release. It is a
// branch of Read The Instance, beside the metadata.
func (b *builder) readBefore(a instanceAttribute) sfn.IChainable {
	name := "Read " + a.step + " Before"
	return b.readAttribute(a, name, a.statePath+".Before", b.stepFailed(name))
}

// protect changes the attribute, whose value before is already read
// (readBefore), and reads it back.
func (b *builder) protect(a instanceAttribute) sfn.IChainable {
	failed := b.stepFailed(a.step)
	params := map[string]interface{}{"InstanceId.$": "$.InstanceId"}
	for k, v := range a.modify.(map[string]interface{}) {
		params[k] = v
	}
	change := b.call(sdkCall{
		name:      a.step,
		service:   "ec2",
		action:    "modifyInstanceAttribute",
		iamAction: "ec2:ModifyInstanceAttribute",
		resources: []string{arn("ec2", "instance/*")},
		params:    params,
		onFailure: failed,
	})
	after := b.readAttribute(a, "Confirm "+a.step, a.statePath+".After", failed)
	var ok sfn.Condition
	switch want := a.want.(type) {
	case bool:
		ok = sfn.Condition_BooleanEquals(jsii.String(a.statePath+".After.Value"), jsii.Bool(want))
	case string:
		ok = sfn.Condition_StringEquals(jsii.String(a.statePath+".After.Value"), jsii.String(want))
	}
	check := b.choice("Is "+a.step+" Done?").
		When(ok, b.succeed(a.step+" Done"), nil).
		Otherwise(b.notVerified(a.step+" Not Verified", "Containment.ProtectionNotVerified",
			a.step+" was requested but the instance still reports {}", a.statePath+".After.Value"))
	return change.Next(after).Next(check)
}
