package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// targetGroupPageSize is the page of DescribeTargetGroups: a response is
// about 720 bytes per target group and must stay well under the 256 KiB
// payload limit (an overflow ends the execution, uncatchable).
const targetGroupPageSize = 100

// targetGroupConcurrency bounds the DescribeTargetHealth calls in flight per
// instance, well under the ELB API rate limits.
const targetGroupConcurrency = 10

// deregisterFromTargetGroups takes the instance out of every ELBv2 target
// group of type instance that lists it, across all pages of target groups,
// so no load balancer sends it requests. A target that is draining counts as
// deregistered: that is how ELB reports it until the deregistration delay
// ends. The ARNs of the groups it was removed from are kept.
func (b *builder) deregisterFromTargetGroups() sfn.IChainable {
	failed := b.stepFailed("Deregister From Target Groups")
	listSelector := map[string]interface{}{
		"Arns.$":        "$.TargetGroups[?(@.TargetType == 'instance')].TargetGroupArn",
		"NextMarkers.$": "$..NextMarker",
	}
	list := func(name string, params map[string]interface{}) sfn.TaskStateBase {
		params["PageSize"] = targetGroupPageSize
		return b.call(sdkCall{
			name:           name,
			service:        "elasticloadbalancingv2",
			action:         "describeTargetGroups",
			iamAction:      "elasticloadbalancing:DescribeTargetGroups",
			resources:      []string{"*"},
			params:         params,
			resultSelector: listSelector,
			resultPath:     "$.TargetGroupPage",
			onFailure:      failed,
		})
	}
	start := b.pass("Start Target Group Scan", map[string]interface{}{"Pages": []interface{}{}}, "$.TargetGroupScan")
	first := list("List Target Groups", map[string]interface{}{})
	next := list("List More Target Groups", map[string]interface{}{"Marker.$": "$.TargetGroupPage.NextMarkers[0]"})

	each := sfn.NewMap(b.scope, jsii.String("Check Each Target Group"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.TargetGroupPage.Arns"),
		MaxConcurrency: jsii.Number(targetGroupConcurrency),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":     "$.InstanceId",
			"TargetGroupArn.$": "$$.Map.Item.Value",
		},
		ResultSelector: &map[string]interface{}{"Deregistered.$": "$[?(@.Deregistered == true)]"},
		ResultPath:     jsii.String("$.TargetGroupResults"),
	})
	each.ItemProcessor(b.deregisterFromTargetGroup(), nil)
	each.AddCatch(failed, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})

	// JSONPath has no array concatenation: pages are nested with
	// States.Array and flattened at the end with a recursive descent.
	record := b.pass("Record Target Group Page", map[string]interface{}{
		"Pages.$": "States.Array($.TargetGroupScan.Pages, $.TargetGroupResults.Deregistered)",
	}, "$.TargetGroupScan")
	more := b.choice("Are There More Target Groups?").
		When(sfn.Condition_IsPresent(jsii.String("$.TargetGroupPage.NextMarkers[0]")), next, nil).
		Otherwise(b.succeed("Target Groups Checked"))
	next.Next(each)
	return start.Next(first).Next(each).Next(record).Next(more)
}

// deregisterFromTargetGroup handles one target group. Input:
// {"InstanceId", "TargetGroupArn"}; output: {"TargetGroupArn", "Deregistered"}.
func (b *builder) deregisterFromTargetGroup() sfn.IChainable {
	failed := b.stepFailed("Deregister From Target Group")
	health := func(name, selector string) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:           name,
			service:        "elasticloadbalancingv2",
			action:         "describeTargetHealth",
			iamAction:      "elasticloadbalancing:DescribeTargetHealth",
			resources:      []string{"*"},
			params:         map[string]interface{}{"TargetGroupArn.$": "$.TargetGroupArn"},
			resultSelector: map[string]interface{}{"TargetIds.$": selector},
			resultPath:     "$.Health",
			onFailure:      failed,
		})
	}
	read := health("Read Target Group Members", "$.TargetHealthDescriptions[*].Target.Id")
	registered := b.pass("Is The Instance A Member", map[string]interface{}{
		"Member.$": "States.ArrayContains($.Health.TargetIds, $.InstanceId)",
	}, "$.Membership")
	confirm := health("Confirm Target Deregistered", "$.TargetHealthDescriptions[?(@.TargetHealth.State != 'draining')].Target.Id")
	deregister := b.call(sdkCall{
		name:      "Deregister From Target Group",
		service:   "elasticloadbalancingv2",
		action:    "deregisterTargets",
		iamAction: "elasticloadbalancing:DeregisterTargets",
		resources: []string{arn("elasticloadbalancing", "targetgroup/*/*")},
		params: map[string]interface{}{
			"TargetGroupArn.$": "$.TargetGroupArn",
			"Targets":          []interface{}{map[string]interface{}{"Id.$": "$.InstanceId"}},
		},
		alreadyDone: targetGone,
		verify:      confirm,
		onFailure:   failed,
	})
	stillThere := b.pass("Is The Instance Still Served", map[string]interface{}{
		"Member.$": "States.ArrayContains($.Health.TargetIds, $.InstanceId)",
	}, "$.Membership")
	done := b.pass("Deregistered From Target Group", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
		"Deregistered":     true,
	}, "")
	notMember := b.pass("Not In This Target Group", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
		"Deregistered":     false,
	}, "")
	verified := b.choice("Has It Left The Target Group?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Membership.Member"), jsii.Bool(false)), done, nil).
		Otherwise(b.notVerified("Target Deregistration Not Verified", "Containment.TargetGroupNotLeft",
			"the instance is still an active target of {}", "$.TargetGroupArn"))
	member := b.choice("Is It Registered Here?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Membership.Member"), jsii.Bool(true)),
			deregister.Next(confirm).Next(stillThere).Next(verified), nil).
		Otherwise(notMember)
	return read.Next(registered).Next(member)
}
