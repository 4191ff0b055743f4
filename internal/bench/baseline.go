package bench

import (
	"encoding/json"
	"fmt"
)

// Baseline settings, as in the seed's defaults.
const (
	// BaselineMaxConcurrency is the seed's default MaxConcurrency.
	BaselineMaxConcurrency = 5
	// baselineSnapshotPollSeconds is the wait between two reads of a
	// pending snapshot (as in essential-ir, so the two compare).
	baselineSnapshotPollSeconds = 15
	// BaselineListingPage is the baseline's page of DescribeTargetGroups,
	// the API's largest.
	BaselineListingPage = 400
	// baselineTargetGroupConcurrency bounds DescribeTargetHealth calls per
	// instance (as in essential-ir).
	baselineTargetGroupConcurrency = 10
	// baselineIsolationGroupPrefix starts the name of the isolation group the
	// baseline creates for each instance.
	baselineIsolationGroupPrefix = "seed-isolation-"
)

// BaselineDefinition returns the seed's design as Amazon States Language
// (JSONPath): the order described in essential-incident-response-tasks.md,
// with the same aws-sdk integrations essential-ir uses, so that the two can
// be measured side by side on the same scenes.
//
// Input: {"InstanceIds": [...], "Region": "..."}. An inline Map over the
// instances, BaselineMaxConcurrency at a time; per instance:
//
//  1. tag the instance SecurityIncidentStatus=Investigation;
//  2. in parallel, enable termination protection, enable stop protection and
//     set the shutdown behaviour to stop, each followed by a read, and read
//     the tag back;
//  3. a Choice checks all four reads (the seed's check) and fails otherwise;
//  4. collect the instance's metadata (DescribeInstances), kept in the
//     state and so in the execution's results;
//  5. a Parallel of the rest, each with its follow-up check: snapshot each
//     volume (CreateSnapshot per volume, wait until completed, copy an
//     unencrypted one encrypted, wait, delete the original), DeleteOnTermination
//     off (one ModifyInstanceAttribute, read back), detach the instance
//     profile, detach from the Auto Scaling group, deregister from every
//     target group that lists it, and create an isolation security group for
//     the instance, remove its egress rule, read it, and move every ENI to it.
//
// Every task retries task failures (3 attempts, 1 s doubling) and any error
// then fails the execution, as the seed's error handling says. What the seed
// does not describe is left out: no input validation, no per-instance
// failure records, no classic load balancers, Elastic IPs or credential
// revocation.
func BaselineDefinition() (string, error) {
	root := newBranch("Incident Response")
	root.add("Contain Each Instance", map[string]any{
		"Type":           "Map",
		"ItemsPath":      "$.InstanceIds",
		"MaxConcurrency": BaselineMaxConcurrency,
		"ItemSelector": map[string]any{
			"InstanceId.$": "$$.Map.Item.Value",
			"Region.$":     "$.Region",
		},
		"ItemProcessor": processor(instanceSteps()),
		"End":           true,
	})
	def := map[string]any{
		"Comment": "Baseline: the seed's order (essential-incident-response-tasks.md), for the essential-ir benchmark",
		"StartAt": "Contain Each Instance",
		"States":  root.states,
	}
	b, err := json.Marshal(def)
	if err != nil {
		return "", fmt.Errorf("encode baseline definition: %w", err)
	}
	return string(b), nil
}

// branch collects the states of one state list (the top level, a Parallel
// branch, or a Map's processor) and its own failure state, which every task
// in it catches to.
type branch struct {
	name    string
	startAt string
	states  map[string]any
}

// newBranch starts an empty state list; name prefixes its Fail state.
func newBranch(name string) *branch {
	return &branch{name: name, states: map[string]any{}}
}

// add adds a state; the first one added is where the branch starts.
func (b *branch) add(name string, state map[string]any) {
	if _, dup := b.states[name]; dup {
		panic("bench: duplicate baseline state " + name)
	}
	if b.startAt == "" {
		b.startAt = name
	}
	b.states[name] = state
}

// failName is the branch's Fail state, created on first use.
func (b *branch) failName() string {
	name := b.name + " Failed"
	if _, ok := b.states[name]; !ok {
		b.states[name] = map[string]any{"Type": "Fail", "ErrorPath": "$.Error.Error", "CausePath": "$.Error.Cause"}
	}
	return name
}

// fail adds a named Fail state with a fixed error and cause.
func (b *branch) fail(name, errorName, cause string) {
	b.add(name, map[string]any{"Type": "Fail", "Error": errorName, "Cause": cause})
}

// call adds an aws-sdk task. resultSelector may be nil; resultPath ""
// discards the result; next "" ends the branch.
func (b *branch) call(name, service, action string, params, resultSelector map[string]any, resultPath, next string) {
	state := map[string]any{
		"Type":       "Task",
		"Resource":   "arn:aws:states:::aws-sdk:" + service + ":" + action,
		"Parameters": params,
		"Retry": []any{map[string]any{
			"ErrorEquals":     []any{"States.TaskFailed"},
			"IntervalSeconds": 1,
			"MaxAttempts":     3,
			"BackoffRate":     2,
		}},
		"Catch": []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "ResultPath": "$.Error", "Next": b.failName()}},
	}
	if resultSelector != nil {
		state["ResultSelector"] = resultSelector
	}
	if resultPath == "" {
		state["ResultPath"] = nil
	} else {
		state["ResultPath"] = resultPath
	}
	setNext(state, next)
	b.add(name, state)
}

// setNext makes the state go to next, or end its branch if next is "".
func setNext(state map[string]any, next string) {
	if next == "" {
		state["End"] = true
	} else {
		state["Next"] = next
	}
}

// processor is the ItemProcessor of an inline Map.
func processor(b *branch) map[string]any {
	return map[string]any{
		"ProcessorConfig": map[string]any{"Mode": "INLINE"},
		"StartAt":         b.startAt,
		"States":          b.states,
	}
}

// asBranch is the branch as a Parallel state's Branches entry.
func asBranch(b *branch) map[string]any {
	return map[string]any{"StartAt": b.startAt, "States": b.states}
}

// parallel adds a Parallel state whose branches fail the branch b.
func (b *branch) parallel(name string, branches []*branch, resultPath, next string) {
	var list []any
	for _, br := range branches {
		list = append(list, asBranch(br))
	}
	state := map[string]any{
		"Type":     "Parallel",
		"Branches": list,
		"Catch":    []any{map[string]any{"ErrorEquals": []any{"States.ALL"}, "ResultPath": "$.Error", "Next": b.failName()}},
	}
	if resultPath == "" {
		state["ResultPath"] = nil
	} else {
		state["ResultPath"] = resultPath
	}
	setNext(state, next)
	b.add(name, state)
}

// choice adds a Choice state: rules are (condition, next) pairs.
func (b *branch) choice(name string, otherwise string, rules ...map[string]any) {
	var list []any
	for _, r := range rules {
		list = append(list, r)
	}
	b.add(name, map[string]any{"Type": "Choice", "Choices": list, "Default": otherwise})
}

// when is a Choice rule.
func when(cond map[string]any, next string) map[string]any {
	out := map[string]any{"Next": next}
	for k, v := range cond {
		out[k] = v
	}
	return out
}

// and is a Choice condition that holds when all conds hold.
func and(conds ...map[string]any) map[string]any {
	list := make([]any, len(conds))
	for i, c := range conds {
		list[i] = c
	}
	return map[string]any{"And": list}
}

// cond is a Choice comparison, e.g. cond("$.State", "StringEquals", "completed").
func cond(variable, op string, value any) map[string]any {
	return map[string]any{"Variable": variable, op: value}
}

// succeed adds a named Succeed state.
func succeed(b *branch, name string) {
	b.add(name, map[string]any{"Type": "Succeed"})
}

// instanceFilter filters a describe call to the instance.
func instanceFilter(name string) []any {
	return []any{map[string]any{"Name": name, "Values.$": "States.Array($.InstanceId)"}}
}

// investigationTags are the tags of the instance and its snapshots.
func investigationTags(withInstance bool) []any {
	tags := []any{map[string]any{"Key": "SecurityIncidentStatus", "Value": "Investigation"}}
	if withInstance {
		tags = append(tags, map[string]any{"Key": "SecurityIncidentInstanceId", "Value.$": "$.InstanceId"})
	}
	return tags
}

// instanceSteps is the work for one instance, in the seed's order.
func instanceSteps() *branch {
	b := newBranch("Instance Response")
	b.call("Tag Under Investigation", "ec2", "createTags", map[string]any{
		"Resources.$": "States.Array($.InstanceId)",
		"Tags":        investigationTags(false),
	}, nil, "", "Protect Instance")

	// Termination protection, stop protection and shutdown behaviour, each
	// read back, and the tag read back; then the seed's Choice.
	protect := func(step, field string, modify map[string]any, attribute string) *branch {
		br := newBranch(step)
		params := map[string]any{"InstanceId.$": "$.InstanceId"}
		for k, v := range modify {
			params[k] = v
		}
		br.call(step, "ec2", "modifyInstanceAttribute", params, nil, "", "Read "+step)
		br.call("Read "+step, "ec2", "describeInstanceAttribute",
			map[string]any{"InstanceId.$": "$.InstanceId", "Attribute": attribute},
			map[string]any{"Value.$": "$." + field + ".Value"}, "$", "")
		return br
	}
	readTag := newBranch("Read Tag")
	readTag.call("Read Investigation Tag", "ec2", "describeTags", map[string]any{
		"Filters": []any{
			map[string]any{"Name": "resource-id", "Values.$": "States.Array($.InstanceId)"},
			map[string]any{"Name": "key", "Values": []any{"SecurityIncidentStatus"}},
		},
	}, map[string]any{"Values.$": "$.Tags[*].Value"}, "$", "")
	b.parallel("Protect Instance", []*branch{
		protect("Enable Termination Protection", "DisableApiTermination",
			map[string]any{"DisableApiTermination": map[string]any{"Value": true}}, "disableApiTermination"),
		protect("Enable Stop Protection", "DisableApiStop",
			map[string]any{"DisableApiStop": map[string]any{"Value": true}}, "disableApiStop"),
		protect("Set Shutdown Behavior To Stop", "InstanceInitiatedShutdownBehavior",
			map[string]any{"Attribute": "instanceInitiatedShutdownBehavior", "Value": "stop"}, "instanceInitiatedShutdownBehavior"),
		readTag,
	}, "$.Protection", "Is The Instance Protected?")
	b.choice("Is The Instance Protected?", "Instance Not Protected",
		when(and(
			cond("$.Protection[0].Value", "BooleanEquals", true),
			cond("$.Protection[1].Value", "BooleanEquals", true),
			cond("$.Protection[2].Value", "StringEquals", "stop"),
			cond("$.Protection[3].Values[0]", "IsPresent", true),
			cond("$.Protection[3].Values[0]", "StringEquals", "Investigation"),
		), "Collect Instance Metadata"))
	b.fail("Instance Not Protected", "ProtectionNotVerified", "termination protection, stop protection, shutdown behaviour or tag not as requested")

	b.call("Collect Instance Metadata", "ec2", "describeInstances",
		map[string]any{"InstanceIds.$": "States.Array($.InstanceId)"},
		map[string]any{"Instance.$": "$.Reservations[0].Instances[0]"}, "$.Metadata", "Respond In Parallel")
	b.parallel("Respond In Parallel", []*branch{
		snapshotBranch(), keepVolumesBranch(), profileBranch(), autoScalingBranch(), targetGroupBranch(), isolationBranch(),
	}, "", "")
	return b
}

// snapshotBranch snapshots each volume (CreateSnapshot per volume, as the
// seed does), waits for it, and replaces an unencrypted one by an encrypted
// copy.
func snapshotBranch() *branch {
	br := newBranch("Snapshots")
	vol := newBranch("Snapshot")
	vol.call("Create Snapshot", "ec2", "createSnapshot", map[string]any{
		"VolumeId.$":    "$.VolumeId",
		"Description.$": "States.Format('Under investigation: volume {} of instance {}', $.VolumeId, $.InstanceId)",
		"TagSpecifications": []any{map[string]any{
			"ResourceType": "snapshot",
			"Tags":         investigationTags(true),
		}},
	}, map[string]any{"SnapshotId.$": "$.SnapshotId", "Encrypted.$": "$.Encrypted"}, "$.Snapshot", "Read Snapshot")
	wait := func(what, idPath, next string, needEncrypted bool) {
		read, check, pause := "Read "+what, "Is The "+what+" Complete?", "Wait For "+what
		vol.call(read, "ec2", "describeSnapshots", map[string]any{"SnapshotIds.$": "States.Array(" + idPath + ")"},
			map[string]any{"State.$": "$.Snapshots[0].State", "Encrypted.$": "$.Snapshots[0].Encrypted"}, "$.Check", check)
		done := cond("$.Check.State", "StringEquals", "completed")
		if needEncrypted {
			done = and(done, cond("$.Check.Encrypted", "BooleanEquals", true))
		}
		vol.choice(check, pause,
			when(done, next),
			when(cond("$.Check.State", "StringEquals", "completed"), "Snapshot Not Verified"),
			when(cond("$.Check.State", "StringEquals", "error"), "Snapshot Not Verified"))
		vol.add(pause, map[string]any{"Type": "Wait", "Seconds": baselineSnapshotPollSeconds, "Next": read})
	}
	wait("Snapshot", "$.Snapshot.SnapshotId", "Is The Snapshot Encrypted?", false)
	vol.choice("Is The Snapshot Encrypted?", "Copy Snapshot Encrypted",
		when(cond("$.Snapshot.Encrypted", "BooleanEquals", true), "Snapshot Preserved"))
	vol.call("Copy Snapshot Encrypted", "ec2", "copySnapshot", map[string]any{
		"SourceSnapshotId.$": "$.Snapshot.SnapshotId",
		"SourceRegion.$":     "$.Region",
		"Encrypted":          true,
		"Description.$":      "States.Format('Under investigation: encrypted copy of {} (volume {} of instance {})', $.Snapshot.SnapshotId, $.VolumeId, $.InstanceId)",
		"TagSpecifications": []any{map[string]any{
			"ResourceType": "snapshot",
			"Tags":         investigationTags(true),
		}},
	}, map[string]any{"SnapshotId.$": "$.SnapshotId"}, "$.Copy", "Read Encrypted Copy")
	wait("Encrypted Copy", "$.Copy.SnapshotId", "Delete Unencrypted Snapshot", true)
	vol.call("Delete Unencrypted Snapshot", "ec2", "deleteSnapshot",
		map[string]any{"SnapshotId.$": "$.Snapshot.SnapshotId"}, nil, "", "Snapshot Preserved")
	succeed(vol, "Snapshot Preserved")
	vol.fail("Snapshot Not Verified", "SnapshotNotVerified", "a snapshot ended in error or its copy is not encrypted")

	br.add("Snapshot Each Volume", map[string]any{
		"Type":      "Map",
		"ItemsPath": "$.Metadata.Instance.BlockDeviceMappings",
		"ItemSelector": map[string]any{
			"InstanceId.$": "$.InstanceId",
			"Region.$":     "$.Region",
			"VolumeId.$":   "$$.Map.Item.Value.Ebs.VolumeId",
		},
		"ItemProcessor": processor(vol),
		"ResultPath":    nil,
		"End":           true,
	})
	return br
}

// keepVolumesBranch turns DeleteOnTermination off on every volume in one
// call and reads it back.
func keepVolumesBranch() *branch {
	br := newBranch("Keep Volumes")
	list := newBranch("List Device")
	list.add("Keep Device", map[string]any{"Type": "Pass", "End": true})
	br.add("List Devices", map[string]any{
		"Type":      "Map",
		"ItemsPath": "$.Metadata.Instance.BlockDeviceMappings",
		"ItemSelector": map[string]any{
			"DeviceName.$": "$$.Map.Item.Value.DeviceName",
			"Ebs":          map[string]any{"DeleteOnTermination": false},
		},
		"ItemProcessor": processor(list),
		"ResultPath":    "$.Devices",
		"Next":          "Disable DeleteOnTermination",
	})
	br.call("Disable DeleteOnTermination", "ec2", "modifyInstanceAttribute",
		map[string]any{"InstanceId.$": "$.InstanceId", "BlockDeviceMappings.$": "$.Devices"}, nil, "", "Read DeleteOnTermination")
	br.call("Read DeleteOnTermination", "ec2", "describeInstances",
		map[string]any{"InstanceIds.$": "States.Array($.InstanceId)"},
		map[string]any{"StillDeleted.$": "$.Reservations[0].Instances[0].BlockDeviceMappings[?(@.Ebs.DeleteOnTermination == true)].DeviceName"},
		"$.VolumeCheck", "Is DeleteOnTermination Off?")
	br.choice("Is DeleteOnTermination Off?", "DeleteOnTermination Still On",
		when(cond("$.VolumeCheck.StillDeleted[0]", "IsPresent", false), "Volumes Kept"))
	succeed(br, "Volumes Kept")
	br.fail("DeleteOnTermination Still On", "DeleteOnTerminationNotVerified", "a volume is still deleted on termination")
	return br
}

// profileBranch detaches the IAM instance profile and reads it back.
func profileBranch() *branch {
	br := newBranch("Instance Profile")
	read := func(name, resultPath, next string) {
		br.call(name, "ec2", "describeIamInstanceProfileAssociations",
			map[string]any{"Filters": instanceFilter("instance-id")},
			map[string]any{
				"AssociationIds.$": "$.IamInstanceProfileAssociations[?(@.State == 'associated')].AssociationId",
				"Associating.$":    "$.IamInstanceProfileAssociations[?(@.State == 'associating')].AssociationId",
			},
			resultPath, next)
	}
	read("Find Instance Profile Association", "$.Profile", "Has An Instance Profile?")
	br.choice("Has An Instance Profile?", "No Instance Profile",
		when(cond("$.Profile.AssociationIds[0]", "IsPresent", true), "Detach Instance Profile"))
	br.call("Detach Instance Profile", "ec2", "disassociateIamInstanceProfile",
		map[string]any{"AssociationId.$": "$.Profile.AssociationIds[0]"}, nil, "", "Read Instance Profile Association")
	read("Read Instance Profile Association", "$.ProfileCheck", "Is The Instance Profile Detached?")
	br.choice("Is The Instance Profile Detached?", "Instance Profile Still Attached",
		when(and(
			cond("$.ProfileCheck.AssociationIds[0]", "IsPresent", false),
			cond("$.ProfileCheck.Associating[0]", "IsPresent", false),
		), "Instance Profile Detached"))
	succeed(br, "Instance Profile Detached")
	succeed(br, "No Instance Profile")
	br.fail("Instance Profile Still Attached", "InstanceProfileNotDetached", "the instance profile is still associated")
	return br
}

// autoScalingBranch detaches the instance from its Auto Scaling group and
// reads it back.
func autoScalingBranch() *branch {
	br := newBranch("Auto Scaling")
	params := map[string]any{"InstanceIds.$": "States.Array($.InstanceId)"}
	br.call("Find Auto Scaling Group", "autoscaling", "describeAutoScalingInstances", params,
		map[string]any{"Groups.$": "$.AutoScalingInstances[*].AutoScalingGroupName"}, "$.AutoScaling", "Is It In An Auto Scaling Group?")
	br.choice("Is It In An Auto Scaling Group?", "Not In An Auto Scaling Group",
		when(cond("$.AutoScaling.Groups[0]", "IsPresent", true), "Detach From Auto Scaling Group"))
	br.call("Detach From Auto Scaling Group", "autoscaling", "detachInstances", map[string]any{
		"AutoScalingGroupName.$":         "$.AutoScaling.Groups[0]",
		"InstanceIds.$":                  "States.Array($.InstanceId)",
		"ShouldDecrementDesiredCapacity": false,
	}, nil, "", "Read Auto Scaling Membership")
	br.call("Read Auto Scaling Membership", "autoscaling", "describeAutoScalingInstances", params,
		map[string]any{"States.$": "$.AutoScalingInstances[*].LifecycleState"}, "$.AutoScalingCheck", "Has It Left The Group?")
	br.choice("Has It Left The Group?", "Still In The Auto Scaling Group",
		when(cond("$.AutoScalingCheck.States[0]", "IsPresent", false), "Detached From Auto Scaling Group"),
		when(cond("$.AutoScalingCheck.States[0]", "StringMatches", "Detaching*"), "Wait For Detach"))
	br.add("Wait For Detach", map[string]any{"Type": "Wait", "Seconds": 5, "Next": "Read Auto Scaling Membership"})
	succeed(br, "Detached From Auto Scaling Group")
	succeed(br, "Not In An Auto Scaling Group")
	br.fail("Still In The Auto Scaling Group", "AutoScalingDetachNotVerified", "the instance is still in its Auto Scaling group")
	return br
}

// targetGroupBranch deregisters the instance from every target group that
// lists it (the first page of up to 400 groups) and reads each back.
func targetGroupBranch() *branch {
	br := newBranch("Target Groups")
	br.call("List Target Groups", "elasticloadbalancingv2", "describeTargetGroups", map[string]any{"PageSize": BaselineListingPage},
		map[string]any{"Arns.$": "$.TargetGroups[?(@.TargetType == 'instance')].TargetGroupArn"}, "$.TargetGroups", "Check Each Target Group")
	tg := newBranch("Target Group")
	health := func(name, selector, next string) {
		tg.call(name, "elasticloadbalancingv2", "describeTargetHealth", map[string]any{"TargetGroupArn.$": "$.TargetGroupArn"},
			map[string]any{"Ids.$": selector}, "$.Health", next)
	}
	health("Read Target Health", "$.TargetHealthDescriptions[*].Target.Id", "Is It A Target?")
	tg.add("Is It A Target?", map[string]any{
		"Type":       "Pass",
		"Parameters": map[string]any{"Member.$": "States.ArrayContains($.Health.Ids, $.InstanceId)"},
		"ResultPath": "$.Membership",
		"Next":       "Is It Registered?",
	})
	tg.choice("Is It Registered?", "Not A Target",
		when(cond("$.Membership.Member", "BooleanEquals", true), "Deregister Target"))
	tg.call("Deregister Target", "elasticloadbalancingv2", "deregisterTargets", map[string]any{
		"TargetGroupArn.$": "$.TargetGroupArn",
		"Targets":          []any{map[string]any{"Id.$": "$.InstanceId"}},
	}, nil, "", "Read Target Health Again")
	health("Read Target Health Again", "$.TargetHealthDescriptions[?(@.TargetHealth.State != 'draining')].Target.Id", "Is It Still A Target?")
	tg.add("Is It Still A Target?", map[string]any{
		"Type":       "Pass",
		"Parameters": map[string]any{"Member.$": "States.ArrayContains($.Health.Ids, $.InstanceId)"},
		"ResultPath": "$.Membership",
		"Next":       "Has It Left?",
	})
	tg.choice("Has It Left?", "Still A Target",
		when(cond("$.Membership.Member", "BooleanEquals", false), "Deregistered"))
	succeed(tg, "Deregistered")
	succeed(tg, "Not A Target")
	tg.fail("Still A Target", "TargetGroupNotLeft", "the instance is still an active target")
	br.add("Check Each Target Group", map[string]any{
		"Type":           "Map",
		"ItemsPath":      "$.TargetGroups.Arns",
		"MaxConcurrency": baselineTargetGroupConcurrency,
		"ItemSelector": map[string]any{
			"InstanceId.$":     "$.InstanceId",
			"TargetGroupArn.$": "$$.Map.Item.Value",
		},
		"ItemProcessor": processor(tg),
		"ResultPath":    nil,
		"End":           true,
	})
	return br
}

// isolationBranch creates the instance's isolation security group, removes
// its default egress rule, checks that it has no rules, moves every ENI to
// it and reads the ENIs back.
func isolationBranch() *branch {
	br := newBranch("Isolation")
	br.call("Create Isolation Security Group", "ec2", "createSecurityGroup", map[string]any{
		"GroupName.$":   "States.Format('" + baselineIsolationGroupPrefix + "{}', $.InstanceId)",
		"Description.$": "States.Format('Isolation of instance {}: no rules', $.InstanceId)",
		"VpcId.$":       "$.Metadata.Instance.VpcId",
	}, map[string]any{"GroupId.$": "$.GroupId"}, "$.Isolation", "Remove Outbound Rule")
	br.call("Remove Outbound Rule", "ec2", "revokeSecurityGroupEgress", map[string]any{
		"GroupId.$": "$.Isolation.GroupId",
		"IpPermissions": []any{map[string]any{
			"IpProtocol": "-1",
			"IpRanges":   []any{map[string]any{"CidrIp": "0.0.0.0/0"}},
		}},
	}, nil, "", "Read Isolation Security Group")
	br.call("Read Isolation Security Group", "ec2", "describeSecurityGroups",
		map[string]any{"GroupIds.$": "States.Array($.Isolation.GroupId)"},
		map[string]any{"Ingress.$": "$.SecurityGroups[0].IpPermissions", "Egress.$": "$.SecurityGroups[0].IpPermissionsEgress"},
		"$.GroupCheck", "Is The Isolation Group Empty?")
	br.choice("Is The Isolation Group Empty?", "Isolation Group Has Rules",
		when(and(
			cond("$.GroupCheck.Ingress[0]", "IsPresent", false),
			cond("$.GroupCheck.Egress[0]", "IsPresent", false),
		), "Attach Isolation Group To Each ENI"))
	br.fail("Isolation Group Has Rules", "IsolationGroupNotEmpty", "the isolation security group still has rules")
	eni := newBranch("ENI")
	eni.call("Attach Isolation Group", "ec2", "modifyNetworkInterfaceAttribute", map[string]any{
		"NetworkInterfaceId.$": "$.NetworkInterfaceId",
		"Groups.$":             "States.Array($.GroupId)",
	}, nil, "", "")
	br.add("Attach Isolation Group To Each ENI", map[string]any{
		"Type":      "Map",
		"ItemsPath": "$.Metadata.Instance.NetworkInterfaces",
		"ItemSelector": map[string]any{
			"NetworkInterfaceId.$": "$$.Map.Item.Value.NetworkInterfaceId",
			"GroupId.$":            "$.Isolation.GroupId",
		},
		"ItemProcessor": processor(eni),
		"ResultPath":    nil,
		"Next":          "Read ENI Groups",
	})
	br.call("Read ENI Groups", "ec2", "describeNetworkInterfaces",
		map[string]any{"Filters": instanceFilter("attachment.instance-id")},
		map[string]any{
			"Interfaces.$":       "States.ArrayLength($.NetworkInterfaces)",
			"GroupAttachments.$": "States.ArrayLength($.NetworkInterfaces[*].Groups[*])",
			"Groups.$":           "States.ArrayUnique($.NetworkInterfaces[*].Groups[*].GroupId)",
		}, "$.NetworkCheck", "Is Every ENI Isolated?")
	br.choice("Is Every ENI Isolated?", "ENIs Not Isolated",
		when(and(
			map[string]any{"Variable": "$.NetworkCheck.GroupAttachments", "NumericEqualsPath": "$.NetworkCheck.Interfaces"},
			map[string]any{"Variable": "$.NetworkCheck.Groups[0]", "StringEqualsPath": "$.Isolation.GroupId"},
			cond("$.NetworkCheck.Groups[1]", "IsPresent", false),
		), "Network Isolated"))
	succeed(br, "Network Isolated")
	br.fail("ENIs Not Isolated", "IsolationNotVerified", "an ENI carries a group other than the isolation group")
	return br
}
