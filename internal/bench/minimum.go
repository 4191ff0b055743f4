package bench

import (
	"math"
	"sort"
)

// MinimumStep is one containment action (or its shared preparation) and the
// fewest AWS calls it and its check need, per instance of the execution.
type MinimumStep struct {
	// Step names the action as the README does.
	Step string `json:"step"`
	// Calls maps "service:Action" to calls per instance (amortised over
	// the execution's instances for work done once per execution or VPC).
	Calls map[string]float64 `json:"calls"`
	// How says how the count is reached.
	How string `json:"how"`
}

// Minimum is the fewest AWS calls per instance that the actions a design
// performs and their checks need, on a given scene.
type Minimum struct {
	Steps []MinimumStep `json:"steps"`
	// PerAction sums the steps by "service:Action".
	PerAction map[string]float64 `json:"perAction"`
	// Total is the sum over every action.
	Total float64 `json:"total"`
}

// MinimumFor counts, for the steps the measured design performs, the
// fewest calls per instance. The rules, applied to every step:
//
//   - one call per change, batched where the API takes several resources
//     in one call (CreateSnapshots for every volume, one ModifyInstanceAttribute
//     for every device) and not where it takes one (ModifyInstanceAttribute
//     sets one attribute, ModifyNetworkInterfaceAttribute one ENI);
//   - one read per step to find what to change, where the instance's
//     metadata does not already say it (the Auto Scaling group, the profile
//     association, the role);
//   - one read per step to verify the change, batched the same way (one
//     DescribeSnapshots for every snapshot of the instance, one
//     DescribeNetworkInterfaces for every ENI); polling reads beyond the
//     first are not counted (on the emulator every snapshot is complete at
//     the first read);
//   - reads of the whole account (target groups, classic load balancers,
//     the input check) and the VPCs' containment groups are done once per
//     execution or VPC and shared by its instances.
//
// Steps essential-ir added beyond the seed's nine actions are counted only
// if the design performed them (seen in its calls): classic load balancers,
// credential revocation, Elastic IPs, the connection-untracking phase, the
// pre-incident record written to S3.
func MinimumFor(m *Measurement) Minimum {
	sharedGroups, validatesInput := m.SharedGroups, m.ValidatesInput
	f := m.Scene
	n := float64(max(f.Instances, 1))
	e, v, u, t := float64(f.ENIs), float64(f.Volumes), float64(f.UnencryptedVolumes), float64(f.TargetGroups)
	vpcs := float64(max(f.VPCs, 1))
	did := func(action string) bool { return m.CallsByAction[action] > 0 }
	untrack := float64(m.CallsByAction["ec2:ModifyNetworkInterfaceAttribute"]) >= 2*e*n
	created := m.Groups == "created"

	var steps []MinimumStep
	add := func(step, how string, calls map[string]float64) {
		for k, c := range calls {
			if c == 0 {
				delete(calls, k)
			}
		}
		steps = append(steps, MinimumStep{Step: step, Calls: calls, How: how})
	}
	if validatesInput {
		add("Input check", "one DescribeInstances for every instance of the execution",
			map[string]float64{"ec2:DescribeInstances": 1 / n})
	}
	add("Metadata", "one DescribeInstances: the record and the plan (ENIs, volumes, VPC)",
		map[string]float64{"ec2:DescribeInstances": 1})
	add("Tag", "CreateTags, then DescribeTags to verify",
		map[string]float64{"ec2:CreateTags": 1, "ec2:DescribeTags": 1})
	if f.AutoScalingGroup {
		add("Auto Scaling detach", "DescribeAutoScalingInstances to find the group, DetachInstances, DescribeAutoScalingInstances to verify",
			map[string]float64{"autoscaling:DescribeAutoScalingInstances": 2, "autoscaling:DetachInstances": 1})
	}
	add("Termination and stop protection, shutdown behaviour", "three ModifyInstanceAttribute (one attribute each), three DescribeInstanceAttribute to verify",
		map[string]float64{"ec2:ModifyInstanceAttribute": 3, "ec2:DescribeInstanceAttribute": 3})
	add("DeleteOnTermination off", "one ModifyInstanceAttribute with every device, one DescribeInstances to verify",
		map[string]float64{"ec2:ModifyInstanceAttribute": 1, "ec2:DescribeInstances": 1})

	groups := map[string]float64{}
	how := ""
	switch {
	case sharedGroups && created:
		// Find (one DescribeSecurityGroups naming every group), create,
		// remove the default egress rule, verify.
		groups["ec2:DescribeSecurityGroups"] = 2 * vpcs / n
		groups["ec2:CreateSecurityGroup"] = vpcs / n
		groups["ec2:RevokeSecurityGroupEgress"] = vpcs / n
		how = "per VPC: find, create, remove the default egress rule, verify empty"
		if untrack {
			groups["ec2:CreateSecurityGroup"] += vpcs / n
			groups["ec2:AuthorizeSecurityGroupIngress"] = vpcs / n
			groups["ec2:AuthorizeSecurityGroupEgress"] = vpcs / n
			how += "; all-traffic group: create, one ingress call (IPv4 and IPv6), one egress call (IPv6), verified by the same read"
		}
	case sharedGroups:
		groups["ec2:DescribeSecurityGroups"] = vpcs / n
		how = "per VPC: one DescribeSecurityGroups shows the groups exist and are as required"
	default:
		groups["ec2:CreateSecurityGroup"] = 1
		groups["ec2:RevokeSecurityGroupEgress"] = 1
		groups["ec2:DescribeSecurityGroups"] = 1
		how = "per instance: create, remove the default egress rule, verify empty"
	}
	add("Containment security groups", how, groups)
	if untrack {
		add("Network isolation (untrack, then isolate)", "two ModifyNetworkInterfaceAttribute per ENI, one DescribeNetworkInterfaces per phase for every ENI of the instance",
			map[string]float64{"ec2:ModifyNetworkInterfaceAttribute": 2 * e, "ec2:DescribeNetworkInterfaces": 2})
	} else {
		add("Network isolation", "one ModifyNetworkInterfaceAttribute per ENI, one DescribeNetworkInterfaces for every ENI of the instance",
			map[string]float64{"ec2:ModifyNetworkInterfaceAttribute": e, "ec2:DescribeNetworkInterfaces": 1})
	}
	if f.InstanceProfile {
		add("Instance profile", "DescribeIamInstanceProfileAssociations to find the association, DisassociateIamInstanceProfile, the same read to verify",
			map[string]float64{"ec2:DescribeIamInstanceProfileAssociations": 2, "ec2:DisassociateIamInstanceProfile": 1})
		if did("iam:CreatePolicy") {
			// Each instance of the scene has a profile and role of its
			// own; one deny policy per 240 instances of the execution
			// goes on every role.
			p := math.Ceil(n / 240)
			add("Credential revocation", "once per execution: GetInstanceProfile per profile for the role, CreatePolicy and GetPolicyVersion to verify per 240 instances; per role: AttachRolePolicy per policy, ListAttachedRolePolicies to verify",
				map[string]float64{"iam:GetInstanceProfile": 1, "iam:CreatePolicy": p / n, "iam:GetPolicyVersion": p / n,
					"iam:AttachRolePolicy": p, "iam:ListAttachedRolePolicies": 1})
		}
	}
	g := float64(f.AccountTargetGroups)
	add("Target groups", "once per execution: DescribeTargetGroups per 400 groups and DescribeTargetHealth per group (who is registered where); per instance: DeregisterTargets and DescribeTargetHealth per group it is in",
		map[string]float64{
			"elasticloadbalancingv2:DescribeTargetGroups": math.Max(1, math.Ceil(g/400)) / n,
			"elasticloadbalancingv2:DescribeTargetHealth": g/n + t,
			"elasticloadbalancingv2:DeregisterTargets":    t,
		})
	if did("elasticloadbalancing:DeregisterInstancesFromLoadBalancer") || did("elasticloadbalancing:DescribeLoadBalancers") {
		c := float64(f.ClassicLoadBalancers)
		verify := 0.0
		if c > 0 {
			verify = 1
		}
		add("Classic load balancers", "once per execution: DescribeLoadBalancers per 400 balancers (it lists their instances); per instance: DeregisterInstancesFromLoadBalancer per balancer it is in, one DescribeLoadBalancers naming them to verify",
			map[string]float64{
				"elasticloadbalancing:DescribeLoadBalancers":               math.Max(1, math.Ceil(float64(f.AccountClassicLoadBalancers)/400))/n + verify,
				"elasticloadbalancing:DeregisterInstancesFromLoadBalancer": c,
			})
	}
	if did("ec2:DescribeAddresses") {
		calls := map[string]float64{"ec2:DescribeAddresses": 1}
		how := "one DescribeAddresses records the Elastic IPs"
		if did("ec2:DisassociateAddress") {
			calls["ec2:DisassociateAddress"] = float64(f.ElasticIPs)
			calls["ec2:DescribeAddresses"] = 2
			how = "DescribeAddresses, DisassociateAddress per address, DescribeAddresses to verify"
		}
		add("Elastic IPs", how, calls)
	}
	if did("s3:PutObject") {
		calls := map[string]float64{
			"ec2:DescribeInstanceAttribute": 1,
			"s3:PutObject":                  float64(m.CallsByAction["s3:PutObject"]) / n,
		}
		if did("ec2:GetConsoleOutput") {
			calls["ec2:GetConsoleOutput"] = 1
		}
		add("Pre-incident record", "DescribeInstanceAttribute userData and GetConsoleOutput to read, one PutObject per object written (as measured); conditional writes need no read first",
			calls)
	}
	if did("ec2:GetConsoleScreenshot") {
		add("Console screenshot", "GetConsoleScreenshot (its PutObject is counted with the record's)", map[string]float64{"ec2:GetConsoleScreenshot": 1})
	}
	if did("states:StartExecution") {
		add("Own execution per instance", "StartExecution, and one DescribeExecution for its outcome (a .sync integration learns of the end through EventBridge)",
			map[string]float64{"states:StartExecution": 1, "states:DescribeExecution": 1})
	}
	snap := map[string]float64{"ec2:CreateSnapshots": 1, "ec2:DescribeSnapshots": 1}
	how = "CreateSnapshots for every volume (tagged at creation), one DescribeSnapshots of them all to verify complete and tagged"
	if u > 0 {
		snap["ec2:CopySnapshot"] = u
		snap["ec2:DeleteSnapshot"] = u
		snap["ec2:DescribeSnapshots"] = 3
		how += "; per unencrypted volume CopySnapshot (encrypted, tagged at creation) and DeleteSnapshot; one DescribeSnapshots to verify the copies complete and encrypted, one to verify the originals gone"
	}
	if v == 0 {
		snap = map[string]float64{}
	}
	add("Snapshots", how, snap)

	min := Minimum{Steps: steps, PerAction: map[string]float64{}}
	for _, s := range steps {
		for k, c := range s.Calls {
			min.PerAction[k] += c
			min.Total += c
		}
	}
	return min
}

// Actions lists the actions of a Minimum and of measured call counts,
// sorted.
func Actions(min Minimum, measured ...map[string]int) []string {
	set := map[string]bool{}
	for k := range min.PerAction {
		set[k] = true
	}
	for _, m := range measured {
		for k := range m {
			set[k] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
