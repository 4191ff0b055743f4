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
// ExpectedSnapshotCount; then secures each (secureSnapshot: complete,
// encrypted, tagged; an unencrypted one copied encrypted and deleted only
// once the copy is verified). Any failure ends the execution FAILED, the
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

	each := sfn.NewMap(b.scope, jsii.String("Secure Each Snapshot"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Found.Snapshots"),
		MaxConcurrency: jsii.Number(snapshotConcurrency),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":  "$.InstanceId",
			"IncidentId.$":  "$.IncidentId",
			"Region.$":      "$.Region",
			"SnapshotId.$":  "$$.Map.Item.Value.SnapshotId",
			"VolumeId.$":    "$$.Map.Item.Value.VolumeId",
			"Encrypted.$":   "$$.Map.Item.Value.Encrypted",
			"ListedState.$": "$$.Map.Item.Value.State",
			"Options.$":     "$.Options",
		},
		ResultPath: jsii.String("$.Snapshots"),
	})
	each.ItemProcessor(b.secureSnapshot(), nil)
	each.AddCatch(failed, anyError())

	// The secured snapshots are the output; each also carries the tags
	// that name its incident, instance and volume (and, for a copy, the
	// snapshot it replaced), so the evidence describes itself.
	preserved := b.pass("Evidence Preserved", map[string]interface{}{
		"InstanceId.$":    "$.InstanceId",
		"Outcome":         "PRESERVED",
		"SnapshotCount.$": "States.ArrayLength($.Snapshots)",
		"Snapshots.$":     "$.Snapshots",
	}, "")
	secure := each.Next(preserved)

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
