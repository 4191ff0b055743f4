package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

const (
	// InstanceIDTagKey tags each snapshot with the instance it came from.
	InstanceIDTagKey = "SecurityIncidentInstanceId"
	// VolumeIDTagKey tags each snapshot with the volume it came from.
	VolumeIDTagKey = "SecurityIncidentVolumeId"
	// SourceSnapshotTagKey tags an encrypted copy with the unencrypted
	// snapshot it replaced.
	SourceSnapshotTagKey = "SecurityIncidentSourceSnapshotId"
	// snapshotConcurrency bounds the snapshots secured at once per instance,
	// under the default quota of 20 concurrent snapshot copies per region.
	snapshotConcurrency = 10
)

// snapshotArn matches every snapshot: snapshot ARNs carry no account ID.
func snapshotArn() string {
	return fmt.Sprintf("arn:%s:ec2:%s::snapshot/*", *awscdk.Aws_PARTITION(), *awscdk.Aws_REGION())
}

// startSnapshots takes one crash-consistent set of snapshots of every EBS
// volume of the instance (CreateSnapshots), tagged at creation and
// described as evidence of the incident and the instance
// (snapshotDescription), and goes on without waiting for them: the
// instance's containment ends there, so the fleet's next instance is
// contained without waiting for this one's snapshots. The evidence phase
// (preserveEvidence) later secures each.
func (b *builder) startSnapshots() branch {
	failed := b.stepFailed("Snapshot Volumes")
	create := b.call(sdkCall{
		name:      "Snapshot Every Volume",
		service:   "ec2",
		action:    "createSnapshots",
		resources: []string{arn("ec2", "instance/*"), arn("ec2", "volume/*")},
		// Only snapshots tagged with an incident at creation (SAR,
		// CreateSnapshots: snapshot, aws:RequestTag/${TagKey}).
		scopes: []scope{{[]string{snapshotArn()}, incidentRequested()}},
		params: map[string]interface{}{
			"InstanceSpecification": map[string]interface{}{"InstanceId.$": "$.InstanceId", "ExcludeBootVolume": false},
			"Description.$":         snapshotDescription,
			"TagSpecifications": []interface{}{map[string]interface{}{
				"ResourceType": "snapshot",
				"Tags":         b.evidenceTags(nil),
			}},
		},
		resultSelector: map[string]interface{}{"Snapshots.$": "$.Snapshots"},
		resultPath:     "$.Created",
		onFailure:      failed,
	})
	// Tags given at creation, by these two calls only (EC2 User Guide,
	// "Grant permission to tag Amazon EC2 resources during creation":
	// ec2:CreateAction), and only the evidence tags (SAR, CreateTags:
	// aws:TagKeys).
	b.access = append(b.access, Access{
		Action:    "ec2:CreateTags",
		Resources: []string{snapshotArn()},
		Conditions: map[string]interface{}{
			"StringEquals":              map[string]interface{}{"ec2:CreateAction": []string{"CreateSnapshots", "CopySnapshot"}},
			"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": b.evidenceTagKeys()},
		},
	})
	// EBS uses the evidence key on the workflow's behalf when it copies a
	// snapshot encrypted (EBS encryption, "Permissions for IAM users"), and
	// only EBS may (kms:ViaService, KMS Developer Guide); the grant it
	// creates is only for AWS resources.
	viaEBS := map[string]interface{}{"StringEquals": map[string]interface{}{"kms:ViaService": viaService("ec2")}}
	for _, action := range []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"} {
		b.access = append(b.access, Access{Action: action, Resources: []string{b.settings.EvidenceKeyArn}, Conditions: viaEBS})
	}
	b.access = append(b.access, Access{
		Action:    "kms:CreateGrant",
		Resources: []string{b.settings.EvidenceKeyArn},
		Conditions: map[string]interface{}{
			"Bool":         map[string]interface{}{"kms:GrantIsForAWSResource": "true"},
			"StringEquals": map[string]interface{}{"kms:ViaService": viaService("ec2")},
		},
	})
	// A re-run does not snapshot again an instance whose every volume
	// already has a secured snapshot for its incident: no duplicates.
	existing := b.call(sdkCall{
		name:      "Find Existing Evidence Snapshots",
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params: evidenceSnapshotsOf(
			map[string]interface{}{"Name": "encrypted", "Values": []interface{}{"true"}},
			map[string]interface{}{"Name": "status", "Values": []interface{}{"completed"}},
		),
		resultSelector: map[string]interface{}{
			"SnapshotIds.$": "$.Snapshots[*].SnapshotId",
			"VolumeCount.$": "States.ArrayLength(States.ArrayUnique($.Snapshots[*].Tags[?(@.Key == '" + VolumeIDTagKey + "')].Value))",
		},
		resultPath: "$.ExistingEvidence",
		onFailure:  failed,
	})
	none := b.pass("No New Snapshots", map[string]interface{}{"Taken": []interface{}{}}, "$.Snapshots")
	taken := b.pass("Snapshots Started", map[string]interface{}{"Taken.$": "$.Created.Snapshots[*].SnapshotId"}, "$.Snapshots")
	create.Next(taken)
	decide := b.choice("Are Its Volumes Already Preserved?").
		When(sfn.Condition_NumberEqualsJsonPath(jsii.String("$.ExistingEvidence.VolumeCount"), jsii.String("$.Instance.VolumeCount")), none, nil).
		Otherwise(create)
	// Only an instance already under investigation can have evidence for
	// its incident: any other's incident ID is this execution's name, new.
	hasVolumes := sfn.Condition_IsPresent(jsii.String("$.Instance.BlockDeviceMappings[0]"))
	fields := []string{"SnapshotsStarted", "AlreadyPreservedSnapshots"}
	return branch{
		key: "Snapshots", name: "Snapshot Volumes",
		chain: b.choice("Does It Have Volumes To Snapshot?").
			When(sfn.Condition_And(hasVolumes, sfn.Condition_IsPresent(jsii.String("$.Instance.IncidentIds[0]"))), existing.Next(decide), nil).
			When(hasVolumes, create, nil).
			Otherwise(b.pass("No Volumes To Snapshot", map[string]interface{}{"Taken": []interface{}{}}, "$.Snapshots")),
		keep: map[string]interface{}{
			"SnapshotsStarted":          "$.Snapshots.Taken",
			"AlreadyPreservedSnapshots": "$..ExistingEvidence.SnapshotIds[*]",
		},
		summary: fields,
		counts:  map[string]string{"SnapshotCount": "SnapshotsStarted", "AlreadyPreservedSnapshotCount": "AlreadyPreservedSnapshots"},
	}
}

// snapshotDescription describes every snapshot CreateSnapshots takes for an
// incident, an instance and the execution a responder started (the fleet
// execution, whose name no other execution has): the evidence phase of that
// execution finds them by it, and only them, even while another execution
// works on the same instance. An encrypted copy's description says it is a
// copy, so it is not found.
const snapshotDescription = "States.Format('essential-ir evidence: incident {}, instance {}, execution {}', $.IncidentId, $.InstanceId, $.FleetExecutionName)"

// evidenceSnapshotsOf are the DescribeSnapshots parameters that list this
// account's snapshots tagged with the instance and its incident, narrowed
// by the extra filters.
func evidenceSnapshotsOf(extra ...interface{}) map[string]interface{} {
	filters := []interface{}{
		map[string]interface{}{"Name": "tag:" + InstanceIDTagKey, "Values.$": "States.Array($.InstanceId)"},
		map[string]interface{}{"Name": "tag:" + IncidentIDTagKey, "Values.$": "States.Array($.IncidentId)"},
	}
	return map[string]interface{}{"OwnerIds": []interface{}{"self"}, "Filters": append(filters, extra...)}
}

// evidenceTagKeys are the keys of every tag the workflow puts on a
// snapshot.
func (b *builder) evidenceTagKeys() []string {
	return []string{b.settings.TagKey, IncidentIDTagKey, InstanceIDTagKey, VolumeIDTagKey, SourceSnapshotTagKey}
}

// incidentRequested limits an IAM statement to requests that tag what they
// create with an incident ID (aws:RequestTag/${TagKey}).
func incidentRequested() map[string]interface{} {
	return map[string]interface{}{"Null": map[string]interface{}{"aws:RequestTag/" + IncidentIDTagKey: "false"}}
}

// viaService is the kms:ViaService value of an AWS service in the stack's
// region: the service uses a KMS key on the caller's behalf (KMS Developer
// Guide, "kms:ViaService").
func viaService(service string) string {
	return service + "." + *awscdk.Aws_REGION() + ".amazonaws.com"
}

// evidenceTags are the tags of every evidence snapshot; extra adds more.
func (b *builder) evidenceTags(extra []interface{}) []interface{} {
	tags := []interface{}{
		map[string]interface{}{"Key": b.settings.TagKey, "Value": b.settings.TagValue},
		map[string]interface{}{"Key": IncidentIDTagKey, "Value.$": "$.IncidentId"},
		map[string]interface{}{"Key": InstanceIDTagKey, "Value.$": "$.InstanceId"},
	}
	return append(tags, extra...)
}

// copyIfUnencrypted handles one completed evidence snapshot of the
// instance: an encrypted one gets its volume tag; an unencrypted one is
// copied, encrypted with the evidence key and tagged at creation (the
// original is deleted only once the copy is verified, verifySnapshot).
// Input: {"InstanceId", "IncidentId", "Region", "SnapshotId", "VolumeId",
// "Encrypted"}; output: {"VolumeId", "SnapshotId"} of the snapshot to keep,
// with "SourceSnapshotId" for a copy.
func (b *builder) copyIfUnencrypted() sfn.IChainable {
	failed := b.stepFailed("Copy Snapshot")
	volumeTag := map[string]interface{}{"Key": VolumeIDTagKey, "Value.$": "$.VolumeId"}
	tagVolume := b.call(sdkCall{
		name:      "Tag Snapshot With Volume",
		service:   "ec2",
		action:    "createTags",
		resources: []string{snapshotArn()},
		// Only the volume tag, only on a snapshot of an incident (SAR,
		// CreateTags: aws:TagKeys, aws:ResourceTag/${TagKey}): the role
		// cannot tag any other snapshot with an incident ID, which would
		// make it deletable (Delete Unencrypted Snapshot).
		conditions: map[string]interface{}{
			"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": []string{VolumeIDTagKey}},
			"Null":                      map[string]interface{}{"aws:TagKeys": "false", "aws:ResourceTag/" + IncidentIDTagKey: "false"},
		},
		params: map[string]interface{}{
			"Resources.$": "States.Array($.SnapshotId)",
			"Tags":        []interface{}{volumeTag},
		},
		onFailure: failed,
	})
	tagVolume.Next(b.pass("Keep The Encrypted Snapshot", map[string]interface{}{
		"VolumeId.$":   "$.VolumeId",
		"SnapshotId.$": "$.SnapshotId",
	}, ""))
	copyTask := b.call(sdkCall{
		name:    "Copy Snapshot With Encryption",
		service: "ec2",
		action:  "copySnapshot",
		// EC2 authorises CopySnapshot on the source and on the copy, both
		// snapshots (SAR, CopySnapshot: "apply to both the snapshot copy
		// and the source snapshot"; aws:ResourceTag, aws:RequestTag,
		// ec2:Encrypted). The source: a snapshot of an incident, and not
		// encrypted where EC2 says. The copy: tagged with an incident and
		// encrypted where EC2 says. Each is a statement of its own, as the
		// source has no request tags on the emulator's reading and the copy
		// no resource tags on any. ec2:Encrypted is IfExists: the SAR does
		// not say which snapshot's value EC2 gives each check, and on every
		// credible reading (the resource's own, the request's Encrypted
		// parameter, or none) each check still matches one statement.
		resources: []string{snapshotArn()},
		conditions: map[string]interface{}{
			"Null":         map[string]interface{}{"aws:ResourceTag/" + IncidentIDTagKey: "false"},
			"BoolIfExists": map[string]interface{}{"ec2:Encrypted": "false"},
		},
		scopes: []scope{{[]string{snapshotArn()}, map[string]interface{}{
			"Null":         incidentRequested()["Null"],
			"BoolIfExists": map[string]interface{}{"ec2:Encrypted": "true"},
		}}},
		params: map[string]interface{}{
			"SourceSnapshotId.$": "$.SnapshotId",
			"SourceRegion.$":     "$.Region",
			"Encrypted":          true,
			"KmsKeyId":           b.settings.EvidenceKeyArn,
			"Description.$":      "States.Format('essential-ir evidence: incident {}, instance {}, volume {}, encrypted copy of {}', $.IncidentId, $.InstanceId, $.VolumeId, $.SnapshotId)",
			"TagSpecifications": []interface{}{map[string]interface{}{
				"ResourceType": "snapshot",
				"Tags":         b.evidenceTags([]interface{}{volumeTag, map[string]interface{}{"Key": SourceSnapshotTagKey, "Value.$": "$.SnapshotId"}}),
			}},
		},
		resultSelector: map[string]interface{}{"SnapshotId.$": "$.SnapshotId"},
		resultPath:     "$.Copy",
		onFailure:      failed,
	})
	copyTask.Next(b.pass("Keep The Encrypted Copy", map[string]interface{}{
		"VolumeId.$":         "$.VolumeId",
		"SnapshotId.$":       "$.Copy.SnapshotId",
		"SourceSnapshotId.$": "$.SnapshotId",
	}, ""))
	return b.choice("Is The Snapshot Encrypted?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Encrypted"), jsii.Bool(true)), tagVolume, nil).
		Otherwise(copyTask)
}

// verifySnapshot reads one snapshot to keep, completed by now: it must be
// encrypted and carry every evidence tag. An encrypted copy's unencrypted
// original is then deleted, and a read confirms it gone. Input:
// {"InstanceId", "IncidentId", "SnapshotId", "VolumeId", and
// "SourceSnapshotId" for a copy}; output: {"VolumeId", "SnapshotId", and
// "DeletedUnencryptedSnapshotId" for a copy}.
func (b *builder) verifySnapshot() sfn.IChainable {
	failed := b.stepFailed("Verify Snapshot")
	tag := func(key string) string {
		return fmt.Sprintf("$.Snapshots[0].Tags[?(@.Key == '%s')].Value", key)
	}
	read := b.call(sdkCall{
		name:      "Read The Snapshot To Keep",
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params:    map[string]interface{}{"SnapshotIds.$": "States.Array($.SnapshotId)"},
		resultSelector: map[string]interface{}{
			"State.$":       "$.Snapshots[0].State",
			"Encrypted.$":   "$.Snapshots[0].Encrypted",
			"StatusTag.$":   tag(b.settings.TagKey),
			"IncidentTag.$": tag(IncidentIDTagKey),
			"VolumeTag.$":   tag(VolumeIDTagKey),
		},
		resultPath: "$.SnapshotCheck",
		onFailure:  failed,
	})
	tagged := func(path, want string, literal bool) sfn.Condition {
		value := sfn.Condition_StringEqualsJsonPath(jsii.String(path+"[0]"), jsii.String(want))
		if literal {
			value = sfn.Condition_StringEquals(jsii.String(path+"[0]"), jsii.String(want))
		}
		return sfn.Condition_And(sfn.Condition_IsPresent(jsii.String(path+"[0]")), value)
	}
	verified := sfn.Condition_And(
		sfn.Condition_StringEquals(jsii.String("$.SnapshotCheck.State"), jsii.String("completed")),
		sfn.Condition_BooleanEquals(jsii.String("$.SnapshotCheck.Encrypted"), jsii.Bool(true)),
		tagged("$.SnapshotCheck.StatusTag", b.settings.TagValue, true),
		tagged("$.SnapshotCheck.IncidentTag", "$.IncidentId", false),
		tagged("$.SnapshotCheck.VolumeTag", "$.VolumeId", false),
	)

	copyDone := b.pass("Encrypted Copy Preserved", map[string]interface{}{
		"VolumeId.$":                     "$.VolumeId",
		"SnapshotId.$":                   "$.SnapshotId",
		"DeletedUnencryptedSnapshotId.$": "$.SourceSnapshotId",
	}, "")
	del := b.call(sdkCall{
		name:      "Delete Unencrypted Snapshot",
		service:   "ec2",
		action:    "deleteSnapshot",
		resources: []string{snapshotArn()},
		// Only a snapshot tagged with an incident ID and not an encrypted
		// copy the workflow made (those carry the source snapshot tag, and
		// the role can remove no tag): SAR, DeleteSnapshot: snapshot,
		// aws:ResourceTag/${TagKey}. Not encrypted: the SAR lists
		// ec2:Encrypted for the snapshot resource type but not in
		// DeleteSnapshot's row, so whether EC2 gives it here cannot be
		// settled offline; BoolIfExists refuses an encrypted snapshot where
		// EC2 gives the key and does not break the deletion where it does
		// not, and the tag conditions hold either way.
		conditions: map[string]interface{}{
			"Null": map[string]interface{}{
				"aws:ResourceTag/" + IncidentIDTagKey:     "false",
				"aws:ResourceTag/" + SourceSnapshotTagKey: "true",
			},
			"BoolIfExists": map[string]interface{}{"ec2:Encrypted": "false"},
		},
		params:    map[string]interface{}{"SnapshotId.$": "$.SourceSnapshotId"},
		onFailure: failed,
	})
	confirmDeleted := b.call(sdkCall{
		name:      "Confirm Unencrypted Snapshot Deleted",
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params: map[string]interface{}{"Filters": []interface{}{
			map[string]interface{}{"Name": "snapshot-id", "Values.$": "States.Array($.SourceSnapshotId)"},
		}},
		resultSelector: map[string]interface{}{"Remaining.$": "$.Snapshots[*].SnapshotId"},
		resultPath:     "$.DeleteCheck",
		onFailure:      failed,
	})
	deleted := b.choice("Is The Unencrypted Snapshot Gone?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.DeleteCheck.Remaining[0]")), copyDone, nil).
		Otherwise(b.notVerified("Unencrypted Snapshot Deletion Not Verified", "Containment.SnapshotNotDeleted",
			"unencrypted snapshot {} still exists after its encrypted copy {} was verified", "$.SourceSnapshotId", "$.SnapshotId"))
	keep := b.choice("Does It Replace An Unencrypted Snapshot?").
		When(sfn.Condition_IsPresent(jsii.String("$.SourceSnapshotId")), del.Next(confirmDeleted).Next(deleted), nil).
		Otherwise(b.pass("Encrypted Snapshot Preserved", map[string]interface{}{
			"VolumeId.$":   "$.VolumeId",
			"SnapshotId.$": "$.SnapshotId",
		}, ""))
	return read.Next(b.choice("Is The Snapshot To Keep Verified?").
		When(verified, keep, nil).
		Otherwise(b.notVerified("Snapshot To Keep Not Verified", "Containment.SnapshotNotVerified",
			"snapshot {} is {}, but it must be completed, encrypted and carry its evidence tags", "$.SnapshotId", "$.SnapshotCheck.State")))
}

// maxSnapshotWaitSeconds caps the wait between two reads of snapshots that
// are not complete: the wait doubles from SnapshotPollSeconds up to it, so
// a snapshot of a few minutes is seen complete within about twice its time,
// and a week of waiting (ExecutionTimeoutSeconds) costs about 680 reads.
// Each read of every snapshot of the instance is one loop of 9 history
// events (11 while the wait still doubles), whatever the number of volumes:
// a week of waiting is about 6,100 events, so an evidence execution stays
// within the 25,000 of an execution however long its snapshots and copies
// take.
const maxSnapshotWaitSeconds = 900

// waitForSnapshots reads every snapshot whose ID is listed at idsPath,
// together, until none is pending, waiting between reads from
// $.Options.SnapshotPollSeconds, doubled after each read up to
// maxSnapshotWaitSeconds; then goes to next. A snapshot in state error, or
// one that no longer exists, fails the step. what names the snapshots in
// state names.
func (b *builder) waitForSnapshots(what, idsPath string, failed, next sfn.IChainable) sfn.IChainable {
	start := b.pass("Start Waiting For "+what, map[string]interface{}{
		"Seconds.$": "$.Options.SnapshotPollSeconds",
		"Ids.$":     idsPath,
		"Count.$":   "States.ArrayLength(" + idsPath + ")",
	}, "$.Waiting")
	read := b.call(sdkCall{
		name:      "Read " + what,
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params:    map[string]interface{}{"SnapshotIds.$": "$.Waiting.Ids"},
		resultSelector: map[string]interface{}{
			"Seen.$":    "States.ArrayLength($.Snapshots)",
			"Pending.$": "$.Snapshots[?(@.State == 'pending')].SnapshotId",
			"Errored.$": "$.Snapshots[?(@.State == 'error')].SnapshotId",
		},
		resultPath: "$.WaitCheck",
		onFailure:  failed,
	})
	pause := sfn.NewWait(b.scope, jsii.String("Wait For "+what), &sfn.WaitProps{
		Time: sfn.WaitTime_SecondsPath(jsii.String("$.Waiting.Seconds")),
	})
	pause.Next(read)
	// The next wait, the rest of $.Waiting kept.
	waiting := func(name string, seconds interface{}) sfn.Pass {
		fields := map[string]interface{}{"Ids.$": "$.Waiting.Ids", "Count.$": "$.Waiting.Count"}
		selector(fields, "Seconds", seconds)
		p := b.pass(name, fields, "$.Waiting")
		p.Next(pause)
		return p
	}
	double := waiting("Wait Longer For "+what, "States.MathAdd($.Waiting.Seconds, $.Waiting.Seconds)")
	capped := waiting("Wait The Longest For "+what, maxSnapshotWaitSeconds)
	pending := sfn.Condition_IsPresent(jsii.String("$.WaitCheck.Pending[0]"))
	check := b.choice("Are "+what+" Complete?").
		When(sfn.Condition_IsPresent(jsii.String("$.WaitCheck.Errored[0]")), b.notVerified(what+" Errored", "Containment.SnapshotFailed",
			"snapshots {} ended in state error", "States.JsonToString($.WaitCheck.Errored)"), nil).
		When(sfn.Condition_Not(sfn.Condition_NumberEqualsJsonPath(jsii.String("$.WaitCheck.Seen"), jsii.String("$.Waiting.Count"))), b.notVerified(what+" Gone", "Containment.SnapshotsNotFound",
			"EC2 lists {} of the {} snapshots {} being waited for", "$.WaitCheck.Seen", "$.Waiting.Count", "States.JsonToString($.Waiting.Ids)"), nil).
		When(sfn.Condition_And(pending, sfn.Condition_NumberLessThanEquals(jsii.String("$.Waiting.Seconds"), jsii.Number(maxSnapshotWaitSeconds/2))), double, nil).
		When(sfn.Condition_And(pending, sfn.Condition_NumberLessThan(jsii.String("$.Waiting.Seconds"), jsii.Number(maxSnapshotWaitSeconds))), capped, nil).
		When(pending, pause, nil).
		Otherwise(next)
	// DescribeSnapshots with no IDs would list every snapshot the account
	// can see: with none to wait for, there is nothing to read.
	return start.Next(b.choice("Are There "+what+" To Wait For?").
		When(sfn.Condition_NumberEquals(jsii.String("$.Waiting.Count"), jsii.Number(0)), next, nil).
		Otherwise(read.Next(check)))
}
