package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// readBranches are the reads of Read The Instance: everything the
// containment needs to know before the first change. Each keeps its result
// at the top of the instance's state.
func (b *builder) readBranches() []branch {
	branches := []branch{b.collectMetadata(), b.findAutoScalingGroup()}
	for _, p := range protections() {
		branches = append(branches, b.readBefore(p))
	}
	return branches
}

// readInstance reads everything the containment needs to know before the
// first change, in parallel (the reads of readBranches). These are reads
// only, so a failure here leaves the instance as it was. Output: the input
// fields and every read's kept fields.
func (b *builder) readInstance(reads []branch, onFailure, next sfn.IChainable) sfn.IChainable {
	read := b.readPhase("Read The Instance", containPhase.inputFields(), reads)
	read.AddCatch(onFailure, anyError())
	return read.Next(next)
}

// collectMetadata reads the instance once, before any change: the metadata a
// responder needs (kept compact in the state and the output), the plan for
// the other steps (its ENIs, volumes and VPC), and the whole item for the
// pre-incident record, at $.Instance.
func (b *builder) collectMetadata() branch {
	item := "$.Reservations[0].Instances[0]"
	instances := "$.Reservations[0].Instances"
	read := b.call(sdkCall{
		name:      "Collect Instance Metadata",
		service:   "ec2",
		action:    "describeInstances",
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
			// The kinds of instance some protections do not apply to
			// (protection.go): the instance's ID if it is one, else empty.
			spotInstance.field + ".$":      instances + "[?(@.InstanceLifecycle == 'spot')].InstanceId",
			instanceStoreRoot.field + ".$": instances + "[?(@.RootDeviceType == 'instance-store')].InstanceId",
			// The whole item is the pre-incident record's instance.json.
			"Item.$":       item,
			"CapturedAt.$": "$$.State.EnteredTime",
			// An instance already contained keeps its first incident.
			"IncidentIds.$": item + ".Tags[?(@.Key == '" + IncidentIDTagKey + "')].Value",
		},
		resultPath: "$.Instance",
		onFailure:  b.stepFailed("Collect Instance Metadata"),
	})
	metadata := map[string]interface{}{}
	for _, f := range []string{"State", "InstanceType", "ImageId", "LaunchTime", "AvailabilityZone", "VpcId", "SubnetId", "PrivateIpAddress", "PublicIpAddresses"} {
		metadata[f+".$"] = "$.Instance." + f
	}
	// The VPC's containment groups are found once the instance's VPC is
	// known.
	groups := b.findContainmentGroups()
	return branch{
		key: "Instance", name: "Collect Instance Metadata",
		chain:   read.Next(groups),
		keep:    map[string]interface{}{"Instance": "$.Instance", "Metadata": metadata, "ContainmentGroups": containmentGroupsPath},
		summary: []string{"Metadata"},
	}
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
