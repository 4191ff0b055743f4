package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

const (
	// ContainPhase is the Phase of an instance execution that contains the
	// instance and starts its snapshots (the default).
	ContainPhase = "Contain"
	// EvidencePhase is the Phase of an instance execution that preserves
	// the evidence of an instance already contained: it secures the
	// snapshots its containment started.
	EvidencePhase = "PreserveEvidence"
	// listingAttempts bounds the reads of an instance's snapshots while
	// EC2 does not yet list every snapshot its containment started (EC2's
	// describe calls are eventually consistent).
	listingAttempts = 5
)

// preserveEvidence is the evidence phase of one instance, run in an
// execution of its own once every instance of the fleet is contained, so no
// instance waits for another's snapshots before it is isolated. Input:
// {"InstanceId", "Region", "IncidentId", "Options", "Phase":
// EvidencePhase, "ExpectedSnapshotCount"}; output: {"InstanceId",
// "Outcome": "PRESERVED", "SnapshotCount", "Snapshots"}.
//
// It finds the snapshots the containment phase started, by their
// description and tags, waiting while EC2 lists fewer than
// ExpectedSnapshotCount; waits for them all (waitForSnapshots), copies each
// unencrypted one encrypted (copyIfUnencrypted), waits for the copies, and
// verifies every snapshot it keeps: complete, encrypted, tagged; an
// unencrypted original is deleted only once its copy is verified
// (verifySnapshot). Any failure ends the execution FAILED, the
// cause naming the step and the instance.
func (b *builder) preserveEvidence() sfn.IChainable {
	failed := b.stepFailed("Preserve Evidence")
	find := b.call(sdkCall{
		name:      "Find Its Evidence Snapshots",
		service:   "ec2",
		action:    "describeSnapshots",
		resources: []string{"*"},
		params: evidenceSnapshotsOf(
			map[string]interface{}{"Name": "description", "Values.$": "States.Array(" + snapshotDescription + ")"},
			// Listed, a snapshot is verified to carry every evidence tag.
			map[string]interface{}{"Name": "tag:" + b.settings.TagKey, "Values": []interface{}{b.settings.TagValue}},
		),
		resultSelector: map[string]interface{}{
			"Snapshots.$": "$.Snapshots",
			"Count.$":     "States.ArrayLength($.Snapshots)",
		},
		resultPath: "$.Found",
		onFailure:  failed,
	})

	// Every snapshot of the instance is waited for together, then each
	// unencrypted one copied, then the copies waited for together, then
	// each kept snapshot verified (and its unencrypted original deleted):
	// the waits cost history events per read, not per snapshot.
	snapshotItem := func(item string) map[string]interface{} {
		return map[string]interface{}{
			"InstanceId.$": "$.InstanceId",
			"IncidentId.$": "$.IncidentId",
			"Region.$":     "$.Region",
			"SnapshotId.$": item + ".SnapshotId",
			"VolumeId.$":   item + ".VolumeId",
		}
	}
	copyItem := snapshotItem("$$.Map.Item.Value")
	copyItem["Encrypted.$"] = "$$.Map.Item.Value.Encrypted"
	copyEach := sfn.NewMap(b.scope, jsii.String("Copy Each Unencrypted Snapshot"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Found.Snapshots"),
		MaxConcurrency: jsii.Number(snapshotConcurrency),
		ItemSelector:   &copyItem,
		ResultPath:     jsii.String("$.Keep"),
	})
	copyEach.ItemProcessor(b.copyIfUnencrypted(), nil)
	copyEach.AddCatch(failed, anyError())

	verifyItem := snapshotItem("$$.Map.Item.Value")
	verifyItem["Item.$"] = "$$.Map.Item.Value"
	verifyEach := sfn.NewMap(b.scope, jsii.String("Verify Each Snapshot To Keep"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Keep"),
		MaxConcurrency: jsii.Number(snapshotConcurrency),
		ItemSelector:   &verifyItem,
		ResultPath:     jsii.String("$.Snapshots"),
	})
	// A copy's item names the unencrypted snapshot it replaces.
	verify := b.verifySnapshot()
	verifyEach.ItemProcessor(b.choice("Is It A Copy?").
		When(sfn.Condition_IsPresent(jsii.String("$.Item.SourceSnapshotId")), b.pass("Name The Snapshot It Replaces", map[string]interface{}{
			"InstanceId.$":       "$.InstanceId",
			"IncidentId.$":       "$.IncidentId",
			"SnapshotId.$":       "$.SnapshotId",
			"VolumeId.$":         "$.VolumeId",
			"SourceSnapshotId.$": "$.Item.SourceSnapshotId",
		}, "").Next(verify), nil).
		Otherwise(b.pass("No Snapshot To Replace", map[string]interface{}{
			"InstanceId.$": "$.InstanceId",
			"IncidentId.$": "$.IncidentId",
			"SnapshotId.$": "$.SnapshotId",
			"VolumeId.$":   "$.VolumeId",
		}, "").Next(verify)), nil)
	verifyEach.AddCatch(failed, anyError())

	// The secured snapshots are the output; each also carries the tags
	// that name its incident, instance and volume (and, for a copy, the
	// snapshot it replaced), so the evidence describes itself.
	preserved := b.pass("Evidence Preserved", map[string]interface{}{
		"InstanceId.$":    "$.InstanceId",
		"Outcome":         "PRESERVED",
		"SnapshotCount.$": "States.ArrayLength($.Snapshots)",
		"Snapshots.$":     "$.Snapshots",
	}, "")
	secure := b.waitForSnapshots("Its Snapshots", "$.Found.Snapshots[*].SnapshotId", failed,
		copyEach.Next(b.waitForSnapshots("The Snapshots To Keep", "$.Keep[*].SnapshotId", failed,
			verifyEach.Next(preserved))))

	firstListing := b.pass("Count The Listings", map[string]interface{}{"Attempts": 1}, "$.Listing")
	nextListing := b.pass("Count Another Listing", map[string]interface{}{"Attempts.$": "States.MathAdd($.Listing.Attempts, 1)"}, "$.Listing")
	pause := sfn.NewWait(b.scope, jsii.String("Wait For Its Snapshots To Be Listed"), &sfn.WaitProps{
		Time: sfn.WaitTime_SecondsPath(jsii.String("$.Options.SnapshotPollSeconds")),
	})
	listed := b.choice("Are All Its Snapshots Listed?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.ExpectedSnapshotCount")), secure, nil).
		When(sfn.Condition_NumberGreaterThanEqualsJsonPath(jsii.String("$.Found.Count"), jsii.String("$.ExpectedSnapshotCount")), secure, nil).
		When(sfn.Condition_NumberLessThan(jsii.String("$.Listing.Attempts"), jsii.Number(listingAttempts)), pause.Next(nextListing).Next(find), nil).
		Otherwise(b.notVerified("Evidence Snapshots Not Listed", "Containment.SnapshotsNotFound",
			"EC2 lists {} of the {} snapshots its containment started", "$.Found.Count", "$.ExpectedSnapshotCount"))
	find.Next(listed)
	return firstListing.Next(find)
}
