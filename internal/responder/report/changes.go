package report

import (
	"fmt"
	"strings"
)

// changes lists, in the workflow's order, what the containment execution
// says it changed (its output, c).
func changes(c *containment) []string {
	var out []string
	add := func(format string, args ...interface{}) { out = append(out, fmt.Sprintf(format, args...)) }
	if len(c.Tags) > 0 {
		var tags []string
		for _, t := range c.Tags {
			tags = append(tags, t.Key+"="+t.Value)
		}
		add("Tagged %s.", strings.Join(tags, ", "))
	}
	for _, g := range c.DetachedFromAutoScalingGroups {
		add("Detached from Auto Scaling group %s, its desired capacity kept (the group launches a replacement).", g)
	}
	onOff := func(v *bool) string {
		if v == nil {
			return "?"
		}
		if *v {
			return "on"
		}
		return "off"
	}
	str := func(v *string) string {
		if v == nil {
			return "?"
		}
		return *v
	}
	add("Termination protection %s → %s; stop protection %s → %s; shutdown behaviour %s → %s.",
		onOff(c.TerminationProtection.Before), onOff(c.TerminationProtection.After),
		onOff(c.StopProtection.Before), onOff(c.StopProtection.After),
		str(c.ShutdownBehaviour.Before), str(c.ShutdownBehaviour.After))
	add("DeleteOnTermination turned off on every EBS volume.")
	if len(c.NetworkInterfaces) > 0 {
		var enis []string
		for _, n := range c.NetworkInterfaces {
			enis = append(enis, fmt.Sprintf("%s (was %s)", n.NetworkInterfaceId, strings.Join(n.PreviousGroups, ", ")))
		}
		add("%s moved to isolation group %s (no rules), through the all-traffic group so established connections are cut: %s.",
			plural(len(c.NetworkInterfaces), "ENI"), c.IsolationGroupId, strings.Join(enis, "; "))
	}
	for _, role := range c.InstanceProfileRoles {
		if len(c.DenyPolicies) == 0 {
			add("Credentials issued to the instance (role %s): not denied, the incident's credential revocation did not succeed (see its execution).", role)
			continue
		}
		add("Credentials issued to the instance denied on role %s by the incident's deny policies %s (they list every instance of the incident).", role, strings.Join(c.DenyPolicies, ", "))
	}
	for _, p := range c.DetachedInstanceProfiles {
		add("Instance profile %s detached.", p)
	}
	for _, tg := range c.DeregisteredFromTargetGroups {
		add("Deregistered from target group %s.", targetGroupName(tg))
	}
	for _, lb := range c.DeregisteredFromClassicLoadBalancers {
		add("Deregistered from classic load balancer %s.", lb)
	}
	if len(c.DisassociatedElasticIps) > 0 {
		add("Elastic IPs disassociated: %s.", strings.Join(c.DisassociatedElasticIps, ", "))
	}
	if kept := minus(c.ElasticIps, c.DisassociatedElasticIps); len(kept) > 0 {
		add("Elastic IPs recorded and left associated: %s.", strings.Join(kept, ", "))
	}
	n := c.SnapshotCount
	if len(c.SnapshotsStarted) > n {
		n = len(c.SnapshotsStarted)
	}
	switch {
	case n > 0 && len(c.SnapshotsStarted) > 0:
		add("%s started: %s.", plural(n, "snapshot"), strings.Join(c.SnapshotsStarted, ", "))
	case n > 0:
		add("%s started.", plural(n, "snapshot"))
	}
	if len(c.AlreadyPreservedSnapshots) > 0 {
		add("Snapshots already preserved by an earlier containment kept: %s.", strings.Join(c.AlreadyPreservedSnapshots, ", "))
	}
	return out
}

// minus is a without the elements of b.
func minus(a, b []string) []string {
	drop := map[string]bool{}
	for _, x := range b {
		drop[x] = true
	}
	var out []string
	for _, x := range a {
		if !drop[x] {
			out = append(out, x)
		}
	}
	return out
}

// plural formats a count with its noun: "1 ENI", "3 ENIs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
