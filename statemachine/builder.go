package statemachine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	tasks "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// builder creates the states of the workflow under one construct scope and
// collects the IAM access every aws-sdk task needs.
type builder struct {
	scope    constructs.Construct
	settings Settings
	access   []Access
}

// Access is the IAM permission one aws-sdk task needs: the action, the
// resources it may act on and, where IAM allows narrowing further, conditions.
type Access struct {
	Action     string
	Resources  []string
	Conditions map[string]interface{}
	// Optional marks access that a stack parameter can turn off; it goes in
	// Workflow.OptionalStatements under this key instead of Statements.
	Optional string
}

// sdkCall describes one aws-sdk integration task.
type sdkCall struct {
	name       string // state name, as a responder reads it in the console
	service    string // ASL service name, e.g. "ec2", "autoscaling", "elasticloadbalancingv2"
	action     string // API action in camelCase, e.g. "createTags"; its IAM action is iamActionOf(service, action)
	resources  []string
	conditions map[string]interface{}
	// scopes are more resources of the same call, each with its own
	// conditions (scope).
	scopes         []scope
	params         map[string]interface{}
	resultSelector map[string]interface{}
	resultPath     string // "" discards the result (side-effect task)
	// catches run before the catch-all that fails the step.
	catches []catchTo
	// onFailure receives every other error, after retries.
	onFailure sfn.IChainable
	// alreadyDone lists the error codes and message phrases with which AWS
	// refuses a change that is already made: another execution (or a
	// person) made it between this execution's read and its change. Such an
	// error goes to verify, the step's follow-up read, instead of failing
	// the step; the read then decides.
	alreadyDone []string
	verify      sfn.IChainable
	// optional: see Access.Optional.
	optional string
	// bestEffort says why a failure of this call, after its retries, is
	// recorded and not a failure of the instance; it becomes the task's
	// Comment, starting "Best effort: ".
	bestEffort string
	// comment is the task's Comment when it is not best effort.
	comment string
	// retries bounds the retries of throttling and transient errors (0:
	// defaultRetries). A call whose failure has a fallback retries less, so
	// waiting on it never delays what comes after it by long.
	retries int
}

// scope is part of a call's IAM access: resources with conditions of their
// own. IAM authorises each resource a request names on its own, with the
// condition keys of that resource: a condition on a key that one resource
// type carries (a security group's tags) but another does not (the network
// interface the group is put on) needs a statement of its own, or the other
// resource would be refused.
type scope struct {
	resources  []string
	conditions map[string]interface{}
}

// defaultRetries is how often a call is retried on throttling and transient
// errors: with back-off from 1 s doubling to 16 s, full jitter, about 15 s
// expected and 31 s at most.
const defaultRetries = 5

// BestEffortComment starts the Comment of every task whose failure is
// recorded instead of failing the instance.
const BestEffortComment = "Best effort: "

// catchTo routes specific errors to a state other than the step's failure.
type catchTo struct {
	errors     []string
	next       sfn.IChainable
	resultPath string
}

// call builds an aws-sdk task with the workflow's retry policy and catches.
func (b *builder) call(c sdkCall) tasks.CallAwsService {
	resultPath := c.resultPath
	if resultPath == "" {
		resultPath = *sfn.JsonPath_DISCARD()
	}
	props := &tasks.CallAwsServiceProps{
		StateName:    jsii.String(c.name),
		Service:      jsii.String(c.service),
		Action:       jsii.String(c.action),
		IamAction:    jsii.String(iamActionOf(c.service, c.action)),
		IamResources: jsii.Strings(c.resources...),
		Parameters:   &c.params,
		ResultPath:   jsii.String(resultPath),
		TaskTimeout:  sfn.Timeout_Duration(awscdk.Duration_Seconds(jsii.Number(taskTimeoutSeconds))),
	}
	if c.resultSelector != nil {
		props.ResultSelector = &c.resultSelector
	}
	if c.bestEffort != "" {
		props.Comment = jsii.String(BestEffortComment + c.bestEffort)
	} else if c.comment != "" {
		props.Comment = jsii.String(c.comment)
	}
	task := tasks.NewCallAwsService(b.scope, jsii.String(c.name), props)
	retries := c.retries
	if retries == 0 {
		retries = defaultRetries
	}
	task.AddRetry(&sfn.RetryProps{
		Errors:         jsii.Strings(transientErrors(c.service)...),
		Interval:       awscdk.Duration_Seconds(jsii.Number(1)),
		BackoffRate:    jsii.Number(2),
		MaxAttempts:    jsii.Number(float64(retries)),
		MaxDelay:       awscdk.Duration_Seconds(jsii.Number(16)),
		JitterStrategy: sfn.JitterType_FULL,
	})
	task.AddRetry(&sfn.RetryProps{
		Errors:      &[]*string{sfn.Errors_TIMEOUT()},
		Interval:    awscdk.Duration_Seconds(jsii.Number(2)),
		BackoffRate: jsii.Number(2),
		MaxAttempts: jsii.Number(2),
	})
	for _, ct := range c.catches {
		rp := ct.resultPath
		if rp == "" {
			rp = "$.Failure"
		}
		task.AddCatch(ct.next, &sfn.CatchProps{Errors: jsii.Strings(ct.errors...), ResultPath: jsii.String(rp)})
	}
	if c.onFailure == nil {
		panic(fmt.Sprintf("statemachine: task %q has no failure state", c.name))
	}
	failure := c.onFailure
	if len(c.alreadyDone) > 0 {
		if c.verify == nil {
			panic(fmt.Sprintf("statemachine: task %q lists alreadyDone errors but no verify state", c.name))
		}
		failure = b.choice("Already Done? "+c.name).
			When(causeMentions("$.Failure.Cause", c.alreadyDone...), c.verify, nil).
			Otherwise(c.onFailure)
	}
	task.AddCatch(failure, anyError())
	action := iamActionOf(c.service, c.action)
	b.access = append(b.access, Access{Action: action, Resources: c.resources, Conditions: c.conditions, Optional: c.optional})
	for _, sc := range c.scopes {
		b.access = append(b.access, Access{Action: action, Resources: sc.resources, Conditions: sc.conditions, Optional: c.optional})
	}
	return task
}

// iamActionExceptions are the aws-sdk calls whose IAM action is not the
// call's own name (Service Authorization Reference): S3 authorises
// HeadObject as s3:GetObject, GetObjectLockConfiguration as
// s3:GetBucketObjectLockConfiguration.
var iamActionExceptions = map[string]string{
	"s3:headObject":                 "s3:GetObject",
	"s3:getObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
}

// iamPrefixes are the IAM service prefixes that differ from the ASL
// service name: both Elastic Load Balancing APIs use elasticloadbalancing.
var iamPrefixes = map[string]string{
	"elasticloadbalancingv2": "elasticloadbalancing",
}

// iamActionOf is the IAM action that authorises an aws-sdk call: the
// service's IAM prefix and the action's API name, e.g. ec2 createTags is
// ec2:CreateTags, unless iamActionExceptions says otherwise.
func iamActionOf(service, action string) string {
	if a, ok := iamActionExceptions[service+":"+action]; ok {
		return a
	}
	prefix := service
	if p, ok := iamPrefixes[service]; ok {
		prefix = p
	}
	return prefix + ":" + strings.ToUpper(action[:1]) + action[1:]
}

// Errors with which AWS refuses a change that is already made: another
// execution made it first (EC2 API reference, "Error codes"; Auto Scaling
// DetachInstances; ELB DeregisterTargets). Each is caught by sdkCall's
// alreadyDone and sent to the step's follow-up read, which decides.
var (
	// groupExists: CreateSecurityGroup of a name the VPC already has.
	groupExists = []string{"InvalidGroup.Duplicate", "already exists for VPC"}
	// ruleExists: AuthorizeSecurityGroup* of a rule the group already has.
	ruleExists = []string{"InvalidPermission.Duplicate", "already exists"}
	// ruleGone: RevokeSecurityGroup* of a rule already removed.
	ruleGone = []string{"InvalidPermission.NotFound", "rule does not exist"}
	// associationGone: Disassociate* of an association already removed.
	// AWS's message is not recorded anywhere we could read: every
	// credible wording is matched, and the read after it decides.
	associationGone = []string{"InvalidAssociationID.NotFound", "association ID", "association-id", "association id", "does not exist"}
	// notInGroup: DetachInstances of an instance that already left.
	notInGroup = []string{"is not part of Auto Scaling group"}
	// targetGone: DeregisterTargets of a target already deregistered.
	targetGone = []string{"InvalidTarget", "target does not exist"}
)

// causeMentions is true when the error cause at path contains any of the
// phrases (an AWS error code such as InvalidGroup.Duplicate, or words of its
// message: the aws-sdk integration reports EC2's errors under the single
// name Ec2.Ec2Exception, so the cause is what tells them apart).
func causeMentions(path string, phrases ...string) sfn.Condition {
	conds := make([]sfn.Condition, len(phrases))
	for i, p := range phrases {
		conds[i] = sfn.Condition_StringMatches(jsii.String(path), jsii.String("*"+p+"*"))
	}
	if len(conds) == 1 {
		return conds[0]
	}
	return sfn.Condition_Or(conds...)
}

// taskTimeoutSeconds bounds every single API call; a call that hangs is
// retried, then fails its step.
const taskTimeoutSeconds = 60

// transientErrors are the error names AWS emits for the throttling and
// transient failures of an aws-sdk integration, by service. Step Functions
// names aws-sdk errors ServiceName.ErrorName in PascalCase; EC2 reports every
// error as Ec2.Ec2Exception with the EC2 error code (RequestLimitExceeded,
// InternalError, Unavailable, ...) in the Cause, so for EC2 the retry also
// covers permanent errors, bounded by MaxAttempts.
func transientErrors(service string) []string {
	switch service {
	case "ec2":
		return []string{"Ec2.Ec2Exception", "Ec2.SdkClientException"}
	case "autoscaling":
		return []string{"AutoScaling.AutoScalingException", "AutoScaling.ResourceContentionException", "AutoScaling.SdkClientException"}
	case "elasticloadbalancingv2":
		return []string{"ElasticLoadBalancingV2.ElasticLoadBalancingV2Exception", "ElasticLoadBalancingV2.SdkClientException"}
	case "elasticloadbalancing":
		return []string{"ElasticLoadBalancing.ElasticLoadBalancingException", "ElasticLoadBalancing.SdkClientException"}
	case "s3":
		return []string{"S3.S3Exception", "S3.SdkClientException"}
	case "iam":
		return []string{"Iam.IamException", "Iam.ServiceFailureException", "Iam.SdkClientException"}
	default:
		panic(fmt.Sprintf("statemachine: no retry policy for service %q", service))
	}
}

// stepFailed is the Fail state a step's tasks go to when they fail after
// their retries. Its Error is the AWS error; its Cause names the step and the
// instance, then gives AWS's cause.
func (b *builder) stepFailed(step string) sfn.Fail {
	return sfn.NewFail(b.scope, jsii.String(step+" Failed"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String(fmt.Sprintf("States.Format('%s failed for instance {}: {}', $.InstanceId, $.Failure.Cause)", step)),
	})
}

// notVerified is the Fail state of a step whose follow-up read shows the
// change did not take. what says, in a responder's words, what was expected;
// it may use {} placeholders filled from the JSONPaths in args.
func (b *builder) notVerified(name, errorName, what string, args ...string) sfn.Fail {
	format := "States.Format('" + what + " (instance {})'"
	for _, a := range args {
		format += ", " + a
	}
	format += ", $.InstanceId)"
	return sfn.NewFail(b.scope, jsii.String(name), &sfn.FailProps{
		Error:     jsii.String(errorName),
		CausePath: jsii.String(format),
	})
}

// succeed ends a branch with a named Succeed state.
func (b *builder) succeed(name string) sfn.Succeed {
	return sfn.NewSucceed(b.scope, jsii.String(name), nil)
}

// choice creates a named Choice state.
func (b *builder) choice(name string) sfn.Choice {
	return sfn.NewChoice(b.scope, jsii.String(name), nil)
}

// pass creates a Pass state that replaces or adds part of the state data.
func (b *builder) pass(name string, params map[string]interface{}, resultPath string) sfn.Pass {
	props := &sfn.PassProps{Parameters: &params}
	if resultPath != "" {
		props.ResultPath = jsii.String(resultPath)
	}
	return sfn.NewPass(b.scope, jsii.String(name), props)
}

// wait creates a Wait state of a fixed number of seconds.
func (b *builder) wait(name string, seconds int) sfn.Wait {
	return sfn.NewWait(b.scope, jsii.String(name), &sfn.WaitProps{
		Time: sfn.WaitTime_Duration(awscdk.Duration_Seconds(jsii.Number(float64(seconds)))),
	})
}

// arn formats an ARN in the stack's partition, region and account.
func arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", *awscdk.Aws_PARTITION(), service, *awscdk.Aws_REGION(), *awscdk.Aws_ACCOUNT_ID(), resource)
}

// PolicyStatements merges the access of every task marked optional (""
// for the access every deployment needs) into IAM statements: one per
// distinct set of resources and conditions, actions sorted.
func (b *builder) PolicyStatements(optional string) []awsiam.PolicyStatement {
	type group struct {
		actions    map[string]bool
		resources  []string
		conditions map[string]interface{}
	}
	groups := map[string]*group{}
	var keys []string
	for i, a := range b.access {
		if a.Optional != optional || covered(a, b.access, i) {
			continue
		}
		key := strings.Join(a.Resources, ",") + "|" + fmt.Sprint(a.Conditions)
		g, ok := groups[key]
		if !ok {
			g = &group{actions: map[string]bool{}, resources: a.Resources, conditions: a.Conditions}
			groups[key] = g
			keys = append(keys, key)
		}
		g.actions[a.Action] = true
	}
	sort.Strings(keys)
	var statements []awsiam.PolicyStatement
	for _, k := range keys {
		g := groups[k]
		var actions []string
		for a := range g.actions {
			actions = append(actions, a)
		}
		sort.Strings(actions)
		props := &awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(actions...),
			Resources: jsii.Strings(g.resources...),
		}
		if g.conditions != nil {
			props.Conditions = &g.conditions
		}
		statements = append(statements, awsiam.NewPolicyStatement(props))
	}
	return statements
}

// covered says whether access a (at index i of all) is allowed by another
// access of the same action, conditions and optionality on a superset of
// its resources: such a statement would add nothing to the role. Of two
// equal ones, the first is kept.
func covered(a Access, all []Access, i int) bool {
	for j, o := range all {
		if j == i || o.Action != a.Action || o.Optional != a.Optional || fmt.Sprint(o.Conditions) != fmt.Sprint(a.Conditions) {
			continue
		}
		if subset(a.Resources, o.Resources) && (!subset(o.Resources, a.Resources) || j < i) {
			return true
		}
	}
	return false
}

// subset says whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
