package statemachine

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// Settings are the deploy-time choices of the workflow. String and number
// fields may hold CloudFormation parameter tokens.
type Settings struct {
	// MaxConcurrency is how many instances are contained at once.
	MaxConcurrency *float64
	// TagKey and TagValue mark the instance and its snapshots as under
	// investigation (the seed's SecurityIncidentStatus=Investigation).
	TagKey, TagValue string
	// MaxInstances is the most instances one execution accepts.
	MaxInstances int
	// SnapshotPollSeconds is the wait between two reads of a pending snapshot.
	SnapshotPollSeconds *float64
	// EvidenceBucket is the name of the bucket the pre-incident records go to.
	EvidenceBucket string
	// EvidenceBucketGiven is "true" when EvidenceBucket is an existing
	// bucket (the EvidenceBucketName stack parameter): each execution
	// checks it before any change (checkEvidenceBucket).
	EvidenceBucketGiven string
	// EvidenceKeyArn is the KMS key that encrypts snapshot copies.
	EvidenceKeyArn string
	// RevokeCredentials is "true" to deny, on the instance's role, the
	// credentials already issued to the instance (an inline IAM policy).
	RevokeCredentials string
	// DisassociateElasticIPs is "true" to disassociate the instance's
	// Elastic IPs; by default they are only recorded.
	DisassociateElasticIPs string
	// InstanceStateMachineName is the name of the state machine that
	// contains one instance (Workflow.Instance); the fleet state machine
	// starts one execution of it per instance.
	InstanceStateMachineName string
}

// MaxInstancesPerExecution bounds one execution. Each instance is contained,
// then its evidence preserved, in child executions whose histories (about
// 560 events together, plus about 7 per target group and classic load
// balancer in the region) and state are their own; the fleet execution
// keeps about 20 history events and under 200 bytes of state per contained
// instance, so 1,000 instances stay below the 25,000-event and 256 KiB
// limits of an execution (Documentation/performance.md).
const MaxInstancesPerExecution = 1000

// DefaultSettings are the settings of a default deployment.
func DefaultSettings() Settings {
	return Settings{
		MaxConcurrency:           jsii.Number(5),
		TagKey:                   "SecurityIncidentStatus",
		TagValue:                 "Investigation",
		MaxInstances:             MaxInstancesPerExecution,
		SnapshotPollSeconds:      jsii.Number(15),
		EvidenceBucket:           "essential-ir-evidence",
		EvidenceBucketGiven:      "false",
		EvidenceKeyArn:           "alias/essential-ir-evidence",
		RevokeCredentials:        "true",
		DisassociateElasticIPs:   "false",
		InstanceStateMachineName: "essential-ir-instance",
	}
}

// Workflow is the definitions of the two containment state machines and the
// IAM statements their tasks need.
type Workflow struct {
	// Definition is the start of the fleet state machine: the one
	// responders and automation start, with the input
	// {"InstanceIds", "Region"}.
	Definition sfn.IChainable
	// Instance is the start of the state machine that contains one
	// instance; the fleet state machine starts one execution of it per
	// instance, named after the instance.
	Instance sfn.IChainable
	// Statements allow exactly the API calls the definition makes, narrowed
	// to resources and conditions wherever IAM allows.
	Statements []awsiam.PolicyStatement
	// OptionalStatements are the statements of the steps a stack parameter
	// can turn off, by OptionalCredentialRevocation and
	// OptionalElasticIPRelease.
	OptionalStatements map[string][]awsiam.PolicyStatement
}

// New builds the containment workflow under a new construct named id.
//
// The order is for safety first, then speed:
//
//  1. validate the input and find every instance; nothing is touched if any
//     ID is wrong, missing or terminated;
//  2. prepare each VPC's isolation group (no rules), once per VPC;
//  3. per instance (a Map, MaxConcurrency at a time):
//     a. collect its metadata (the pre-containment record);
//     b. secure it, in parallel: tag, detach from its Auto Scaling group,
//     termination and stop protection, shutdown behaviour, DeleteOnTermination
//     off: nothing may get it terminated once it is isolated and looks
//     unhealthy;
//     c. isolate its network: ENIs through the all-traffic group to the
//     isolation group, beside the pre-incident record and nothing else, so
//     no other step's failure can stop it half-way;
//     d. cut its other access, in parallel: instance profile detached and
//     credentials denied, deregistered from target groups and classic load
//     balancers, Elastic IPs recorded;
//     e. start a snapshot of every volume, without waiting for it, so the
//     next instance's containment does not wait for this one's snapshots;
//  4. once every instance is contained, per instance (a Map, MaxConcurrency
//     at a time): preserve its evidence, each snapshot complete, encrypted
//     (an unencrypted one copied, then deleted) and tagged;
//  5. fail the execution if any instance failed, naming each and its step.
//
// Steps 3 and 4 each run one execution of the instance state machine per
// instance (Phase Contain, then PreserveEvidence), so the started
// execution's history grows by about 20 events per instance.
func New(scope constructs.Construct, id string, s Settings) *Workflow {
	b := &builder{scope: constructs.NewConstruct(scope, jsii.String(id)), settings: s}

	prepare := sfn.NewMap(b.scope, jsii.String("Prepare Each VPC"), &sfn.MapProps{
		ItemsPath:    jsii.String("$.Lookup.VpcIds"),
		ItemSelector: &map[string]interface{}{"VpcId.$": "$$.Map.Item.Value"},
		ResultPath:   jsii.String("$.IsolationGroups"),
	})
	prepare.ItemProcessor(b.prepareGroups(), nil)
	prepareFailed := sfn.NewFail(b.scope, jsii.String("VPC Groups Not Ready"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Nothing was changed: preparing the containment groups of the VPCs failed, so none of the instances {} was contained: {}', " +
			"States.JsonToString($.InstanceIds), $.Failure.Cause)"),
	})
	prepare.AddCatch(prepareFailed, anyError())

	// instanceItem is a Map item for one instance: fields, and what
	// every phase of an instance needs.
	instanceItem := func(fields map[string]interface{}) *map[string]interface{} {
		fields["Region.$"] = "$.Region"
		fields["FleetExecutionName.$"] = "$$.Execution.Name"
		fields["Options"] = b.options()
		return &fields
	}
	each := sfn.NewMap(b.scope, jsii.String("Contain Each Instance"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.InstanceIds"),
		MaxConcurrency: s.MaxConcurrency,
		ItemSelector: instanceItem(map[string]interface{}{
			"InstanceId.$": "$$.Map.Item.Value",
			"IncidentId.$": "$.IncidentId",
			// The VPCs whose groups could not be prepared, with the cause.
			"UnpreparedVpcs.$": "$.IsolationGroups[?(@.Status == 'FAILED')]",
			// The region's load balancers, listed once for the fleet.
			"TargetGroups.$":         "$.Results.TargetGroups",
			"ClassicLoadBalancers.$": "$.Results.ClassicLoadBalancers",
		}),
		ResultPath: jsii.String("$.Results"),
	})
	instance := b.containInstance()
	each.ItemProcessor(b.startInstanceExecution(containPhase), nil)
	mapFailed := sfn.NewFail(b.scope, jsii.String("Containment Interrupted"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	})
	each.AddCatch(mapFailed, anyError())
	// The credentials already issued to every instance are revoked beside
	// their containment, in an execution of their own (revocation.go),
	// which never delays or fails it; a failed revocation fails the
	// execution at the end.
	containAndRevoke := sfn.NewParallel(b.scope, jsii.String("Contain And Revoke Credentials"), &sfn.ParallelProps{
		ResultSelector: &map[string]interface{}{
			"IncidentId.$":           "$[0].IncidentId",
			"Region.$":               "$[0].Region",
			"InstanceCount.$":        "$[0].InstanceCount",
			"Results.$":              "$[0].Results",
			"CredentialRevocation.$": "$[1]",
		},
		ResultPath: jsii.String("$"),
	})
	containAndRevoke.Branch(each, b.revokeFleetCredentials())
	// Only a failure of Contain Each Instance as a whole ends a branch
	// with an error (the revocation records its own); it is passed on.
	containAndRevoke.AddCatch(sfn.NewFail(b.scope, jsii.String("Containment Or Revocation Interrupted"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	}), anyError())

	// Only once every instance is contained is evidence preserved: an
	// instance's containment ends when its snapshots are started, so the
	// Map's places are not held while snapshots complete, and the last
	// instance of a fleet is isolated as soon as the first. The state keeps
	// only what the rest needs (the ID list would cost about 22 KB of the
	// 256 KiB at 1,000 instances).
	contained := b.pass("Split Contained From Failed", map[string]interface{}{
		"IncidentId.$":           "$.IncidentId",
		"Region.$":               "$.Region",
		"InstanceCount.$":        "$.InstanceCount",
		"CredentialRevocation.$": "$.CredentialRevocation",
		"Results": map[string]interface{}{
			"Contained.$": "$.Results[?(@.Outcome == 'CONTAINED')]",
			"Failed.$":    "$.Results[?(@.Outcome == 'FAILED')]",
		},
	}, "")
	preserve := sfn.NewMap(b.scope, jsii.String("Preserve Each Instance's Evidence"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Results.Contained"),
		MaxConcurrency: s.MaxConcurrency,
		ItemSelector: instanceItem(map[string]interface{}{
			"InstanceId.$":            "$$.Map.Item.Value.InstanceId",
			"ExpectedSnapshotCount.$": "$$.Map.Item.Value.SnapshotCount",
			// An instance already under investigation keeps its first
			// incident ID: its containment says which one it used.
			"IncidentId.$":   "$$.Map.Item.Value.IncidentId",
			"UnpreparedVpcs": []interface{}{},
		}),
		ResultPath: jsii.String("$.EvidenceResults"),
	})
	preserve.ItemProcessor(b.startInstanceExecution(evidencePhase), nil)
	preserve.AddCatch(sfn.NewFail(b.scope, jsii.String("Evidence Preservation Interrupted"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Every instance was contained as listed in Contain Each Instance, but preserving their evidence was interrupted: {}', $.Failure.Cause)"),
	}), anyError())

	tally := b.pass("Tally Outcomes", map[string]interface{}{
		"IncidentId.$":        "$.IncidentId",
		"Region.$":            "$.Region",
		"InstanceCount.$":     "$.InstanceCount",
		"Contained.$":         "$.Results.Contained[*].InstanceId",
		"Failed.$":            "$.Results.Failed",
		"EvidencePreserved.$": "$.EvidenceResults[?(@.Outcome == 'PRESERVED')].InstanceId",
		"EvidenceFailed.$":    "$.EvidenceResults[?(@.Outcome == 'FAILED')]",
		// The deny policies, the roles they are on and the instances
		// they cover, or why the revocation failed.
		"CredentialRevocation.$": "$.CredentialRevocation",
		"Details": "Each instance was contained, then its evidence preserved, by two executions of the state machine " + s.InstanceStateMachineName +
			", named after the instance (<instance-id>-<uuid>, then <instance-id>-evidence-<uuid>): their output, or their error and cause, give every step; " +
			"the full summaries are in the evidence bucket under <incident-id>/<instance-id>/.",
	}, "")
	// The cause lists at most the first 25 failed instances (each under
	// about 1,000 characters), so it stays under the 32,768-character limit
	// of a cause.
	incomplete := sfn.NewFail(b.scope, jsii.String("Containment Incomplete"), &sfn.FailProps{
		Error: jsii.String("ContainmentFailed"),
		CausePath: jsii.String("States.Format('Incident {}: {} of {} instances were NOT fully contained (contained: {}; of those, evidence not preserved: {}). Failed (the first 25): {}. " +
			"Each instance has its own executions of " + s.InstanceStateMachineName + ", named after it. Credential revocation: {}.', " +
			"$.IncidentId, States.ArrayLength($.Failed), $.InstanceCount, States.ArrayLength($.Contained), States.ArrayLength($.EvidenceFailed), " +
			"States.JsonToString(States.ArrayGetItem(States.ArrayPartition($.Failed, 25), 0)), $.CredentialRevocation.Outcome)"),
	})
	evidenceIncomplete := sfn.NewFail(b.scope, jsii.String("Evidence Incomplete"), &sfn.FailProps{
		Error: jsii.String("EvidenceNotPreserved"),
		CausePath: jsii.String("States.Format('Incident {}: all {} instances were contained, but the evidence of {} was NOT fully preserved (preserved: {}). Failed (the first 25): {}. " +
			"Each instance has its evidence execution of " + s.InstanceStateMachineName + ", named <instance-id>-evidence-<uuid>; a snapshot already taken is never deleted before its encrypted copy is verified. Credential revocation: {}.', " +
			"$.IncidentId, $.InstanceCount, States.ArrayLength($.EvidenceFailed), States.ArrayLength($.EvidencePreserved), States.JsonToString(States.ArrayGetItem(States.ArrayPartition($.EvidenceFailed, 25), 0)), " +
			"$.CredentialRevocation.Outcome)"),
	})
	outcome := b.choice("Was Every Instance Contained?").
		When(sfn.Condition_IsPresent(jsii.String("$.Failed[0]")), incomplete, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.EvidenceFailed[0]")), evidenceIncomplete, nil).
		When(sfn.Condition_StringEquals(jsii.String("$.CredentialRevocation.Outcome"), jsii.String(RevocationFailed)), sfn.NewFail(b.scope, jsii.String("Credentials Not Revoked"), &sfn.FailProps{
			Error: jsii.String("CredentialsNotRevoked"),
			CausePath: jsii.String("States.Format('Incident {}: all {} instances were contained and their evidence preserved, but the credentials already issued to them are NOT all denied " +
				"(their instance profiles are detached, so no new ones are issued). {}: {}', $.IncidentId, $.InstanceCount, $.CredentialRevocation.Error, $.CredentialRevocation.Cause)"),
		}), nil).
		Otherwise(sfn.NewSucceed(b.scope, jsii.String("All Instances Contained"), &sfn.SucceedProps{
			OutputPath: jsii.String("$"),
		}))

	// The region's target groups and classic load balancers are listed once
	// for the whole fleet, beside
	// the input check and the VPCs' preparation (two calls each when the
	// VPCs' groups exist), so the listing adds no call before isolation. A
	// failing input check or VPC preparation fails the execution with its
	// own error and cause, passed on unchanged (nothing was changed yet).
	// The listing never fails.
	lookUp := sfn.NewParallel(b.scope, jsii.String("Find Instances And Target Groups"), &sfn.ParallelProps{
		ResultSelector: &map[string]interface{}{
			"InstanceIds.$":     "$[0].InstanceIds",
			"InstanceCount.$":   "$[0].InstanceCount",
			"Region.$":          "$[0].Region",
			"IncidentId.$":      "$[0].IncidentId",
			"IsolationGroups.$": "$[0].IsolationGroups",
			// The listings of the load balancers wait where the Map below
			// puts the instances' outcomes, which replace them: up to
			// about 40 KB with full pages, they are needed only to start
			// each containment, and the started execution's state must
			// keep room for 1,000 outcomes.
			"Results": map[string]interface{}{
				"TargetGroups.$":         "$[1]",
				"ClassicLoadBalancers.$": "$[2]",
				// The distinct instance profiles, read before any
				// containment detaches them: credential revocation
				// finds the roles from them.
				"InstanceProfiles.$": "$[0].Lookup.InstanceProfiles",
			},
		},
	})
	lookUp.Branch(b.findInstances(prepare), b.listTargetGroupsOnce(), b.listClassicLoadBalancersOnce())
	lookUp.AddCatch(sfn.NewFail(b.scope, jsii.String("Stopped Before Any Change"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("$.Failure.Cause"),
	}), anyError())
	definition := b.validateInput(b.checkIncidentName(b.checkEvidenceBucket(lookUp.Next(containAndRevoke).Next(contained).Next(preserve).Next(tally).Next(outcome))))
	return &Workflow{
		Definition: definition,
		Instance:   instance,
		Statements: b.PolicyStatements(""),
		OptionalStatements: map[string][]awsiam.PolicyStatement{
			OptionalCredentialRevocation: b.PolicyStatements(OptionalCredentialRevocation),
			OptionalElasticIPRelease:     b.PolicyStatements(OptionalElasticIPRelease),
		},
	}
}
