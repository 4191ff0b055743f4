package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/essential-ir/essential-ir/internal/inspect"
)

// Command is one AWS CLI command that undoes one change, with why.
type Command struct {
	// Comment says what the command restores.
	Comment string `json:"comment"`
	Command string `json:"command"`
}

// releaseCommands lists the AWS CLI commands that return the instance to
// its recorded state, for each change the workflow made that is still in
// place: what the record (before) holds and the instance now (now) does
// not, and what the containment's output says it changed (c, may be nil).
// The safest come first; the network last, since it reopens the instance.
// now is nil when the instance could not be read: then every recorded
// change is listed.
func releaseCommands(region, id string, before, now *inspect.InstanceState, c *containment, tagKey string) []Command {
	if now == nil {
		now = &inspect.InstanceState{}
	}
	r := fmt.Sprintf(" --region %s", region)
	var out []Command
	add := func(comment, format string, args ...interface{}) {
		out = append(out, Command{Comment: comment, Command: fmt.Sprintf(format, args...) + r})
	}

	if !before.IsUnrecorded(inspect.FieldShutdownBehavior) && before.ShutdownBehavior != "" && before.ShutdownBehavior != now.ShutdownBehavior {
		add("Shutdown behaviour back to "+before.ShutdownBehavior,
			"aws ec2 modify-instance-attribute --instance-id %s --attribute instanceInitiatedShutdownBehavior --value %s", id, before.ShutdownBehavior)
	}
	if !before.IsUnrecorded(inspect.FieldTerminationProtection) && !before.TerminationProtection && now.TerminationProtection {
		add("Termination protection off, as it was", "aws ec2 modify-instance-attribute --instance-id %s --no-disable-api-termination", id)
	}
	if !before.IsUnrecorded(inspect.FieldStopProtection) && !before.StopProtection && now.StopProtection {
		add("Stop protection off, as it was", "aws ec2 modify-instance-attribute --instance-id %s --no-disable-api-stop", id)
	}
	// What a failed containment's record does not hold: the workflow only
	// turns these on, so each is listed if on now, to run if it was off.
	notRecorded := " (its value before containment was not recorded: run this only if it was off; the containment execution's history shows it)"
	if before.IsUnrecorded(inspect.FieldTerminationProtection) && now.TerminationProtection {
		add("Termination protection off"+notRecorded, "aws ec2 modify-instance-attribute --instance-id %s --no-disable-api-termination", id)
	}
	if before.IsUnrecorded(inspect.FieldStopProtection) && now.StopProtection {
		add("Stop protection off"+notRecorded, "aws ec2 modify-instance-attribute --instance-id %s --no-disable-api-stop", id)
	}
	if before.IsUnrecorded(inspect.FieldShutdownBehavior) && now.ShutdownBehavior == "stop" {
		add("Shutdown behaviour back to terminate (its value before containment was not recorded: run this only if it was terminate)",
			"aws ec2 modify-instance-attribute --instance-id %s --attribute instanceInitiatedShutdownBehavior --value terminate", id)
	}
	nowVolumes := map[string]inspect.Volume{}
	for _, v := range now.Volumes {
		nowVolumes[v.ID] = v
	}
	for _, v := range before.Volumes {
		if n, ok := nowVolumes[v.ID]; v.DeleteOnTermination && (!ok || !n.DeleteOnTermination) {
			add(fmt.Sprintf("Volume %s deleted on termination again, as it was", v.ID),
				"aws ec2 modify-instance-attribute --instance-id %s --block-device-mappings '[{\"DeviceName\": \"%s\", \"Ebs\": {\"DeleteOnTermination\": true}}]'", id, v.Device)
		}
	}
	if before.AutoScaling != nil && now.AutoScaling == nil {
		add(fmt.Sprintf("Back into Auto Scaling group %s (only if it is to serve again: the group launched a replacement, and this raises its desired capacity by one)", before.AutoScaling.GroupName),
			"aws autoscaling attach-instances --instance-ids %s --auto-scaling-group-name %s", id, before.AutoScaling.GroupName)
	}

	// Credentials: the deny policies first, then the profile. A deny
	// policy lists every instance of the incident, and denies the
	// credentials issued to them for as long as it is attached, new ones
	// included: it goes once all of them are released.
	if c != nil {
		for _, role := range c.InstanceProfileRoles {
			for _, p := range c.DenyPolicies {
				add(fmt.Sprintf("Once every instance of the incident is released (the policy denies the credentials issued to each of them, new ones too): detach the incident's deny policy from role %s", role),
					"aws iam detach-role-policy --role-name %s --policy-arn %s", role, p)
			}
		}
	} else if before.InstanceProfile != nil {
		out = append(out, Command{Comment: "If the incident's credential revocation ran, the role of " + before.InstanceProfile.ARN +
			" holds its deny policies, under " + DenyPolicyPathPrefix + "; once every instance of the incident is released, detach them",
			Command: fmt.Sprintf("aws iam list-attached-role-policies --role-name <role of %s> --path-prefix %s%s", profileName(before.InstanceProfile.ARN), DenyPolicyPathPrefix, r)})
	}
	if before.InstanceProfile != nil && now.InstanceProfile == nil {
		add("Associate the instance profile again", "aws ec2 associate-iam-instance-profile --instance-id %s --iam-instance-profile Arn=%s", id, before.InstanceProfile.ARN)
	}

	// Load balancers.
	nowTargets := map[string]bool{}
	for _, t := range now.TargetGroups {
		if t.Registered() {
			nowTargets[t.ARN] = true
		}
	}
	for _, t := range before.TargetGroups {
		if !nowTargets[t.ARN] {
			add(fmt.Sprintf("Register in target group %s again (on the group's port; add Port=<port> if it served on another)", t.Name),
				"aws elbv2 register-targets --target-group-arn %s --targets Id=%s", t.ARN, id)
		}
	}
	if c != nil {
		for _, lb := range c.DeregisteredFromClassicLoadBalancers {
			add("Register with classic load balancer "+lb+" again",
				"aws elb register-instances-with-load-balancer --load-balancer-name %s --instances %s", lb, id)
		}
		for _, ip := range c.DisassociatedElasticIps {
			add("Associate Elastic IP "+ip+" again", "aws ec2 associate-address --instance-id %s --public-ip %s", id, ip)
		}
	}

	// The network last: it reopens the instance.
	nowGroups := map[string]string{}
	for _, n := range now.NetworkInterfaces {
		nowGroups[n.ID] = groupList(n.SecurityGroups)
	}
	for _, n := range before.NetworkInterfaces {
		groups := groupList(n.SecurityGroups)
		if groups != "" && nowGroups[n.ID] != groups {
			add(fmt.Sprintf("ENI %s back to its groups (this reopens the network)", n.ID),
				"aws ec2 modify-network-interface-attribute --network-interface-id %s --groups %s", n.ID, groups)
		}
	}

	// The investigation tags, once the incident is closed.
	var keys []string
	had := map[string]bool{}
	for _, t := range before.Tags {
		had[t.Key] = true
	}
	for _, t := range now.Tags {
		if !had[t.Key] && (t.Key == tagKey || t.Key == incidentTagKey) {
			keys = append(keys, "Key="+t.Key)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		add("Once the incident is closed: remove the investigation tags (while they are there, a new containment keeps this incident's ID)",
			"aws ec2 delete-tags --resources %s --tags %s", id, strings.Join(keys, " "))
	}
	return out
}

// incidentTagKey is the tag naming the incident (statemachine.IncidentIDTagKey).
const incidentTagKey = "SecurityIncidentId"

// DenyPolicyPathPrefix starts the path of every deny policy of a
// credential revocation (statemachine.DenyPolicyPathPrefix).
const DenyPolicyPathPrefix = "/essential-ir/"

// DefaultTagKey is the investigation tag key of a default deployment
// (the InvestigationTagKey stack parameter).
const DefaultTagKey = "SecurityIncidentStatus"

// groupList is the groups' IDs, space-separated, sorted.
func groupList(groups []inspect.SecurityGroup) string {
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, g.ID)
	}
	sort.Strings(ids)
	return strings.Join(ids, " ")
}

// profileName is the name in an instance profile ARN.
func profileName(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}
