package statemachine

import sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"

// collectMetadata reads the instance once, before any change: the metadata a
// responder needs (kept compact in the state and the output) and the plan
// for the other steps (its ENIs, volumes and VPC). The full DescribeInstances
// response stays in the execution history and the CloudWatch log.
func (b *builder) collectMetadata(onFailure sfn.IChainable) sfn.TaskStateBase {
	item := "$.Reservations[0].Instances[0]"
	return b.call(sdkCall{
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
		},
		resultPath: "$.Instance",
		onFailure:  onFailure,
	})
}
