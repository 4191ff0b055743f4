package statemachine

import (
	"strings"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// instanceAttribute is one instance attribute the workflow sets and verifies.
type instanceAttribute struct {
	step      string      // step name, e.g. "Enable Termination Protection"
	call      string      // the name of its ModifyInstanceAttribute task
	attribute string      // DescribeInstanceAttribute name, e.g. "disableApiTermination"
	field     string      // response field, e.g. "DisableApiTermination"
	modify    interface{} // ModifyInstanceAttribute parameters besides InstanceId
	want      interface{} // the verified value: true or a string
	statePath string      // where before/after values are kept, e.g. "$.TerminationProtection"
	key       string      // the step's key in the containment phase and the summary's field
	// notFor lists the kinds of instance EC2 refuses the change for
	// (spotInstance, instanceStoreRoot): on those the step is recorded as
	// not applicable and nothing is called.
	notFor []instanceKind
}

// instanceKind is a kind of instance some protections do not apply to: the
// field of $.Instance that lists the instance's ID when it is of that kind
// (collectMetadata), and why, in a responder's words.
type instanceKind struct{ field, why string }

var (
	// spotInstance: EC2 refuses termination protection, stop protection and
	// a "stop" shutdown behaviour for Spot Instances (EC2 User Guide,
	// "Enable termination protection" and "Enable stop protection"; EC2
	// answers UnsupportedOperation "Modifying 'disableApiTermination' is not
	// supported for spot instances"). A Spot Instance is reclaimed by EC2
	// whatever its attributes.
	spotInstance = instanceKind{"SpotInstanceIds", "EC2 does not support it on Spot Instances"}
	// instanceStoreRoot: an instance-store-backed instance cannot be
	// stopped, so EC2 refuses stop protection and a "stop" shutdown
	// behaviour for it (EC2 User Guide, "Enable stop protection"; "Change
	// instance initiated shutdown behavior" describes "stop" for
	// EBS-backed instances only).
	instanceStoreRoot = instanceKind{"InstanceStoreRootIds", "EC2 does not support it on instance-store-backed instances, which cannot be stopped"}
)

// protections are set so that nothing short of a deliberate change can
// destroy the instance and its volatile data: termination protection, stop
// protection, and an instance-initiated shutdown that stops rather than
// terminates. ModifyInstanceAttribute takes one attribute per call.
func protections() []instanceAttribute {
	return []instanceAttribute{
		{
			step: "Enable Termination Protection", call: "Turn On Termination Protection", attribute: "disableApiTermination", field: "DisableApiTermination",
			modify: map[string]interface{}{"DisableApiTermination": map[string]interface{}{"Value": true}},
			want:   true, statePath: "$.TerminationProtection", key: "TerminationProtection",
			notFor: []instanceKind{spotInstance},
		},
		{
			step: "Enable Stop Protection", call: "Turn On Stop Protection", attribute: "disableApiStop", field: "DisableApiStop",
			modify: map[string]interface{}{"DisableApiStop": map[string]interface{}{"Value": true}},
			want:   true, statePath: "$.StopProtection", key: "StopProtection",
			notFor: []instanceKind{spotInstance, instanceStoreRoot},
		},
		{
			// The Attribute/Value form: documented by EC2 and the one form that
			// sets only this attribute.
			step: "Set Shutdown Behaviour To Stop", call: "Change Shutdown Behaviour To Stop", attribute: "instanceInitiatedShutdownBehavior", field: "InstanceInitiatedShutdownBehavior",
			modify: map[string]interface{}{"Attribute": "instanceInitiatedShutdownBehavior", "Value": "stop"},
			want:   "stop", statePath: "$.ShutdownBehaviour", key: "ShutdownBehaviour",
			notFor: []instanceKind{spotInstance, instanceStoreRoot},
		},
	}
}

// readAttribute reads the attribute into resultPath.
func (b *builder) readAttribute(a instanceAttribute, name, resultPath string, failed sfn.IChainable) sfn.TaskStateBase {
	return b.call(sdkCall{
		name:           name,
		service:        "ec2",
		action:         "describeInstanceAttribute",
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
func (b *builder) readBefore(a instanceAttribute) branch {
	name := "Read " + a.step + " Before"
	field := strings.TrimPrefix(a.statePath, "$.")
	return branch{
		key:   field + "Before",
		name:  name,
		chain: b.readAttribute(a, name, a.statePath+".Before", b.stepFailed(name)),
		keep:  map[string]interface{}{field: map[string]interface{}{"Before.$": a.statePath + ".Before"}},
	}
}

// protect is the containment step of one attribute: it changes the
// attribute, whose value before is already read (readBefore), and reads it
// back; on a kind of instance EC2 refuses the change for, it records the
// step as not applicable instead. The summary keeps {"Before", "After",
// "Applicable"}: After is Before where the step does not apply.
func (b *builder) protect(a instanceAttribute) branch {
	applies := b.pass(a.step+" Applies", map[string]interface{}{"Applicable": true}, a.statePath+".Scope")
	applies.Next(b.changeAttribute(a))
	check := b.choice("Does " + a.step + " Apply?")
	for _, kind := range a.notFor {
		skip := b.pass(a.step+" Not Applicable: "+kind.field, map[string]interface{}{
			"Applicable": false,
			"Reason":     kind.why,
		}, a.statePath+".Scope")
		keep := sfn.NewPass(b.scope, jsii.String(a.step+" Left As It Was: "+kind.field), &sfn.PassProps{
			InputPath:  jsii.String(a.statePath + ".Before"),
			ResultPath: jsii.String(a.statePath + ".After"),
		})
		skip.Next(keep).Next(b.succeed(a.step + " Not Applicable To " + strings.TrimSuffix(kind.field, "Ids")))
		check.When(sfn.Condition_IsPresent(jsii.String("$.Instance."+kind.field+"[0]")), skip, nil)
	}
	check.Otherwise(applies)
	return branch{
		key:   a.key,
		name:  a.step,
		chain: check,
		keep: map[string]interface{}{a.key: map[string]interface{}{
			"Before.$":     a.statePath + ".Before.Value",
			"After.$":      a.statePath + ".After.Value",
			"Applicable.$": a.statePath + ".Scope.Applicable",
		}},
		summary: []string{a.key},
		output:  []string{a.key},
	}
}

// changeAttribute changes the attribute and reads it back.
func (b *builder) changeAttribute(a instanceAttribute) sfn.IChainable {
	failed := b.stepFailed(a.step)
	params := map[string]interface{}{"InstanceId.$": "$.InstanceId"}
	for k, v := range a.modify.(map[string]interface{}) {
		params[k] = v
	}
	change := b.call(sdkCall{
		name:       a.call,
		service:    "ec2",
		action:     "modifyInstanceAttribute",
		resources:  []string{arn("ec2", "instance/*")},
		conditions: modifyInstanceAttributeConditions(),
		params:     params,
		onFailure:  failed,
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

// modifyInstanceAttributeConditions limit ModifyInstanceAttribute to the
// attributes the workflow sets, and those to the values it sets them to:
// the Service Authorization Reference lists ec2:Attribute and
// ec2:Attribute/${AttributeName} for the instance resource of
// ModifyInstanceAttribute, "Filters access by an attribute being set on a
// resource". AWS documents neither the values EC2 gives them (the API's
// parameter name, DisableApiTermination, or its attribute name,
// disableApiTermination) nor whether it gives them for every form of the
// request, so the names are compared ignoring case, both spellings of the
// block device mapping are listed, and each key is IfExists: where EC2 gives
// the key, any other attribute (user data, instance type, groups) or value
// (protection off, shutdown behaviour terminate) is refused; where it does
// not, the call still works (Documentation/security.md, residual risks).
func modifyInstanceAttributeConditions() map[string]interface{} {
	return map[string]interface{}{
		"StringEqualsIgnoreCaseIfExists": map[string]interface{}{
			"ec2:Attribute": []string{"DisableApiTermination", "DisableApiStop", "InstanceInitiatedShutdownBehavior",
				"BlockDeviceMapping", "BlockDeviceMappings"},
			"ec2:Attribute/DisableApiTermination":             "true",
			"ec2:Attribute/DisableApiStop":                    "true",
			"ec2:Attribute/InstanceInitiatedShutdownBehavior": "stop",
		},
	}
}
