package statemachine

import (
	"fmt"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
)

// ListingPageSize is the page of DescribeTargetGroups and of
// DescribeLoadBalancers (classic): a response is about 720 bytes per target
// group and 850 per classic load balancer, and must stay well under the 256
// KiB payload limit (an overflow ends the execution, uncatchable). The
// fleet lists the load balancers once only when they fit one page.
const ListingPageSize = 100

// targetGroupPageSize is the page of DescribeTargetGroups.
const targetGroupPageSize = ListingPageSize

// targetGroupConcurrency bounds the DescribeTargetHealth calls in flight per
// instance, well under the ELB API rate limits.
const targetGroupConcurrency = 10

// targetGroupNotFound is the error of an ELBv2 call on a target group that
// no longer exists.
const targetGroupNotFound = "ElasticLoadBalancingV2.TargetGroupNotFoundException"

// listedTargetsPerGroup bounds the targets the fleet keeps of each target
// group it lists once (listTargetGroupsOnce): a group with more is listed
// as crowded, without its targets, and each instance reads it itself. So
// the listing stays under about 25 KB for a full page of 100 groups, in the
// started execution's state and in each instance's input, whatever the
// groups hold (up to 1,000 targets each).
const listedTargetsPerGroup = 5

// listingRetries bounds the retries of the fleet's one listing of the
// target groups and of the classic load balancers: it runs before any
// instance is contained, so under throttling it gives up within about 7 s
// (full jitter: 1, 2 and 4 s at most) and each instance then reads them
// itself, after isolation.
const listingRetries = 3

// listTargetGroupsOnce reads, once for the whole fleet and beside the input
// check, which instances each target group of type instance lists, so an
// instance's containment needs no call to find its target groups: without
// it, every instance reads every group in the region, N × G calls for N
// instances and G groups, against the ELB API's 40 Describe calls a second
// per account and region (Elastic Load Balancing User Guide, "Request
// throttling for the Elastic Load Balancing API"), shared with everything
// else in the account.
//
// Output: {"Listed": [{"TargetGroupArn", "Members": {"Count", "Ids"}}],
// "Crowded": [ARNs]}: each group with at most listedTargetsPerGroup targets
// (Ids are all its targets, draining ones too), and the ARNs of those with
// more. Or {"NotListed": why}: more groups than one page of 100, or a read
// that failed after its retries; each instance then reads the groups itself
// (deregisterFromTargetGroups), as it would with no listing, so nothing the
// listing misses goes unchecked. It never fails: the input check beside it
// must decide alone whether the execution goes on.
func (b *builder) listTargetGroupsOnce() sfn.IChainable {
	notListed := b.pass("Target Groups Not Listed Once", map[string]interface{}{
		"NotListed.$": "States.Format('listing the target groups once for the fleet failed, so each instance reads them itself: {}', $.Failure.Cause)",
	}, "")
	list := b.call(sdkCall{
		name:           "List Target Groups Once",
		service:        "elasticloadbalancingv2",
		action:         "describeTargetGroups",
		resources:      []string{"*"},
		params:         map[string]interface{}{"PageSize": targetGroupPageSize},
		resultSelector: targetGroupPageSelector,
		resultPath:     "$",
		retries:        listingRetries,
		onFailure:      notListed,
	})
	tooMany := b.pass("Too Many Target Groups To List Once", map[string]interface{}{
		"NotListed": fmt.Sprintf("more than %d target groups, so each instance reads them itself, page by page", targetGroupPageSize),
	}, "")
	each := sfn.NewMap(b.scope, jsii.String("List Each Target Group's Targets"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Arns"),
		MaxConcurrency: jsii.Number(targetGroupConcurrency),
		ItemSelector:   &map[string]interface{}{"TargetGroupArn.$": "$$.Map.Item.Value"},
		ResultSelector: &map[string]interface{}{
			"Listed.$":  fmt.Sprintf("$[?(@.Members.Count <= %d)]", listedTargetsPerGroup),
			"Crowded.$": fmt.Sprintf("$[?(@.Members.Count > %d)].TargetGroupArn", listedTargetsPerGroup),
		},
	})
	// A group deleted since it was listed serves nobody.
	gone := b.pass("Target Group Gone Before Its Listing", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
		"Members":          map[string]interface{}{"Count": 0, "Ids": []interface{}{}},
	}, "")
	each.ItemProcessor(b.readTargetHealth(sdkCall{
		name: "List Target Group Targets Once",
		resultSelector: map[string]interface{}{
			"Count.$": "States.ArrayLength($.TargetHealthDescriptions)",
			"Ids.$":   fmt.Sprintf("$.TargetHealthDescriptions[0:%d].Target.Id", listedTargetsPerGroup),
		},
		resultPath: "$.Members",
		retries:    listingRetries,
		catches:    []catchTo{{errors: []string{targetGroupNotFound}, next: gone}},
		onFailure: sfn.NewFail(b.scope, jsii.String("Target Group Targets Not Listed Once"), &sfn.FailProps{
			ErrorPath: jsii.String("$.Failure.Error"),
			CausePath: jsii.String("$.Failure.Cause"),
		}),
	}), nil)
	each.AddCatch(notListed, anyError())
	return list.Next(b.choice("Do The Target Groups Fit One Page?").
		When(sfn.Condition_IsPresent(jsii.String("$.NextMarkers[0]")), tooMany, nil).
		Otherwise(each))
}

// targetGroupPageSelector keeps, of a page of DescribeTargetGroups, the
// ARNs of the groups of type instance and the marker of the next page.
var targetGroupPageSelector = map[string]interface{}{
	"Arns.$":        "$.TargetGroups[?(@.TargetType == 'instance')].TargetGroupArn",
	"NextMarkers.$": "$..NextMarker",
}

// memberOfInput is true in a task's ResultSelector when the result's list
// of instance IDs at idsPath holds the instance the execution contains: the
// instance state machine's input names it, and a ResultSelector may read the
// execution's input from the context object (JSONPath states may refer to
// $$ in ResultSelector).
func memberOfInput(idsPath string) string {
	return "States.ArrayContains(" + idsPath + ", $$.Execution.Input.InstanceId)"
}

// deregisterFromTargetGroups takes the instance out of every ELBv2 target
// group of type instance that lists it, so no load balancer sends it
// requests. A target that is draining counts as deregistered: that is how
// ELB reports it until the deregistration delay ends. The ARNs of the
// groups it was removed from are kept.
//
// When the fleet listed the groups once (listTargetGroupsOnce, given in
// $.TargetGroups), the listing says which groups list the instance, without
// a call, and only the crowded groups are read. Otherwise the instance reads
// every group itself, across all pages: every group's targets are read and
// the read alone says whether the instance is one (a Map iteration of one
// task, 7 history events per group, the part that grows with the region).
// Either way, the groups that list it are then left one by one and
// verified.
func (b *builder) deregisterFromTargetGroups() branch {
	failed := b.stepFailed("Deregister From Target Groups")
	list := func(name string, params map[string]interface{}) sfn.TaskStateBase {
		params["PageSize"] = targetGroupPageSize
		return b.call(sdkCall{
			name:           name,
			service:        "elasticloadbalancingv2",
			action:         "describeTargetGroups",
			resources:      []string{"*"},
			params:         params,
			resultSelector: targetGroupPageSelector,
			resultPath:     "$.TargetGroupPage",
			onFailure:      failed,
		})
	}
	first := list("List Target Groups", map[string]interface{}{})
	next := list("List More Target Groups", map[string]interface{}{"Marker.$": "$.TargetGroupPage.NextMarkers[0]"})

	memberGroups := &map[string]interface{}{"Arns.$": "$[?(@.Membership.Member == true)].TargetGroupArn"}
	// checkEach reads the targets of each group whose ARN is at itemsPath,
	// ten at a time, and keeps the ARNs of those that list the instance.
	checkEach := func(name, itemsPath, read, gone string) sfn.Map {
		m := sfn.NewMap(b.scope, jsii.String(name), &sfn.MapProps{
			ItemsPath:      jsii.String(itemsPath),
			MaxConcurrency: jsii.Number(targetGroupConcurrency),
			ItemSelector: &map[string]interface{}{
				"InstanceId.$":     "$.InstanceId",
				"TargetGroupArn.$": "$$.Map.Item.Value",
			},
			ResultSelector: memberGroups,
			ResultPath:     jsii.String("$.MemberGroups"),
		})
		m.ItemProcessor(b.readTargetGroupMembers(read, gone), nil)
		m.AddCatch(failed, anyError())
		return m
	}
	each := checkEach("Check Each Target Group", "$.TargetGroupPage.Arns", "Read Target Group Members", "Target Group Gone")

	// The fleet's listing answers for each listed group in the Map's item
	// itself; the iteration only passes it on.
	listed := sfn.NewMap(b.scope, jsii.String("Check Each Listed Target Group"), &sfn.MapProps{
		ItemsPath: jsii.String("$.TargetGroups.Listed"),
		ItemSelector: &map[string]interface{}{
			"TargetGroupArn.$": "$$.Map.Item.Value.TargetGroupArn",
			"Membership": map[string]interface{}{
				"Member.$": "States.ArrayContains($$.Map.Item.Value.Members.Ids, $.InstanceId)",
			},
		},
		ResultSelector: memberGroups,
		ResultPath:     jsii.String("$.MemberGroups"),
	})
	listed.ItemProcessor(sfn.NewPass(b.scope, jsii.String("Listed Target Group Checked"), nil), nil)
	listed.AddCatch(failed, anyError())

	// The crowded groups are read once the listed ones are left; taking
	// them out of $.TargetGroups.Crowded ends the loop.
	takeCrowded := b.pass("Take The Crowded Target Groups", map[string]interface{}{
		"Checking.$": "$.TargetGroups.Crowded",
	}, "$.TargetGroups")
	crowded := checkEach("Check Each Crowded Target Group", "$.TargetGroups.Checking", "Read Crowded Target Group Members", "Crowded Target Group Gone")

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
	leave.AddCatch(failed, anyError())

	// JSONPath has no array concatenation: pages are nested with
	// States.Array and flattened at the end with a recursive descent.
	record := b.pass("Record Target Group Page", map[string]interface{}{
		"Pages.$": "States.Array($.TargetGroupScan.Pages, $.TargetGroupResults.Deregistered)",
	}, "$.TargetGroupScan")
	more := b.choice("Are There More Target Groups?").
		When(sfn.Condition_IsPresent(jsii.String("$.TargetGroupPage.NextMarkers[0]")), next, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.TargetGroups.Crowded[0]")), takeCrowded, nil).
		Otherwise(b.succeed("Target Groups Checked"))
	next.Next(each)
	listed.Next(leave)
	takeCrowded.Next(crowded).Next(leave)
	first.Next(each).Next(leave).Next(record).Next(more)
	field := []string{"DeregisteredFromTargetGroups"}
	return branch{
		key: "TargetGroups", name: "Deregister From Target Groups",
		chain: b.startScan("Start The Target Group Scan", "$.TargetGroupScan").Next(b.choice("Did The Fleet List The Target Groups?").
			When(sfn.Condition_IsPresent(jsii.String("$.TargetGroups.Listed")), listed, nil).
			Otherwise(first)),
		keep:    map[string]interface{}{"DeregisteredFromTargetGroups": "$.TargetGroupScan.Pages..TargetGroupArn"},
		summary: field, output: field,
	}
}

// readTargetHealth is a DescribeTargetHealth call on the target group at
// $.TargetGroupArn; c gives its name, result and failure handling.
func (b *builder) readTargetHealth(c sdkCall) tasks.CallAwsService {
	c.service, c.action = "elasticloadbalancingv2", "describeTargetHealth"
	c.resources = []string{"*"}
	c.params = map[string]interface{}{"TargetGroupArn.$": "$.TargetGroupArn"}
	return b.call(c)
}

// readTargetGroupMembers reads one target group's targets and says whether
// the instance is one. Input {"InstanceId", "TargetGroupArn"}; output the
// same with "Membership": {"Member"}. A group deleted since it was listed
// serves nobody (gone).
func (b *builder) readTargetGroupMembers(name, gone string) sfn.IChainable {
	return b.readTargetHealth(sdkCall{
		name:           name,
		resultSelector: map[string]interface{}{"Member.$": memberOfInput("$.TargetHealthDescriptions[*].Target.Id")},
		resultPath:     "$.Membership",
		catches: []catchTo{{errors: []string{targetGroupNotFound}, next: b.pass(gone, map[string]interface{}{
			"TargetGroupArn.$": "$.TargetGroupArn",
			"Membership":       map[string]interface{}{"Member": false},
		}, "")}},
		onFailure: b.stepFailed(name),
	})
}

// startScan is the first state of a load balancer step: the scan keeps the
// balancers it left, page by page, at path, from an empty list.
func (b *builder) startScan(name, path string) sfn.Pass {
	return sfn.NewPass(b.scope, jsii.String(name), &sfn.PassProps{
		Result:     sfn.Result_FromObject(&map[string]interface{}{"Pages": []interface{}{}}),
		ResultPath: jsii.String(path),
	})
}

// deregisterFromTargetGroup takes the instance out of one target group that
// lists it. Input: {"InstanceId", "TargetGroupArn"}; output:
// {"TargetGroupArn"} once a read shows it no longer an active target.
func (b *builder) deregisterFromTargetGroup() sfn.IChainable {
	failed := b.stepFailed("Deregister From Target Group")
	done := b.pass("Deregistered From Target Group", map[string]interface{}{
		"TargetGroupArn.$": "$.TargetGroupArn",
	}, "")
	confirm := b.readTargetHealth(sdkCall{
		name: "Confirm Target Deregistered",
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
