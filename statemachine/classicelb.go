package statemachine

import (
	"fmt"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// classicPageSize is the page of DescribeLoadBalancers (classic).
const classicPageSize = ListingPageSize

// classicNotFound is the error of a classic ELB call on a load balancer that
// no longer exists.
const classicNotFound = "ElasticLoadBalancing.AccessPointNotFoundException"

// listedClassicMembers bounds the registrations (instances, summed over
// every balancer) that the fleet's one listing of the classic load
// balancers carries: about 30 bytes each in the started execution's state
// and in each instance's input. With more, each instance reads the
// balancers itself.
const listedClassicMembers = 200

// classicPageSelector keeps, of a page of DescribeLoadBalancers, each
// balancer's name and its instances, and the marker of the next page.
var classicPageSelector = map[string]interface{}{
	"Names.$":       "$.LoadBalancerDescriptions[*].LoadBalancerName",
	"Members.$":     "$.LoadBalancerDescriptions[*].Instances",
	"NextMarkers.$": "$..NextMarker",
}

// listClassicLoadBalancersOnce reads, once for the whole fleet and beside
// the input check, the region's classic load balancers and the instances
// each lists (DescribeLoadBalancers gives both), so an instance's
// containment needs no call to find its balancers. Output: {"Names",
// "Members", "Ids"} (Members[i] are the instances of balancer Names[i]; Ids
// all the instances registered anywhere), or
// {"NotListed": why}: more balancers than one page of 100, more than
// listedClassicMembers registrations, or a read that failed after its
// retries; each instance then reads them itself, page by page, as it would
// with no listing. It never fails.
func (b *builder) listClassicLoadBalancersOnce() sfn.IChainable {
	notListed := b.pass("Classic Load Balancers Not Listed Once", map[string]interface{}{
		"NotListed.$": "States.Format('listing the classic load balancers once for the fleet failed, so each instance reads them itself: {}', $.Failure.Cause)",
	}, "")
	selector := map[string]interface{}{
		"Registrations.$": "States.ArrayLength($.LoadBalancerDescriptions[*].Instances[*])",
		// Every registered instance, so each instance learns whether any
		// balancer lists it with one intrinsic.
		"Ids.$": "$.LoadBalancerDescriptions[*].Instances[*].InstanceId",
	}
	for k, v := range classicPageSelector {
		selector[k] = v
	}
	list := b.call(sdkCall{
		name:           "List Classic Load Balancers Once",
		service:        "elasticloadbalancing",
		action:         "describeLoadBalancers",
		resources:      []string{"*"},
		params:         map[string]interface{}{"PageSize": classicPageSize},
		resultSelector: selector,
		resultPath:     "$",
		retries:        listingRetries,
		onFailure:      notListed,
	})
	return list.Next(b.choice("Do The Classic Load Balancers Fit One Page?").
		When(sfn.Condition_IsPresent(jsii.String("$.NextMarkers[0]")), b.pass("Too Many Classic Load Balancers To List Once", map[string]interface{}{
			"NotListed": fmt.Sprintf("more than %d classic load balancers, so each instance reads them itself, page by page", classicPageSize),
		}, ""), nil).
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.Registrations"), jsii.Number(listedClassicMembers)), b.pass("Too Many Classic Registrations To List Once", map[string]interface{}{
			"NotListed": fmt.Sprintf("more than %d instances registered with classic load balancers, so each instance reads them itself", listedClassicMembers),
		}, ""), nil).
		Otherwise(b.pass("Classic Load Balancers Listed Once", map[string]interface{}{
			"Names.$":   "$.Names",
			"Members.$": "$.Members",
			"Ids.$":     "$.Ids",
		}, "")))
}

// deregisterFromClassicLoadBalancers takes the instance out of every classic
// load balancer that lists it, across all pages of load balancers, then
// reads each one back. DescribeLoadBalancers lists each balancer's
// instances, so a page none of whose balancers lists the instance costs one
// call and no state per balancer. When the fleet listed the balancers once
// (listClassicLoadBalancersOnce, given in $.ClassicLoadBalancers), that
// listing is the one page, read without a call. The names of the balancers
// it was removed from are kept.
func (b *builder) deregisterFromClassicLoadBalancers() branch {
	failed := b.stepFailed("Deregister From Classic Load Balancers")
	selector := map[string]interface{}{
		// Whether any balancer of the page lists the instance: a page that
		// lists it nowhere is passed over without a state per balancer.
		"Listed.$": memberOfInput("$.LoadBalancerDescriptions[*].Instances[*].InstanceId"),
	}
	for k, v := range classicPageSelector {
		selector[k] = v
	}
	list := func(name string, params map[string]interface{}) sfn.TaskStateBase {
		params["PageSize"] = classicPageSize
		return b.call(sdkCall{
			name:           name,
			service:        "elasticloadbalancing",
			action:         "describeLoadBalancers",
			resources:      []string{"*"},
			params:         params,
			resultSelector: selector,
			resultPath:     "$.ClassicPage",
			onFailure:      failed,
		})
	}
	first := list("List Classic Load Balancers", map[string]interface{}{})
	next := list("List More Classic Load Balancers", map[string]interface{}{"Marker.$": "$.ClassicPage.NextMarkers[0]"})
	// On a page that lists the instance, each balancer costs one Pass (its
	// membership, from the page's own list of its instances); the balancers
	// that list it are then left one by one and verified.
	each := sfn.NewMap(b.scope, jsii.String("Check Each Classic Load Balancer"), &sfn.MapProps{
		ItemsPath: jsii.String("$.ClassicPage.Names"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":       "$.InstanceId",
			"LoadBalancerName.$": "$$.Map.Item.Value",
			"Members.$":          "States.ArrayGetItem($.ClassicPage.Members, $$.Map.Item.Index)",
		},
		ResultSelector: &map[string]interface{}{"Names.$": "$[?(@.Member == true)].LoadBalancerName"},
		ResultPath:     jsii.String("$.ClassicMembers"),
	})
	each.ItemProcessor(b.pass("Check Classic Membership", map[string]interface{}{
		"LoadBalancerName.$": "$.LoadBalancerName",
		"Member.$":           "States.ArrayContains($.Members[*].InstanceId, $.InstanceId)",
	}, ""), nil)
	each.AddCatch(failed, anyError())
	leave := sfn.NewMap(b.scope, jsii.String("Leave Each Classic Load Balancer"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.ClassicMembers.Names"),
		MaxConcurrency: jsii.Number(targetGroupConcurrency),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":       "$.InstanceId",
			"LoadBalancerName.$": "$$.Map.Item.Value",
		},
		ResultSelector: &map[string]interface{}{"Deregistered.$": "$[*]"},
		ResultPath:     jsii.String("$.ClassicResults"),
	})
	leave.ItemProcessor(b.deregisterFromClassicLoadBalancer(), nil)
	leave.AddCatch(failed, anyError())
	record := b.pass("Record Classic Load Balancer Page", map[string]interface{}{
		"Pages.$": "States.Array($.ClassicScan.Pages, $.ClassicResults.Deregistered)",
	}, "$.ClassicScan")
	more := b.choice("Are There More Classic Load Balancers?").
		When(sfn.Condition_IsPresent(jsii.String("$.ClassicPage.NextMarkers[0]")), next, nil).
		Otherwise(b.succeed("Classic Load Balancers Checked"))
	listed := b.choice("Is It Behind A Balancer Of This Page?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.ClassicPage.Listed"), jsii.Bool(true)), each, nil).
		Otherwise(more)
	each.Next(leave).Next(record).Next(more)
	next.Next(listed)
	first.Next(listed)
	fleetPage := b.pass("Take The Fleet's Classic Listing", map[string]interface{}{
		"Names.$":   "$.ClassicLoadBalancers.Names",
		"Members.$": "$.ClassicLoadBalancers.Members",
		"Listed.$":  "States.ArrayContains($.ClassicLoadBalancers.Ids, $.InstanceId)",
	}, "$.ClassicPage")
	fleetPage.Next(listed)
	field := []string{"DeregisteredFromClassicLoadBalancers"}
	return branch{
		key: "ClassicLoadBalancers", name: "Deregister From Classic Load Balancers",
		chain: b.startScan("Start The Classic Load Balancer Scan", "$.ClassicScan").Next(b.choice("Did The Fleet List The Classic Load Balancers?").
			When(sfn.Condition_IsPresent(jsii.String("$.ClassicLoadBalancers.Names")), fleetPage, nil).
			Otherwise(first)),
		keep:    map[string]interface{}{"DeregisteredFromClassicLoadBalancers": "$.ClassicScan.Pages..LoadBalancerName"},
		summary: field, output: field,
	}
}

// deregisterFromClassicLoadBalancer takes the instance out of one classic
// load balancer that lists it. Input {"InstanceId", "LoadBalancerName"};
// output {"LoadBalancerName", "Deregistered": true} once a read shows it gone.
func (b *builder) deregisterFromClassicLoadBalancer() sfn.IChainable {
	failed := b.stepFailed("Deregister From Classic Load Balancer")
	done := b.pass("Deregistered From Classic Load Balancer", map[string]interface{}{
		"LoadBalancerName.$": "$.LoadBalancerName",
		"Deregistered":       true,
	}, "")
	confirm := b.call(sdkCall{
		name:           "Confirm Classic Deregistration",
		service:        "elasticloadbalancing",
		action:         "describeLoadBalancers",
		resources:      []string{"*"},
		params:         map[string]interface{}{"LoadBalancerNames.$": "States.Array($.LoadBalancerName)"},
		resultSelector: map[string]interface{}{"Members.$": "$.LoadBalancerDescriptions[0].Instances"},
		resultPath:     "$.ClassicCheck",
		// Deleted since it was listed: it no longer serves the instance.
		catches:   []catchTo{{errors: []string{classicNotFound}, next: done}},
		onFailure: failed,
	})
	deregister := b.call(sdkCall{
		name:      "Deregister From Classic Load Balancer",
		service:   "elasticloadbalancing",
		action:    "deregisterInstancesFromLoadBalancer",
		resources: []string{arn("elasticloadbalancing", "loadbalancer/*")},
		params: map[string]interface{}{
			"LoadBalancerName.$": "$.LoadBalancerName",
			"Instances":          []interface{}{map[string]interface{}{"InstanceId.$": "$.InstanceId"}},
		},
		// Deleted since it was listed: the read finds it gone.
		catches:   []catchTo{{errors: []string{classicNotFound}, next: confirm}},
		onFailure: failed,
	})
	still := b.pass("Check Classic Membership After", map[string]interface{}{
		"Member.$": "States.ArrayContains($.ClassicCheck.Members[*].InstanceId, $.InstanceId)",
	}, "$.Membership")
	verified := b.choice("Has It Left The Classic Load Balancer?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Membership.Member"), jsii.Bool(false)), done, nil).
		Otherwise(b.notVerified("Classic Deregistration Not Verified", "Containment.ClassicLoadBalancerNotLeft",
			"the instance is still registered with classic load balancer {}", "$.LoadBalancerName"))
	return deregister.Next(confirm).Next(still).Next(verified)
}
