package statemachine

import (
	"fmt"
	"strings"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// readInstance reads everything the containment needs to know before the
// first change, in parallel: the instance's metadata (collectMetadata), the
// three attributes the safety steps change, and its Auto Scaling group. These
// are reads only, so a failure here leaves the instance as it was. Output:
// the input fields, $.Instance, each attribute's Before value and
// $.AutoScaling.
func (b *builder) readInstance(onFailure, next sfn.IChainable) sfn.IChainable {
	state := map[string]interface{}{
		"Instance.$":    "$[0].Instance",
		"AutoScaling.$": "$[1].AutoScaling",
	}
	// Every field of a containment's input (containPhase), the fleet's
	// listings of the load balancers among them.
	for _, f := range containPhase.inputFields() {
		state[f+".$"] = "$[0]." + f
	}
	for _, start := range []map[string]interface{}{targetGroupScanStart, classicScanStart} {
		for k, v := range start {
			state[k] = v
		}
	}
	for i, p := range protections() {
		field := strings.TrimPrefix(p.statePath, "$.")
		state[field] = map[string]interface{}{"Before.$": fmt.Sprintf("$[%d].%s.Before", i+2, field)}
	}
	read := sfn.NewParallel(b.scope, jsii.String("Read The Instance"), &sfn.ParallelProps{
		ResultSelector: &state,
		ResultPath:     jsii.String("$"),
	})
	read.Branch(b.collectMetadata(), b.findAutoScalingGroup())
	for _, p := range protections() {
		read.Branch(b.readBefore(p))
	}
	read.AddCatch(onFailure, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})
	return read.Next(next)
}

// collectMetadata reads the instance once, before any change: the metadata a
// responder needs (kept compact in the state and the output), the plan for
// the other steps (its ENIs, volumes and VPC), and the whole item for the
// pre-incident record, at $.Instance.
func (b *builder) collectMetadata() sfn.IChainable {
	item := "$.Reservations[0].Instances[0]"
	read := b.call(sdkCall{
		name:      "Collect Instance Metadata",
		service:   "ec2",
		action:    "describeInstances",
		iamAction: "ec2:DescribeInstances",
		resources: []string{"*"},
		params:    map[string]interface{}{"InstanceIds.$": "States.Array($.InstanceId)"},
		resultSelector: map[string]interface{}{
			"State.$":               item + ".State.Name",
			"InstanceType.$":        item + ".InstanceType",
			"ImageId.$":             item + ".ImageId",
			"LaunchTime.$":          item + ".LaunchTime",
			"AvailabilityZone.$":    item + ".Placement.AvailabilityZone",
			"VpcId.$":               item + ".VpcId",
			"SubnetId.$":            item + ".SubnetId",
			"PrivateIpAddress.$":    item + ".PrivateIpAddress",
			"PublicIpAddresses.$":   item + ".NetworkInterfaces[*].Association.PublicIp",
			"NetworkInterfaces.$":   item + ".NetworkInterfaces",
			"BlockDeviceMappings.$": item + ".BlockDeviceMappings",
			"VolumeCount.$":         "States.ArrayLength(" + item + ".BlockDeviceMappings)",
			// The whole item is the pre-incident record's instance.json.
			"Item.$":       item,
			"CapturedAt.$": "$$.State.EnteredTime",
			// An instance already contained keeps its first incident.
			"IncidentIds.$": item + ".Tags[?(@.Key == '" + IncidentIDTagKey + "')].Value",
		},
		resultPath: "$.Instance",
		onFailure:  b.stepFailed("Collect Instance Metadata"),
	})
	return read
}

// checkInstance sends an instance whose VPC's containment groups could not
// be prepared to vpcFailed, unchanged. An instance that already carries an
// incident ID (a re-run) keeps it, so its record and tags stay those of its
// first containment.
func (b *builder) checkInstance(vpcFailed, next sfn.IChainable) sfn.IChainable {
	keep := sfn.NewPass(b.scope, jsii.String("Keep Its First Incident ID"), &sfn.PassProps{
		InputPath:  jsii.String("$.Instance.IncidentIds[0]"),
		ResultPath: jsii.String("$.IncidentId"),
	})
	keep.Next(next)
	vpc := b.pass("Check Its VPC Is Prepared", map[string]interface{}{
		"Unprepared.$": "States.ArrayContains($.UnpreparedVpcs[*].VpcId, $.Instance.VpcId)",
	}, "$.VpcCheck")
	return vpc.Next(b.choice("Is Its VPC Prepared, And Is It Already Under Investigation?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.VpcCheck.Unprepared"), jsii.Bool(true)), vpcFailed, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.Instance.IncidentIds[0]")), keep, nil).
		Otherwise(next))
}
