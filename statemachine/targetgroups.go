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

// targetGroupNotFound is the error of an ELBv2 call on a target group that
// no longer exists.
const targetGroupNotFound = "ElasticLoadBalancingV2.TargetGroupNotFoundException"

// memberOfInput is true in a task's ResultSelector when the result's list
// of instance IDs at idsPath holds the instance the execution contains: the
// instance state machine's input names it, and a ResultSelector may read the
// execution's input from the context object (JSONPath states may refer to
// $$ in ResultSelector).
func memberOfInput(idsPath string) string {
	return "States.ArrayContains(" + idsPath + ", $$.Execution.Input.InstanceId)"
}

// deregisterFromTargetGroups takes the instance out of every ELBv2 target
// group of type instance that lists it, across all pages of target groups,
// so no load balancer sends it requests. A target that is draining counts as
// deregistered: that is how ELB reports it until the deregistration delay
// ends. The ARNs of the groups it was removed from are kept.
//
// Each page is read in two passes: every group's targets are read and the
// read alone says whether the instance is one (a Map iteration of one task,
// 7 history events per group, the part that grows with the region), then
// the groups that list it are left one by one and verified.
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
	first := list("List Target Groups", map[string]interface{}{})
	next := list("List More Target Groups", map[string]interface{}{"Marker.$": "$.TargetGroupPage.NextMarkers[0]"})

	each := sfn.NewMap(b.scope, jsii.String("Check Each Target Group"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.TargetGroupPage.Arns"),
		MaxConcurrency: jsii.Number(targetGroupConcurrency),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":     "$.InstanceId",
			"TargetGroupArn.$": "$$.Map.Item.Value",
		},
		ResultSelector: &map[string]interface{}{"Arns.$": "$[?(@.Membership.Member == true)].TargetGroupArn"},
		ResultPath:     jsii.String("$.MemberGroups"),
	})
	// A group deleted since it was listed serves nobody.
	gone := b.pass("Target Group Gone", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
		"Membership":       map[string]interface{}{"Member": false},
	}, "")
	each.ItemProcessor(b.call(sdkCall{
		name:           "Read Target Group Members",
		service:        "elasticloadbalancingv2",
		action:         "describeTargetHealth",
		iamAction:      "elasticloadbalancing:DescribeTargetHealth",
		resources:      []string{"*"},
		params:         map[string]interface{}{"TargetGroupArn.$": "$.TargetGroupArn"},
		resultSelector: map[string]interface{}{"Member.$": memberOfInput("$.TargetHealthDescriptions[*].Target.Id")},
		resultPath:     "$.Membership",
		catches:        []catchTo{{errors: []string{targetGroupNotFound}, next: gone}},
		onFailure:      b.stepFailed("Read Target Group Members"),
	}), nil)
	each.AddCatch(failed, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})

	leave := sfn.NewMap(b.scope, jsii.String("Leave Each Target Group"), &sfn.MapProps{
		ItemsPath: jsii.String("$.MemberGroups.Arns"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":     "$.InstanceId",
			"TargetGroupArn.$": "$$.Map.Item.Value",
		},
		ResultSelector: &map[string]interface{}{"Deregistered.$": "$[*]"},
		ResultPath:     jsii.String("$.TargetGroupResults"),
	})
	leave.ItemProcessor(b.deregisterFromTargetGroup(), nil)
	leave.AddCatch(failed, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})

	// JSONPath has no array concatenation: pages are nested with
	// States.Array and flattened at the end with a recursive descent.
	record := b.pass("Record Target Group Page", map[string]interface{}{
		"Pages.$": "States.Array($.TargetGroupScan.Pages, $.TargetGroupResults.Deregistered)",
	}, "$.TargetGroupScan")
	more := b.choice("Are There More Target Groups?").
		When(sfn.Condition_IsPresent(jsii.String("$.TargetGroupPage.NextMarkers[0]")), next, nil).
		Otherwise(b.succeed("Target Groups Checked"))
	next.Next(each)
	return first.Next(each).Next(leave).Next(record).Next(more)
}

// targetGroupScanStart is where the target group scan keeps the groups it
// left, page by page; it starts empty in the instance's state (Read The
// Instance), so the scan needs no state of its own to start.
var targetGroupScanStart = map[string]interface{}{"TargetGroupScan": map[string]interface{}{"Pages": []interface{}{}}}

// deregisterFromTargetGroup takes the instance out of one target group that
// lists it. Input: {"InstanceId", "TargetGroupArn"}; output:
// {"TargetGroupArn"} once a read shows it no longer an active target.
func (b *builder) deregisterFromTargetGroup() sfn.IChainable {
	failed := b.stepFailed("Deregister From Target Group")
	done := b.pass("Deregistered From Target Group", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
	}, "")
	confirm := b.call(sdkCall{
		name:      "Confirm Target Deregistered",
		service:   "elasticloadbalancingv2",
		action:    "describeTargetHealth",
		iamAction: "elasticloadbalancing:DescribeTargetHealth",
		resources: []string{"*"},
		params:    map[string]interface{}{"TargetGroupArn.$": "$.TargetGroupArn"},
		resultSelector: map[string]interface{}{
			"TargetIds.$": "$.TargetHealthDescriptions[?(@.TargetHealth.State != 'draining')].Target.Id",
		},
		resultPath: "$.Health",
		// Deleted since it was listed: it no longer serves the instance.
		catches:   []catchTo{{errors: []string{targetGroupNotFound}, next: done}},
		onFailure: failed,
	})
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
		// A group deleted since it was listed goes to the read too, which
		// finds it gone.
		catches:     []catchTo{{errors: []string{targetGroupNotFound}, next: confirm}},
		alreadyDone: targetGone,
		verify:      confirm,
		onFailure:   failed,
	})
	stillThere := b.pass("Is The Instance Still Served", map[string]interface{}{
		"Member.$": "States.ArrayContains($.Health.TargetIds, $.InstanceId)",
	}, "$.Membership")
	verified := b.choice("Has It Left The Target Group?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Membership.Member"), jsii.Bool(false)), done, nil).
		Otherwise(b.notVerified("Target Deregistration Not Verified", "Containment.TargetGroupNotLeft",
			"the instance is still an active target of {}", "$.TargetGroupArn"))
	return deregister.Next(confirm).Next(stillThere).Next(verified)
}
