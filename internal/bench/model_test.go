package bench

import (
	"math"
	"testing"
)

// webServer is the scene the demo and the benchmark use, as SceneFacts.
func webServer(instances, accountTargetGroups, accountClassic int) SceneFacts {
	return SceneFacts{
		ENIs: 3, Volumes: 3, UnencryptedVolumes: 2, TargetGroups: 2, ClassicLoadBalancers: 1, ElasticIPs: 1,
		InstanceProfile: true, AutoScalingGroup: true, Instances: instances, VPCs: 1,
		AccountTargetGroups: accountTargetGroups, AccountClassicLoadBalancers: accountClassic,
	}
}

func TestMinimumForEssentialIrOnAWebServer(t *testing.T) {
	// GIVEN essential-ir's calls on one web server whose VPC groups exist,
	// with connection untracking, credential revocation, a classic load
	// balancer and the Elastic IP recorded
	m := &Measurement{
		Groups: "existing", SharedGroups: true, ValidatesInput: true, Scene: webServer(1, 4, 2),
		CallsByAction: map[string]int{
			"ec2:ModifyNetworkInterfaceAttribute": 6, "iam:CreatePolicy": 1,
			"elasticloadbalancing:DescribeLoadBalancers": 2, "ec2:DescribeAddresses": 1,
		},
	}
	// WHEN the minimum is counted
	min := MinimumFor(m)
	// THEN it is the sum the documentation gives: input 1, metadata 1, tag 2,
	// Auto Scaling 3, protections 6, DeleteOnTermination 2, groups 1,
	// isolation 8, profile 3, credentials 5 (role, policy, its check, attach,
	// its check), target groups 1+4+2+2, classic 3, Elastic IP 1,
	// snapshots 8.
	if min.Total != 53 {
		t.Errorf("minimum = %v, want 53; steps %+v", min.Total, min.Steps)
	}
	for action, want := range map[string]float64{
		"ec2:DescribeInstances": 3, "ec2:ModifyNetworkInterfaceAttribute": 6, "ec2:DescribeNetworkInterfaces": 2,
		"elasticloadbalancingv2:DescribeTargetHealth": 6, "ec2:DescribeSnapshots": 3, "ec2:DescribeSecurityGroups": 1,
	} {
		if got := min.PerAction[action]; got != want {
			t.Errorf("minimum %s = %v, want %v", action, got, want)
		}
	}

	// AND the seed's design, creating a group per instance and doing none of
	// essential-ir's additions, needs fewer.
	base := &Measurement{Groups: "created", Scene: webServer(1, 2, 1), CallsByAction: map[string]int{"ec2:ModifyNetworkInterfaceAttribute": 3}}
	if got := MinimumFor(base).Total; got != 39 {
		t.Errorf("baseline minimum = %v, want 39", got)
	}
}

func TestEstimateSeparatesScansFromTheRest(t *testing.T) {
	// GIVEN two fleets whose histories are 100 + 50 N events plus 5 events
	// per target group scanned, each instance bringing 2 (so 2N per
	// instance), and a largest payload of 1000 + 500 N bytes
	mk := func(n int) Measurement {
		items := 2 * n * n
		return Measurement{
			Design: "d", Instances: n, Groups: "created", Status: "SUCCEEDED",
			HistoryEvents: 100 + 50*n + 5*items, ScanEvents: 5 * items, ScanItems: items,
			Transitions: 30 + 10*n + items, ScanTransitions: items,
			LargestPayload: Payload{Bytes: 1000 + 500*n},
		}
	}
	est := Estimate([]Measurement{mk(3), mk(1)}, 1000)
	if len(est) != 1 {
		t.Fatalf("got %d estimates", len(est))
	}
	e := est[0]
	near := func(name string, got, want float64) {
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("fixed", e.Fixed, 100)
	near("per instance", e.PerInstance, 50)
	near("scan events per item", e.ScanEventsPerItem, 5)
	near("items per instance", e.ItemsPerInstance, 2)
	near("events, own", e.OwnItems, 100+50*1000+5*1000*2000)
	near("events, shared", e.SharedItems, 100+50*1000+5*1000*2)
	near("transitions, shared", e.TransitionsShared, 30+10*1000+1000*2)
	near("payload", e.Payload, 1000+500*1000)
	if e.MaxShared != 415 || e.MaxPayload != 522 {
		t.Errorf("max shared = %d (want 415), max payload = %d (want 522)", e.MaxShared, e.MaxPayload)
	}
}

func TestEstimateBoundsEachExecutionOfAFleet(t *testing.T) {
	// GIVEN a design that contains each instance in an execution of its
	// own: the started execution has 40 + 9 N events, each instance's
	// execution 700 events plus 5 per target group in the account (each
	// instance brings 2), and the payloads are a fleet result growing by 60
	// bytes per instance and a constant 30,000-byte instance record
	mk := func(n int) Measurement {
		items := 2 * n * n
		root := 40 + 9*n
		return Measurement{
			Design: "d", Instances: n, Groups: "created", Status: "SUCCEEDED", Executions: n + 1,
			HistoryEvents: root + 700*n + 5*items, RootHistoryEvents: root, LargestChildHistory: 700 + 5*2*n,
			ScanEvents: 5 * items, ScanItems: items,
			LargestPayload: Payload{Bytes: 30000, Where: "TaskSucceeded of Write Record"},
			Payloads:       map[string]int{"TaskSucceeded of Write Record": 30000, "StateExited of Contain Each Instance": 100 + 60*n},
		}
	}
	e := Estimate([]Measurement{mk(2), mk(6)}, 1000)[0]
	// THEN the started execution and one instance's are bounded apart
	if e.RootAt != 40+9*1000 || e.ChildEvents != 700 || e.ChildSharedAt != 700+5*2 || e.ChildOwnAt != 700+5*2*1000 {
		t.Errorf("root %v, child %v, shared %v, own %v", e.RootAt, e.ChildEvents, e.ChildSharedAt, e.ChildOwnAt)
	}
	// AND with shared load balancers the started execution's history is
	// the bound: (25,000 - 40) / 9
	if e.MaxShared != (HistoryLimit-40)/9 {
		t.Errorf("max shared = %d, want %d", e.MaxShared, (HistoryLimit-40)/9)
	}
	// AND with its own, each instance's scans are: 700 + 10 N <= 25,000
	if e.MaxOwn != (HistoryLimit-700)/10 {
		t.Errorf("max own = %d, want %d", e.MaxOwn, (HistoryLimit-700)/10)
	}
	// AND the payload that grows, not the largest today, bounds the fleet
	if e.PayloadWhere != "StateExited of Contain Each Instance" || e.Payload != 100+60*1000 || e.MaxPayload != (PayloadLimit-100)/60 {
		t.Errorf("payload %v at %q, max %d", e.Payload, e.PayloadWhere, e.MaxPayload)
	}
}

func TestEstimateReadsPastAPageOnceTheListingIsOutgrown(t *testing.T) {
	// GIVEN a design that lists the load balancers once in the started
	// execution (40 + 9 N events, plus 7 per target group listed, each
	// instance bringing 2 groups of its own), and each instance's execution
	// (700 events) finds its own in the listing at 4 events per group in
	// the region; a page is 100 groups; and one instance in a region past a
	// page, which read 103 groups itself at 7 events each
	mk := func(n int) Measurement {
		groups := 2 * n
		root := 40 + 9*n + 7*groups
		return Measurement{
			Design: "d", Instances: n, Groups: "created", Status: "SUCCEEDED", Executions: n + 1, ListingPage: 100,
			HistoryEvents: root + 700*n + 4*groups*n, RootHistoryEvents: root,
			ScanEvents: 7*groups + 4*groups*n, ScanItems: groups + groups*n,
			RootScanEvents: 7 * groups, RootScanItems: groups,
			Scene: SceneFacts{TargetGroups: 2, AccountTargetGroups: groups},
			Payloads: map[string]int{
				"TaskSucceeded of List Target Groups Once": 700 * groups,
				"StateExited of Contain Each Instance":     100 + 60*n,
			},
		}
	}
	past := Measurement{
		Design: "d", Instances: 1, Groups: GroupsPastAPage, Status: "SUCCEEDED", Executions: 2, ListingPage: 100,
		ScanEvents: 7 * 103, ScanItems: 103,
	}
	e := Estimate([]Measurement{mk(2), mk(6), past}, 1000)[0]
	// THEN up to 50 instances (100 groups) the listing holds, past them
	// each instance reads the region's groups at the measured 7 events
	if e.ListedUpTo != 50 || e.RootScanPerItem != 7 || e.ChildScanPerItem != 4 || e.PastPageScanPerItem != 7 {
		t.Errorf("listed up to %d, root %v, child %v, past a page %v per item", e.ListedUpTo, e.RootScanPerItem, e.ChildScanPerItem, e.PastPageScanPerItem)
	}
	// AND at 1,000 instances with their own, the started execution lists
	// nothing and each instance reads 2,000 groups itself; shared, the
	// listing of 2 groups holds
	if e.RootAt != 40+9*1000 || e.ChildOwnAt != 700+7*2*1000 || e.ChildSharedAt != 700+4*2 {
		t.Errorf("root %v, own %v, shared %v", e.RootAt, e.ChildOwnAt, e.ChildSharedAt)
	}
	if e.MaxOwn != (HistoryLimit-700)/14 {
		t.Errorf("max own = %d, want %d", e.MaxOwn, (HistoryLimit-700)/14)
	}
	// AND the page read stops growing at a full page: 700 bytes a group
	// times 100
	if e.PayloadWhere != "TaskSucceeded of List Target Groups Once (a full page)" || e.Payload != 70000 || e.MaxPayload != (PayloadLimit-100)/60 {
		t.Errorf("payload %v at %q, max %d", e.Payload, e.PayloadWhere, e.MaxPayload)
	}
}

func TestEstimateStopsAnInstancesPayloadAtThePage(t *testing.T) {
	// GIVEN the design above, whose instances' state carries the fleet's
	// listing (300 bytes per group in the region, 2 groups per instance),
	// and whose instance in a region past a page holds 40,000 bytes there
	const where = "ChoiceStateEntered of Are There More Target Groups?" + ChildSuffix
	mk := func(n int) Measurement {
		groups := 2 * n
		return Measurement{
			Design: "d", Instances: n, Groups: "created", Status: "SUCCEEDED", Executions: n + 1, ListingPage: 100,
			HistoryEvents: 100 + 800*n, RootHistoryEvents: 100 + 10*n + 7*groups,
			ScanEvents: 7*groups + 4*groups*n, ScanItems: groups + groups*n,
			RootScanEvents: 7 * groups, RootScanItems: groups,
			Scene:    SceneFacts{TargetGroups: 2, AccountTargetGroups: groups},
			Payloads: map[string]int{where: 1000 + 300*groups},
		}
	}
	past := Measurement{Design: "d", Instances: 1, Groups: GroupsPastAPage, Status: "SUCCEEDED", Executions: 2, ListingPage: 100,
		Payloads: map[string]int{where: 40000}}
	e := Estimate([]Measurement{mk(2), mk(6), past}, 1000)[0]
	// THEN at 1,000 instances it is the measured page, not a line through
	// 2,000 groups (601,000 bytes), and no fleet size passes the limit (the
	// most, 31,000 bytes at 50 instances)
	if e.Payload != 40000 || e.PayloadWhere != where+" (past a page, measured)" || e.MaxPayload != 1000000 {
		t.Errorf("payload %v at %q, max %d", e.Payload, e.PayloadWhere, e.MaxPayload)
	}
	// AND a page too large past it bounds the fleet at the listing's end
	past.Payloads[where] = PayloadLimit + 1
	if e := Estimate([]Measurement{mk(2), mk(6), past}, 1000)[0]; e.MaxPayload != 50 {
		t.Errorf("max payload %d, want 50", e.MaxPayload)
	}
}
