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
		resources: []string{arn("ec2", "instance/*"), arn("ec2", "volume/*"), snapshotArn()},
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
	b.access = append(b.access, Access{
		Action:    "ec2:CreateTags",
		Resources: []string{snapshotArn()},
		Conditions: map[string]interface{}{
			"StringEquals": map[string]interface{}{"ec2:CreateAction": []string{"CreateSnapshots", "CopySnapshot"}},
		},
	})
	// EBS uses the evidence key on the workflow's behalf when it copies a
	// snapshot encrypted (EBS encryption, "Permissions for IAM users"); the
	// grant it creates is only for AWS resources.
	for _, action := range []string{"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"} {
		b.access = append(b.access, Access{Action: action, Resources: []string{b.settings.EvidenceKeyArn}})
	}
	b.access = append(b.access, Access{
		Action:     "kms:CreateGrant",
		Resources:  []string{b.settings.EvidenceKeyArn},
		Conditions: map[string]interface{}{"Bool": map[string]interface{}{"kms:GrantIsForAWSResource": "true"}},
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

// evidenceTags are the tags of every evidence snapshot; extra adds more.
func (b *builder) evidenceTags(extra []interface{}) []interface{} {
	tags := []interface{}{
		map[string]interface{}{"Key": b.settings.TagKey, "Value": b.settings.TagValue},
		map[string]interface{}{"Key": IncidentIDTagKey, "Value.$": "$.IncidentId"},
		map[string]interface{}{"Key": InstanceIDTagKey, "Value.$": "$.InstanceId"},
	}
	return append(tags, extra...)
}

// secureSnapshot handles one snapshot. Input: {"InstanceId", "IncidentId",
// "Region", "SnapshotId", "VolumeId", "Encrypted", "ListedState"}, where
// ListedState is the snapshot's state when the evidence phase listed it.
func (b *builder) secureSnapshot() sfn.IChainable {
	failed := b.stepFailed("Secure Snapshot")
	volumeTag := map[string]interface{}{"Key": VolumeIDTagKey, "Value.$": "$.VolumeId"}

	// Encrypted already: add the volume tag, wait, verify.
	tagVolume := b.call(sdkCall{
		name:      "Tag Snapshot With Volume",
		service:   "ec2",
		action:    "createTags",
		resources: []string{snapshotArn()},
		params: map[string]interface{}{
			"Resources.$": "States.Array($.SnapshotId)",
			"Tags":        []interface{}{volumeTag},
		},
		onFailure: failed,
	})
	encryptedDone := b.pass("Encrypted Snapshot Preserved", map[string]interface{}{
		"VolumeId.$":   "$.VolumeId",
		"SnapshotId.$": "$.SnapshotId",
	}, "")
	waitEncrypted := b.waitForSnapshot("Encrypted Snapshot", "$.SnapshotId", failed, encryptedDone)

	// Unencrypted: wait, copy encrypted, wait, verify, delete the original.
	copyDone := b.pass("Encrypted Copy Preserved", map[string]interface{}{
		"VolumeId.$":                     "$.VolumeId",
		"SnapshotId.$":                   "$.Copy.SnapshotId",
		"DeletedUnencryptedSnapshotId.$": "$.SnapshotId",
	}, "")
	del := b.call(sdkCall{
		name:      "Delete Unencrypted Snapshot",
		service:   "ec2",
		action:    "deleteSnapshot",
		resources: []string{snapshotArn()},
		// Only snapshots this workflow tagged with an incident ID can be
		// deleted (the investigation tag key is a deploy-time parameter, and
		// an IAM condition key cannot be one without a custom resource).
		conditions: map[string]interface{}{"Null": map[string]interface{}{"aws:ResourceTag/" + IncidentIDTagKey: "false"}},
		params:     map[string]interface{}{"SnapshotId.$": "$.SnapshotId"},
		onFailure:  failed,
	})
	confirmDeleted := b.call(sdkCall{
		name:      "Confirm Unencrypted Snapshot Deleted",
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params: map[string]interface{}{"Filters": []interface{}{
			map[string]interface{}{"Name": "snapshot-id", "Values.$": "States.Array($.SnapshotId)"},
		}},
		resultSelector: map[string]interface{}{"Remaining.$": "$.Snapshots[*].SnapshotId"},
		resultPath:     "$.DeleteCheck",
		onFailure:      failed,
	})
	deleted := b.choice("Is The Unencrypted Snapshot Gone?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.DeleteCheck.Remaining[0]")), copyDone, nil).
		Otherwise(b.notVerified("Unencrypted Snapshot Deletion Not Verified", "Containment.SnapshotNotDeleted",
			"unencrypted snapshot {} still exists after its encrypted copy {} was verified", "$.SnapshotId", "$.Copy.SnapshotId"))
	waitCopy := b.waitForSnapshot("Encrypted Copy", "$.Copy.SnapshotId", failed, del.Next(confirmDeleted).Next(deleted))
	copyTask := b.call(sdkCall{
		name:      "Copy Snapshot With Encryption",
		service:   "ec2",
		action:    "copySnapshot",
		resources: []string{snapshotArn()},
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
	copyThenWait := copyTask.Next(waitCopy)
	waitOriginal := b.waitForSnapshot("Unencrypted Snapshot", "$.SnapshotId", failed, copyThenWait)
	// A snapshot the evidence phase's listing showed completed (and, by
	// the listing's filters, tagged) is copied without reading it again.
	listedComplete := b.choice("Was It Listed Completed?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.ListedState")),
			sfn.Condition_StringEquals(jsii.String("$.ListedState"), jsii.String("completed")),
		), copyThenWait, nil).
		Otherwise(waitOriginal)

	return b.choice("Is The Snapshot Encrypted?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Encrypted"), jsii.Bool(true)), tagVolume.Next(waitEncrypted), nil).
		Otherwise(listedComplete)
}

// waitForSnapshot polls the snapshot at idPath until it is completed, then
// goes to next if it is encrypted where required and carries the evidence
// tags; "error" fails the step. what names the snapshot in state names.
func (b *builder) waitForSnapshot(what, idPath string, failed sfn.IChainable, next sfn.IChainable) sfn.IChainable {
	tag := func(key string) string {
		return fmt.Sprintf("$.Snapshots[0].Tags[?(@.Key == '%s')].Value", key)
	}
	read := b.call(sdkCall{
		name:      "Read " + what,
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params:    map[string]interface{}{"SnapshotIds.$": "States.Array(" + idPath + ")"},
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
	pause := sfn.NewWait(b.scope, jsii.String("Wait For "+what), &sfn.WaitProps{
		Time: sfn.WaitTime_SecondsPath(jsii.String("$.Options.SnapshotPollSeconds")),
	})
	complete := sfn.Condition_StringEquals(jsii.String("$.SnapshotCheck.State"), jsii.String("completed"))
	verified := sfn.Condition_And(
		sfn.Condition_IsPresent(jsii.String("$.SnapshotCheck.StatusTag[0]")),
		sfn.Condition_StringEquals(jsii.String("$.SnapshotCheck.StatusTag[0]"), jsii.String(b.settings.TagValue)),
		sfn.Condition_IsPresent(jsii.String("$.SnapshotCheck.IncidentTag[0]")),
		sfn.Condition_StringEqualsJsonPath(jsii.String("$.SnapshotCheck.IncidentTag[0]"), jsii.String("$.IncidentId")),
	)
	if what != "Unencrypted Snapshot" {
		verified = sfn.Condition_And(verified,
			sfn.Condition_BooleanEquals(jsii.String("$.SnapshotCheck.Encrypted"), jsii.Bool(true)),
			sfn.Condition_IsPresent(jsii.String("$.SnapshotCheck.VolumeTag[0]")),
			sfn.Condition_StringEqualsJsonPath(jsii.String("$.SnapshotCheck.VolumeTag[0]"), jsii.String("$.VolumeId")),
		)
	}
	check := b.choice("Is The "+what+" Complete?").
		When(sfn.Condition_And(complete, verified), next, nil).
		When(complete, b.notVerified(what+" Not Verified", "Containment.SnapshotNotVerified",
			"snapshot {} completed but is not encrypted or lacks its evidence tags", idPath), nil).
		When(sfn.Condition_StringEquals(jsii.String("$.SnapshotCheck.State"), jsii.String("error")),
			b.notVerified(what+" Errored", "Containment.SnapshotFailed", "snapshot {} ended in state error", idPath), nil).
		Otherwise(pause.Next(read))
	return read.Next(check)
}
