package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// keepVolumes turns DeleteOnTermination off on every EBS volume, so the
// volumes outlive the instance if it is terminated anyway. One
// ModifyInstanceAttribute call carries every device; a follow-up
// DescribeInstances shows no device still marked for deletion.
func (b *builder) keepVolumes() branch {
	failed := b.stepFailed("Keep Volumes On Termination")
	list := sfn.NewMap(b.scope, jsii.String("List Volumes To Keep"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Instance.BlockDeviceMappings"),
		ItemSelector: &map[string]interface{}{
			"DeviceName.$": "$$.Map.Item.Value.DeviceName",
			"Ebs":          map[string]interface{}{"DeleteOnTermination": false},
		},
		ResultPath: jsii.String("$.KeepVolumes"),
	})
	list.ItemProcessor(sfn.NewPass(b.scope, jsii.String("Keep Volume"), nil), nil)
	list.AddCatch(failed, anyError())
	modify := b.call(sdkCall{
		name:    "Turn Off DeleteOnTermination",
		service: "ec2",
		action:  "modifyInstanceAttribute",
		// The Service Authorization Reference lists volume as a resource
		// of ModifyInstanceAttribute: changing a device's
		// DeleteOnTermination may be authorised on its volume too, so
		// both are allowed.
		resources:  []string{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
		conditions: modifyInstanceAttributeConditions(),
		params:     map[string]interface{}{"InstanceId.$": "$.InstanceId", "BlockDeviceMappings.$": "$.KeepVolumes"},
		onFailure:  failed,
	})
	// DescribeInstanceAttribute blockDeviceMapping would also do on AWS;
	// DescribeInstances reports the same flag per device.
	confirm := b.call(sdkCall{
		name:      "Confirm Volumes Kept",
		service:   "ec2",
		action:    "describeInstances",
		resources: []string{"*"},
		params:    map[string]interface{}{"InstanceIds.$": "States.Array($.InstanceId)"},
		resultSelector: map[string]interface{}{
			"StillDeleted.$": "$.Reservations[0].Instances[0].BlockDeviceMappings[?(@.Ebs.DeleteOnTermination == true)].DeviceName",
		},
		resultPath: "$.VolumeCheck",
		onFailure:  failed,
	})
	check := b.choice("Are All Volumes Kept?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.VolumeCheck.StillDeleted[0]")), b.succeed("Volumes Kept On Termination"), nil).
		Otherwise(b.notVerified("Volumes Kept Not Verified", "Containment.DeleteOnTerminationNotVerified",
			"DeleteOnTermination is still true on device(s) {}", "States.JsonToString($.VolumeCheck.StillDeleted)"))
	return branch{
		key: "Volumes", name: "Keep Volumes On Termination",
		chain: b.choice("Does It Have EBS Volumes?").
			When(sfn.Condition_IsPresent(jsii.String("$.Instance.BlockDeviceMappings[0]")), list.Next(modify).Next(confirm).Next(check), nil).
			Otherwise(b.succeed("No EBS Volumes To Keep")),
		keep: map[string]interface{}{},
	}
}
