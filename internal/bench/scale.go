package bench

import "sort"

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
	// MaxOwn and MaxShared are the largest fleets whose history stays
	// within HistoryLimit in each case.
	MaxOwn    int `json:"maxInstancesOwnLoadBalancers"`
	MaxShared int `json:"maxInstancesSharedLoadBalancers"`
	// TransitionsOwn and TransitionsShared are the state transitions at
	// Instances in each case (same model).
	TransitionsOwn    float64 `json:"transitionsOwnLoadBalancers"`
	TransitionsShared float64 `json:"transitionsSharedLoadBalancers"`
	// Payload is the largest payload at Instances, PayloadPerInstance its
	// growth, and MaxPayload the largest fleet within PayloadLimit: a line
	// through the payload that is largest at the largest fleet (PayloadWhere)
	// and the same payload at the next largest fleet.
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
	var order []string
	for _, m := range ms {
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

		// The payload that is largest at the largest fleet, followed to the
		// next largest fleet: the one that grows.
		plo := lo
		if len(runs) >= 2 {
			plo = runs[len(runs)-2]
		}
		where := hi.LargestPayload.Where
		yhi, ylo := float64(hi.LargestPayload.Bytes), float64(plo.LargestPayload.Bytes)
		if v, ok := plo.Payloads[where]; ok {
			ylo = float64(v)
		}
		est.PayloadWhere = where
		p0, p1 := fit(plo.Instances, ylo, hi.Instances, yhi)
		if plo.Instances == hi.Instances {
			p0, p1 = yhi, 0
		}
		est.Payload, est.PayloadPerInstance = p0+p1*n, p1
		est.MaxPayload = largest(func(k float64) float64 { return p0 + p1*k }, PayloadLimit)
		out = append(out, est)
	}
	return out
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
