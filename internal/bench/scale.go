package bench

import (
	"math"
	"sort"
	"strings"
)

// Step Functions quotas that bound one execution (Standard workflows).
const (
	// HistoryLimit is the most events one execution's history holds.
	HistoryLimit = 25000
	// PayloadLimit is the largest state input, output or task result, in
	// bytes (256 KiB).
	PayloadLimit = 256 * 1024
)

// ScaleEstimate extrapolates one design's measurements to a fleet of
// Instances instances in one execution.
//
// The history is split into two parts. Account-wide scans (one Map
// iteration per target group or classic load balancer in the account, for
// every instance) cost ScanEventsPerItem events per item; everything else is
// fitted as Fixed + PerInstance × N through the smallest and the largest
// fleet measured. An instance scans every such item in the account, so the
// scans cost N × items × ScanEventsPerItem: with one target group per
// instance (as in the benchmark's scene, where every instance brings its
// own) that grows with N²; for a tier behind a few shared load balancers it
// grows with N. The largest payload is fitted the same way, linearly.
type ScaleEstimate struct {
	Design    string `json:"design"`
	Instances int    `json:"instances"`
	// Fixed and PerInstance are the history events outside scans.
	Fixed       float64 `json:"fixedEvents"`
	PerInstance float64 `json:"eventsPerInstance"`
	// ScanEventsPerItem are the events per account-wide item scanned.
	ScanEventsPerItem float64 `json:"scanEventsPerItem"`
	// ItemsPerInstance is how many account-wide items each instance brings
	// in the scene (target groups plus classic load balancers it scans).
	ItemsPerInstance float64 `json:"itemsPerInstance"`
	// OwnItems are the events at Instances when every instance brings its
	// own target groups and load balancers (the scene); SharedItems when
	// the whole fleet sits behind ItemsPerInstance shared ones.
	OwnItems    float64 `json:"eventsOwnLoadBalancers"`
	SharedItems float64 `json:"eventsSharedLoadBalancers"`
	// For a design that contains each instance in an execution of its own,
	// the quota applies to each execution: RootFixed + RootPerInstance × N
	// events in the started execution, and ChildEvents (outside scans) plus
	// its scans in each instance's execution. RootAt, ChildOwnAt and
	// ChildSharedAt are those at Instances. All zero for a single-execution
	// design.
	RootFixed       float64 `json:"rootFixedEvents,omitempty"`
	RootPerInstance float64 `json:"rootEventsPerInstance,omitempty"`
	ChildEvents     float64 `json:"childEvents,omitempty"`
	// A design that lists the load balancers once for the fleet (in the
	// started execution: RootScanPerItem events per item, RootItemsPerInstance
	// items each instance brings) lets each instance find its own in the
	// listing (ChildScanPerItem events per item). Past ListedUpTo instances
	// with load balancers of their own, the region holds more than the page
	// the listing reads, and each instance reads them all itself:
	// PastPageScanPerItem events per item, measured on one instance in a
	// region past a page (GroupsPastAPage; 0 if not measured, and then
	// ChildScanPerItem is used).
	RootScanPerItem      float64 `json:"rootScanEventsPerItem,omitempty"`
	RootItemsPerInstance float64 `json:"rootItemsPerInstance,omitempty"`
	ChildScanPerItem     float64 `json:"childScanEventsPerItem,omitempty"`
	PastPageScanPerItem  float64 `json:"pastPageScanEventsPerItem,omitempty"`
	ListedUpTo           int     `json:"listedUpTo,omitempty"`
	RootAt               float64 `json:"rootEventsAt,omitempty"`
	ChildOwnAt           float64 `json:"childEventsOwnLoadBalancersAt,omitempty"`
	ChildSharedAt        float64 `json:"childEventsSharedLoadBalancersAt,omitempty"`
	// MaxOwn and MaxShared are the largest fleets whose histories stay
	// within HistoryLimit in each case (every execution's, when there are
	// several).
	MaxOwn    int `json:"maxInstancesOwnLoadBalancers"`
	MaxShared int `json:"maxInstancesSharedLoadBalancers"`
	// TransitionsOwn and TransitionsShared are the state transitions at
	// Instances in each case (same model).
	TransitionsOwn    float64 `json:"transitionsOwnLoadBalancers"`
	TransitionsShared float64 `json:"transitionsSharedLoadBalancers"`
	// Payload is the largest payload at Instances, PayloadPerInstance its
	// growth, and MaxPayload the largest fleet within PayloadLimit: a line
	// through the payload that is largest at the largest fleet (PayloadWhere)
	// and the same payload at the next largest fleet. A state of the load
	// balancer steps (named for target groups or classic load balancers)
	// holds at most a page of them: its line stops at a full page, its bytes
	// per load balancer in the region times the page. A payload that carries the fleet's listing of the load
	// balancers (it grows at least 0.9 times as fast as an instance's input,
	// which holds only the listing) follows its line up to ListedUpTo, and
	// past it only its growth beyond the listing's; an instance's payloads
	// past it are those measured in a region past a page.
	Payload            float64 `json:"payloadBytes"`
	PayloadPerInstance float64 `json:"payloadBytesPerInstance"`
	MaxPayload         int     `json:"maxInstancesPayload"`
	PayloadWhere       string  `json:"payloadWhere"`
	// From lists the fleet sizes the estimate is fitted on.
	From []int `json:"fittedOn"`
}

// Estimate extrapolates each design's measurements (groups created) to
// instances instances. It needs two fleet sizes per design; with one, the
// fixed part is taken as zero.
func Estimate(ms []Measurement, instances int) []ScaleEstimate {
	byDesign := map[string][]Measurement{}
	pastPage := map[string]Measurement{}
	var order []string
	for _, m := range ms {
		if m.Groups == GroupsPastAPage && m.Status == "SUCCEEDED" {
			pastPage[m.Design] = m
		}
		if m.Groups != "created" || m.Status != "SUCCEEDED" {
			continue
		}
		if _, ok := byDesign[m.Design]; !ok {
			order = append(order, m.Design)
		}
		byDesign[m.Design] = append(byDesign[m.Design], m)
	}
	var out []ScaleEstimate
	for _, d := range order {
		runs := byDesign[d]
		sort.Slice(runs, func(i, j int) bool { return runs[i].Instances < runs[j].Instances })
		lo, hi := runs[0], runs[len(runs)-1]
		est := ScaleEstimate{Design: d, Instances: instances}
		for _, r := range runs {
			est.From = append(est.From, r.Instances)
		}
		base := func(m Measurement) float64 { return float64(m.HistoryEvents - m.ScanEvents) }
		baseT := func(m Measurement) float64 { return float64(m.Transitions - m.ScanTransitions) }
		fixedT, perT := fit(lo.Instances, baseT(lo), hi.Instances, baseT(hi))
		est.Fixed, est.PerInstance = fit(lo.Instances, base(lo), hi.Instances, base(hi))
		var scanT float64
		if hi.ScanItems > 0 {
			est.ScanEventsPerItem = float64(hi.ScanEvents) / float64(hi.ScanItems)
			scanT = float64(hi.ScanTransitions) / float64(hi.ScanItems)
			// Each instance scans every item in the account: N per instance.
			est.ItemsPerInstance = float64(hi.ScanItems) / float64(hi.Instances) / float64(hi.Instances)
		}
		events := func(n, items float64) float64 {
			return est.Fixed + est.PerInstance*n + est.ScanEventsPerItem*n*items
		}
		n := float64(instances)
		est.OwnItems = events(n, est.ItemsPerInstance*n)
		est.SharedItems = events(n, est.ItemsPerInstance)
		est.TransitionsOwn = fixedT + perT*n + scanT*n*est.ItemsPerInstance*n
		est.TransitionsShared = fixedT + perT*n + scanT*n*est.ItemsPerInstance
		est.MaxOwn = largest(func(k float64) float64 { return events(k, est.ItemsPerInstance*k) }, HistoryLimit)
		est.MaxShared = largest(func(k float64) float64 { return events(k, est.ItemsPerInstance) }, HistoryLimit)
		if hi.Executions > 1 {
			est.estimateExecutions(lo, hi, pastPage[d], n)
		}

		// Every payload measured at the two largest fleets, followed from
		// one to the other: the estimate is the largest of their lines at
		// Instances, and the fleet within the quota the smallest bound.
		plo := lo
		if len(runs) >= 2 {
			plo = runs[len(runs)-2]
		}
		est.MaxPayload = largest(func(float64) float64 { return 0 }, PayloadLimit)
		est.Payload = -1
		// An instance's input grows only with the fleet's listing of the
		// load balancers: its growth is the listing's.
		const childInput = "ExecutionStarted" + ChildSuffix
		listingSlope := 0.0
		if hi.Instances != plo.Instances {
			listingSlope = float64(hi.Payloads[childInput]-plo.Payloads[childInput]) / float64(hi.Instances-plo.Instances)
		}
		listing := est.ListedUpTo > 0 && est.ListedUpTo < 1000000 && pastPage[d].Status != ""
		wheres := make([]string, 0, len(hi.Payloads))
		for where := range hi.Payloads {
			wheres = append(wheres, where)
		}
		sort.Strings(wheres)
		if len(wheres) == 0 {
			wheres = []string{hi.LargestPayload.Where}
		}
		for _, where := range wheres {
			yhi := float64(hi.Payloads[where])
			if len(hi.Payloads) == 0 {
				yhi = float64(hi.LargestPayload.Bytes)
			}
			ylo := yhi
			if where == hi.LargestPayload.Where {
				ylo = float64(plo.LargestPayload.Bytes)
			}
			if v, ok := plo.Payloads[where]; ok {
				ylo = float64(v)
			}
			p0, p1 := fit(plo.Instances, ylo, hi.Instances, yhi)
			if plo.Instances == hi.Instances {
				p0, p1 = yhi, 0
			}
			full := fullPage(where, yhi, hi)
			at := func(k float64) float64 { return min(p0+p1*k, full) }
			// In an instance's own execution a payload grows only with the
			// region's load balancers in the listing it was given; past
			// ListedUpTo instances with their own, there is no listing and
			// the instance reads full pages itself, as measured in a region
			// past a page (the same payload there, or none).
			child := listing && strings.HasSuffix(where, ChildSuffix)
			if listing && !child && listingSlope > 0 && math.IsInf(full, 1) && p1 >= 0.9*listingSlope {
				// The started execution's state carries the listing until
				// the instances are contained: past ListedUpTo there is
				// none, and only the rest of its growth goes on.
				upTo, rest := float64(est.ListedUpTo), max(0, p1-listingSlope)
				carrying := at
				at = func(k float64) float64 {
					if k <= upTo {
						return carrying(k)
					}
					return carrying(upTo) + rest*(k-upTo)
				}
			}
			if child {
				upTo, past := float64(est.ListedUpTo), float64(pastPage[d].Payloads[where])
				listed := at
				at = func(k float64) float64 {
					if k <= upTo {
						return listed(k)
					}
					return past
				}
			}
			if v := at(n); v > est.Payload {
				est.Payload, est.PayloadPerInstance, est.PayloadWhere = v, p1, where
				switch {
				case child && n > float64(est.ListedUpTo):
					est.PayloadPerInstance, est.PayloadWhere = 0, where+" (past a page, measured)"
				case v == full:
					est.PayloadPerInstance, est.PayloadWhere = 0, where+" (a full page)"
				}
			}
			if child {
				// Not increasing in k: it grows up to ListedUpTo, then
				// stays at the measured value past a page.
				upTo := float64(est.ListedUpTo)
				switch {
				case at(upTo) > PayloadLimit:
					est.MaxPayload = min(est.MaxPayload, largest(func(k float64) float64 {
						if k > upTo {
							return math.Inf(1)
						}
						return at(k)
					}, PayloadLimit))
				case at(upTo+1) > PayloadLimit:
					est.MaxPayload = min(est.MaxPayload, est.ListedUpTo)
				}
				continue
			}
			est.MaxPayload = min(est.MaxPayload, largest(at, PayloadLimit))
		}
		out = append(out, est)
	}
	return out
}

// estimateExecutions is the part of Estimate for a design that contains
// each instance in an execution of its own (see ScaleEstimate).
func (est *ScaleEstimate) estimateExecutions(lo, hi, pastPage Measurement, n float64) {
	rootBase := func(m Measurement) float64 { return float64(m.RootHistoryEvents - m.RootScanEvents) }
	est.RootFixed, est.RootPerInstance = fit(lo.Instances, rootBase(lo), hi.Instances, rootBase(hi))
	if hi.RootScanItems > 0 {
		est.RootScanPerItem = float64(hi.RootScanEvents) / float64(hi.RootScanItems)
		est.RootItemsPerInstance = float64(hi.RootScanItems) / float64(hi.Instances)
	}
	childScan, childItems := hi.ScanEvents-hi.RootScanEvents, hi.ScanItems-hi.RootScanItems
	est.ChildEvents = float64(hi.HistoryEvents-hi.RootHistoryEvents-childScan) / float64(max(hi.Instances, 1))
	childItemsPerInstance := 0.0
	if childItems > 0 {
		est.ChildScanPerItem = float64(childScan) / float64(childItems)
		childItemsPerInstance = float64(childItems) / float64(hi.Instances) / float64(hi.Instances)
	}
	if items := pastPage.ScanItems - pastPage.RootScanItems; items > 0 {
		est.PastPageScanPerItem = float64(pastPage.ScanEvents-pastPage.RootScanEvents) / float64(items)
	}
	// With load balancers of their own, k instances fill the region with
	// k times theirs; the listing holds one page of each kind. A design
	// whose started execution lists nothing has no such bound.
	f := hi.Scene
	est.ListedUpTo = 1000000
	if page := hi.ListingPage; page > 0 && est.RootScanPerItem > 0 {
		if f.TargetGroups > 0 {
			est.ListedUpTo = min(est.ListedUpTo, page/f.TargetGroups)
		}
		if f.ClassicLoadBalancers > 0 {
			est.ListedUpTo = min(est.ListedUpTo, page/f.ClassicLoadBalancers)
		}
	}
	listed := func(k float64, own bool) bool { return !own || k <= float64(est.ListedUpTo) }
	rootAt := func(k float64, own bool) float64 {
		events := est.RootFixed + est.RootPerInstance*k
		if !listed(k, own) {
			return events
		}
		items := est.RootItemsPerInstance
		if own {
			items *= k
		}
		return events + est.RootScanPerItem*items
	}
	childAt := func(k float64, own bool) float64 {
		items, rate := childItemsPerInstance, est.ChildScanPerItem
		if own {
			items *= k
		}
		if !listed(k, own) && est.PastPageScanPerItem > 0 {
			rate = est.PastPageScanPerItem
		}
		return est.ChildEvents + rate*items
	}
	est.RootAt, est.ChildOwnAt, est.ChildSharedAt = rootAt(n, true), childAt(n, true), childAt(n, false)
	est.OwnItems = rootAt(n, true) + n*childAt(n, true)
	est.SharedItems = rootAt(n, false) + n*childAt(n, false)
	est.MaxOwn = largest(func(k float64) float64 { return max(rootAt(k, true), childAt(k, true)) }, HistoryLimit)
	est.MaxShared = largest(func(k float64) float64 { return max(rootAt(k, false), childAt(k, false)) }, HistoryLimit)
}

// fullPage is the payload of a state of the load balancer steps with a
// full page of load balancers, for a payload measured at where (a state
// whose name speaks of target groups or classic load balancers: it holds
// at most a page of them, read or listed) as bytes in m, with the region
// holding m's load balancers; +Inf for any other payload, or when the
// design's page is not known.
func fullPage(where string, bytes float64, m Measurement) float64 {
	items := 0
	switch {
	case m.ListingPage == 0:
		return math.Inf(1)
	case strings.Contains(where, "Target Group"):
		items = m.Scene.AccountTargetGroups
	case strings.Contains(where, "Classic Load Balancer"):
		items = m.Scene.AccountClassicLoadBalancers
	}
	if items == 0 {
		return math.Inf(1)
	}
	return bytes / float64(items) * float64(m.ListingPage)
}

// fit returns the line through (x0, y0) and (x1, y1) as intercept and
// slope; with x0 == x1, the line through the origin.
func fit(x0 int, y0 float64, x1 int, y1 float64) (float64, float64) {
	if x0 == x1 {
		return 0, y1 / float64(max(x1, 1))
	}
	slope := (y1 - y0) / float64(x1-x0)
	return y0 - slope*float64(x0), slope
}

// largest is the largest n ≥ 0 with f(n) ≤ limit (f increasing), at most
// 1,000,000 (reported as is: no limit in sight).
func largest(f func(float64) float64, limit float64) int {
	const ceiling = 1000000
	if f(ceiling) <= limit {
		return ceiling
	}
	lo, hi := 0, ceiling
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if f(float64(mid)) <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
