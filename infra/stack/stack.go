// Package stack defines the essential-ir CloudFormation stack: the
// containment state machine, its IAM role, its CloudWatch log group, the
// deploy-time parameters and the outputs a responder needs.
package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/essential-ir/essential-ir/statemachine"
)

// Props configures the stack.
type Props struct {
	awscdk.StackProps
}

// Logical IDs of the parameters, as the CloudFormation console and
// `cdk deploy --parameters` name them.
const (
	ParamStateMachineName = "StateMachineName"
	ParamLogLevel         = "LogLevel"
	ParamMaxConcurrency   = "MaxConcurrency"
	ParamTagKey           = "InvestigationTagKey"
	ParamTagValue         = "InvestigationTagValue"
	ParamRevoke           = "RevokeInstanceCredentials"
	ParamElasticIPs       = "DisassociateElasticIps"
	ParamEvidenceBucket   = "EvidenceBucketName"
	ParamRetentionDays    = "EvidenceRetentionDays"
	ParamRetentionMode    = "EvidenceRetentionMode"
	ParamSnapshotPoll     = "SnapshotPollSeconds"
)

// Logical IDs of the main resources, for tests and documentation.
const (
	StateMachineID = "ContainmentStateMachine"
	// InstanceStateMachineID is the state machine that contains one
	// instance, started once per instance by the containment state machine.
	InstanceStateMachineID = "InstanceStateMachine"
	// InstanceStateMachineSuffix ends the instance state machine's name,
	// after the StateMachineName parameter.
	InstanceStateMachineSuffix = "-instance"
	RoleID                     = "ContainmentRole"
	LogGroupID                 = "ContainmentLogs"
	// LogsKeyID is the KMS key that encrypts the log group.
	LogsKeyID = "LogsKey"
	// LogsKeyAliasSuffix ends the logs key's alias, after "alias/" and the
	// StateMachineName parameter.
	LogsKeyAliasSuffix = "-logs"
	// LogGroupPrefix starts the log group's name, before the
	// StateMachineName parameter: the prefix AWS recommends for the logs
	// Step Functions delivers (Step Functions Developer Guide, "Logging
	// in CloudWatch Logs"), whose resource policy CloudWatch Logs then
	// need not grow per log group.
	LogGroupPrefix = "/aws/vendedlogs/states/"
	BucketID       = "EvidenceBucket"
	KeyID          = "EvidenceKey"
	// EvidenceKeyAliasSuffix ends the evidence key's alias, after
	// "alias/" and the StateMachineName parameter.
	EvidenceKeyAliasSuffix = "-evidence"
)

// Logical IDs of the outputs a responder (and the emulated deployment)
// reads.
const (
	OutputStateMachineArn = "StateMachineArn"
	// OutputEvidenceBucket is the bucket the stack creates;
	// OutputExistingEvidenceBucket the one EvidenceBucketName names. Only
	// one of them exists.
	OutputEvidenceBucket         = "EvidenceBucket"
	OutputExistingEvidenceBucket = "ExistingEvidenceBucket"
)

// LogRetention is how long execution logs, which hold the evidence the
// workflow collected, are kept.
const LogRetention = awslogs.RetentionDays_ONE_YEAR

// DefaultLogLevel is the LogLevel parameter's default: ERROR logs every
// failure with AWS's error and cause, and none of the data the workflow
// reads. ALL would copy each state's input and output into CloudWatch Logs:
// the instance's DescribeInstances item, its user data (which often holds
// credentials and keys) and console output, readable by anyone with
// logs:GetLogEvents or Logs Insights on the group, for a year, beside the
// execution history (90 days) and the evidence bucket, which already hold
// them under the responders' own access.
const DefaultLogLevel = "ERROR"

// New defines the stack under scope and applies cdk-nag's AWS Solutions
// checks to it.
func New(scope constructs.Construct, id string, props *Props) awscdk.Stack {
	var sprops awscdk.StackProps
	if props != nil {
		sprops = props.StackProps
	}
	st := awscdk.NewStack(scope, jsii.String(id), &sprops)

	name := awscdk.NewCfnParameter(st, jsii.String(ParamStateMachineName), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String("essential-ir"),
		AllowedPattern: jsii.String("^[A-Za-z0-9_-]{1,71}$"),
		Description:    jsii.String("Name of the state machine, as responders find it in the Step Functions console. The state machine that contains one instance is named after it, with -instance added."),
	})
	logLevel := awscdk.NewCfnParameter(st, jsii.String(ParamLogLevel), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String(DefaultLogLevel),
		AllowedValues: jsii.Strings("ALL", "ERROR", "FATAL", "OFF"),
		Description: jsii.String("Execution events sent to CloudWatch Logs, with their data. ERROR (default): failures, with AWS's error and cause. " +
			"ALL also copies every state's input and output into the log: the instance's metadata, user data (which often holds secrets) and console output."),
	})
	concurrency := awscdk.NewCfnParameter(st, jsii.String(ParamMaxConcurrency), &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(5),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(40),
		Description: jsii.String("Instances contained at the same time in one execution; then, once all are contained, instances whose evidence is preserved at the same time."),
	})
	tagKey := awscdk.NewCfnParameter(st, jsii.String(ParamTagKey), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String("SecurityIncidentStatus"),
		AllowedPattern: jsii.String("^[A-Za-z0-9 _.:/=+@-]{1,128}$"),
		Description:    jsii.String("Tag key that marks instances and snapshots under investigation."),
	})
	tagValue := awscdk.NewCfnParameter(st, jsii.String(ParamTagValue), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String("Investigation"),
		AllowedPattern: jsii.String("^[A-Za-z0-9 _.:/=+@-]{1,256}$"),
		Description:    jsii.String("Tag value that marks instances and snapshots under investigation."),
	})

	revoke := awscdk.NewCfnParameter(st, jsii.String(ParamRevoke), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String("true"),
		AllowedValues: jsii.Strings("true", "false"),
		Description: jsii.String("true: deny, on the roles of the contained instances, every request signed with credentials issued to those instances " +
			"(customer managed policies under /essential-ir/, one per 240 instances, attached to each role; other instances sharing the roles are unaffected). " +
			"Needs iam:CreatePolicy and iam:AttachRolePolicy limited to those policies; false removes those permissions."),
	})
	elasticIPs := awscdk.NewCfnParameter(st, jsii.String(ParamElasticIPs), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String("false"),
		AllowedValues: jsii.Strings("true", "false"),
		Description:   jsii.String("true: disassociate the instance's Elastic IPs. false (default): only record them, so what was exposed stays visible."),
	})

	bucketParam := awscdk.NewCfnParameter(st, jsii.String(ParamEvidenceBucket), &awscdk.CfnParameterProps{
		Type:        jsii.String("String"),
		Default:     jsii.String(""),
		Description: jsii.String("Existing evidence bucket (versioning and Object Lock on). Empty: the stack creates one."),
	})
	retention := awscdk.NewCfnParameter(st, jsii.String(ParamRetentionDays), &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(365),
		MinValue:    jsii.Number(1),
		Description: jsii.String("Object Lock default retention, in days, of the evidence bucket the stack creates."),
	})
	retentionMode := awscdk.NewCfnParameter(st, jsii.String(ParamRetentionMode), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String("GOVERNANCE"),
		AllowedValues: jsii.Strings("GOVERNANCE", "COMPLIANCE"),
		Description: jsii.String("Object Lock mode of the evidence bucket the stack creates. GOVERNANCE: a principal with s3:BypassGovernanceRetention " +
			"can still delete evidence before its retention ends. COMPLIANCE: nobody can, not even the account's root user, until it ends."),
	})
	poll := awscdk.NewCfnParameter(st, jsii.String(ParamSnapshotPoll), &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.Number(15),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(3600),
		Description: jsii.String("Seconds between two reads of a snapshot that is not complete yet."),
	})
	store := evidenceStore(st, name, bucketParam, retention, retentionMode)
	key, bucketName := store.key, store.bucketName

	settings := statemachine.DefaultSettings()
	settings.EvidenceBucket = *bucketName
	settings.EvidenceBucketGiven = *awscdk.Fn_ConditionIf(store.existing.LogicalId(), jsii.String("true"), jsii.String("false")).ToString()
	settings.EvidenceKeyArn = *key.KeyArn()
	settings.SnapshotPollSeconds = poll.ValueAsNumber()
	settings.RevokeCredentials = *revoke.ValueAsString()
	settings.DisassociateElasticIPs = *elasticIPs.ValueAsString()
	settings.MaxConcurrency = concurrency.ValueAsNumber()
	settings.TagKey = *tagKey.ValueAsString()
	settings.TagValue = *tagValue.ValueAsString()
	instanceName := awscdk.Fn_Join(jsii.String(""), &[]*string{name.ValueAsString(), jsii.String(InstanceStateMachineSuffix)})
	settings.InstanceStateMachineName = *instanceName
	workflow := statemachine.New(st, "Containment", settings)

	logs := logGroup(st, name.ValueAsString())

	role := awsiam.NewRole(st, jsii.String(RoleID), &awsiam.RoleProps{
		AssumedBy:   trustedStateMachines(name.ValueAsString(), instanceName),
		Description: jsii.String("essential-ir containment state machine: exactly the API calls its definition makes"),
	})
	policy := awsiam.NewPolicy(st, jsii.String("ContainmentPolicy"), &awsiam.PolicyProps{
		Statements: &workflow.Statements,
	})
	policy.AttachToRole(role)
	// The role can never change its own permissions, whatever else it is
	// allowed (an explicit Deny wins over any Allow).
	guard := awsiam.NewPolicy(st, jsii.String(SelfProtectionPolicyID), &awsiam.PolicyProps{Statements: SelfProtection(role)})
	guard.AttachToRole(role)
	// The permissions of optional steps exist only when their parameter
	// turns them on.
	optional := map[string]*awscdk.CfnParameter{
		statemachine.OptionalCredentialRevocation: &revoke,
		statemachine.OptionalElasticIPRelease:     &elasticIPs,
	}
	var optionalPolicies []awsiam.Policy
	for _, key := range []string{statemachine.OptionalCredentialRevocation, statemachine.OptionalElasticIPRelease} {
		statements := workflow.OptionalStatements[key]
		if len(statements) == 0 {
			continue
		}
		enabled := awscdk.NewCfnCondition(st, jsii.String(key+"Enabled"), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionEquals((*optional[key]).ValueAsString(), jsii.String("true")),
		})
		p := awsiam.NewPolicy(st, jsii.String(key+"Policy"), &awsiam.PolicyProps{Statements: &statements})
		p.AttachToRole(role)
		p.Node().DefaultChild().(awscdk.CfnResource).CfnOptions().SetCondition(enabled)
		optionalPolicies = append(optionalPolicies, p)
	}
	// Step Functions delivers logs through CloudWatch Logs vended log
	// delivery and traces to X-Ray; neither API supports resource-level
	// permissions.
	delivery := awsiam.NewPolicy(st, jsii.String("LoggingAndTracingPolicy"), &awsiam.PolicyProps{
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
					"logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
					"logs:DescribeResourcePolicies", "logs:DescribeLogGroups"),
				Resources: jsii.Strings("*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"),
				Resources: jsii.Strings("*"),
			}),
		},
	})
	delivery.AttachToRole(role)

	// Both state machines share the role and the log group: the fleet one
	// starts the instance one, once per instance.
	newMachine := func(id string, machineName *string, definition sfn.IChainable, comment string, dependsOn ...*string) sfn.StateMachine {
		machine := sfn.NewStateMachine(st, jsii.String(id), &sfn.StateMachineProps{
			StateMachineName: machineName,
			StateMachineType: sfn.StateMachineType_STANDARD,
			DefinitionBody:   sfn.DefinitionBody_FromChainable(definition),
			// The role's policies are written above, from the
			// definitions; a state machine must not add broader ones.
			Role:           role.WithoutPolicyUpdates(nil),
			TracingEnabled: jsii.Bool(true),
			Timeout:        awscdk.Duration_Seconds(jsii.Number(statemachine.ExecutionTimeoutSeconds)),
			Logs: &sfn.LogOptions{
				Destination:          logs,
				Level:                sfn.LogLevel_ALL,
				IncludeExecutionData: jsii.Bool(true),
			},
			Comment: jsii.String(comment),
		})
		// Step Functions checks at creation that the role may deliver
		// logs, so the policies must exist first; the role itself is
		// already implied by the state machine's reference to it.
		cfn := machine.Node().DefaultChild().(sfn.CfnStateMachine)
		cfn.AddOverride(jsii.String("DependsOn"), append([]*string{logicalID(st, policy), logicalID(st, delivery), logicalID(st, guard)}, dependsOn...))
		cfn.AddPropertyOverride(jsii.String("LoggingConfiguration.Level"), logLevel.ValueAsString())
		return machine
	}
	instanceMachine := newMachine(InstanceStateMachineID, instanceName, workflow.Instance,
		"essential-ir: contains ONE instance; started by the essential-ir state machine, once per instance. Start that one instead.")
	machine := newMachine(StateMachineID, name.ValueAsString(), workflow.Definition,
		"essential-ir: contain compromised EC2 instances and preserve evidence. Input: "+statemachine.SampleInput,
		logicalID(st, instanceMachine))

	awscdk.NewCfnOutput(st, jsii.String(OutputStateMachineArn), &awscdk.CfnOutputProps{
		Value:       machine.StateMachineArn(),
		Description: jsii.String("Start executions of this state machine (console or aws stepfunctions start-execution)."),
	})
	awscdk.NewCfnOutput(st, jsii.String("ConsoleLink"), &awscdk.CfnOutputProps{
		Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("https://"), awscdk.Aws_REGION(), jsii.String(".console.aws.amazon.com/states/home?region="),
			awscdk.Aws_REGION(), jsii.String("#/statemachines/view/"), machine.StateMachineArn(),
		}),
		Description: jsii.String("Open the state machine in the Step Functions console and choose Start execution."),
	})
	// One output per case, each under the condition that makes its value
	// exist (an Fn::If output naming a conditional bucket is flagged by
	// CloudFormation validation).
	for _, o := range []struct {
		id    string
		value *string
		cond  awscdk.CfnCondition
	}{
		{OutputEvidenceBucket, store.bucketRef, store.created},
		{OutputExistingEvidenceBucket, bucketParam.ValueAsString(), store.existing},
	} {
		awscdk.NewCfnOutput(st, jsii.String(o.id+"Output"), &awscdk.CfnOutputProps{
			Key:         jsii.String(o.id),
			Value:       o.value,
			Condition:   o.cond,
			Description: jsii.String("Where each instance's pre-incident record and containment summary are written, under <incident-id>/<instance-id>/."),
		})
	}
	awscdk.NewCfnOutput(st, jsii.String("SampleInput"), &awscdk.CfnOutputProps{
		Value:       awscdk.Fn_Sub(jsii.String(`{"InstanceIds": ["i-0123456789abcdef0"], "Region": "${AWS::Region}"}`), nil),
		Description: jsii.String("Execution input: the instance IDs to contain and this stack's region."),
	})

	suppressNagFindings(st, role, append(optionalPolicies, policy), delivery, machine, instanceMachine)
	awscdk.Aspects_Of(st).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return st
}

// logGroup is the log group both state machines log to:
// /aws/vendedlogs/states/<StateMachineName>, kept a year and when the stack
// is deleted, encrypted with a KMS key of its own (alias
// alias/<StateMachineName>-logs) whose policy lets CloudWatch Logs in this
// region use it for this log group only (CloudWatch Logs User Guide,
// "Encrypt log data in CloudWatch Logs using AWS KMS", step 2: the
// kms:EncryptionContext:aws:logs:arn condition). The key policy names the
// log group by its name, built from the parameter, so the key does not
// depend on the group that depends on it.
func logGroup(st awscdk.Stack, machineName *string) awslogs.LogGroup {
	name := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String(LogGroupPrefix), machineName})
	key := awskms.NewKey(st, jsii.String(LogsKeyID), &awskms.KeyProps{
		Description:       jsii.String("essential-ir execution logs: encrypts the log group of the state machines."),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		Alias:             awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("alias/"), machineName, jsii.String(LogsKeyAliasSuffix)}),
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsEncryptsTheStateMachinesLogGroup"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("logs."), awscdk.Aws_REGION(), jsii.String(".amazonaws.com")}), nil)},
		Actions:    jsii.Strings("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"ArnEquals": map[string]interface{}{
			"kms:EncryptionContext:aws:logs:arn": awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":logs:"), awscdk.Aws_REGION(), jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":log-group:"), name,
			}),
		}},
	}), nil)
	return awslogs.NewLogGroup(st, jsii.String(LogGroupID), &awslogs.LogGroupProps{
		LogGroupName:  name,
		EncryptionKey: key,
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// trustedStateMachines is the principal the role trusts: Step Functions,
// only on behalf of this stack's two state machines in this account (Step
// Functions Developer Guide, "Creating an IAM role for your state machine",
// "Prevent cross-service confused deputy issue": aws:SourceArn and
// aws:SourceAccount in the trust policy). So nobody can pass the role to
// another state machine and act with its permissions: Step Functions
// cannot assume it for that state machine. The ARNs are built from the
// state machines' names, which are parameters, not from the state machine
// resources: those depend on the role, and the role cannot depend on them.
func trustedStateMachines(names ...*string) awsiam.IPrincipal {
	var arns []*string
	for _, n := range names {
		arns = append(arns, stateMachineArn(n))
	}
	return awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("states.amazonaws.com"), nil), &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike":      map[string]interface{}{"aws:SourceArn": arns},
	})
}

// stateMachineArn is the ARN of the state machine of this stack's account
// and region named name.
func stateMachineArn(name *string) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":states:"), awscdk.Aws_REGION(), jsii.String(":"),
		awscdk.Aws_ACCOUNT_ID(), jsii.String(":stateMachine:"), name,
	})
}

// SelfProtectionPolicyID is the construct ID of the policy that denies the
// role any change to its own permissions.
const SelfProtectionPolicyID = "SelfProtectionPolicy"

// SelfProtection denies every IAM write that could widen the permissions
// of the stack's own roles: attaching, putting, detaching or deleting a
// policy on them, changing their trust policy or permissions boundary
// (issue 18: no self-escalation, even if a definition is changed to call
// these), and writing a new version of any managed policy, which the
// workflow never does (it only creates new deny policies).
func SelfProtection(roles ...awsiam.IRole) *[]awsiam.PolicyStatement {
	arns := make([]*string, len(roles))
	for i, r := range roles {
		arns[i] = r.RoleArn()
	}
	return &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:    jsii.String("NoChangeToTheStacksOwnRoles"),
			Effect: awsiam.Effect_DENY,
			Actions: jsii.Strings("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
				"iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRolePermissionsBoundary", "iam:UpdateRole"),
			Resources: &arns,
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("NoNewVersionOfAnyManagedPolicy"),
			Effect:    awsiam.Effect_DENY,
			Actions:   jsii.Strings("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"),
			Resources: jsii.Strings("*"),
		}),
	}
}

// suppressNagFindings records, with its reason, each cdk-nag finding the
// design accepts.
func suppressNagFindings(st awscdk.Stack, role awsiam.Role, policies []awsiam.Policy, delivery awsiam.Policy, machines ...sfn.StateMachine) {
	for _, policy := range policies {
		cdknag.NagSuppressions_AddResourceSuppressions(policy, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("Describe* and other read APIs of EC2, Auto Scaling and ELB do not support resource-level permissions; " +
				"write actions must reach any instance, ENI, volume, snapshot, role, Auto Scaling group or load balancer the responder's " +
				"instances use, whose IDs are only known at run time. Every mutating statement is narrowed by the condition keys AWS documents " +
				"for it (tags, tag keys, attributes, encryption, If-None-Match, kms:ViaService): Documentation/security.md gives each."),
		}}, jsii.Bool(true))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(delivery, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("CloudWatch Logs vended log delivery and X-Ray do not support resource-level permissions (Step Functions logging documentation)."),
	}}, jsii.Bool(true))
	for _, machine := range machines {
		cdknag.NagSuppressions_AddResourceSuppressions(machine, &[]*cdknag.NagPackSuppression{{
			Id:     jsii.String("AwsSolutions-SF1"),
			Reason: jsii.String("The log level is the LogLevel stack parameter, default ERROR: ALL would copy the instance's user data (often secrets) and console output into CloudWatch Logs; a platform team may choose ALL deliberately."),
		}}, jsii.Bool(true))
	}
}

// logicalID is the CloudFormation logical ID of a construct's resource.
func logicalID(st awscdk.Stack, c constructs.IConstruct) *string {
	return st.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// evidenceStore creates the customer-managed KMS key that encrypts
// evidence (snapshot copies and record objects) and, unless an existing
// bucket is named, the evidence bucket: versioned, Object Lock with default
// GOVERNANCE retention, SSE-KMS with that key, TLS only, no public access.
// It returns the key, the name of the bucket in use and the conditions.
// The key's alias is named after the state machine (alias/essential-ir-evidence
// by default), so that two stacks with different state machine names can be
// deployed in one account and region.
func evidenceStore(st awscdk.Stack, machineName, bucketParam, retention, mode awscdk.CfnParameter) evidence {
	alias := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("alias/"), machineName.ValueAsString(), jsii.String(EvidenceKeyAliasSuffix)})
	key := awskms.NewKey(st, jsii.String(KeyID), &awskms.KeyProps{
		Description:       jsii.String("essential-ir evidence: encrypted snapshot copies and the evidence bucket. To hand evidence to a forensic account, add it as a key user."),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		Alias:             alias,
	})
	create := awscdk.NewCfnCondition(st, jsii.String("CreateEvidenceBucket"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(bucketParam.ValueAsString(), jsii.String("")),
	})
	bucket := awss3.NewBucket(st, jsii.String(BucketID), &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		ObjectLockEnabled: jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_KMS,
		EncryptionKey:     key,
		BucketKeyEnabled:  jsii.Bool(true),
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	cfnBucket := bucket.Node().DefaultChild().(awss3.CfnBucket)
	cfnBucket.CfnOptions().SetCondition(create)
	cfnBucket.AddPropertyOverride(jsii.String("ObjectLockConfiguration"), map[string]interface{}{
		"ObjectLockEnabled": "Enabled",
		"Rule": map[string]interface{}{"DefaultRetention": map[string]interface{}{
			"Mode": mode.ValueAsString(),
			"Days": retention.ValueAsNumber(),
		}},
	})
	// Write-once for everyone, the account's administrators included: a
	// PutObject without If-None-Match could add a version over an evidence
	// object, so it is refused (S3 User Guide, "Enforce conditional writes
	// on Amazon S3 buckets": s3:if-none-match). Multipart uploads and
	// copies, which cannot carry the header, are refused with it; the
	// workflow uses neither. Object Lock keeps every version; this keeps
	// the key's current version the one the manifest hashed.
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("DenyWritesThatMayOverwrite"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  jsii.Strings(*bucket.ArnForObjects(jsii.String("*"))),
		Conditions: &map[string]interface{}{"Null": map[string]interface{}{"s3:if-none-match": "true"}},
	}))
	if policy := bucket.Policy(); policy != nil {
		policy.Node().DefaultChild().(awscdk.CfnResource).CfnOptions().SetCondition(create)
	}
	name := awscdk.Fn_ConditionIf(create.LogicalId(), bucket.BucketName(), bucketParam.ValueAsString()).ToString()
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("Evidence objects are write-once (Object Lock, conditional writes) and every write is in the execution history and CloudTrail; a second access-log bucket would hold no additional evidence."),
	}}, jsii.Bool(true))
	existing := awscdk.NewCfnCondition(st, jsii.String("UseExistingEvidenceBucket"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(create),
	})
	return evidence{key: key, bucketName: name, bucketRef: bucket.BucketName(), created: create, existing: existing}
}

// evidence is the evidence store of the stack.
type evidence struct {
	key               awskms.Key
	bucketName        *string // whichever bucket is in use
	bucketRef         *string // the bucket the stack creates
	created, existing awscdk.CfnCondition
}
