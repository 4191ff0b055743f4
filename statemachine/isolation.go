package statemachine

import (
	"fmt"

	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

const (
	// IsolationGroupName is the name of the isolation security group, one per
	// VPC, found by name or created.
	IsolationGroupName = "essential-ir-isolation"
	// IsolationGroupDescription warns whoever finds the group in the console.
	IsolationGroupDescription = "essential-ir isolation: no inbound or outbound rules. Do not add rules."
	// PurposeTagKey marks resources the workflow created, so its IAM policy can
	// be limited to them.
	PurposeTagKey = "essential-ir:purpose"
	// IsolationPurpose is the PurposeTagKey value of isolation groups.
	IsolationPurpose = "isolation"
	// UntrackGroupName is the name of the all-traffic security group, one
	// per VPC, that every ENI passes through on its way to the isolation
	// group, so that its existing connections stop being tracked.
	UntrackGroupName = "essential-ir-untrack"
	// UntrackGroupDescription warns whoever finds the group in the console.
	UntrackGroupDescription = "essential-ir connection untracking: allows all traffic; ENIs hold it for a moment on their way to isolation. Do not use."
	// UntrackPurpose is the PurposeTagKey value of all-traffic groups.
	UntrackPurpose = "untrack"
)

// groupFilters finds the security group of that name in the VPC at vpcPath.
func groupFilters(name, vpcPath string) []interface{} {
	return []interface{}{
		map[string]interface{}{"Name": "vpc-id", "Values.$": "States.Array(" + vpcPath + ")"},
		map[string]interface{}{"Name": "group-name", "Values": []interface{}{name}},
	}
}

// isolationGroupFilters finds the isolation group of the VPC at vpcPath.
func isolationGroupFilters(vpcPath string) []interface{} {
	return groupFilters(IsolationGroupName, vpcPath)
}

// groupTags are the tags a workflow-created group carries from creation.
func groupTags(name, purpose string) []interface{} {
	return []interface{}{map[string]interface{}{
		"ResourceType": "security-group",
		"Tags": []interface{}{
			map[string]interface{}{"Key": "Name", "Value": name},
			map[string]interface{}{"Key": PurposeTagKey, "Value": purpose},
		},
	}}
}

// VPCPreparationStep is the step a failure to prepare a VPC's groups is
// reported under, for each instance of that VPC.
const VPCPreparationStep = "Prepare VPC Containment Groups"

// prepareGroups runs once per VPC before any instance is contained: it
// readies the VPC's all-traffic group and its isolation group, in parallel.
// Input {"VpcId"}; output {"VpcId", "Status": "READY", "UntrackGroupId",
// "IsolationGroupId"}, or {"VpcId", "Status": "FAILED", "Error", "Cause"}:
// one VPC's failure fails only its own instances (vpcNotPrepared), and the
// instances of the other VPCs are still contained.
func (b *builder) prepareGroups() sfn.IChainable {
	both := sfn.NewParallel(b.scope, jsii.String("Prepare VPC Groups"), &sfn.ParallelProps{
		ResultSelector: &map[string]interface{}{
			"VpcId.$":            "$[0].VpcId",
			"Status":             "READY",
			"IsolationGroupId.$": "$[0].GroupId",
			"UntrackGroupId.$":   "$[1].GroupId",
		},
	})
	both.AddCatch(b.pass("VPC Groups Not Prepared", map[string]interface{}{
		"VpcId.$": "$.VpcId",
		"Status":  "FAILED",
		"Error.$": "$.Failure.Error",
		"Cause.$": "$.Failure.Cause",
	}, ""), anyError())
	return both.Branch(b.prepareIsolationGroup(), b.prepareUntrackGroup())
}

// vpcNotPrepared is the outcome of an instance whose VPC's groups could not
// be prepared: it fails before anything on it is changed. Input: the
// instance's state after collectMetadata, with $.UnpreparedVpcs.
func (b *builder) vpcNotPrepared() sfn.Pass {
	return b.pass("VPC Not Prepared", map[string]interface{}{
		"InstanceId.$": "$.InstanceId",
		"Outcome":      "FAILED",
		"Error.$":      "$.UnpreparedVpcs[0].Error",
		"Cause.$": "States.Format('" + VPCPreparationStep + " failed for instance {} in VPC {}, so nothing was changed on it: {}', " +
			"$.InstanceId, $.Instance.VpcId, States.JsonToString($.UnpreparedVpcs[*].Cause))",
	}, "")
}

// isolationGroupSelector keeps what the workflow checks of the group.
var isolationGroupSelector = map[string]interface{}{
	"GroupIds.$": "$.SecurityGroups[*].GroupId",
	"Ingress.$":  "$.SecurityGroups[*].IpPermissions[*]",
	"Egress.$":   "$.SecurityGroups[*].IpPermissionsEgress[*]",
}

// vpcGroup is one of the per-VPC security groups the workflow maintains.
type vpcGroup struct {
	label      string // "Isolation Group", "All-Traffic Group"
	what       string // words for the failure cause
	name, desc string
	purpose    string
	// selector keeps, from DescribeSecurityGroups, what the workflow checks
	// of the group; fresh is the same for a group just created, from
	// CreateSecurityGroup's result, so the rules can be set without a read
	// in between (the read after them verifies).
	selector, fresh map[string]interface{}
}

// defaultEgress is the one rule EC2 gives a new VPC security group: all
// traffic out to 0.0.0.0/0 (EC2 User Guide, "Default security groups and
// custom security groups": a new group "has an outbound rule that allows all
// outbound traffic").
var defaultEgress = allTrafficPermission("IPv4")

// vpcGroupStates are the states shared by the preparation of every
// per-VPC group: find it, create it, report it ready, and fail.
type vpcGroupStates struct {
	find, create sfn.TaskStateBase
	ready        sfn.Pass
	failed       sfn.Fail
}

// prepareVPCGroup builds the shared states of a per-VPC group.
// Input {"VpcId"}; the group's read goes to $.Group, and so does what a
// successful create knows of the new group (g.fresh): the caller sends both
// to the same check of the group's rules. Ready outputs {"VpcId", "GroupId"}.
func (b *builder) prepareVPCGroup(g vpcGroup) vpcGroupStates {
	var st vpcGroupStates
	st.failed = sfn.NewFail(b.scope, jsii.String(g.label+" Preparation Failed"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Preparing the " + g.what + " of VPC {} failed, before any instance was changed: {}', $.VpcId, $.Failure.Cause)"),
	})
	st.find = b.call(sdkCall{
		name:           "Find " + g.label,
		service:        "ec2",
		action:         "describeSecurityGroups",
		resources:      []string{"*"},
		params:         map[string]interface{}{"Filters": groupFilters(g.name, "$.VpcId")},
		resultSelector: g.selector,
		resultPath:     "$.Group",
		onFailure:      st.failed,
	})
	st.ready = b.pass(g.label+" Ready", map[string]interface{}{
		"VpcId.$":   "$.VpcId",
		"GroupId.$": "$.Group.GroupIds[0]",
	}, "")
	st.create = b.call(sdkCall{
		name:    "Create " + g.label,
		service: "ec2",
		action:  "createSecurityGroup",
		// Only groups tagged at creation with their purpose (SAR,
		// CreateSecurityGroup: security-group, aws:RequestTag/${TagKey});
		// the VPC carries no request tags on every reading, so it has a
		// statement of its own.
		resources: []string{arn("ec2", "vpc/*")},
		scopes:    []scope{{[]string{arn("ec2", "security-group/*")}, requestedPurposeCondition(UntrackPurpose, IsolationPurpose)}},
		params: map[string]interface{}{
			"GroupName":         g.name,
			"Description":       g.desc,
			"VpcId.$":           "$.VpcId",
			"TagSpecifications": groupTags(g.name, g.purpose),
		},
		resultSelector: g.fresh,
		resultPath:     "$.Group",
		alreadyDone:    groupExists,
		verify:         st.find,
		onFailure:      st.failed,
	})
	return st
}

// prepareIsolationGroup runs once per VPC before any instance is contained,
// so iterations in one VPC never race to create the group. It finds the
// VPC's isolation group or creates it, and removes every rule from it,
// including the allow-all egress rule every new group starts with (removed
// right after the create). It ends only when a read shows the group with zero
// rules. Input: {"VpcId": ...}.
func (b *builder) prepareIsolationGroup() sfn.IChainable {
	st := b.prepareVPCGroup(vpcGroup{
		label: "Isolation Group", what: "isolation security group",
		name: IsolationGroupName, desc: IsolationGroupDescription, purpose: IsolationPurpose,
		selector: isolationGroupSelector,
		fresh: map[string]interface{}{
			"GroupIds.$": "States.Array($.GroupId)",
			"Ingress":    []interface{}{},
			"Egress":     []interface{}{defaultEgress},
		},
	})
	find, create, ready, failed := st.find, st.create, st.ready, st.failed
	// EC2 authorizes tags given at creation as ec2:CreateTags on the new
	// group; without this the create fails with UnauthorizedOperation.
	tagOnCreate := requestedPurposeCondition(UntrackPurpose, IsolationPurpose)
	tagOnCreate["StringEquals"].(map[string]interface{})["ec2:CreateAction"] = "CreateSecurityGroup"
	b.access = append(b.access, Access{
		Action:     "ec2:CreateTags",
		Resources:  []string{arn("ec2", "security-group/*")},
		Conditions: tagOnCreate,
	})
	state := b.choice("Is The Isolation Group Empty?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.Group.GroupIds[0]")), create, nil)
	// Each direction's rules are removed, then the group is read again.
	for _, direction := range []string{"Egress", "Ingress"} {
		revoke := b.call(sdkCall{
			name:        "Remove Isolation Group " + direction + " Rules",
			service:     "ec2",
			action:      "revokeSecurityGroup" + direction,
			resources:   []string{arn("ec2", "security-group/*")},
			conditions:  purposeCondition(IsolationPurpose),
			params:      map[string]interface{}{"GroupId.$": "$.Group.GroupIds[0]", "IpPermissions.$": "$.Group." + direction},
			alreadyDone: ruleGone,
			verify:      find,
			onFailure:   failed,
		})
		revoke.Next(find)
		state.When(sfn.Condition_IsPresent(jsii.String("$.Group."+direction+"[0]")), revoke, nil)
	}
	state.Otherwise(ready)
	create.Next(state)
	return find.Next(state)
}

// purposeCondition limits an IAM statement to groups the workflow created
// for one of these purposes.
func purposeCondition(purposes ...string) map[string]interface{} {
	return map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:ResourceTag/" + PurposeTagKey: oneOrList(purposes)},
	}
}

// requestedPurposeCondition limits an IAM statement to requests that tag
// what they create with one of these purposes, and with no tag key but the
// group's Name and purpose (SAR, CreateSecurityGroup and CreateTags:
// aws:RequestTag/${TagKey}, aws:TagKeys).
func requestedPurposeCondition(purposes ...string) map[string]interface{} {
	return map[string]interface{}{
		"StringEquals":              map[string]interface{}{"aws:RequestTag/" + PurposeTagKey: oneOrList(purposes)},
		"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": []string{"Name", PurposeTagKey}},
	}
}

// oneOrList is a condition value: the one value, or the list of several.
func oneOrList(values []string) interface{} {
	if len(values) == 1 {
		return values[0]
	}
	return values
}

// allTraffic is one all-traffic rule of the all-traffic group.
type allTraffic struct {
	direction string // "Ingress" or "Egress"
	family    string // "IPv4" or "IPv6"
}

// key is the field of the group's read that lists the rule's CIDR if the
// group has it, e.g. "IngressIPv4".
func (r allTraffic) key() string { return r.direction + r.family }

// selector is the JSONPath that lists the rule's CIDR if the group has it.
func (r allTraffic) selector() string {
	perms := "IpPermissions"
	if r.direction == "Egress" {
		perms = "IpPermissionsEgress"
	}
	if r.family == "IPv6" {
		return "$.SecurityGroups[*]." + perms + "[?(@.IpProtocol == '-1')].Ipv6Ranges[?(@.CidrIpv6 == '::/0')].CidrIpv6"
	}
	return "$.SecurityGroups[*]." + perms + "[?(@.IpProtocol == '-1')].IpRanges[?(@.CidrIp == '0.0.0.0/0')].CidrIp"
}

// allTrafficPermission is the IpPermissions entry of all traffic to or from
// the given families' whole address ranges: one entry may carry both an IPv4
// and an IPv6 range, so one call adds both rules of a direction.
func allTrafficPermission(families ...string) map[string]interface{} {
	perm := map[string]interface{}{"IpProtocol": "-1"}
	for _, f := range families {
		if f == "IPv6" {
			perm["Ipv6Ranges"] = []interface{}{map[string]interface{}{"CidrIpv6": "::/0"}}
		} else {
			perm["IpRanges"] = []interface{}{map[string]interface{}{"CidrIp": "0.0.0.0/0"}}
		}
	}
	return perm
}

// allTrafficRules are the four rules under which EC2 stops tracking TCP and
// UDP flows: all traffic in and out, IPv4 and IPv6 (EC2 User Guide,
// "Security group connection tracking": untracked when all traffic is
// allowed in one direction and all response traffic in the other).
var allTrafficRules = []allTraffic{{"Ingress", "IPv4"}, {"Ingress", "IPv6"}, {"Egress", "IPv4"}, {"Egress", "IPv6"}}

// prepareUntrackGroup finds the VPC's all-traffic group or creates it, and
// adds whichever of the four all-traffic rules it lacks: the rules of a
// direction in one call, ingress then egress, then one read. A group just
// created goes straight to the additions, both directions at once
// (allowAllOnNewGroup), so creating it costs 3 calls in sequence: create,
// the rules, read. It ends only when a read shows all four. Input {"VpcId"};
// output {"VpcId", "GroupId"}.
func (b *builder) prepareUntrackGroup() sfn.IChainable {
	selector := map[string]interface{}{"GroupIds.$": "$.SecurityGroups[*].GroupId"}
	for _, r := range allTrafficRules {
		selector[r.key()+".$"] = r.selector()
	}
	st := b.prepareVPCGroup(vpcGroup{
		label: "All-Traffic Group", what: "all-traffic security group",
		name: UntrackGroupName, desc: UntrackGroupDescription, purpose: UntrackPurpose,
		selector: selector,
		fresh:    map[string]interface{}{"GroupIds.$": "States.Array($.GroupId)"},
	})
	find, create, ready, failed := st.find, st.create, st.ready, st.failed
	missing := func(r allTraffic) sfn.Condition {
		return sfn.Condition_IsNotPresent(jsii.String("$.Group." + r.key() + "[0]"))
	}
	// addDirection adds what the direction lacks, in one call, then goes on.
	addDirection := func(direction string, then sfn.IChainable) sfn.IChainable {
		v4, v6 := allTraffic{direction, "IPv4"}, allTraffic{direction, "IPv6"}
		add := func(name string, families ...string) sfn.TaskStateBase {
			task := b.allowAllTraffic(name, direction, families, find, failed)
			task.Next(then)
			return task
		}
		return b.choice("Does The All-Traffic Group Allow All "+direction+"?").
			When(sfn.Condition_And(missing(v4), missing(v6)), add("Allow All "+direction, "IPv4", "IPv6"), nil).
			When(missing(v4), add("Allow All IPv4 "+direction, "IPv4"), nil).
			When(missing(v6), add("Allow All IPv6 "+direction, "IPv6"), nil).
			Otherwise(then)
	}
	complete := make([]sfn.Condition, 0, len(allTrafficRules))
	for _, r := range allTrafficRules {
		complete = append(complete, sfn.Condition_IsPresent(jsii.String("$.Group."+r.key()+"[0]")))
	}
	state := b.choice("Does The All-Traffic Group Allow Everything?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.Group.GroupIds[0]")), create, nil).
		When(sfn.Condition_And(complete...), ready, nil).
		Otherwise(addDirection("Ingress", addDirection("Egress", find)))
	create.Next(b.allowAllOnNewGroup(failed)).Next(find)
	return find.Next(state)
}

// allowAllTraffic is the call that adds the all-traffic rules of one
// direction, for the given families, to the group at $.Group. A rule
// another execution added first (ruleExists) goes to verify; any other
// failure to onFailure.
func (b *builder) allowAllTraffic(name, direction string, families []string, verify, onFailure sfn.IChainable) sfn.TaskStateBase {
	return b.call(sdkCall{
		name:       name,
		service:    "ec2",
		action:     "authorizeSecurityGroup" + direction,
		resources:  []string{arn("ec2", "security-group/*")},
		conditions: purposeCondition(UntrackPurpose),
		params: map[string]interface{}{
			"GroupId.$":     "$.Group.GroupIds[0]",
			"IpPermissions": []interface{}{allTrafficPermission(families...)},
		},
		alreadyDone: ruleExists,
		verify:      verify,
		onFailure:   onFailure,
	})
}

// allowAllOnNewGroup adds the rules a just-created all-traffic group lacks
// (it has only the default IPv4 egress rule): all ingress, IPv4 and IPv6, in
// one call, and IPv6 egress in another, both at once. A rule another
// execution added first ends its branch; the read after them verifies all
// four. Any other failure goes to failed.
func (b *builder) allowAllOnNewGroup(failed sfn.IChainable) sfn.IChainable {
	rules := sfn.NewParallel(b.scope, jsii.String("Allow All Traffic On The New Group"), &sfn.ParallelProps{
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	add := func(name, direction string, families ...string) sfn.IChainable {
		// A state in a branch cannot lead out of it: the failure ends the
		// branch with AWS's error, and the Parallel's catch sends it to
		// failed, which names the step.
		return b.allowAllTraffic(name, direction, families,
			b.succeed(name+": Added By Another Execution"),
			sfn.NewFail(b.scope, jsii.String(name+" Failed"), &sfn.FailProps{
				ErrorPath: jsii.String("$.Failure.Error"),
				CausePath: jsii.String("$.Failure.Cause"),
			}))
	}
	rules.Branch(add("Allow All Ingress On The New Group", "Ingress", "IPv4", "IPv6"),
		add("Allow All IPv6 Egress On The New Group", "Egress", "IPv6"))
	rules.AddCatch(failed, anyError())
	return rules
}

// maxTransitChecks and transitCheckSeconds bound how long the check of
// network isolation waits for an ENI that another execution on the same
// instance is moving through the all-traffic group: 5 reads 2 s apart.
const (
	maxTransitChecks    = 5
	transitCheckSeconds = 2
)

// containmentGroupsPath is where the instance's state keeps the read of its
// VPC's containment groups (findContainmentGroups, a branch of Read The
// Instance).
const containmentGroupsPath = "$.ContainmentGroups"

// findContainmentGroups reads the instance's VPC's isolation and all-traffic
// groups, prepared before the instance's execution started: part of Read The
// Instance, right after the instance (which names its VPC), so isolation
// starts as soon as both are read. Output, at $.ContainmentGroups: the
// isolation group's ID and rules and the all-traffic group's ID.
func (b *builder) findContainmentGroups() sfn.TaskStateBase {
	failed := b.stepFailed("Find VPC Containment Groups")
	groupOf := func(name, field string) string {
		return "$.SecurityGroups[?(@.GroupName == '" + name + "')]." + field
	}
	return b.call(sdkCall{
		name:      "Find VPC Containment Groups",
		service:   "ec2",
		action:    "describeSecurityGroups",
		resources: []string{"*"},
		params: map[string]interface{}{"Filters": []interface{}{
			map[string]interface{}{"Name": "vpc-id", "Values.$": "States.Array($.Instance.VpcId)"},
			map[string]interface{}{"Name": "group-name", "Values": []interface{}{IsolationGroupName, UntrackGroupName}},
		}},
		resultSelector: map[string]interface{}{
			"GroupIds.$":        groupOf(IsolationGroupName, "GroupId"),
			"Ingress.$":         groupOf(IsolationGroupName, "IpPermissions[*]"),
			"Egress.$":          groupOf(IsolationGroupName, "IpPermissionsEgress[*]"),
			"UntrackGroupIds.$": groupOf(UntrackGroupName, "GroupId"),
		},
		resultPath: containmentGroupsPath,
		onFailure:  failed,
	})
}

// moveENI is the call that gives the ENI at $.NetworkInterfaceId the one
// security group at groupPath, in place of all it has.
func (b *builder) moveENI(name, groupPath string, onFailure sfn.IChainable) sfn.TaskStateBase {
	return b.call(sdkCall{
		name:    name,
		service: "ec2",
		action:  "modifyNetworkInterfaceAttribute",
		// Any of the instance's ENIs, but only onto the groups the
		// workflow created (Service Authorization Reference, Amazon EC2,
		// ModifyNetworkInterfaceAttribute: the security-group resource,
		// aws:ResourceTag/${TagKey}). EC2 authorises each group of the
		// request on its own, and the ENI without the groups' tags: the
		// ENI's statement has no condition.
		resources: []string{arn("ec2", "network-interface/*")},
		scopes:    []scope{{[]string{arn("ec2", "security-group/*")}, purposeCondition(UntrackPurpose, IsolationPurpose)}},
		params: map[string]interface{}{
			"NetworkInterfaceId.$": "$.NetworkInterfaceId",
			"Groups.$":             "States.Array(" + groupPath + ")",
		},
		onFailure: onFailure,
	})
}

// networkIsolationStep is the step network isolation's failures are
// reported under.
const networkIsolationStep = "Isolate Network"

// isolateNetwork moves every ENI of the instance to the isolation group of
// its VPC in two verified phases, all ENIs at once in each. First each ENI
// gets the all-traffic group alone: EC2 stops tracking TCP and UDP flows that
// all-traffic rules allow both ways, so connections already established lose
// the tracking that would have let them outlive a rule change. One read of
// the instance's ENIs confirms it. Then every ENI gets the isolation group
// alone, which has no rules, and untracked flows stop at once. A last read
// confirms every ENI attached to the instance carries exactly the isolation
// group. Each ENI's previous groups are kept.
func (b *builder) isolateNetwork() branch {
	failed := b.stepFailed(networkIsolationStep)
	const groups = containmentGroupsPath
	isolationGroup, untrackGroup := groups+".GroupIds[0]", groups+".UntrackGroupIds[0]"
	move := func(name, groupPath string) sfn.TaskStateBase {
		return b.moveENI(name, groupPath, b.stepFailed(name))
	}
	readENIs := func(name, resultPath string) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:      name,
			service:   "ec2",
			action:    "describeNetworkInterfaces",
			resources: []string{"*"},
			params: map[string]interface{}{"Filters": []interface{}{
				map[string]interface{}{"Name": "attachment.instance-id", "Values.$": "States.Array($.InstanceId)"},
			}},
			resultSelector: map[string]interface{}{
				"Interfaces.$":         "States.ArrayLength($.NetworkInterfaces)",
				"GroupAttachments.$":   "States.ArrayLength($.NetworkInterfaces[*].Groups[*])",
				"DistinctGroups.$":     "States.ArrayUnique($.NetworkInterfaces[*].Groups[*].GroupId)",
				"DistinctGroupCount.$": "States.ArrayLength(States.ArrayUnique($.NetworkInterfaces[*].Groups[*].GroupId))",
			},
			resultPath: resultPath,
			onFailure:  failed,
		})
	}

	// Phase 1: every ENI to the all-traffic group.
	untrackAll := sfn.NewMap(b.scope, jsii.String("Untrack Every ENI"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Instance.NetworkInterfaces"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":         "$.InstanceId",
			"NetworkInterfaceId.$": "$$.Map.Item.Value.NetworkInterfaceId",
			"PreviousGroups.$":     "$$.Map.Item.Value.Groups[*].GroupId",
			"PreviousGroupCount.$": "States.ArrayLength($$.Map.Item.Value.Groups)",
			"UntrackGroupId.$":     untrackGroup,
			"IsolationGroupId.$":   isolationGroup,
		},
		// All: what the summary keeps of each ENI; Moved: the ENIs this
		// execution moves, in phase 2 too.
		ResultSelector: &map[string]interface{}{
			"All.$":   "$[*]",
			"Moved.$": "$[?(@.Moved == true)].NetworkInterfaceId",
		},
		ResultPath: jsii.String("$.Interfaces"),
	})
	// Each iteration's output is only what the summary needs.
	eniOutcome := func(moved bool) map[string]interface{} {
		return map[string]interface{}{
			"NetworkInterfaceId.$": "$.NetworkInterfaceId",
			"PreviousGroups.$":     "$.PreviousGroups",
			"Moved":                moved,
		}
	}
	// A re-run must not pass an already isolated ENI through the
	// all-traffic group: it has no tracked flows left to cut.
	untrackAll.ItemProcessor(b.choice("Is The ENI Already Isolated?").
		When(sfn.Condition_And(
			sfn.Condition_NumberEquals(jsii.String("$.PreviousGroupCount"), jsii.Number(1)),
			sfn.Condition_StringEqualsJsonPath(jsii.String("$.PreviousGroups[0]"), jsii.String("$.IsolationGroupId")),
		), b.pass("ENI Already Isolated", eniOutcome(false), ""), nil).
		Otherwise(move("Untrack ENI Connections", "$.UntrackGroupId").Next(b.pass("ENI Untracked", eniOutcome(true), ""))), nil)
	untrackAll.AddCatch(failed, anyError())

	// onlyContainmentGroups: every ENI carries one group, the all-traffic
	// group or the isolation group (an ENI already isolated, or moved on by
	// another execution on the same instance).
	onlyContainmentGroups := func(check string) sfn.Condition {
		is := func(i int, group string) sfn.Condition {
			return sfn.Condition_StringEqualsJsonPath(jsii.String(fmt.Sprintf("%s.DistinctGroups[%d]", check, i)), jsii.String(group))
		}
		return sfn.Condition_And(
			sfn.Condition_NumberEqualsJsonPath(jsii.String(check+".GroupAttachments"), jsii.String(check+".Interfaces")),
			sfn.Condition_Or(
				sfn.Condition_And(
					sfn.Condition_NumberEquals(jsii.String(check+".DistinctGroupCount"), jsii.Number(1)),
					sfn.Condition_Or(is(0, untrackGroup), is(0, isolationGroup)),
				),
				sfn.Condition_And(
					sfn.Condition_NumberEquals(jsii.String(check+".DistinctGroupCount"), jsii.Number(2)),
					sfn.Condition_Or(
						sfn.Condition_And(is(0, untrackGroup), is(1, isolationGroup)),
						sfn.Condition_And(is(1, untrackGroup), is(0, isolationGroup)),
					),
				),
			),
		)
	}

	// Phase 2: every ENI moved in phase 1 to the isolation group.
	isolateAll := sfn.NewMap(b.scope, jsii.String("Isolate Every ENI"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Interfaces.Moved"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":         "$.InstanceId",
			"NetworkInterfaceId.$": "$$.Map.Item.Value",
			"IsolationGroupId.$":   isolationGroup,
		},
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	isolateAll.ItemProcessor(move("Isolate ENI", "$.IsolationGroupId"), nil)
	isolateAll.AddCatch(failed, anyError())

	untracked := readENIs("Confirm ENIs On All-Traffic Group", "$.UntrackCheck")
	untracked.Next(b.choice("Is Every ENI On The All-Traffic Group?").
		When(onlyContainmentGroups("$.UntrackCheck"), isolateAll, nil).
		Otherwise(b.notVerified("ENI Untracking Not Verified", "Containment.UntrackingNotVerified",
			"after the first move the ENIs carry security groups {}, expected only the all-traffic group {} (or the isolation group {})",
			"States.JsonToString($.UntrackCheck.DistinctGroups)", untrackGroup, isolationGroup)))

	confirm := readENIs("Confirm Network Isolation", "$.NetworkCheck")
	isolated := sfn.Condition_And(
		sfn.Condition_NumberEqualsJsonPath(jsii.String("$.NetworkCheck.GroupAttachments"), jsii.String("$.NetworkCheck.Interfaces")),
		sfn.Condition_NumberEquals(jsii.String("$.NetworkCheck.DistinctGroupCount"), jsii.Number(1)),
		sfn.Condition_StringEqualsJsonPath(jsii.String("$.NetworkCheck.DistinctGroups[0]"), jsii.String(isolationGroup)),
	)
	// Another execution on the same instance that read it before this one
	// isolated it passes its ENIs through the all-traffic group too: an ENI
	// found there, beside the isolation group, is on its way and is read
	// again, a few times, before the check fails.
	again := b.wait("Wait For The Other Execution's ENI Move", transitCheckSeconds)
	again.Next(confirm)
	first := sfn.NewPass(b.scope, jsii.String("First Transit Check"), &sfn.PassProps{
		Result:     sfn.Result_FromObject(&map[string]interface{}{"N": 1}),
		ResultPath: jsii.String("$.Transit"),
	})
	next := sfn.NewPass(b.scope, jsii.String("Next Transit Check"), &sfn.PassProps{
		Parameters: &map[string]interface{}{"N.$": "States.MathAdd($.Transit.N, 1)"},
		ResultPath: jsii.String("$.Transit"),
	})
	first.Next(again)
	next.Next(again)
	inTransit := onlyContainmentGroups("$.NetworkCheck")
	check := b.choice("Is Every ENI Isolated?").
		When(isolated, b.succeed("Network Isolated"), nil).
		When(sfn.Condition_And(inTransit, sfn.Condition_IsNotPresent(jsii.String("$.Transit"))), first, nil).
		When(sfn.Condition_And(inTransit, sfn.Condition_NumberLessThan(jsii.String("$.Transit.N"), jsii.Number(maxTransitChecks))), next, nil).
		Otherwise(b.notVerified("Network Isolation Not Verified", "Containment.IsolationNotVerified",
			"after the swap the ENIs carry security groups {}, expected only the isolation group {}",
			"States.JsonToString($.NetworkCheck.DistinctGroups)", isolationGroup))
	isolateAll.Next(confirm).Next(check)
	// From the first untracking move to the last check, the ENIs may carry
	// the all-traffic group, which allows all traffic in and out. So the
	// moves run in one branch, and any failure in it, wherever it happens
	// (a move or a read refused, a check that does not hold), moves every
	// ENI straight to the isolation group before the step fails: an
	// execution may fail to untrack, never leave an ENI open.
	moves := sfn.NewParallel(b.scope, jsii.String("Move ENIs Through The All-Traffic Group"), &sfn.ParallelProps{
		OutputPath: jsii.String("$[0]"),
	})
	moves.Branch(untrackAll.Next(untracked))
	moves.AddCatch(b.isolateAnyway(isolationGroup, untrackGroup), anyError())
	ready := b.choice("Are The VPC Containment Groups Ready?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String(untrackGroup)),
			sfn.Condition_IsPresent(jsii.String(isolationGroup)),
			sfn.Condition_IsNotPresent(jsii.String(groups+".Egress[0]")),
			sfn.Condition_IsNotPresent(jsii.String(groups+".Ingress[0]")),
		), moves, nil).
		Otherwise(b.notVerified("Containment Groups Not Ready", "Containment.IsolationGroupNotReady",
			"the isolation group {} of VPC {} is missing or has rules, or its all-traffic group {} is missing",
			"States.JsonToString("+groups+".GroupIds)", "$.Instance.VpcId", "States.JsonToString("+groups+".UntrackGroupIds)"))
	return branch{
		key: "Network", name: networkIsolationStep,
		chain: ready,
		keep: map[string]interface{}{
			"IsolationGroupId":  isolationGroup,
			"NetworkInterfaces": "$.Interfaces.All",
		},
		summary: []string{"IsolationGroupId", "NetworkInterfaces"},
		output:  []string{"IsolationGroupId", "NetworkInterfaces"},
	}
}

// isolateAnyway is where network isolation goes when it fails after it may
// have moved an ENI to the all-traffic group (input: the instance's state,
// the failure at $.Failure). Every ENI of the instance is moved straight to
// the isolation group at isolationGroup, all at once, each move retried on
// its own; then the step fails with the original error and cause, saying
// whether every ENI was moved. A responder reads either that the instance is
// isolated (its connections perhaps not cut) or which ENIs to move by hand.
func (b *builder) isolateAnyway(isolationGroup, untrackGroup string) sfn.IChainable {
	anyway := sfn.NewMap(b.scope, jsii.String("Isolate Every ENI Anyway"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Instance.NetworkInterfaces"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":         "$.InstanceId",
			"NetworkInterfaceId.$": "$$.Map.Item.Value.NetworkInterfaceId",
			"IsolationGroupId.$":   isolationGroup,
		},
		ResultSelector: &map[string]interface{}{
			"NotMoved.$": "$[?(@.Moved == false)].NetworkInterfaceId",
		},
		ResultPath: jsii.String("$.Fallback"),
	})
	outcome := func(name string, moved bool) sfn.Pass {
		params := map[string]interface{}{"NetworkInterfaceId.$": "$.NetworkInterfaceId", "Moved": moved}
		if !moved {
			params["Error.$"] = "$.Failure.Error"
			params["Cause.$"] = "States.Format('" + networkIsolationStep + " failed for instance {}: moving ENI {} straight to the isolation group failed too: {}', " +
				"$.InstanceId, $.NetworkInterfaceId, $.Failure.Cause)"
		}
		return b.pass(name, params, "")
	}
	move := b.moveENI("Isolate ENI Without Untracking", "$.IsolationGroupId", outcome("ENI Not Moved", false))
	move.Next(outcome("ENI Moved Without Untracking", true))
	anyway.ItemProcessor(move, nil)
	// The Map's iterations catch their own failures; anything else (the
	// Map itself refused) is reported as not moved.
	unknown := b.pass("ENIs Not Known Moved", map[string]interface{}{
		"NotMoved.$": "$.Instance.NetworkInterfaces[*].NetworkInterfaceId",
	}, "$.Fallback")
	anyway.AddCatch(unknown, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.FallbackFailure")})
	isolated := sfn.NewFail(b.scope, jsii.String("Isolate Network Failed, ENIs Isolated Anyway"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('{} Every ENI of instance {} was then moved straight to the isolation group {}, so none is left on the all-traffic group; connections that were tracked may not have been cut.', " +
			"$.Failure.Cause, $.InstanceId, " + isolationGroup + ")"),
	})
	open := sfn.NewFail(b.scope, jsii.String("Isolate Network Failed, ENIs Not Isolated"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('{} Moving the ENIs of instance {} straight to the isolation group {} failed too for {}: they may still carry the all-traffic group {}, which allows all traffic. " +
			"Move each by hand: aws ec2 modify-network-interface-attribute --network-interface-id <ENI> --groups {}', " +
			"$.Failure.Cause, $.InstanceId, " + isolationGroup + ", States.JsonToString($.Fallback.NotMoved), " + untrackGroup + ", " + isolationGroup + ")"),
	})
	check := b.choice("Was Every ENI Isolated Anyway?").
		When(sfn.Condition_IsPresent(jsii.String("$.Fallback.NotMoved[0]")), open, nil).
		Otherwise(isolated)
	anyway.Next(check)
	unknown.Next(check)
	return anyway
}
