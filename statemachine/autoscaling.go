package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// detachFromAutoScaling takes the instance out of its Auto Scaling group (as
// findAutoScalingGroup found it) before anything else could make it look
// unhealthy: an Auto Scaling health check replaces an unhealthy instance
// whatever its termination protection, and deletes the volumes marked
// DeleteOnTermination. Desired capacity is
// kept, so the group launches a replacement and the service stays up.
func (b *builder) detachFromAutoScaling() branch {
	failed := b.stepFailed("Detach From Auto Scaling Group")
	readParams := map[string]interface{}{"InstanceIds.$": "States.Array($.InstanceId)"}
	confirm := b.call(sdkCall{
		name:           "Confirm Auto Scaling Detach",
		service:        "autoscaling",
		action:         "describeAutoScalingInstances",
		resources:      []string{"*"},
		params:         readParams,
		resultSelector: map[string]interface{}{"LifecycleStates.$": "$.AutoScalingInstances[*].LifecycleState"},
		resultPath:     "$.AutoScalingCheck",
		onFailure:      failed,
	})
	detach := b.call(sdkCall{
		name:      "Leave The Auto Scaling Group",
		service:   "autoscaling",
		action:    "detachInstances",
		resources: []string{arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")},
		params: map[string]interface{}{
			"AutoScalingGroupName.$":         "$.AutoScaling.Groups[0]",
			"InstanceIds.$":                  "States.Array($.InstanceId)",
			"ShouldDecrementDesiredCapacity": false,
		},
		alreadyDone: notInGroup,
		verify:      confirm,
		onFailure:   failed,
	})
	pause := b.wait("Wait For Auto Scaling Detach", 5)
	verified := b.choice("Has It Left The Auto Scaling Group?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.AutoScalingCheck.LifecycleStates[0]")), b.succeed("Detached From Auto Scaling Group"), nil).
		When(sfn.Condition_StringMatches(jsii.String("$.AutoScalingCheck.LifecycleStates[0]"), jsii.String("Detaching*")), pause.Next(confirm), nil).
		Otherwise(b.notVerified("Auto Scaling Detach Not Verified", "Containment.AutoScalingDetachNotVerified",
			"the instance is still in Auto Scaling group {} in lifecycle state {}", "$.AutoScaling.Groups[0]", "$.AutoScalingCheck.LifecycleStates[0]"))
	inGroup := b.choice("Is It In An Auto Scaling Group?").
		When(sfn.Condition_IsPresent(jsii.String("$.AutoScaling.Groups[0]")), detach.Next(confirm).Next(verified), nil).
		Otherwise(b.succeed("Not In An Auto Scaling Group"))
	return branch{
		key: "AutoScaling", name: "Detach From Auto Scaling Group",
		chain:   inGroup,
		keep:    map[string]interface{}{"DetachedFromAutoScalingGroups": "$.AutoScaling.Groups"},
		summary: []string{"DetachedFromAutoScalingGroups"},
		output:  []string{"DetachedFromAutoScalingGroups"},
	}
}

// findAutoScalingGroup reads which Auto Scaling group the instance is in,
// at $.AutoScaling.Groups, before any change: a branch of Read The Instance.
func (b *builder) findAutoScalingGroup() branch {
	return branch{key: "AutoScaling", name: "Find Auto Scaling Group", keep: map[string]interface{}{"AutoScaling": "$.AutoScaling"}, chain: b.call(sdkCall{
		name:           "Find Auto Scaling Group",
		service:        "autoscaling",
		action:         "describeAutoScalingInstances",
		resources:      []string{"*"},
		params:         map[string]interface{}{"InstanceIds.$": "States.Array($.InstanceId)"},
		resultSelector: map[string]interface{}{"Groups.$": "$.AutoScalingInstances[*].AutoScalingGroupName"},
		resultPath:     "$.AutoScaling",
		onFailure:      b.stepFailed("Find Auto Scaling Group"),
	})}
}
