package statemachine

import (
	"fmt"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// IncidentIDCharacters are the characters of an incident ID: it becomes
// the first part of every evidence object's key, a tag value and part of
// each snapshot's description, so it may hold no "/" (another prefix of the
// bucket), no space and nothing a tag or a filter would read otherwise.
const IncidentIDCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

// hexDigits are the characters of an instance ID after "i-".
const hexDigits = "0123456789abcdef"

// startedByField links an execution to the execution that started it in
// the console (Step Functions Developer Guide, "Start a new execution from
// a Task state"): the fleet sets it, a direct start may leave it out.
const startedByField = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"

// optionFields are the fields of the instance input's Options.
var optionFields = []string{"DisassociateElasticIps", "RevokeCredentials", "SnapshotPollSeconds"}

// MaxSnapshotPollSeconds bounds Options.SnapshotPollSeconds, as the
// SnapshotPollSeconds stack parameter does.
const MaxSnapshotPollSeconds = 3600

// inputCheckPath is where the instance state machine keeps what it read of
// its input to check it; the check discards it.
const inputCheckPath = "$.InputCheck"

// validateInstanceInput refuses, before any call to AWS, an input of the
// instance state machine that the fleet state machine would never send:
// the instance state machine trusts nothing of it. Every field is checked:
// InstanceId ("i-" then lower-case hexadecimal digits; EC2 checks their
// count at the first read, before any change, as ASL has no string length),
// Region (this deployment's), IncidentId and FleetExecutionName
// (IncidentIDCharacters only), Phase (ContainPhase or EvidencePhase),
// Options (RevokeCredentials and DisassociateElasticIps JSON booleans,
// SnapshotPollSeconds a number from 1 to MaxSnapshotPollSeconds),
// UnpreparedVpcs (a list), the phase's own fields (TargetGroups and
// ClassicLoadBalancers objects; ExpectedSnapshotCount a number from 0), and
// no key that is not one of those, in the input or in Options. A refused
// input fails the execution with error InvalidInput and a cause naming the
// field; nothing was read or changed.
func (b *builder) validateInstanceInput(next sfn.IChainable) sfn.IChainable {
	region := awscdk.Aws_REGION()
	refusals := map[string]int{}
	refuse := func(field, why string) sfn.Fail {
		// A field refused for two reasons has two Fail states.
		refusals[field]++
		name := "Instance Input Refused: " + field
		if n := refusals[field]; n > 1 {
			name += fmt.Sprintf(" (%d)", n)
		}
		return sfn.NewFail(b.scope, jsii.String(name), &sfn.FailProps{
			Error: jsii.String("InvalidInput"),
			Cause: jsii.String(fmt.Sprintf("The input of this state machine is refused: %s %s. Nothing was read or changed. "+
				"This state machine contains one instance for the essential-ir state machine, which starts it; start that one.", field, why)),
		})
	}
	present := func(path string) sfn.Condition { return sfn.Condition_IsPresent(jsii.String(path)) }
	absent := func(path string) sfn.Condition { return sfn.Condition_IsNotPresent(jsii.String(path)) }
	str := func(path string) sfn.Condition {
		return sfn.Condition_And(present(path), sfn.Condition_IsString(jsii.String(path)))
	}
	nonEmpty := func(path string) sfn.Condition {
		return sfn.Condition_And(str(path), sfn.Condition_Not(sfn.Condition_StringEquals(jsii.String(path), jsii.String(""))))
	}
	object := func(path string) sfn.Condition {
		return sfn.Condition_And(present(path),
			sfn.Condition_Not(sfn.Condition_IsString(jsii.String(path))), sfn.Condition_Not(sfn.Condition_IsNumeric(jsii.String(path))),
			sfn.Condition_Not(sfn.Condition_IsBoolean(jsii.String(path))), sfn.Condition_Not(sfn.Condition_IsNull(jsii.String(path))))
	}
	number := func(path string, min, max float64) sfn.Condition {
		c := []sfn.Condition{present(path), sfn.Condition_IsNumeric(jsii.String(path)),
			sfn.Condition_NumberGreaterThanEquals(jsii.String(path), jsii.Number(min))}
		if max > 0 {
			c = append(c, sfn.Condition_NumberLessThanEquals(jsii.String(path), jsii.Number(max)))
		}
		return sfn.Condition_And(c...)
	}
	boolean := func(path string) sfn.Condition {
		return sfn.Condition_And(present(path), sfn.Condition_IsBoolean(jsii.String(path)))
	}
	isPhase := func(phase string) sfn.Condition {
		return sfn.Condition_StringEquals(jsii.String("$.Phase"), jsii.String(phase))
	}

	// The types and values of the fields, each refused on its own.
	shape := b.choice("Is Each Field Of Its Input Valid?").
		When(sfn.Condition_Not(sfn.Condition_And(str("$.InstanceId"), sfn.Condition_StringMatches(jsii.String("$.InstanceId"), jsii.String("i-*")),
			sfn.Condition_Not(sfn.Condition_StringEquals(jsii.String("$.InstanceId"), jsii.String("i-"))))),
			refuse("InstanceId", "must be an EC2 instance ID, i- followed by lower-case hexadecimal digits"), nil).
		When(sfn.Condition_Not(sfn.Condition_And(str("$.Region"), sfn.Condition_StringEquals(jsii.String("$.Region"), region))),
			refuse("Region", "must be "+*region+", the region of this deployment"), nil).
		When(sfn.Condition_Not(nonEmpty("$.IncidentId")), refuse("IncidentId", "must be a non-empty string"), nil).
		When(sfn.Condition_Not(nonEmpty("$.FleetExecutionName")), refuse("FleetExecutionName", "must be a non-empty string"), nil).
		When(sfn.Condition_Not(sfn.Condition_And(str("$.Phase"), sfn.Condition_Or(isPhase(ContainPhase), isPhase(EvidencePhase)))),
			refuse("Phase", fmt.Sprintf("must be %s or %s", ContainPhase, EvidencePhase)), nil).
		When(sfn.Condition_Not(object("$.Options")), refuse("Options", "must be an object"), nil).
		When(sfn.Condition_Not(boolean("$.Options.RevokeCredentials")), refuse("Options.RevokeCredentials", "must be true or false (a JSON boolean, not a string)"), nil).
		When(sfn.Condition_Not(boolean("$.Options.DisassociateElasticIps")), refuse("Options.DisassociateElasticIps", "must be true or false (a JSON boolean, not a string)"), nil).
		When(sfn.Condition_Not(number("$.Options.SnapshotPollSeconds", 1, MaxSnapshotPollSeconds)),
			refuse("Options.SnapshotPollSeconds", fmt.Sprintf("must be a number of seconds from 1 to %d", MaxSnapshotPollSeconds)), nil).
		When(sfn.Condition_Not(object("$.UnpreparedVpcs")), refuse("UnpreparedVpcs", "must be a list"), nil).
		When(sfn.Condition_And(isPhase(ContainPhase), sfn.Condition_Not(sfn.Condition_And(object("$.TargetGroups"), object("$.ClassicLoadBalancers")))),
			refuse("TargetGroups/ClassicLoadBalancers", "must be the fleet's listings (objects)"), nil).
		When(sfn.Condition_And(isPhase(EvidencePhase), sfn.Condition_Not(number("$.ExpectedSnapshotCount", 0, 0))),
			refuse("ExpectedSnapshotCount", "must be a number from 0"), nil).
		When(sfn.Condition_And(present("$."+startedByField), sfn.Condition_Not(sfn.Condition_And(str("$."+startedByField),
			sfn.Condition_StringMatches(jsii.String("$."+startedByField), jsii.String("arn:*:states:*:execution:*"))))),
			refuse(startedByField, "must be the ARN of the execution that started it"), nil)

	// What the field checks cannot see: the characters of the IDs (what
	// is left once every allowed character is split away), lists from
	// objects (their JSON text's first character), and the keys: $.* lists
	// the values of every key, so with every known key present, one more
	// value is an unknown key. Every field is of the type these intrinsics
	// take by now; the Parallel's catch refuses the input if one still
	// fails.
	read := b.pass("Read Its Input's Keys And Characters", map[string]interface{}{
		"Values.$":         "$.*",
		"OptionValues.$":   "$.Options.*",
		"InstanceIdRest.$": "States.StringSplit($.InstanceId, '" + hexDigits + "')",
		"IncidentIdRest.$": "States.StringSplit($.IncidentId, '" + IncidentIDCharacters + "')",
		"FleetNameRest.$":  "States.StringSplit($.FleetExecutionName, '" + IncidentIDCharacters + "')",
		"Unprepared.$":     "States.JsonToString($.UnpreparedVpcs)",
		"Options.$":        "States.JsonToString($.Options)",
	}, inputCheckPath)
	jsonObject := func(path string) sfn.Condition {
		return sfn.Condition_StringMatches(jsii.String(path), jsii.String("{*"))
	}
	listings := b.pass("Read The Listings", map[string]interface{}{
		"TargetGroups.$":         "States.JsonToString($.TargetGroups)",
		"ClassicLoadBalancers.$": "States.JsonToString($.ClassicLoadBalancers)",
	}, inputCheckPath+".Listings")
	count := func(n int) sfn.Condition {
		return sfn.Condition_And(present(fmt.Sprintf("%s.Values[%d]", inputCheckPath, n-1)), absent(fmt.Sprintf("%s.Values[%d]", inputCheckPath, n)))
	}
	keys := func(p instancePhase) sfn.Condition {
		fields := p.inputFields()
		n := len(fields) + 1 // and Phase
		var all []sfn.Condition
		for _, f := range fields {
			all = append(all, present("$."+f))
		}
		return sfn.Condition_And(isPhase(p.phase), sfn.Condition_And(all...), sfn.Condition_Or(
			sfn.Condition_And(absent("$."+startedByField), count(n)),
			sfn.Condition_And(present("$."+startedByField), count(n+1)),
		))
	}
	valid := b.succeed("Its Input Is Valid")
	ids := b.choice("Are Its IDs And Keys Valid?").
		When(sfn.Condition_Not(sfn.Condition_And(
			sfn.Condition_StringEquals(jsii.String(inputCheckPath+".InstanceIdRest[0]"), jsii.String("i-")),
			absent(inputCheckPath+".InstanceIdRest[1]"))),
			refuse("InstanceId", "must be an EC2 instance ID, i- followed by lower-case hexadecimal digits only"), nil).
		When(present(inputCheckPath+".IncidentIdRest[0]"), refuse("IncidentId", "may hold only letters, digits, '-', '_' and '.'"), nil).
		When(present(inputCheckPath+".FleetNameRest[0]"), refuse("FleetExecutionName", "may hold only letters, digits, '-', '_' and '.'"), nil).
		When(sfn.Condition_Not(sfn.Condition_And(
			present(fmt.Sprintf("%s.OptionValues[%d]", inputCheckPath, len(optionFields)-1)),
			absent(fmt.Sprintf("%s.OptionValues[%d]", inputCheckPath, len(optionFields))))),
			refuse("Options", "may hold only "+fmt.Sprint(sortedCopy(optionFields))), nil).
		When(sfn.Condition_Not(sfn.Condition_Or(keys(containPhase), keys(evidencePhase))),
			refuse("its keys", fmt.Sprintf("must be exactly those the fleet sends: %v with Phase %s, %v with Phase %s, and optionally %s",
				append(containPhase.inputFields(), "Phase"), ContainPhase, append(evidencePhase.inputFields(), "Phase"), EvidencePhase, startedByField)), nil).
		When(sfn.Condition_Not(sfn.Condition_StringMatches(jsii.String(inputCheckPath+".Unprepared"), jsii.String("[*"))),
			refuse("UnpreparedVpcs", "must be a list, not an object"), nil).
		When(sfn.Condition_Not(jsonObject(inputCheckPath+".Options")), refuse("Options", "must be an object, not a list"), nil).
		When(isPhase(ContainPhase), listings.Next(b.choice("Are The Listings Objects?").
			When(sfn.Condition_And(jsonObject(inputCheckPath+".Listings.TargetGroups"), jsonObject(inputCheckPath+".Listings.ClassicLoadBalancers")), valid, nil).
			Otherwise(refuse("TargetGroups/ClassicLoadBalancers", "must be objects, not lists"))), nil).
		Otherwise(valid)
	check := sfn.NewParallel(b.scope, jsii.String("Check Its Input"), &sfn.ParallelProps{ResultPath: sfn.JsonPath_DISCARD()})
	check.Branch(shape.Otherwise(read.Next(ids)))
	check.AddCatch(sfn.NewFail(b.scope, jsii.String("Instance Input Refused"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	}), &sfn.CatchProps{Errors: jsii.Strings("InvalidInput"), ResultPath: jsii.String("$.Failure")})
	check.AddCatch(sfn.NewFail(b.scope, jsii.String("Instance Input Unreadable"), &sfn.FailProps{
		Error: jsii.String("InvalidInput"),
		CausePath: jsii.String("States.Format('The input of this state machine is refused: a field has the wrong type ({}). " +
			"Nothing was read or changed. This state machine contains one instance for the essential-ir state machine, which starts it; start that one.', $.Failure.Cause)"),
	}), anyError())
	check.Next(next)
	// The credential revocation's executions take other fields.
	fleetTask := b.validateRevocationInput(next, refuse, boolean, nonEmpty, number, present, absent, object)
	return b.choice("Is It A Credential Revocation?").
		When(sfn.Condition_And(str("$.Phase"), sfn.Condition_Or(isPhase(RevokePhase), isPhase(AttachPhase))), fleetTask, nil).
		Otherwise(check)
}

// validateRevocationInput checks the input of the credential revocation's
// executions (RevokePhase, AttachPhase) as validateInstanceInput does the
// others': Region, IncidentId and FleetExecutionName, Options, each list,
// the policy path under DenyPolicyPathPrefix, and exactly the keys the
// fleet sends. Every instance ID must be "i-" and lower-case hexadecimal
// digits only: each becomes a pattern of the deny policy, and an ID such as
// "*" would deny the credentials of every instance of every role.
func (b *builder) validateRevocationInput(next sfn.IChainable, refuse func(field, why string) sfn.Fail,
	boolean, nonEmpty func(string) sfn.Condition, number func(string, float64, float64) sfn.Condition,
	present, absent, object func(string) sfn.Condition) sfn.IChainable {
	region := awscdk.Aws_REGION()
	isPhase := func(phase string) sfn.Condition {
		return sfn.Condition_StringEquals(jsii.String("$.Phase"), jsii.String(phase))
	}
	list := func(path string) sfn.Condition {
		return sfn.Condition_And(object(path), sfn.Condition_Not(sfn.Condition_IsNull(jsii.String(path))))
	}
	fields := map[string][]string{
		RevokePhase: {"InstanceIds", "InstanceProfiles"},
		AttachPhase: {"Roles", "Policies", "PolicyPath"},
	}
	common := []string{"Phase", "IncidentId", "Region", "FleetExecutionName", "Options"}
	shape := b.choice("Is Each Field Of The Revocation's Input Valid?").
		When(sfn.Condition_Not(sfn.Condition_StringEquals(jsii.String("$.Region"), region)), refuse("Region", "must be "+*region+", the region of this deployment"), nil).
		When(sfn.Condition_Not(nonEmpty("$.IncidentId")), refuse("IncidentId", "must be a non-empty string"), nil).
		When(sfn.Condition_Not(nonEmpty("$.FleetExecutionName")), refuse("FleetExecutionName", "must be a non-empty string"), nil).
		When(sfn.Condition_Not(sfn.Condition_And(object("$.Options"), boolean("$.Options.RevokeCredentials"), boolean("$.Options.DisassociateElasticIps"),
			number("$.Options.SnapshotPollSeconds", 1, MaxSnapshotPollSeconds))), refuse("Options", "must be the fleet's options"), nil).
		When(sfn.Condition_And(isPhase(RevokePhase), sfn.Condition_Not(sfn.Condition_And(list("$.InstanceIds"), list("$.InstanceProfiles")))),
			refuse("InstanceIds/InstanceProfiles", "must be lists"), nil).
		When(sfn.Condition_And(isPhase(AttachPhase), sfn.Condition_Not(sfn.Condition_And(list("$.Roles"), list("$.Policies"),
			nonEmpty("$.PolicyPath"), sfn.Condition_StringMatches(jsii.String("$.PolicyPath"), jsii.String(DenyPolicyPathPrefix+"*"))))),
			refuse("Roles/Policies/PolicyPath", "must be lists and a path under "+DenyPolicyPathPrefix), nil)
	read := func(phase string, extra map[string]interface{}) sfn.Pass {
		params := map[string]interface{}{
			"Values.$":         "$.*",
			"OptionValues.$":   "$.Options.*",
			"IncidentIdRest.$": "States.StringSplit($.IncidentId, '" + IncidentIDCharacters + "')",
			"FleetNameRest.$":  "States.StringSplit($.FleetExecutionName, '" + IncidentIDCharacters + "')",
		}
		for k, v := range extra {
			params[k] = v
		}
		return b.pass("Read The "+phase+" Input's Keys", params, inputCheckPath)
	}
	count := func(n int) sfn.Condition {
		return sfn.Condition_And(present(fmt.Sprintf("%s.Values[%d]", inputCheckPath, n-1)), absent(fmt.Sprintf("%s.Values[%d]", inputCheckPath, n)))
	}
	keys := func(phase string) sfn.Condition {
		n := len(common) + len(fields[phase])
		var all []sfn.Condition
		for _, f := range append(append([]string(nil), common...), fields[phase]...) {
			all = append(all, present("$."+f))
		}
		return sfn.Condition_And(sfn.Condition_And(all...), sfn.Condition_Or(
			sfn.Condition_And(absent("$."+startedByField), count(n)),
			sfn.Condition_And(present("$."+startedByField), count(n+1)),
		))
	}
	valid := b.succeed("The Revocation's Input Is Valid")
	checkKeys := func(phase string) sfn.Choice {
		return b.choice("Are The "+phase+" Input's Keys And IDs Valid?").
			When(present(inputCheckPath+".IncidentIdRest[0]"), refuse("IncidentId", "may hold only letters, digits, '-', '_' and '.'"), nil).
			When(present(inputCheckPath+".FleetNameRest[0]"), refuse("FleetExecutionName", "may hold only letters, digits, '-', '_' and '.'"), nil).
			When(sfn.Condition_Not(sfn.Condition_And(
				present(fmt.Sprintf("%s.OptionValues[%d]", inputCheckPath, len(optionFields)-1)),
				absent(fmt.Sprintf("%s.OptionValues[%d]", inputCheckPath, len(optionFields))))),
				refuse("Options", "may hold only "+fmt.Sprint(sortedCopy(optionFields))), nil).
			When(sfn.Condition_Not(keys(phase)), refuse("its keys", fmt.Sprintf("must be exactly %v with Phase %s, and optionally %s",
				append(append([]string(nil), common...), fields[phase]...), phase, startedByField)), nil)
	}
	// What is left of the IDs' JSON text once every character an instance
	// ID list may hold is split away must be nothing.
	revoke := read(RevokePhase, map[string]interface{}{
		"IdsRest.$": "States.StringSplit(States.JsonToString($.InstanceIds), '[]\",i-" + hexDigits + "')",
	})
	revokeKeys := checkKeys(RevokePhase).
		When(present(inputCheckPath+".IdsRest[0]"), refuse("InstanceIds", "must list instance IDs, i- followed by lower-case hexadecimal digits only"), nil).
		Otherwise(valid)
	attachKeys := checkKeys(AttachPhase).Otherwise(valid)
	check := sfn.NewParallel(b.scope, jsii.String("Check The Revocation's Input"), &sfn.ParallelProps{ResultPath: sfn.JsonPath_DISCARD()})
	check.Branch(shape.
		When(isPhase(RevokePhase), revoke.Next(revokeKeys), nil).
		Otherwise(read(AttachPhase, nil).Next(attachKeys)))
	check.AddCatch(sfn.NewFail(b.scope, jsii.String("Revocation Input Refused"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	}), &sfn.CatchProps{Errors: jsii.Strings("InvalidInput"), ResultPath: jsii.String("$.Failure")})
	check.AddCatch(sfn.NewFail(b.scope, jsii.String("Revocation Input Unreadable"), &sfn.FailProps{
		Error:     jsii.String("InvalidInput"),
		CausePath: jsii.String("States.Format('The input of this state machine is refused: a field has the wrong type ({}). Nothing was read or changed.', $.Failure.Cause)"),
	}), anyError())
	return check.Next(next)
}

// sortedCopy is a sorted copy of a list.
func sortedCopy(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// checkIncidentName refuses, before anything is read or changed, an
// execution of the fleet state machine whose incident ID or name holds a
// character outside IncidentIDCharacters: each instance's execution would
// refuse it (validateInstanceInput) after the VPCs' groups were prepared.
func (b *builder) checkIncidentName(next sfn.IChainable) sfn.IChainable {
	read := b.pass("Read The Incident ID's Characters", map[string]interface{}{
		"IncidentIdRest.$": "States.StringSplit($.IncidentId, '" + IncidentIDCharacters + "')",
		"NameRest.$":       "States.StringSplit($$.Execution.Name, '" + IncidentIDCharacters + "')",
	}, "$.IncidentCheck")
	return read.Next(b.choice("Is The Incident ID Usable?").
		When(sfn.Condition_Or(
			sfn.Condition_IsPresent(jsii.String("$.IncidentCheck.IncidentIdRest[0]")),
			sfn.Condition_IsPresent(jsii.String("$.IncidentCheck.NameRest[0]")),
		), b.rejectInput("Incident ID Not Usable", "The execution's name is the incident ID: it goes into tags, evidence object keys and snapshot descriptions, "+
			"so it may hold only letters, digits, '-', '_' and '.' (for example inc-2026-11-27-web)."), nil).
		Otherwise(next))
}
