package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/cfn"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// One synthesis serves every test of this file: it takes seconds and the
// stack is deterministic.
var (
	synthOnce sync.Once
	synthTpl  *synth.Template
	synthErr  error
)

// deployment is the account the definition is resolved for.
var deployment = synth.Deployment{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Placeholders: true}

// template returns the shared synthesized template, synthesizing it on first
// use.
func template(t *testing.T) *synth.Template {
	t.Helper()
	synthOnce.Do(func() {
		synthTpl, synthErr = synth.Synthesize()
	})
	if synthErr != nil {
		t.Fatalf("synthesize the stack: %v", synthErr)
	}
	return synthTpl
}

// definition returns the containment state machine's ASL, resolved for
// deployment with the given parameter values, parsed.
func definition(t *testing.T, params map[string]string) map[string]interface{} {
	t.Helper()
	return parsedDefinition(t, params, (*synth.Template).Definition)
}

// allStates returns the top-level states of both state machines (the
// containment one and the one that contains one instance) in one map:
// their state names are distinct.
func allStates(t *testing.T, params map[string]string) map[string]interface{} {
	t.Helper()
	all := map[string]interface{}{}
	for _, def := range []func(*synth.Template, synth.Deployment) (string, error){(*synth.Template).Definition, (*synth.Template).InstanceDefinition} {
		states, _ := parsedDefinition(t, params, def)["States"].(map[string]interface{})
		for name, s := range states {
			if _, dup := all[name]; dup {
				t.Fatalf("state %q is in both state machines", name)
			}
			all[name] = s
		}
	}
	return all
}

// parsedDefinition resolves and parses one state machine's definition.
func parsedDefinition(t *testing.T, params map[string]string, def func(*synth.Template, synth.Deployment) (string, error)) map[string]interface{} {
	t.Helper()
	d := deployment
	d.Parameters = params
	s, err := def(template(t), d)
	if err != nil {
		t.Fatalf("resolve the definition: %v", err)
	}
	var asl map[string]interface{}
	if err := json.Unmarshal([]byte(s), &asl); err != nil {
		t.Fatalf("parse the definition: %v", err)
	}
	return asl
}

// cdkAssert runs a CDK assertion, which panics when it fails, and reports
// the failure (with CDK's description of the difference) as a test error.
func cdkAssert(t *testing.T, what string, assertion func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	assertion()
}

// cdkTemplate wraps the synthesized JSON for the CDK assertions library.
func cdkTemplate(t *testing.T) assertions.Template {
	t.Helper()
	raw := map[string]interface{}(template(t).JSON)
	return assertions.Template_FromJSON(&raw, nil)
}

// resource returns the one resource of a type whose logical ID starts with
// prefix (CDK appends a hash), with its logical ID.
func resource(t *testing.T, cfnType, prefix string) (string, map[string]interface{}) {
	t.Helper()
	ids, bodies := template(t).ResourcesOfType(cfnType)
	var foundID string
	var found map[string]interface{}
	for i, id := range ids {
		if strings.HasPrefix(id, prefix) {
			if found != nil {
				t.Fatalf("two %s resources start with %q: %s and %s", cfnType, prefix, foundID, id)
			}
			foundID, found = id, bodies[i]
		}
	}
	if found == nil {
		t.Fatalf("no %s resource whose logical ID starts with %q (have %v)", cfnType, prefix, ids)
	}
	return foundID, found
}

// props returns a resource's Properties.
func props(body map[string]interface{}) map[string]interface{} {
	p, _ := body["Properties"].(map[string]interface{})
	return p
}

// jsonEqual reports whether two values encode to the same JSON.
func jsonEqual(a, b interface{}) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// show encodes v as compact JSON for failure messages.
func show(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func TestParameters(t *testing.T) {
	params, _ := template(t).JSON["Parameters"].(map[string]interface{})
	want := map[string]map[string]interface{}{
		stack.ParamStateMachineName: {"Type": "String", "Default": "essential-ir"},
		stack.ParamLogLevel:         {"Type": "String", "Default": "ERROR", "AllowedValues": []interface{}{"ALL", "ERROR", "FATAL", "OFF"}},
		stack.ParamMaxConcurrency:   {"Type": "Number", "Default": 5.0},
		stack.ParamTagKey:           {"Type": "String", "Default": "SecurityIncidentStatus"},
		stack.ParamTagValue:         {"Type": "String", "Default": "Investigation"},
	}
	for name, fields := range want {
		p, ok := params[name].(map[string]interface{})
		if !ok {
			t.Errorf("parameter %s is missing (parameters: %s)", name, show(params))
			continue
		}
		for field, v := range fields {
			if !jsonEqual(p[field], v) {
				t.Errorf("parameter %s: %s is %s, want %s", name, field, show(p[field]), show(v))
			}
		}
		if d, _ := p["Description"].(string); d == "" {
			t.Errorf("parameter %s has no Description for the console", name)
		}
	}
	cdkAssert(t, "LogLevel parameter", func() {
		cdkTemplate(t).HasParameter(jsii.String(stack.ParamLogLevel), map[string]interface{}{
			"Type": "String", "Default": "ERROR", "AllowedValues": []interface{}{"ALL", "ERROR", "FATAL", "OFF"},
		})
	})
}

func TestStateMachineConfiguration(t *testing.T) {
	logGroupID, _ := resource(t, "AWS::Logs::LogGroup", stack.LogGroupID)
	roleID, _ := resource(t, "AWS::IAM::Role", stack.RoleID)
	_, machine := resource(t, "AWS::StepFunctions::StateMachine", stack.StateMachineID)
	p := props(machine)

	checks := []struct {
		what      string
		got, want interface{}
	}{
		{"LoggingConfiguration.Level", dig(p, "LoggingConfiguration", "Level"), map[string]interface{}{"Ref": stack.ParamLogLevel}},
		{"LoggingConfiguration.IncludeExecutionData", dig(p, "LoggingConfiguration", "IncludeExecutionData"), true},
		{"LoggingConfiguration.Destinations", dig(p, "LoggingConfiguration", "Destinations"), []interface{}{
			map[string]interface{}{"CloudWatchLogsLogGroup": map[string]interface{}{
				"LogGroupArn": map[string]interface{}{"Fn::GetAtt": []interface{}{logGroupID, "Arn"}},
			}},
		}},
		{"TracingConfiguration.Enabled", dig(p, "TracingConfiguration", "Enabled"), true},
		{"StateMachineType", p["StateMachineType"], "STANDARD"},
		{"StateMachineName", p["StateMachineName"], map[string]interface{}{"Ref": stack.ParamStateMachineName}},
		{"RoleArn", p["RoleArn"], map[string]interface{}{"Fn::GetAtt": []interface{}{roleID, "Arn"}}},
	}
	for _, c := range checks {
		if !jsonEqual(c.got, c.want) {
			t.Errorf("state machine %s is %s, want %s", c.what, show(c.got), show(c.want))
		}
	}
	cdkAssert(t, "state machine logging and tracing", func() {
		cdkTemplate(t).HasResourceProperties(jsii.String("AWS::StepFunctions::StateMachine"), map[string]interface{}{
			"LoggingConfiguration": assertions.Match_ObjectLike(&map[string]interface{}{
				"Level":                map[string]interface{}{"Ref": stack.ParamLogLevel},
				"IncludeExecutionData": true,
			}),
			"TracingConfiguration": map[string]interface{}{"Enabled": true},
			"StateMachineType":     "STANDARD",
		})
	})
}

// dig follows keys through nested JSON objects; nil if any is missing.
func dig(v interface{}, keys ...string) interface{} {
	for _, k := range keys {
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func TestLogGroupIsKeptAYear(t *testing.T) {
	id, lg := resource(t, "AWS::Logs::LogGroup", stack.LogGroupID)
	if got := dig(lg, "Properties", "RetentionInDays"); !jsonEqual(got, 365) {
		t.Errorf("log group %s RetentionInDays is %s, want 365", id, show(got))
	}
	for _, policy := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
		if lg[policy] != "Retain" {
			t.Errorf("log group %s %s is %s, want Retain: the log holds evidence", id, policy, show(lg[policy]))
		}
	}
	cdkAssert(t, "log group retention", func() {
		cdkTemplate(t).HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]interface{}{
			"DeletionPolicy": "Retain",
			"Properties":     map[string]interface{}{"RetentionInDays": 365},
		})
	})
}

// TestEvidenceKeyAliasFollowsTheStateMachineName: the alias is named after
// the StateMachineName parameter, so two stacks with different state
// machines can be deployed in one account and region, and the default
// deployment keeps alias/essential-ir-evidence.
func TestEvidenceKeyAliasFollowsTheStateMachineName(t *testing.T) {
	tpl, err := cfn.Parse(template(t).JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, alias := resource(t, "AWS::KMS::Alias", stack.KeyID)
	for name, want := range map[string]string{"": "alias/essential-ir-evidence", "triage-eu": "alias/triage-eu-evidence"} {
		params := map[string]string{}
		if name != "" {
			params[stack.ParamStateMachineName] = name
		}
		st, err := cfn.NewStack(tpl, cfn.Options{
			Pseudo:     cfn.Pseudo{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", StackName: synth.StackName},
			Parameters: params,
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Resolve(dig(alias, "Properties", "AliasName"))
		if err != nil || got != want {
			t.Errorf("StateMachineName %q: AliasName %v (%v), want %s", name, got, err, want)
		}
	}
}

// fleetMaps are the Maps over the instances of a fleet: containment, then
// evidence.
var fleetMaps = []string{"Contain Each Instance", "Preserve Each Instance's Evidence"}

func TestMaxConcurrencyIsTheParameter(t *testing.T) {
	// In the template: the Map's MaxConcurrency is written as a Ref in the
	// definition's Fn::Join, right after the key.
	_, machine := resource(t, "AWS::StepFunctions::StateMachine", stack.StateMachineID)
	parts, ok := dig(machine, "Properties", "DefinitionString", "Fn::Join").([]interface{})
	if !ok || len(parts) != 2 {
		t.Fatalf("DefinitionString is not an Fn::Join: %s", show(dig(machine, "Properties", "DefinitionString")))
	}
	list, _ := parts[1].([]interface{})
	refs := 0
	for i, p := range list {
		if !jsonEqual(p, map[string]interface{}{"Ref": stack.ParamMaxConcurrency}) {
			continue
		}
		refs++
		before, _ := list[i-1].(string)
		if !strings.HasSuffix(before, `"MaxConcurrency":`) {
			t.Errorf("{\"Ref\":%q} follows %q, not the MaxConcurrency key", stack.ParamMaxConcurrency, tail(before, 60))
		}
	}
	if refs != len(fleetMaps) {
		t.Errorf("the definition refers to the %s parameter %d times, want once per Map over the instances %v", stack.ParamMaxConcurrency, refs, fleetMaps)
	}

	// Resolved: the value lands on the two Maps over the instances.
	for _, value := range []string{"", "17"} {
		params := map[string]string{}
		want := 5.0
		if value != "" {
			params[stack.ParamMaxConcurrency] = value
			want = 17
		}
		states, _ := definition(t, params)["States"].(map[string]interface{})
		byName := map[string]map[string]interface{}{}
		forEachState(states, func(name string, s map[string]interface{}) { byName[name] = s })
		for _, m := range fleetMaps {
			if got := byName[m]["MaxConcurrency"]; got != want {
				t.Errorf("with %s=%q, %s has MaxConcurrency %s, want %v", stack.ParamMaxConcurrency, value, m, show(got), want)
			}
		}
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func TestOutputs(t *testing.T) {
	outputs, _ := template(t).JSON["Outputs"].(map[string]interface{})
	for _, name := range []string{"StateMachineArn", "ConsoleLink", "SampleInput"} {
		o, ok := outputs[name].(map[string]interface{})
		if !ok {
			t.Errorf("output %s is missing (outputs: %v)", name, keys(outputs))
			continue
		}
		if o["Value"] == nil {
			t.Errorf("output %s has no Value", name)
		}
		if d, _ := o["Description"].(string); d == "" {
			t.Errorf("output %s has no Description", name)
		}
	}
	machineID, _ := resource(t, "AWS::StepFunctions::StateMachine", stack.StateMachineID)
	if got := dig(outputs, "StateMachineArn", "Value"); !jsonEqual(got, map[string]interface{}{"Ref": machineID}) {
		t.Errorf("StateMachineArn output is %s, want a Ref to %s", show(got), machineID)
	}
	if got := show(dig(outputs, "ConsoleLink", "Value")); !strings.Contains(got, "console.aws.amazon.com/states") || !strings.Contains(got, machineID) {
		t.Errorf("ConsoleLink output %s does not link the state machine in the Step Functions console", got)
	}
}

// keys returns the sorted keys of a JSON object.
func keys(m map[string]interface{}) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// forEachState calls fn for every state of an ASL States object, including
// the states of Parallel branches and Map item processors, at any depth.
func forEachState(states map[string]interface{}, fn func(name string, state map[string]interface{})) {
	for _, name := range keys(states) {
		state, _ := states[name].(map[string]interface{})
		fn(name, state)
		var nested []interface{}
		if branches, ok := state["Branches"].([]interface{}); ok {
			nested = append(nested, branches...)
		}
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if p, ok := state[k]; ok {
				nested = append(nested, p)
			}
		}
		for _, n := range nested {
			inner, _ := dig(n, "States").(map[string]interface{})
			forEachState(inner, fn)
		}
	}
}

// sdkResourcePrefix starts the Resource of every aws-sdk integration task in
// the aws partition.
const sdkResourcePrefix = "arn:aws:states:::aws-sdk:"

// iamPrefixes maps the ASL service names whose IAM prefix differs.
var iamPrefixes = map[string]string{"elasticloadbalancingv2": "elasticloadbalancing"}

// iamAction turns an aws-sdk task Resource into the IAM action it needs:
// arn:aws:states:::aws-sdk:ec2:describeInstances is ec2:DescribeInstances.
func iamAction(resource string) (string, error) {
	if resource == startExecutionSync {
		return "states:StartExecution", nil
	}
	rest, ok := strings.CutPrefix(resource, sdkResourcePrefix)
	if !ok {
		return "", fmt.Errorf("resource %q is not an aws-sdk integration", resource)
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", fmt.Errorf("resource %q is not aws-sdk:<service>:<action>", resource)
	}
	service, action := parts[0], parts[1]
	if a, ok := iamActionExceptions[service+":"+action]; ok {
		return a, nil
	}
	if p, ok := iamPrefixes[service]; ok {
		service = p
	}
	return service + ":" + strings.ToUpper(action[:1]) + action[1:], nil
}

// startExecutionSync is the optimised integration that starts a child
// execution and waits for it, output as JSON.
const startExecutionSync = "arn:aws:states:::states:startExecution.sync:2"

// startExecutionSyncActions are the actions a .sync Step Functions
// integration needs besides StartExecution (Step Functions Developer Guide,
// "IAM policies for starting a new AWS Step Functions state machine
// execution", synchronous): it reads and may stop the child, and learns of
// its end through a managed EventBridge rule.
var startExecutionSyncActions = []string{"states:DescribeExecution", "states:StopExecution", "events:PutTargets", "events:PutRule", "events:DescribeRule"}

// iamActionExceptions are API operations whose IAM action has another name
// (Service Authorization Reference).
var iamActionExceptions = map[string]string{
	"s3:headObject":                 "s3:GetObject",
	"s3:getObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
}

// impliedActions are allowed although no task calls them: services call
// them with the workflow's credentials on its behalf, or check them to
// decide how to answer. EBS uses the evidence key to encrypt a snapshot
// copy (EBS encryption, "Permissions for IAM users"); S3 uses it to encrypt
// each evidence object (SSE-KMS); S3 answers a HeadObject on a missing key
// with 404, not 403, only to a caller allowed s3:ListBucket (Amazon S3 API
// Reference, HeadObject, "Permissions").
var impliedActions = []string{
	"kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext",
	"kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "s3:ListBucket",
}

func TestIAMAction(t *testing.T) {
	for in, want := range map[string]string{
		sdkResourcePrefix + "ec2:describeInstances":                    "ec2:DescribeInstances",
		sdkResourcePrefix + "elasticloadbalancingv2:deregisterTargets": "elasticloadbalancing:DeregisterTargets",
		sdkResourcePrefix + "autoscaling:detachInstances":              "autoscaling:DetachInstances",
	} {
		if got, err := iamAction(in); err != nil || got != want {
			t.Errorf("iamAction(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := iamAction("arn:aws:states:::lambda:invoke"); err == nil {
		t.Error("iamAction accepted a Lambda integration")
	}
}

// statement is one IAM policy statement, with resources rendered as strings
// (Refs as ${Name}).
type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Condition map[string]interface{}
}

// render writes a CloudFormation string value (a literal, a Ref, an
// Fn::GetAtt, an Fn::If or an Fn::Join of those) as one string: Refs as
// ${Name}, attributes as ${Name.Attribute}, Fn::If as its first choice.
func render(v interface{}) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case map[string]interface{}:
		if ref, ok := x["Ref"].(string); ok {
			return "${" + ref + "}", nil
		}
		if att, ok := x["Fn::GetAtt"].([]interface{}); ok && len(att) == 2 {
			return fmt.Sprintf("${%v.%v}", att[0], att[1]), nil
		}
		if cond, ok := x["Fn::If"].([]interface{}); ok && len(cond) == 3 {
			return render(cond[1])
		}
		if join, ok := x["Fn::Join"].([]interface{}); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			list, _ := join[1].([]interface{})
			var parts []string
			for _, p := range list {
				s, err := render(p)
				if err != nil {
					return "", err
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, sep), nil
		}
	}
	return "", fmt.Errorf("cannot render %s as a string", show(v))
}

// oneOrMany reads an IAM field that is a single value or a list.
func oneOrMany(v interface{}) []interface{} {
	if list, ok := v.([]interface{}); ok {
		return list
	}
	if v == nil {
		return nil
	}
	return []interface{}{v}
}

// policyStatements returns the statements of an AWS::IAM::Policy resource.
func policyStatements(t *testing.T, prefix string) []statement {
	t.Helper()
	id, body := resource(t, "AWS::IAM::Policy", prefix)
	raw, _ := dig(body, "Properties", "PolicyDocument", "Statement").([]interface{})
	if len(raw) == 0 {
		t.Fatalf("policy %s has no statements", id)
	}
	var out []statement
	for i, r := range raw {
		m, _ := r.(map[string]interface{})
		s := statement{}
		s.Effect, _ = m["Effect"].(string)
		for _, a := range oneOrMany(m["Action"]) {
			as, _ := a.(string)
			s.Actions = append(s.Actions, as)
		}
		for _, res := range oneOrMany(m["Resource"]) {
			rs, err := render(res)
			if err != nil {
				t.Fatalf("policy %s statement %d: %v", id, i, err)
			}
			s.Resources = append(s.Resources, rs)
		}
		s.Condition, _ = m["Condition"].(map[string]interface{})
		if _, ok := m["NotAction"]; ok {
			t.Errorf("policy %s statement %d uses NotAction", id, i)
		}
		if _, ok := m["NotResource"]; ok {
			t.Errorf("policy %s statement %d uses NotResource", id, i)
		}
		out = append(out, s)
	}
	return out
}

// lowerSet is a set of strings compared case-insensitively.
type lowerSet map[string]string

// add records s under its lower-case form.
func (l lowerSet) add(s string) { l[strings.ToLower(s)] = s }

// minus lists, sorted, the members of l not in o.
func (l lowerSet) minus(o lowerSet) []string {
	var out []string
	for k, v := range l {
		if _, ok := o[k]; !ok {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func TestIAMMatchesDefinition(t *testing.T) {
	used := lowerSet{}
	states := allStates(t, nil)
	tasks := 0
	forEachState(states, func(name string, s map[string]interface{}) {
		if s["Type"] != "Task" {
			return
		}
		tasks++
		res, _ := s["Resource"].(string)
		a, err := iamAction(res)
		if err != nil {
			t.Errorf("task %q: %v", name, err)
			return
		}
		used.add(a)
		if res == startExecutionSync {
			for _, a := range startExecutionSyncActions {
				used.add(a)
			}
		}
	})
	if tasks == 0 || len(used) == 0 {
		t.Fatal("the definition has no aws-sdk tasks: the walk is broken")
	}
	// The optional steps' policies exist only when their parameter turns
	// the step on; with every step on, the role allows exactly what the
	// definition calls.
	allowed := lowerSet{}
	for _, policy := range []string{"ContainmentPolicy", optionalPolicies[0], optionalPolicies[1]} {
		for _, s := range policyStatements(t, policy) {
			if s.Effect != "Allow" {
				t.Errorf("%s has a %q statement for %v; it should only allow", policy, s.Effect, s.Actions)
			}
			for _, a := range s.Actions {
				allowed.add(a)
			}
		}
	}
	if missing := used.minus(allowed); len(missing) > 0 {
		t.Errorf("the definition calls actions the role's policies do not allow: %v", missing)
	}
	for _, a := range impliedActions {
		if _, ok := allowed[strings.ToLower(a)]; !ok {
			t.Errorf("the role does not allow %s, which a service needs on the workflow's behalf", a)
		}
		used.add(a)
	}
	if extra := allowed.minus(used); len(extra) > 0 {
		t.Errorf("the role's policies allow actions the definition never calls: %v", extra)
	}
	t.Logf("%d tasks, %d distinct IAM actions", tasks, len(used))
}

func TestLoggingAndTracingPolicyIsOnlyDelivery(t *testing.T) {
	allowedAction := func(a string) bool {
		service, action, _ := strings.Cut(a, ":")
		switch service {
		case "logs":
			return strings.Contains(action, "Delivery") || strings.Contains(action, "Deliveries") ||
				action == "PutResourcePolicy" || action == "DescribeResourcePolicies" || action == "DescribeLogGroups"
		case "xray":
			return true
		}
		return false
	}
	for _, s := range policyStatements(t, "LoggingAndTracingPolicy") {
		for _, a := range s.Actions {
			if !allowedAction(a) || strings.Contains(a, "*") {
				t.Errorf("LoggingAndTracingPolicy allows %s, which log delivery and X-Ray tracing do not need", a)
			}
		}
	}
}

// optionalPolicies are the construct IDs of the policies of optional steps,
// each conditioned on its stack parameter.
var optionalPolicies = []string{"RevokeInstanceCredentialsPolicy", "DisassociateElasticIpsPolicy"}

// Each optional step's policy exists only under the CloudFormation
// condition that its parameter is "true".
func TestOptionalPoliciesFollowTheirParameters(t *testing.T) {
	conditions, _ := template(t).JSON["Conditions"].(map[string]interface{})
	for _, name := range optionalPolicies {
		id, body := resource(t, "AWS::IAM::Policy", name)
		cond, _ := body["Condition"].(string)
		param := strings.TrimSuffix(name, "Policy")
		want := map[string]interface{}{"Fn::Equals": []interface{}{map[string]interface{}{"Ref": param}, "true"}}
		if cond == "" || !jsonEqual(conditions[cond], want) {
			t.Errorf("policy %s: condition %q = %s, want %s", id, cond, show(conditions[cond]), show(want))
		}
	}
}

func TestRoleHasOnlyItsPolicies(t *testing.T) {
	roleID, role := resource(t, "AWS::IAM::Role", stack.RoleID)
	p := props(role)
	for _, field := range []string{"ManagedPolicyArns", "Policies", "PermissionsBoundary"} {
		if v, ok := p[field]; ok {
			t.Errorf("role %s has %s %s; its access must come only from its own policies", roleID, field, show(v))
		}
	}
	if got := show(dig(p, "AssumeRolePolicyDocument", "Statement")); !strings.Contains(got, `"Service":"states.amazonaws.com"`) {
		t.Errorf("role %s trust policy %s does not name states.amazonaws.com", roleID, got)
	}
	if n := strings.Count(show(dig(p, "AssumeRolePolicyDocument", "Statement")), `"Principal"`); n != 1 {
		t.Errorf("role %s trusts %d principals, want only Step Functions", roleID, n)
	}
	ref := map[string]interface{}{"Ref": roleID}
	var attached []string
	for _, cfnType := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"} {
		ids, bodies := template(t).ResourcesOfType(cfnType)
		for i, id := range ids {
			for _, r := range oneOrMany(dig(bodies[i], "Properties", "Roles")) {
				if jsonEqual(r, ref) {
					attached = append(attached, id)
				}
			}
		}
	}
	sort.Strings(attached)
	policyID, _ := resource(t, "AWS::IAM::Policy", "ContainmentPolicy")
	deliveryID, _ := resource(t, "AWS::IAM::Policy", "LoggingAndTracingPolicy")
	guardID, _ := resource(t, "AWS::IAM::Policy", stack.SelfProtectionPolicyID)
	want := []string{policyID, deliveryID, guardID}
	for _, name := range optionalPolicies {
		id, _ := resource(t, "AWS::IAM::Policy", name)
		want = append(want, id)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(attached, want) {
		t.Errorf("policies attached to role %s: %v, want exactly %v", roleID, attached, want)
	}
}

func TestPolicyNarrowing(t *testing.T) {
	statements := policyStatements(t, "ContainmentPolicy")
	for _, name := range optionalPolicies {
		statements = append(statements, policyStatements(t, name)...)
	}
	// conditioned checks that an action appears only in statements carrying
	// the condition operator with the key set to value.
	conditioned := func(action, operator, key, value string) {
		t.Helper()
		seen := false
		for _, s := range statements {
			if !containsFold(s.Actions, action) {
				continue
			}
			seen = true
			got := dig(s.Condition, operator, key)
			if got != value {
				t.Errorf("%s is allowed on %v with condition %s; want %s {%q: %q}", action, s.Resources, show(s.Condition), operator, key, value)
			}
		}
		if !seen {
			t.Errorf("ContainmentPolicy does not allow %s at all", action)
		}
	}
	conditioned("ec2:DeleteSnapshot", "Null", "aws:ResourceTag/SecurityIncidentId", "false")
	conditioned("ec2:RevokeSecurityGroupEgress", "StringEquals", "aws:ResourceTag/essential-ir:purpose", "isolation")
	conditioned("ec2:RevokeSecurityGroupIngress", "StringEquals", "aws:ResourceTag/essential-ir:purpose", "isolation")
	conditioned("ec2:AuthorizeSecurityGroupEgress", "StringEquals", "aws:ResourceTag/essential-ir:purpose", "untrack")
	conditioned("ec2:AuthorizeSecurityGroupIngress", "StringEquals", "aws:ResourceTag/essential-ir:purpose", "untrack")

	for _, s := range statements {
		for _, a := range s.Actions {
			_, action, _ := strings.Cut(a, ":")
			if strings.HasPrefix(action, "Describe") {
				continue
			}
			for _, r := range s.Resources {
				if r == "*" {
					t.Errorf("write action %s is allowed on Resource \"*\"", a)
				}
			}
		}
	}
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// TestTagOnCreateIsAllowed checks the authorization EC2 adds when a create
// call carries TagSpecifications: the caller also needs ec2:CreateTags on
// the new resource's type, for that create action.
func TestTagOnCreateIsAllowed(t *testing.T) {
	statements := policyStatements(t, "ContainmentPolicy")
	states := allStates(t, nil)
	checked := 0
	forEachState(states, func(name string, s map[string]interface{}) {
		specs, ok := dig(s, "Parameters", "TagSpecifications").([]interface{})
		if !ok || s["Type"] != "Task" {
			return
		}
		res, _ := s["Resource"].(string)
		a, err := iamAction(res)
		if err != nil {
			t.Errorf("task %q: %v", name, err)
			return
		}
		service, createAction, _ := strings.Cut(a, ":")
		if service != "ec2" {
			t.Errorf("task %q tags on create in %s; this test knows only EC2's rule", name, service)
			return
		}
		for _, spec := range specs {
			resourceType, _ := dig(spec, "ResourceType").(string)
			checked++
			if !allowsTagOnCreate(t, statements, resourceType, createAction, tagsOf(spec)) {
				t.Errorf("task %q (%s) tags a new %s, but no statement allows ec2:CreateTags on %s resources for ec2:CreateAction %s: the call fails with UnauthorizedOperation",
					name, a, resourceType, resourceType, createAction)
			}
		}
	})
	if checked == 0 {
		t.Fatal("no task tags on create: the walk is broken")
	}
}

// allowsTagOnCreate reports whether a statement allows ec2:CreateTags on a
// resource of resourceType when EC2 authorizes the tags of createAction:
// its conditions must hold for that action and those tags (a tag whose
// value is a JSONPath holds no value here, so no condition may need it).
func allowsTagOnCreate(t *testing.T, statements []statement, resourceType, createAction string, tags map[string]string) bool {
	t.Helper()
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	context := map[string][]string{"ec2:CreateAction": {createAction}, "aws:TagKeys": keys}
	for k, v := range tags {
		if v != "" {
			context["aws:RequestTag/"+k] = []string{v}
		}
	}
	for _, s := range statements {
		if !containsFold(s.Actions, "ec2:CreateTags") {
			continue
		}
		resourceOK := false
		for _, r := range s.Resources {
			if r == "*" || strings.HasSuffix(r, ":"+resourceType+"/*") {
				resourceOK = true
			}
		}
		if resourceOK && conditionsHold(t, s.Condition, context) {
			return true
		}
	}
	return false
}

// tagsOf reads a TagSpecification's tags: key to literal value ("" for a
// value given by a JSONPath).
func tagsOf(spec interface{}) map[string]string {
	out := map[string]string{}
	for _, tag := range oneOrMany(dig(spec, "Tags")) {
		k, _ := dig(tag, "Key").(string)
		v, _ := dig(tag, "Value").(string)
		out[k] = v
	}
	return out
}

// conditionsHold evaluates the few condition operators the role's
// tag-on-create statements use (StringEquals, ForAllValues:StringEquals,
// Null) against a request context, with the stack's parameters at their
// defaults. Any other operator does not hold, so a statement this test
// cannot read is never taken to allow.
func conditionsHold(t *testing.T, conditions map[string]interface{}, context map[string][]string) bool {
	t.Helper()
	for op, block := range conditions {
		keys, _ := block.(map[string]interface{})
		for key, raw := range keys {
			var want []string
			for _, v := range oneOrMany(raw) {
				want = append(want, withDefaults(t, v))
			}
			got, present := context[key]
			switch op {
			case "StringEquals":
				if !present || len(got) != 1 || !contains(want, got[0]) {
					return false
				}
			case "ForAllValues:StringEquals":
				for _, g := range got {
					if !contains(want, g) {
						return false
					}
				}
			case "Null":
				if (len(want) == 1 && want[0] == "true") == present {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// withDefaults renders a template value with each parameter at its
// default.
func withDefaults(t *testing.T, v interface{}) string {
	t.Helper()
	s, err := render(v)
	if err != nil {
		t.Fatal(err)
	}
	params, _ := template(t).JSON["Parameters"].(map[string]interface{})
	for name, p := range params {
		if d, ok := dig(p, "Default").(string); ok {
			s = strings.ReplaceAll(s, "${"+name+"}", d)
		}
	}
	return s
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func TestCfnLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH: install it with `pip install cfn-lint` (Python 3): %v", err)
	}
	raw, err := json.MarshalIndent(template(t).JSON, "", "  ")
	if err != nil {
		t.Fatalf("encode the template: %v", err)
	}
	path := filepath.Join(t.TempDir(), "essential-ir.template.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatalf("write the template for cfn-lint: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, lint, path).CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("cfn-lint found problems (exit code %d):\n%s", exit.ExitCode(), out)
		}
		t.Fatalf("run cfn-lint: %v\n%s", err, out)
	}
}

func TestCdkNagFindingsAreResolvedOrSuppressed(t *testing.T) {
	tpl := template(t)
	annotations := assertions.Annotations_FromStack(tpl.Stack)
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	report := func(level string, found *[]*cxapi.SynthesisMessage) {
		t.Helper()
		if found == nil {
			return
		}
		for _, m := range *found {
			t.Errorf("cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
		}
	}
	report("error", annotations.FindError(jsii.String("*"), rule))
	report("warning", annotations.FindWarning(jsii.String("*"), rule))

	resources, _ := tpl.JSON["Resources"].(map[string]interface{})
	suppressions := 0
	for _, id := range keys(resources) {
		rules, _ := dig(resources[id], "Metadata", "cdk_nag", "rules_to_suppress").([]interface{})
		for _, r := range rules {
			suppressions++
			rid, _ := dig(r, "id").(string)
			reason, _ := dig(r, "reason").(string)
			if len(strings.TrimSpace(reason)) < 40 {
				t.Errorf("%s suppresses %s with a %d-character reason %q; explain it in at least 40 characters", id, rid, len(reason), reason)
			}
		}
	}
	if suppressions == 0 {
		t.Error("no cdk-nag suppression found in the template metadata: the metadata walk is broken or cdk-nag is not applied")
	}
}

// TestRoleTrustsOnlyThisStacksStateMachines: Step Functions may assume the
// role only for this account (aws:SourceAccount) and this stack's two state
// machines (aws:SourceArn), whatever StateMachineName is; nobody can pass
// the role to another state machine.
func TestRoleTrustsOnlyThisStacksStateMachines(t *testing.T) {
	tpl, err := cfn.Parse(template(t).JSON)
	if err != nil {
		t.Fatal(err)
	}
	_, role := resource(t, "AWS::IAM::Role", stack.RoleID)
	for _, name := range []string{"essential-ir", "triage-eu"} {
		st, err := cfn.NewStack(tpl, cfn.Options{
			Pseudo:     cfn.Pseudo{Partition: "aws", Region: "eu-west-3", AccountID: "123456789012", StackName: synth.StackName},
			Parameters: map[string]string{stack.ParamStateMachineName: name},
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Resolve(dig(role, "Properties", "AssumeRolePolicyDocument", "Statement"))
		if err != nil {
			t.Fatal(err)
		}
		prefix := "arn:aws:states:eu-west-3:123456789012:stateMachine:"
		want := []interface{}{map[string]interface{}{
			"Action":    "sts:AssumeRole",
			"Effect":    "Allow",
			"Principal": map[string]interface{}{"Service": "states.amazonaws.com"},
			"Condition": map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": "123456789012"},
				"ArnLike":      map[string]interface{}{"aws:SourceArn": []interface{}{prefix + name, prefix + name + stack.InstanceStateMachineSuffix}},
			},
		}}
		if !jsonEqual(got, want) {
			t.Errorf("StateMachineName %s: trust policy\n%s\nwant\n%s", name, show(got), show(want))
		}
	}
}
