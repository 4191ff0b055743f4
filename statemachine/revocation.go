package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
)

// Credential revocation denies, on every role the fleet's instances use,
// every request signed with role credentials issued to any of them, while
// credentials issued to the other instances sharing those roles keep
// working. Detaching an instance profile stops new credentials; the ones
// already issued stay valid for hours, but IAM evaluates the role's
// policies on every request, so a deny added to the role takes effect on
// them (IAM User Guide, "Disabling permissions for temporary security
// credentials",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html).
//
// How it scales, and why it is safe with executions running at once:
//
//   - One customer managed policy per DenyChunk (240) instances of the
//     execution, each one statement: Deny * on * when StringLike
//     ec2:SourceInstanceARN is any of "*/i-...". Role credentials delivered
//     through an instance profile carry the instance's ARN in
//     ec2:SourceInstanceARN wherever they are used (Service Authorization
//     Reference, Amazon EC2 condition keys,
//     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html#amazonec2-policy-keys).
//     A pattern is 24 characters with the longest instance IDs; 240 of
//     them and the statement come to 5,953 characters, whitespace not
//     counted, under the 6,144 a managed policy may hold (IAM User Guide,
//     "IAM and AWS STS quotas",
//     https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
//     A pattern matches only the sessions of the instance it names, so
//     every policy can go on every role: no grouping by role, which ASL's
//     JSONPath could not do at run time.
//   - The policies are new and this execution's own (DenyPolicyPathPrefix,
//     then the MD5 of its execution ARN): no execution reads, changes or
//     shares another's, and AttachRolePolicy adds one policy to a role
//     atomically (IAM API reference, AttachRolePolicy,
//     https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
//     so two executions on instances of one role each add their own. There
//     is no read-modify-write of anything shared, as one policy per role
//     would need, and no policy per instance, of which a role holds about
//     38 inline before its 10,240 characters are used up.
//   - A role holds at most 10 managed policies by default (20 on request):
//     1,000 instances take 5 slots on each of their roles. A role already
//     near its quota fails loudly, naming what to do.
//
// The work runs in executions of the instance state machine, so its
// history, which grows with the fleet, is its own: the fleet starts one
// (RevokePhase) beside Contain Each Instance, with the distinct instance
// profiles its own lookup read before any containment detached them; that
// one finds each profile's role, creates the policies, then starts one
// execution (AttachPhase) per RolesPerAttachExecution roles to attach
// every policy to each role and read the role's attachments back.
//
// Cost at 1,000 instances (5 policies), measured on the emulated account
// (TestRevocationOfAThousandInstances): sharing one role, 2 executions
// (the revocation, one attach execution) of 4,185 history events together,
// the largest 4,123 (the pattern Map: 4 events per instance), and 17 AWS
// calls (1 GetInstanceProfile, 5 CreatePolicy, 5 GetPolicyVersion, 5
// AttachRolePolicy, 1 ListAttachedRolePolicies); on 1,000 distinct roles,
// the worst case, 11 executions of 61,308 events together, the largest
// 11,188 (7 more per profile read), each attach execution about 5,000,
// and 7,010 calls (per role: 5 AttachRolePolicy, 1 ListAttachedRolePolicies;
// one GetInstanceProfile per profile). The fleet execution adds about 12
// events and one StartExecution.

const (
	// RevokePhase is the Phase of the execution of the instance state
	// machine that revokes the credentials issued to every instance of a
	// fleet execution.
	RevokePhase = "RevokeCredentials"
	// AttachPhase is the Phase of an execution that attaches the deny
	// policies of a revocation to up to RolesPerAttachExecution roles.
	AttachPhase = "AttachDenyPolicies"
	// DenyPolicyPathPrefix starts the path of every deny policy; a
	// revocation execution's policies are under DenyPolicyPathPrefix +
	// <MD5 of its execution ARN> + "/", so listing a role's attached
	// policies under that path finds its policies and no other
	// execution's. The role may create and attach policies under this
	// prefix only.
	DenyPolicyPathPrefix = "/essential-ir/"
	// DenyChunk is how many instances one deny policy lists.
	DenyChunk = 240
	// RolesPerAttachExecution bounds the roles one attach execution
	// handles, so its history stays far below 25,000 events (about 5,000
	// for 100 roles and 5 policies).
	RolesPerAttachExecution = 100
	// DenyStatementSid names the statement of every deny policy.
	DenyStatementSid = "EssentialIrDenyCompromisedInstanceCredentials"
)

// Outcomes of a fleet's credential revocation (CredentialRevocation.Outcome
// in the fleet's output).
const (
	// RevocationRevoked: every policy is attached to every role.
	RevocationRevoked = "REVOKED"
	// RevocationFailed: some or all of the credentials are not denied; the
	// fleet execution fails, naming why.
	RevocationFailed = "FAILED"
	// RevocationOff: the RevokeInstanceCredentials parameter is false.
	RevocationOff = "OFF"
	// RevocationNoRoles: no instance of the fleet had a role.
	RevocationNoRoles = "NO_ROLES"
)

// RevocationComment starts the Comment of every task of the credential
// revocation: its failure fails the revocation (and, at its end, the fleet
// execution), never an instance's containment.
const RevocationComment = "Credential revocation: "

// revocationComment is the Comment of the revocation's tasks.
const revocationComment = RevocationComment + "a failure here is recorded in the fleet's CredentialRevocation; containment goes on."

// DenyDocument is the deny policy for instance IDs: the document a
// revocation execution writes, for tests and documentation.
func DenyDocument(ids []string) map[string]interface{} {
	patterns := make([]interface{}, len(ids))
	for i, id := range ids {
		patterns[i] = "*/" + id
	}
	return denyDocument(patterns)
}

// denyDocument is the deny policy for SourceInstanceARN patterns (a list,
// or a JSONPath to one as "ec2:SourceInstanceARN.$").
func denyDocument(patterns interface{}) map[string]interface{} {
	key := "ec2:SourceInstanceARN"
	if _, isPath := patterns.(string); isPath {
		key += ".$"
	}
	return map[string]interface{}{
		"Version": "2012-10-17",
		"Statement": []interface{}{map[string]interface{}{
			"Sid":       DenyStatementSid,
			"Effect":    "Deny",
			"Action":    "*",
			"Resource":  "*",
			"Condition": map[string]interface{}{"StringLike": map[string]interface{}{key: patterns}},
		}},
	}
}

// options are the deploy-time options every execution of the instance
// state machine receives.
//
// The stack parameters are the strings "true" and "false"; the instance
// state machine takes JSON booleans (validateInstanceInput).
func (b *builder) options() map[string]interface{} {
	return map[string]interface{}{
		"RevokeCredentials.$":      "States.StringToJson('" + b.settings.RevokeCredentials + "')",
		"DisassociateElasticIps.$": "States.StringToJson('" + b.settings.DisassociateElasticIPs + "')",
		"SnapshotPollSeconds":      b.settings.SnapshotPollSeconds,
	}
}

// denyPolicyARNs is the ARN pattern of every deny policy, the only
// policies the role may create and attach.
func denyPolicyARNs() string { return iamArn("policy" + DenyPolicyPathPrefix + "*") }

// revokeFleetCredentials is the fleet's branch beside Contain Each
// Instance: it starts the revocation execution (RevokePhase) with every
// instance and the distinct instance profiles read by the fleet's lookup,
// and ends with the revocation's outcome, {"Outcome", "Policies", "Roles",
// "RoleCount", "InstancesCovered", "Execution"} or {"Outcome": "FAILED",
// "Error", "Cause"}. It never fails: containment goes on whatever happens
// here, and the fleet fails at its end when the revocation did.
func (b *builder) revokeFleetCredentials() sfn.IChainable {
	gather := b.pass("Gather The Instances' Profiles", map[string]interface{}{
		"Revoke":             b.settings.RevokeCredentials,
		"InstanceIds.$":      "$.InstanceIds",
		"InstanceProfiles.$": "$.Results.InstanceProfiles",
		"IncidentId.$":       "$.IncidentId",
		"Region.$":           "$.Region",
	}, "")
	machine := arn("states", "stateMachine:"+b.settings.InstanceStateMachineName)
	start := sfn.NewCustomState(b.scope, jsii.String("Revoke Their Credentials"), &sfn.CustomStateProps{
		StateJson: &map[string]interface{}{
			"Type":     "Task",
			"Resource": "arn:" + *awscdk.Aws_PARTITION() + ":states:::states:startExecution.sync:2",
			"Parameters": map[string]interface{}{
				"StateMachineArn": machine,
				"Name.$":          "States.Format('revoke-credentials-{}', States.UUID())",
				"Input": map[string]interface{}{
					"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
					"Phase":                RevokePhase,
					"InstanceIds.$":        "$.InstanceIds",
					"InstanceProfiles.$":   "$.InstanceProfiles",
					"IncidentId.$":         "$.IncidentId",
					"Region.$":             "$.Region",
					"FleetExecutionName.$": "$$.Execution.Name",
					"Options":              b.options(),
				},
			},
			"ResultSelector": map[string]interface{}{
				"Outcome.$":          "$.Output.Outcome",
				"Policies.$":         "$.Output.Policies",
				"Roles.$":            "$.Output.Roles",
				"RoleCount.$":        "$.Output.RoleCount",
				"InstancesCovered.$": "$.Output.InstancesCovered",
				"Execution.$":        "$.ExecutionArn",
			},
			"TimeoutSeconds": 86400,
		},
	})
	b.retryStart(start)
	start.AddCatch(b.childFailed("Revocation: ", "Revoke Their Credentials", nil), anyError())
	return gather.Next(b.choice("Revoke Their Credentials?").
		When(sfn.Condition_Not(sfn.Condition_StringEquals(jsii.String("$.Revoke"), jsii.String("true"))),
			b.pass("Credential Revocation Turned Off", map[string]interface{}{"Outcome": RevocationOff}, ""), nil).
		When(sfn.Condition_IsNotPresent(jsii.String("$.InstanceProfiles[0]")),
			b.pass("No Instance Has A Profile", map[string]interface{}{"Outcome": RevocationNoRoles, "InstancesCovered": 0}, ""), nil).
		Otherwise(start))
}

// retryStart retries the start of a child execution when Step Functions
// throttles or is briefly unavailable; a child that ran and failed is not
// retried.
func (b *builder) retryStart(start sfn.CustomState) {
	start.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings("StepFunctions.ExecutionLimitExceededException", "StepFunctions.SfnException", "StepFunctions.SdkClientException"),
		Interval:       awscdk.Duration_Seconds(jsii.Number(1)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(5),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(16)),
		JitterStrategy: sfn.JitterType_FULL,
	})
}

// retryUntilVisible retries an IAM call that names a policy created
// moments before: IAM is eventually consistent, so a new policy can be
// unknown to the next call for a few seconds (IAM User Guide,
// "Troubleshoot IAM": changes are not always immediately visible), which
// IAM answers NoSuchEntity. Retried for about 30 s, then the step fails.
func (b *builder) retryUntilVisible(task tasks.CallAwsService) {
	task.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings("Iam.NoSuchEntityException"),
		Interval:       awscdk.Duration_Seconds(jsii.Number(2)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(4),
		JitterStrategy: sfn.JitterType_FULL,
	})
}

// childFailed turns the failure of a child execution started by the task
// named task into data: {"Outcome": "FAILED", "Error", "Cause"} plus
// extra fields (JSONPaths of the task's input), with the error and cause
// the child failed with when it ran (Step Functions gives its
// DescribeExecution as the cause of States.TaskFailed), else what Step
// Functions said. The states are named with prefix; the last ones end the
// chain.
func (b *builder) childFailed(prefix, task string, extra map[string]interface{}) sfn.IChainable {
	outcome := func(name, errorPath, cause string) sfn.Pass {
		fields := map[string]interface{}{"Outcome": RevocationFailed, "Error.$": errorPath, "Cause.$": cause}
		for k, v := range extra {
			fields[k] = v
		}
		return b.pass(prefix+name, fields, "")
	}
	read := sfn.NewPass(b.scope, jsii.String(prefix+"Read Why Its Execution Failed"), &sfn.PassProps{
		Parameters: &map[string]interface{}{"Execution.$": "States.StringToJson($.Failure.Cause)"},
		ResultPath: jsii.String("$.Ended"),
	})
	read.Next(b.choice(prefix+"Did Its Execution Give An Error?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Error")),
			sfn.Condition_IsPresent(jsii.String("$.Ended.Execution.Cause")),
		), outcome("Failed In Its Execution", "$.Ended.Execution.Error", "$.Ended.Execution.Cause"), nil).
		Otherwise(outcome("Execution Ended Without Error", "$.Failure.Error",
			"States.Format('"+task+" failed: its execution ended {}', States.JsonToString($.Ended.Execution.Status))")))
	return b.choice(prefix+"Did Its Execution Run?").
		When(sfn.Condition_And(
			sfn.Condition_StringEquals(jsii.String("$.Failure.Error"), jsii.String("States.TaskFailed")),
			sfn.Condition_StringMatches(jsii.String("$.Failure.Cause"), jsii.String("{*")),
		), read, nil).
		Otherwise(outcome("Execution Not Started", "$.Failure.Error",
			"States.Format('"+task+" failed: its execution could not be run: {}', $.Failure.Cause)"))
}

// revokeCredentials is the revocation execution (RevokePhase). Input:
// {"InstanceIds", "InstanceProfiles", "IncidentId", "Region", "Options",
// "FleetExecutionName"}. Output: {"Outcome": "REVOKED" or "NO_ROLES",
// "Policies" (ARNs), "PolicyPath", "Roles" (the first 100 names),
// "RoleCount", "InstancesCovered"}; a failure ends it FAILED, its cause
// saying which policies and roles are in place and which are not.
func (b *builder) revokeCredentials() sfn.IChainable {
	failed := sfn.NewFail(b.scope, jsii.String("Credential Revocation Failed"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Revoking the credentials issued to the {} instances of incident {} failed: {}', States.ArrayLength($.InstanceIds), $.IncidentId, $.Failure.Cause)"),
	})

	// 1. One pattern per instance, then the plan: the patterns in chunks
	// of DenyChunk (one policy each), the roles to find, and this
	// execution's own policy path.
	patterns := sfn.NewMap(b.scope, jsii.String("Write Each Instance's Pattern"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.InstanceIds"),
		MaxConcurrency: jsii.Number(40),
		ItemSelector:   &map[string]interface{}{"Pattern.$": "States.Format('*/{}', $$.Map.Item.Value)"},
		ResultPath:     jsii.String("$.Patterns"),
	})
	patterns.ItemProcessor(sfn.NewPass(b.scope, jsii.String("Instance Pattern"), &sfn.PassProps{
		InputPath: jsii.String("$.Pattern"),
	}), nil)
	patterns.AddCatch(failed, anyError())
	hash := "States.Hash($$.Execution.Id, 'MD5')"
	plan := b.pass("Plan The Deny Policies", map[string]interface{}{
		"IncidentId.$":         "$.IncidentId",
		"Region.$":             "$.Region",
		"FleetExecutionName.$": "$.FleetExecutionName",
		"Options.$":            "$.Options",
		"InstanceIds.$":        "$.InstanceIds",
		"InstanceProfiles.$":   "$.InstanceProfiles",
		"Deny": map[string]interface{}{
			"Chunks.$": fmt.Sprintf("States.ArrayPartition($.Patterns, %d)", DenyChunk),
			"Hash.$":   hash,
			"Path.$":   "States.Format('" + DenyPolicyPathPrefix + "{}/', " + hash + ")",
		},
	}, "")

	// 2. The role of each distinct instance profile.
	profileName := "States.ArrayGetItem(States.StringSplit($.ProfileArn, '/'), States.MathAdd(States.ArrayLength(States.StringSplit($.ProfileArn, '/')), -1))"
	profileNotRead := sfn.NewFail(b.scope, jsii.String("Instance Profile Not Read"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('reading instance profile {} failed, so its role is unknown and no deny policy was created: {}', $.ProfileArn, $.Failure.Cause)"),
	})
	readProfile := b.call(sdkCall{
		name:           "Find The Profile's Role",
		comment:        revocationComment,
		service:        "iam",
		action:         "getInstanceProfile",
		resources:      []string{iamArn("instance-profile/*")},
		params:         map[string]interface{}{"InstanceProfileName.$": profileName},
		resultSelector: map[string]interface{}{"RoleNames.$": "$.InstanceProfile.Roles[*].RoleName"},
		resultPath:     "$",
		onFailure:      profileNotRead,
		optional:       OptionalCredentialRevocation,
	})
	unique := "States.ArrayUnique($[*].RoleNames[*])"
	roles := sfn.NewMap(b.scope, jsii.String("Find Each Profile's Role"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.InstanceProfiles"),
		MaxConcurrency: jsii.Number(10),
		ItemSelector:   &map[string]interface{}{"ProfileArn.$": "$$.Map.Item.Value"},
		ResultSelector: &map[string]interface{}{
			"Count.$":   "States.ArrayLength(" + unique + ")",
			"Batches.$": fmt.Sprintf("States.ArrayPartition(%s, %d)", unique, RolesPerAttachExecution),
		},
		ResultPath: jsii.String("$.Roles"),
	})
	roles.ItemProcessor(readProfile, nil)
	roles.AddCatch(failed, anyError())

	// 3. One policy per chunk, created, then read back: its default
	// version must be v1, the document CreatePolicy wrote (a version
	// never changes; IAM User Guide, "Versioning IAM policies").
	name := "States.Format('{}-{}-{}', $.IncidentId, $.Deny.Hash, States.MathAdd($$.Map.Item.Index, 1))"
	policyNotCreated := sfn.NewFail(b.scope, jsii.String("Deny Policy Not Created"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('creating deny policy {} failed: {}', $.Arn, $.Failure.Cause)"),
	})
	check := b.call(sdkCall{
		name:      "Read The Deny Policy Back",
		comment:   revocationComment,
		service:   "iam",
		action:    "getPolicyVersion",
		resources: []string{denyPolicyARNs()},
		params:    map[string]interface{}{"PolicyArn.$": "$.Arn", "VersionId": "v1"},
		resultSelector: map[string]interface{}{
			"IsDefaultVersion.$": "$.PolicyVersion.IsDefaultVersion",
			"Document.$":         "$.PolicyVersion.Document",
		},
		resultPath: "$.Check",
		onFailure:  policyNotCreated,
		optional:   OptionalCredentialRevocation,
	})
	create := b.call(sdkCall{
		name:      "Create Deny Policy",
		comment:   revocationComment,
		service:   "iam",
		action:    "createPolicy",
		resources: []string{denyPolicyARNs()},
		params: map[string]interface{}{
			"Path.$":           "$.Path",
			"PolicyName.$":     "$.Name",
			"Description.$":    "$.Description",
			"PolicyDocument.$": "States.JsonToString($.Document)",
		},
		// A retried CreatePolicy whose first attempt succeeded: the name
		// is this execution's own, so the policy is this one; the read
		// decides.
		alreadyDone: []string{"EntityAlreadyExists", "already exists"},
		verify:      check,
		onFailure:   policyNotCreated,
		optional:    OptionalCredentialRevocation,
	})
	// IAM returns the document URL-encoded (IAM API reference,
	// GetPolicyVersion), which leaves the key's name and the effect
	// readable either way.
	b.retryUntilVisible(check)
	create.Next(check).Next(b.choice("Is The Deny Policy As Written?").
		When(sfn.Condition_And(
			sfn.Condition_BooleanEquals(jsii.String("$.Check.IsDefaultVersion"), jsii.Bool(true)),
			sfn.Condition_IsString(jsii.String("$.Check.Document")),
			sfn.Condition_StringMatches(jsii.String("$.Check.Document"), jsii.String("*SourceInstanceARN*")),
			sfn.Condition_StringMatches(jsii.String("$.Check.Document"), jsii.String("*Deny*")),
		), b.pass("Deny Policy Created", map[string]interface{}{"Arn.$": "$.Arn"}, ""), nil).
		Otherwise(sfn.NewFail(b.scope, jsii.String("Deny Policy Not As Written"), &sfn.FailProps{
			Error:     jsii.String("Containment.CredentialsNotRevoked"),
			CausePath: jsii.String("States.Format('deny policy {} was created, but its default version is not the deny document this execution wrote', $.Arn)"),
		})))
	policies := sfn.NewMap(b.scope, jsii.String("Create Each Deny Policy"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Deny.Chunks"),
		MaxConcurrency: jsii.Number(5),
		ItemSelector: &map[string]interface{}{
			"Path.$": "$.Deny.Path",
			"Name.$": name,
			"Arn.$":  "States.Format('" + iamArn("policy{}{}") + "', $.Deny.Path, " + name + ")",
			"Description.$": "States.Format('essential-ir, incident {}: denies every request signed with role credentials issued to these {} instances (policy {} of {}).', " +
				"$.IncidentId, States.ArrayLength($$.Map.Item.Value), States.MathAdd($$.Map.Item.Index, 1), States.ArrayLength($.Deny.Chunks))",
			"Document": denyDocument("$$.Map.Item.Value"),
		},
		ResultSelector: &map[string]interface{}{"Arns.$": "$[*].Arn"},
		ResultPath:     jsii.String("$.Policies"),
	})
	policies.ItemProcessor(create, nil)
	policies.AddCatch(failed, anyError())

	// 4. Every policy on every role, up to RolesPerAttachExecution roles
	// per execution, each failure recorded so the other roles still get
	// theirs.
	attach := sfn.NewCustomState(b.scope, jsii.String("Attach Them To These Roles"), &sfn.CustomStateProps{
		StateJson: &map[string]interface{}{
			"Type":     "Task",
			"Resource": "arn:" + *awscdk.Aws_PARTITION() + ":states:::states:startExecution.sync:2",
			"Parameters": map[string]interface{}{
				"StateMachineArn": arn("states", "stateMachine:"+b.settings.InstanceStateMachineName),
				"Name.$":          "States.Format('attach-deny-policies-{}', States.UUID())",
				"Input": map[string]interface{}{
					"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
					"Phase":                AttachPhase,
					"Roles.$":              "$.Roles",
					"Policies.$":           "$.Policies",
					"PolicyPath.$":         "$.PolicyPath",
					"IncidentId.$":         "$.IncidentId",
					"Region.$":             "$.Region",
					"FleetExecutionName.$": "$.FleetExecutionName",
					"Options.$":            "$.Options",
				},
			},
			"ResultSelector": map[string]interface{}{"Outcome": "ATTACHED", "Roles.$": "$.Output.Roles"},
			"TimeoutSeconds": 86400,
		},
	})
	b.retryStart(attach)
	attach.AddCatch(b.childFailed("Attach: ", "Attach Them To These Roles", map[string]interface{}{"Roles.$": "$.Roles"}), anyError())
	batches := sfn.NewMap(b.scope, jsii.String("Attach The Deny Policies To Every Role"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Roles.Batches"),
		MaxConcurrency: jsii.Number(2),
		ItemSelector: &map[string]interface{}{
			"Roles.$":              "$$.Map.Item.Value",
			"Policies.$":           "$.Policies.Arns",
			"PolicyPath.$":         "$.Deny.Path",
			"IncidentId.$":         "$.IncidentId",
			"Region.$":             "$.Region",
			"FleetExecutionName.$": "$.FleetExecutionName",
			"Options.$":            "$.Options",
		},
		ResultSelector: &map[string]interface{}{
			"Failed.$": "$[?(@.Outcome == 'FAILED')]",
		},
		ResultPath: jsii.String("$.Attachment"),
	})
	batches.ItemProcessor(attach, nil)
	batches.AddCatch(failed, anyError())

	output := func(name, outcome string) sfn.Pass {
		return b.pass(name, map[string]interface{}{
			"Outcome":            outcome,
			"Policies.$":         "$.Policies.Arns",
			"PolicyPath.$":       "$.Deny.Path",
			"Roles.$":            "$.Roles.Batches[0]",
			"RoleCount.$":        "$.Roles.Count",
			"InstancesCovered.$": "States.ArrayLength($.InstanceIds)",
		}, "")
	}
	notAttached := b.pass("Deny Policies Missing On Some Roles", map[string]interface{}{
		"Error.$": "$.Attachment.Failed[0].Error",
		"Cause.$": "States.Format('the deny policies {} were created (each lists up to " + fmt.Sprint(DenyChunk) + " of the instances), but not attached to every one of the {} roles: " +
			"{} of {} attach executions failed; the first: {}', States.JsonToString($.Policies.Arns), $.Roles.Count, States.ArrayLength($.Attachment.Failed), " +
			"States.ArrayLength($.Roles.Batches), $.Attachment.Failed[0].Cause)",
	}, "$.Failure")
	notAttached.Next(failed)
	attached := b.choice("Was Every Role Given The Deny Policies?").
		When(sfn.Condition_IsPresent(jsii.String("$.Attachment.Failed[0]")), notAttached, nil).
		Otherwise(output("Credentials Revoked", RevocationRevoked))

	noRoles := b.pass("No Profile Has A Role", map[string]interface{}{
		"Outcome":            RevocationNoRoles,
		"Policies":           []interface{}{},
		"PolicyPath":         "",
		"Roles":              []interface{}{},
		"RoleCount":          0,
		"InstancesCovered":   0,
		"InstanceProfiles.$": "$.InstanceProfiles",
	}, "")
	return patterns.Next(plan).Next(roles).Next(b.choice("Does Any Profile Have A Role?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.Roles.Batches[0]")), noRoles, nil).
		Otherwise(policies.Next(batches).Next(attached)))
}

// attachDenyPolicies is an attach execution (AttachPhase). Input: {"Roles",
// "Policies" (ARNs), "PolicyPath", ...}. Each role gets every policy
// (AttachRolePolicy, one at a time), then its attached policies under
// PolicyPath are listed: as many as Policies, since only this revocation
// creates policies under its path. A role that fails is recorded and the
// others go on; the execution then fails naming each failed role (the
// first 10). Output: {"Outcome": "ATTACHED", "Roles"}.
func (b *builder) attachDenyPolicies() sfn.IChainable {
	recordFailure := func(name string) sfn.Pass {
		return b.pass(name, map[string]interface{}{
			"RoleName.$": "$.RoleName",
			"Outcome":    RevocationFailed,
			"Error.$":    "$.Failure.Error",
			"Cause.$":    "$.Failure.Cause",
		}, "")
	}
	quota := sfn.NewFail(b.scope, jsii.String("Role At Its Managed Policy Quota"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('role {} already holds the most managed policies IAM allows it (10 by default), so deny policy {} was NOT attached and the credentials " +
			"of the instances it lists are not denied on this role. Detach older essential-ir deny policies (path " + DenyPolicyPathPrefix + ") from the role once their instances " +
			"are terminated or released, or raise the quota Managed policies per role (up to 20) in Service Quotas, then attach it: aws iam attach-role-policy --role-name {} --policy-arn {}. IAM said: {}', " +
			"$.RoleName, $.PolicyArn, $.RoleName, $.PolicyArn, $.Failure.Cause)"),
	})
	notAttached := sfn.NewFail(b.scope, jsii.String("Deny Policy Not Attached"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('attaching deny policy {} to role {} failed: {}', $.PolicyArn, $.RoleName, $.Failure.Cause)"),
	})
	attachOne := b.call(sdkCall{
		name:       "Attach Deny Policy",
		comment:    revocationComment,
		service:    "iam",
		action:     "attachRolePolicy",
		resources:  []string{iamArn("role/*")},
		conditions: map[string]interface{}{"ArnLike": map[string]interface{}{"iam:PolicyARN": denyPolicyARNs()}},
		params:     map[string]interface{}{"RoleName.$": "$.RoleName", "PolicyArn.$": "$.PolicyArn"},
		catches:    []catchTo{{errors: []string{"Iam.LimitExceededException"}, next: quota}},
		onFailure:  notAttached,
		optional:   OptionalCredentialRevocation,
	})
	b.retryUntilVisible(attachOne)
	each := sfn.NewMap(b.scope, jsii.String("Attach Each Deny Policy"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Policies"),
		MaxConcurrency: jsii.Number(1),
		ItemSelector:   &map[string]interface{}{"RoleName.$": "$.RoleName", "PolicyArn.$": "$$.Map.Item.Value"},
		ResultPath:     sfn.JsonPath_DISCARD(),
	})
	each.ItemProcessor(attachOne, nil)
	each.AddCatch(recordFailure("Role Not Given Every Deny Policy"), anyError())
	list := b.call(sdkCall{
		name:           "List Its Deny Policies",
		comment:        revocationComment,
		service:        "iam",
		action:         "listAttachedRolePolicies",
		resources:      []string{iamArn("role/*")},
		params:         map[string]interface{}{"RoleName.$": "$.RoleName", "PathPrefix.$": "$.PolicyPath"},
		resultSelector: map[string]interface{}{"Count.$": "States.ArrayLength($.AttachedPolicies)"},
		resultPath:     "$.Listed",
		onFailure:      recordFailure("Its Deny Policies Not Listed"),
		optional:       OptionalCredentialRevocation,
	})
	each.Next(list).Next(b.choice("Are All Its Deny Policies Attached?").
		When(sfn.Condition_NumberEqualsJsonPath(jsii.String("$.Listed.Count"), jsii.String("$.PolicyCount")),
			b.pass("Role Given Every Deny Policy", map[string]interface{}{"RoleName.$": "$.RoleName", "Outcome": "ATTACHED"}, ""), nil).
		Otherwise(b.pass("Deny Policies Not Listed On The Role", map[string]interface{}{
			"RoleName.$": "$.RoleName",
			"Outcome":    RevocationFailed,
			"Error":      "Containment.CredentialsNotRevoked",
			"Cause.$":    "States.Format('role {} lists {} of the {} deny policies under {} once they were attached', $.RoleName, $.Listed.Count, $.PolicyCount, $.PolicyPath)",
		}, "")))

	roles := sfn.NewMap(b.scope, jsii.String("Give Each Role The Deny Policies"), &sfn.MapProps{
		ItemsPath:      jsii.String("$.Roles"),
		MaxConcurrency: jsii.Number(5),
		ItemSelector: &map[string]interface{}{
			"RoleName.$":    "$$.Map.Item.Value",
			"Policies.$":    "$.Policies",
			"PolicyCount.$": "States.ArrayLength($.Policies)",
			"PolicyPath.$":  "$.PolicyPath",
		},
		ResultSelector: &map[string]interface{}{
			"Attached.$": "$[?(@.Outcome == 'ATTACHED')].RoleName",
			"Failed.$":   "$[?(@.Outcome == 'FAILED')]",
		},
		ResultPath: jsii.String("$.Attachment"),
	})
	roles.ItemProcessor(each, nil)
	interrupted := sfn.NewFail(b.scope, jsii.String("Attaching Interrupted"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('attaching deny policies {} to roles {} was interrupted: {}', States.JsonToString($.Policies), States.JsonToString($.Roles), $.Failure.Cause)"),
	})
	roles.AddCatch(interrupted, anyError())
	// The cause lists the first 10 failed roles (each under about 1,000
	// characters): within the 32,768 characters of a cause.
	someFailed := sfn.NewFail(b.scope, jsii.String("Deny Policies Not Attached"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Attachment.Failed[0].Error"),
		CausePath: jsii.String("States.Format('{} of {} roles did not get every deny policy {} (the others did): {}', States.ArrayLength($.Attachment.Failed), States.ArrayLength($.Roles), " +
			"States.JsonToString($.Policies), States.JsonToString(States.ArrayGetItem(States.ArrayPartition($.Attachment.Failed[*].Cause, 10), 0)))"),
	})
	return roles.Next(b.choice("Was Every Role Given Every Deny Policy?").
		When(sfn.Condition_IsPresent(jsii.String("$.Attachment.Failed[0]")), someFailed, nil).
		Otherwise(b.pass("Deny Policies Attached", map[string]interface{}{
			"Outcome": "ATTACHED",
			"Roles.$": "$.Attachment.Attached",
		}, "")))
}
