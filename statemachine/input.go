package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// maxListedIDs bounds the IDs of one input, duplicates included: every ID
// is checked (six history events for each ten) before duplicates are
// removed, and the started execution's history must keep room for the
// instances themselves (Documentation/performance.md).
func (b *builder) maxListedIDs() int { return b.settings.MaxInstances * 3 / 2 }

// SampleInput is an execution input a responder can start from.
const SampleInput = `{"InstanceIds": ["i-0123456789abcdef0"], "Region": "us-east-1"}`

// rejectInput is a Fail state for input the workflow refuses before it
// touches anything.
func (b *builder) rejectInput(name, cause string) sfn.Fail {
	return sfn.NewFail(b.scope, jsii.String(name), &sfn.FailProps{
		Error: jsii.String("InvalidInput"),
		Cause: jsii.String(cause + " Nothing was changed. Example input: " + SampleInput),
	})
}

// validateInput checks the input's shape, then normalises it:
// {"InstanceIds": unique IDs, "InstanceCount", "Region", "IncidentId"}.
// The incident ID is the execution name, so the console, the tags and the
// snapshots all use one identifier. Every instance must then exist
// (findInstances) before the first change.
func (b *builder) validateInput(next sfn.IChainable) sfn.IChainable {
	region := awscdk.Aws_REGION()
	wrongRegion := sfn.NewFail(b.scope, jsii.String("Region Does Not Match This Deployment"), &sfn.FailProps{
		Error: jsii.String("WrongRegion"),
		CausePath: jsii.String(fmt.Sprintf("States.Format('This state machine is deployed in %s and acts only there; the input asks for {}. "+
			"Nothing was changed. Start the essential-ir state machine deployed in {} instead.', $.Region, $.Region)", *region)),
	})
	// Every element is checked before duplicates are removed; the count
	// first bounds that check.
	count := b.pass("Count The IDs", map[string]interface{}{
		"IdCount.$":   "States.ArrayLength($.InstanceIds)",
		"IdsInTens.$": fmt.Sprintf("States.ArrayPartition($.InstanceIds, %d)", idsPerCheck),
	}, "$.Given")
	normalise := b.pass("Normalise Input", map[string]interface{}{
		"InstanceIds.$":   "States.ArrayUnique($.InstanceIds)",
		"InstanceCount.$": "States.ArrayLength(States.ArrayUnique($.InstanceIds))",
		// Lookup holds the batches to describe, then (Find Every Instance)
		// what was found in them: the batches leave the state once used.
		"Lookup": map[string]interface{}{
			"Batches.$": "States.ArrayPartition(States.ArrayUnique($.InstanceIds), 10)",
		},
		"Region.$":     "$.Region",
		"IncidentId.$": "$$.Execution.Name",
	}, "")
	tooMany := b.choice("Are There Too Many Instances?").
		When(sfn.Condition_NumberGreaterThan(jsii.String("$.InstanceCount"), jsii.Number(float64(b.settings.MaxInstances))),
			b.rejectInput("Too Many Instances", fmt.Sprintf("One execution contains at most %d instances (the 25,000-event history limit of a Step Functions execution); split the list across several executions, started at the same time.", b.settings.MaxInstances)), nil).
		Otherwise(next)
	return b.choice("Is The Input Valid?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.InstanceIds")),
			b.rejectInput("InstanceIds Is Missing", "The input has no InstanceIds list."), nil).
		When(sfn.Condition_Or(
			sfn.Condition_IsString(jsii.String("$.InstanceIds")),
			sfn.Condition_IsNumeric(jsii.String("$.InstanceIds")),
			sfn.Condition_IsBoolean(jsii.String("$.InstanceIds")),
		), b.rejectInput("InstanceIds Is Not A List", `InstanceIds must be a JSON list, even for one instance or when pasting several: ["i-0123456789abcdef0", "i-0fedcba9876543210"], not a single string or comma-separated text.`), nil).
		When(sfn.Condition_Or(
			sfn.Condition_IsNotPresent(jsii.String("$.InstanceIds[0]")),
			sfn.Condition_IsNotString(jsii.String("$.InstanceIds[0]")),
		), b.rejectInput("InstanceIds Is Not A List Of IDs", "InstanceIds must be a non-empty list of EC2 instance IDs (strings such as i-0123456789abcdef0)."), nil).
		When(sfn.Condition_Or(
			sfn.Condition_IsNotPresent(jsii.String("$.Region")),
			sfn.Condition_IsNotString(jsii.String("$.Region")),
			sfn.Condition_StringEquals(jsii.String("$.Region"), jsii.String("")),
		), b.rejectInput("Region Is Missing", "The input has no Region: give the region of the instances, which must be this deployment's."), nil).
		When(sfn.Condition_Not(sfn.Condition_StringEquals(jsii.String("$.Region"), region)), wrongRegion, nil).
		Otherwise(count.Next(b.choice("Are There Too Many IDs?").
			When(sfn.Condition_NumberGreaterThan(jsii.String("$.Given.IdCount"), jsii.Number(float64(b.maxListedIDs()))),
				b.rejectInput("Too Many IDs", fmt.Sprintf("The list has more than %d IDs, duplicates included; one execution contains at most %d instances. Split the list across several executions, started at the same time.", b.maxListedIDs(), b.settings.MaxInstances)), nil).
			Otherwise(b.checkEveryID(normalise.Next(tooMany)))))
}

// idsPerCheck is how many IDs one Choice state checks: the list is checked
// ten at a time, so a valid list costs about 0.6 history events per ID
// instead of six, leaving the started execution's history to the
// instances themselves.
const idsPerCheck = 10

// checkEveryID refuses, before anything is read or changed, a list in which
// any element is not a string shaped like an instance ID (a number, null,
// a nested list, a name, an upper-case ID): only element 0 is checked by
// the shape Choice, and such an element would otherwise reach EC2 as the
// text "None" or "42", or fail the SDK's serialisation. The IDs are checked
// ten at a time, each ten by one Choice; a refused ten is named in the
// cause with its position, so the responder sees the wrong ID among them.
func (b *builder) checkEveryID(next sfn.IChainable) sfn.IChainable {
	each := sfn.NewMap(b.scope, jsii.String("Check Every ID"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Given.IdsInTens"),
		ItemSelector: &map[string]interface{}{
			"Ids.$":  "$$.Map.Item.Value",
			"Tens.$": "$$.Map.Item.Index",
		},
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	notAnID := sfn.NewFail(b.scope, jsii.String("Not An Instance ID"), &sfn.FailProps{
		Error: jsii.String("InvalidInput"),
		CausePath: jsii.String(fmt.Sprintf("States.Format('InstanceIds holds something that is not an EC2 instance ID in this group of up to %d of its IDs (group {} of the list, counting from 0): {}. "+
			"InstanceIds must list instance IDs, each i- followed by 8 or 17 lower-case hexadecimal digits. Check every ID. Nothing was changed.', $.Tens, States.JsonToString($.Ids))", idsPerCheck)),
	})
	// Each position is either past the end of the last ten, or a string
	// that starts with i-.
	var shaped []sfn.Condition
	for i := 0; i < idsPerCheck; i++ {
		id := fmt.Sprintf("$.Ids[%d]", i)
		shaped = append(shaped, sfn.Condition_Or(
			sfn.Condition_IsNotPresent(jsii.String(id)),
			sfn.Condition_And(
				sfn.Condition_IsString(jsii.String(id)),
				sfn.Condition_StringMatches(jsii.String(id), jsii.String("i-*")),
			),
		))
	}
	each.ItemProcessor(b.choice("Are They Instance IDs?").
		When(sfn.Condition_And(shaped...), b.succeed("Shaped Like Instance IDs"), nil).
		Otherwise(notAnID), nil)
	each.AddCatch(sfn.NewFail(b.scope, jsii.String("An ID Is Not An Instance ID"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	}), anyError())
	return each.Next(next)
}

// findInstances reads every requested instance in one DescribeInstances call
// before anything is changed. EC2 rejects the whole call if any ID is
// malformed (InvalidInstanceID.Malformed) or does not exist
// (InvalidInstanceID.NotFound), so a mistyped ID fails the execution here,
// with EC2's message naming the ID. Terminated instances are refused too.
func (b *builder) findInstances(next sfn.IChainable) sfn.IChainable {
	notFound := sfn.NewFail(b.scope, jsii.String("Instances Not Found"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Nothing was changed: EC2 in {} did not find every one of the instances {}. Check every ID and the Region. EC2 said: {}', " +
			"$.Region, States.JsonToString($.InstanceIds), $.Failure.Cause)"),
	})
	refused := sfn.NewFail(b.scope, jsii.String("Instances Could Not Be Described"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Nothing was changed: EC2 in {} refused to describe the instances {}, so none of them was contained. " +
			"Check the permissions of the state machine role and start the execution again. EC2 said: {}', " +
			"$.Region, States.JsonToString($.InstanceIds), $.Failure.Cause)"),
	})
	// EC2 refuses the whole call for one malformed or unknown ID.
	why := b.choice("Were The IDs Wrong?").
		When(causeMentions("$.Failure.Cause", "InvalidInstanceID", "does not exist", "Invalid id"), notFound, nil).
		Otherwise(refused)
	reservations := "$.Reservations[*].Instances"
	// A DescribeInstances response is a few KiB per instance and the whole
	// response counts against the 256 KiB payload limit (an overflow ends
	// the execution, uncatchable), so instances are described in batches
	// of 10: a batch of 20 instances with 30 volumes each measured 189,980
	// bytes, too close to the limit for instances with more ENIs or tags.
	describe := b.call(sdkCall{
		name:      "Find Instances",
		service:   "ec2",
		action:    "describeInstances",
		resources: []string{"*"},
		params:    map[string]interface{}{"InstanceIds.$": "$.InstanceIds"},
		resultSelector: map[string]interface{}{
			"Terminated.$":   reservations + "[?(@.State.Name == 'terminated')].InstanceId",
			"ShuttingDown.$": reservations + "[?(@.State.Name == 'shutting-down')].InstanceId",
			"VpcIds.$":       reservations + "[*].VpcId",
			"Profiles.$":     reservations + "[*].IamInstanceProfile.Arn",
		},
		resultPath: "$",
		onFailure: sfn.NewFail(b.scope, jsii.String("Instance Batch Not Found"), &sfn.FailProps{
			ErrorPath: jsii.String("$.Failure.Error"),
			CausePath: jsii.String("$.Failure.Cause"),
		}),
	})
	batches := sfn.NewMap(b.scope, jsii.String("Find Every Instance"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Lookup.Batches"),
		MaxConcurrency: jsii.Number(5),
		ItemSelector:   &map[string]interface{}{"InstanceIds.$": "$$.Map.Item.Value"},
		ResultSelector: &map[string]interface{}{
			"Terminated.$":   "$[*].Terminated[*]",
			"ShuttingDown.$": "$[*].ShuttingDown[*]",
			"VpcIds.$":       "States.ArrayUnique($[*].VpcIds[*])",
			// For credential revocation (revocation.go).
			"InstanceProfiles.$": "States.ArrayUnique($[*].Profiles[*])",
		},
		ResultPath: jsii.String("$.Lookup"),
	})
	batches.ItemProcessor(describe, nil)
	batches.AddCatch(why, anyError())
	find := batches
	gone := sfn.NewFail(b.scope, jsii.String("Instances Already Terminated"), &sfn.FailProps{
		Error:     jsii.String("InstanceTerminated"),
		CausePath: jsii.String("States.Format('Nothing was changed: these instances are terminated or shutting down, so there is nothing left to contain (their volumes may survive if DeleteOnTermination was off): {} {}', States.JsonToString($.Lookup.Terminated), States.JsonToString($.Lookup.ShuttingDown))"),
	})
	return find.Next(b.choice("Is Every Instance Still There?").
		When(sfn.Condition_Or(
			sfn.Condition_IsPresent(jsii.String("$.Lookup.Terminated[0]")),
			sfn.Condition_IsPresent(jsii.String("$.Lookup.ShuttingDown[0]")),
		), gone, nil).
		Otherwise(next))
}
