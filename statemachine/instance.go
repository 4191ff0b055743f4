package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// containBranches are the steps of Contain Instance, run side by side the
// moment the instance is read: network isolation starts at once, and no
// other step can stop or delay it (a failing step is recorded, the others go
// on). Isolation is first in the list, so its failure is the first reported.
//
// The Auto Scaling detach runs beside isolation, not before it: an Auto
// Scaling group replaces an instance only after its health checks have
// failed for a while (ELB health checks need at least two failures 5 s apart;
// EC2 status checks do not see security groups), while the detach takes one
// call; DeleteOnTermination is turned off beside it too, so the volumes
// would survive a termination anyway.
func (b *builder) containBranches() []branch {
	branches := []branch{b.isolateNetwork(), b.detachFromAutoScaling(), b.tagInstance()}
	for _, p := range protections() {
		branches = append(branches, b.protect(p))
	}
	branches = append(branches,
		b.keepVolumes(),
		b.detachInstanceProfile(),
		b.deregisterFromTargetGroups(),
		b.deregisterFromClassicLoadBalancers(),
		b.recordPublicAddresses(),
		b.recordPreIncidentState(),
		b.startSnapshots(),
	)
	if extraContainBranches != nil {
		branches = append(branches, extraContainBranches(b)...)
	}
	return branches
}

// extraContainBranches adds steps to Contain Instance. It is nil except in
// tests that show a new step needs no edit outside its own branch.
var extraContainBranches func(b *builder) []branch

// summaryFields are the instance summary's fields that the branches
// declare: a read's fields at the top of the state, a containment step's
// under StepsPath.
func summaryFields(read, contain []branch) map[string]interface{} {
	fields := map[string]interface{}{}
	for _, br := range read {
		for _, f := range br.summary {
			fields[f+".$"] = "$." + f
		}
	}
	for _, br := range contain {
		for _, f := range br.summary {
			fields[f+".$"] = StepsPath + "." + br.key + "." + f
		}
	}
	return fields
}

// outputFields are the fields of the summary (at $.Summary) that the
// execution's output carries too, and the counts it gives instead of lists.
func outputFields(branches []branch) map[string]interface{} {
	fields := map[string]interface{}{}
	for _, br := range branches {
		for _, f := range br.output {
			fields[f+".$"] = "$.Summary." + f
		}
		for count, list := range br.counts {
			fields[count+".$"] = "States.ArrayLength($.Summary." + list + ")"
		}
	}
	return fields
}

// containInstance is the instance state machine: the work done for one
// instance, in one of two phases. Input: {"InstanceId", "Region",
// "IncidentId", "Options", "Phase", ...}. Phase Contain (or none):
//
//  1. Read The Instance: every read the containment needs, before any
//     change (a failure here changes nothing);
//  2. its VPC's containment groups must be ready; an instance already under
//     investigation keeps its first incident ID;
//  3. Contain Instance: every step side by side (containBranches), each
//     recorded done or failed;
//  4. the console screenshot (best effort), then the summary, written to
//     the evidence bucket. The output is the compact summary, Outcome
//     CONTAINED; if any step failed, the execution fails naming every
//     failed step, after all the others were done.
//
// Phase PreserveEvidence secures the snapshots (preserveEvidence); phases
// RevokeCredentials and AttachDenyPolicies deny the credentials issued to
// a fleet's instances (revokeCredentials, attachDenyPolicies).
func (b *builder) containInstance() sfn.IChainable {
	// Every failure outcome ends the instance's execution FAILED, so the
	// console shows it red, with AWS's error and the cause naming the step.
	notContained := sfn.NewFail(b.scope, jsii.String("Instance Not Contained"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Error"),
		CausePath: jsii.String("$.Cause"),
	})
	// The cause of a failed read already names the step and the instance.
	readFailed := b.pass("Instance Not Read", map[string]interface{}{
		"InstanceId.$": "$.InstanceId",
		"Outcome":      "FAILED",
		"Error.$":      "$.Failure.Error",
		"Cause.$":      "States.Format('{} (nothing was changed on the instance)', $.Failure.Cause)",
	}, "")
	readFailed.Next(notContained)
	vpcFailed := b.vpcNotPrepared()
	vpcFailed.Next(notContained)

	read, contain := b.readBranches(), b.containBranches()
	phase := b.recordingPhase("Contain The Instance", "$.Contained", contain)
	// Each step records its own failure; the phase itself fails only if
	// Step Functions cannot run it.
	phase.AddCatch(b.pass("Containment Phase Failed", map[string]interface{}{
		"InstanceId.$": "$.InstanceId",
		"Outcome":      "FAILED",
		"Error.$":      "$.Failure.Error",
		"Cause.$":      "States.Format('Contain The Instance failed for instance {} as a whole, so which of its steps were done is unknown: {}', $.InstanceId, $.Failure.Cause)",
	}, "").Next(notContained), anyError())
	allContained := b.summarize(read, contain)
	someFailed := b.reportFailedSteps(notContained)
	phase.Next(b.captureScreenshot(b.choice("Was Every Step Done?").
		When(sfn.Condition_IsNotPresent(jsii.String(FailuresPath+"[0]")), allContained, nil).
		Otherwise(someFailed)))

	contained := b.readInstance(read, readFailed, b.checkInstance(vpcFailed, phase))
	phaseIs := func(name string) sfn.Condition {
		return sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.Phase")),
			sfn.Condition_StringEquals(jsii.String("$.Phase"), jsii.String(name)),
		)
	}
	return b.validateInstanceInput(b.choice("Contain Or Preserve Evidence?").
		When(phaseIs(EvidencePhase), b.preserveEvidence(), nil).
		When(phaseIs(RevokePhase), b.revokeCredentials(), nil).
		When(phaseIs(AttachPhase), b.attachDenyPolicies(), nil).
		Otherwise(contained))
}

// summaryKey is the evidence bucket key of an instance's containment
// summary, one per execution.
const summaryKey = "States.Format('{}/{}/containment-{}.json', $.IncidentId, $.InstanceId, $$.Execution.Name)"

// summarize builds the summary of an instance every step contained, from
// the branches' declarations, writes it to the evidence bucket, and ends
// the execution with its compact form: no per-volume lists, so a fleet's
// outputs stay small.
func (b *builder) summarize(read, contain []branch) sfn.IChainable {
	fields := summaryFields(read, contain)
	fields["InstanceId.$"] = "$.InstanceId"
	fields["Outcome"] = "CONTAINED"
	fields["IncidentId.$"] = "$.IncidentId"
	fields["ConsoleScreenshot.$"] = "$.Screenshot"
	summary := b.pass("Summarize Instance", fields, "$.Summary")

	compact := outputFields(append(append([]branch(nil), read...), contain...))
	compact["InstanceId.$"] = "$.InstanceId"
	compact["Outcome"] = "CONTAINED"
	compact["IncidentId.$"] = "$.IncidentId"
	compact["ConsoleScreenshot.$"] = "$.Summary.ConsoleScreenshot"
	compact["SummaryObject"] = map[string]interface{}{
		"Bucket":   b.settings.EvidenceBucket,
		"Key.$":    summaryKey,
		"Sha256.$": "$.SummaryObject.Sha256",
	}
	contained := b.pass("Instance Contained", compact, "")

	summaryFailed := b.pass("Summary Write Failed", map[string]interface{}{
		"InstanceId.$": "$.InstanceId",
		"Outcome":      "FAILED",
		"Error.$":      "$.Failure.Error",
		"Cause.$":      "States.Format('Write Containment Summary failed for instance {} (every containment step was done): {}', $.InstanceId, $.Failure.Cause)",
	}, "")
	summaryFailed.Next(sfn.NewFail(b.scope, jsii.String("Instance Summary Not Written"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Error"),
		CausePath: jsii.String("$.Cause"),
	}))
	write := b.writeEvidence("Write Containment Summary", summaryKey, "$.Summary",
		map[string]interface{}{"Sha256.$": "$.ChecksumSHA256"}, "$.SummaryObject", summaryFailed, "")
	summary.Next(write.put)
	write.then(contained)
	return summary
}

// reportFailedSteps ends the execution of an instance one or more of whose
// steps failed, once every other step was done: the steps' outcomes are
// written to the evidence bucket (best effort: the failure is reported
// either way), then the execution fails with the first failed step's AWS
// error and a cause that names every failed step and whether the network
// is isolated.
func (b *builder) reportFailedSteps(fail sfn.IChainable) sfn.IChainable {
	summary := b.pass("Summarize Failed Instance", map[string]interface{}{
		"InstanceId.$":        "$.InstanceId",
		"Outcome":             "FAILED",
		"IncidentId.$":        "$.IncidentId",
		"FailedSteps.$":       FailuresPath,
		"Steps.$":             StepsPath,
		"Metadata.$":          "$.Metadata",
		"ConsoleScreenshot.$": "$.Screenshot",
	}, "$.Summary")
	// The outcome the execution fails with; Record and SummaryObject say
	// where the evidence is.
	outcome := func(name, cause string) sfn.Pass {
		p := b.pass(name, map[string]interface{}{
			"InstanceId.$":  "$.InstanceId",
			"Outcome":       "FAILED",
			"Error.$":       FailuresPath + "[0].Error",
			"Cause.$":       cause,
			"FailedSteps.$": FailuresPath + "[*].Step",
			"Record.$":      StepsPath + ".Record.Record[*]",
			"SummaryObject": map[string]interface{}{
				"Bucket": b.settings.EvidenceBucket,
				"Key.$":  summaryKey,
			},
		}, "")
		p.Next(fail)
		return p
	}
	isolated := StepsPath + ".Network.IsolationGroupId"
	// One failed step keeps its own cause, which names it; several are
	// listed. The note says what the rest of the containment did.
	report := func(label, note string, args ...string) sfn.Choice {
		extra := ""
		for _, a := range args {
			extra += ", " + a
		}
		return b.choice("Did Several Steps Fail? ("+label+")").
			When(sfn.Condition_IsPresent(jsii.String(FailuresPath+"[1]")), outcome("Several Steps Failed ("+label+")",
				"States.Format('{} steps failed for instance {}: {}. "+note+"', States.ArrayLength("+FailuresPath+"), $.InstanceId, States.JsonToString("+FailuresPath+"[*].Cause)"+extra+")"), nil).
			Otherwise(outcome("One Step Failed ("+label+")",
				"States.Format('{} "+note+"', "+FailuresPath+"[0].Cause"+extra+")"))
	}
	network := b.choice("Is Its Network Isolated?").
		When(sfn.Condition_IsPresent(jsii.String(isolated)), report("Network Isolated",
			"Every other step was done: the network is isolated (every ENI on security group {} alone).", isolated), nil).
		Otherwise(report("Network Not Isolated", "Every other step was done, but not network isolation: see its cause."))
	notWritten := b.pass("Failed Summary Not Written", map[string]interface{}{
		"NotWritten": true,
		"Error.$":    "$.Failure.Error",
		"Cause.$":    "$.Failure.Cause",
	}, "$.SummaryObject")
	notWritten.Next(network)
	write := b.writeEvidence("Write Failed Containment Summary", summaryKey, "$.Summary",
		map[string]interface{}{"Sha256.$": "$.ChecksumSHA256"}, "$.SummaryObject", notWritten,
		"the instance already failed; the failure is reported whether or not its summary is stored.")
	summary.Next(write.put)
	write.then(network)
	return summary
}
