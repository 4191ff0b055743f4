package statemachine_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/synth"
)

// aslDeployment is the account the structural tests resolve the definition
// for; the structure does not depend on it.
var aslDeployment = synth.Deployment{Partition: "aws", Region: "us-east-1", AccountID: "123456789012", Placeholders: true}

// aslSDKPrefix starts the Resource of every aws-sdk integration task.
const aslSDKPrefix = "arn:aws:states:::aws-sdk:"

// shapeInputTypes maps each "service:action" of an aws-sdk task to the
// aws-sdk-go-v2 input struct of that API. Every action the definition uses
// must be listed.
var shapeInputTypes = map[string]reflect.Type{
	"ec2:authorizeSecurityGroupEgress":           reflect.TypeOf(ec2.AuthorizeSecurityGroupEgressInput{}),
	"ec2:authorizeSecurityGroupIngress":          reflect.TypeOf(ec2.AuthorizeSecurityGroupIngressInput{}),
	"ec2:describeAddresses":                      reflect.TypeOf(ec2.DescribeAddressesInput{}),
	"ec2:disassociateAddress":                    reflect.TypeOf(ec2.DisassociateAddressInput{}),
	"ec2:copySnapshot":                           reflect.TypeOf(ec2.CopySnapshotInput{}),
	"ec2:getConsoleOutput":                       reflect.TypeOf(ec2.GetConsoleOutputInput{}),
	"s3:headObject":                              reflect.TypeOf(s3.HeadObjectInput{}),
	"s3:getBucketVersioning":                     reflect.TypeOf(s3.GetBucketVersioningInput{}),
	"s3:getObjectLockConfiguration":              reflect.TypeOf(s3.GetObjectLockConfigurationInput{}),
	"s3:putObject":                               reflect.TypeOf(s3.PutObjectInput{}),
	"ec2:createSecurityGroup":                    reflect.TypeOf(ec2.CreateSecurityGroupInput{}),
	"ec2:createSnapshots":                        reflect.TypeOf(ec2.CreateSnapshotsInput{}),
	"ec2:createTags":                             reflect.TypeOf(ec2.CreateTagsInput{}),
	"ec2:deleteSnapshot":                         reflect.TypeOf(ec2.DeleteSnapshotInput{}),
	"ec2:describeIamInstanceProfileAssociations": reflect.TypeOf(ec2.DescribeIamInstanceProfileAssociationsInput{}),
	"ec2:describeInstanceAttribute":              reflect.TypeOf(ec2.DescribeInstanceAttributeInput{}),
	"ec2:describeInstances":                      reflect.TypeOf(ec2.DescribeInstancesInput{}),
	"ec2:getConsoleScreenshot":                   reflect.TypeOf(ec2.GetConsoleScreenshotInput{}),
	"ec2:describeNetworkInterfaces":              reflect.TypeOf(ec2.DescribeNetworkInterfacesInput{}),
	"ec2:describeSecurityGroups":                 reflect.TypeOf(ec2.DescribeSecurityGroupsInput{}),
	"ec2:describeSnapshots":                      reflect.TypeOf(ec2.DescribeSnapshotsInput{}),
	"ec2:describeTags":                           reflect.TypeOf(ec2.DescribeTagsInput{}),
	"ec2:disassociateIamInstanceProfile":         reflect.TypeOf(ec2.DisassociateIamInstanceProfileInput{}),
	"ec2:modifyInstanceAttribute":                reflect.TypeOf(ec2.ModifyInstanceAttributeInput{}),
	"ec2:modifyNetworkInterfaceAttribute":        reflect.TypeOf(ec2.ModifyNetworkInterfaceAttributeInput{}),
	"ec2:revokeSecurityGroupEgress":              reflect.TypeOf(ec2.RevokeSecurityGroupEgressInput{}),
	"ec2:revokeSecurityGroupIngress":             reflect.TypeOf(ec2.RevokeSecurityGroupIngressInput{}),

	"autoscaling:describeAutoScalingInstances": reflect.TypeOf(autoscaling.DescribeAutoScalingInstancesInput{}),
	"autoscaling:detachInstances":              reflect.TypeOf(autoscaling.DetachInstancesInput{}),

	"elasticloadbalancingv2:describeTargetGroups": reflect.TypeOf(elbv2.DescribeTargetGroupsInput{}),
	"elasticloadbalancingv2:describeTargetHealth": reflect.TypeOf(elbv2.DescribeTargetHealthInput{}),
	"elasticloadbalancingv2:deregisterTargets":    reflect.TypeOf(elbv2.DeregisterTargetsInput{}),

	"elasticloadbalancing:describeLoadBalancers":               reflect.TypeOf(elb.DescribeLoadBalancersInput{}),
	"elasticloadbalancing:deregisterInstancesFromLoadBalancer": reflect.TypeOf(elb.DeregisterInstancesFromLoadBalancerInput{}),

	"iam:getInstanceProfile":       reflect.TypeOf(iam.GetInstanceProfileInput{}),
	"iam:createPolicy":             reflect.TypeOf(iam.CreatePolicyInput{}),
	"iam:getPolicyVersion":         reflect.TypeOf(iam.GetPolicyVersionInput{}),
	"iam:attachRolePolicy":         reflect.TypeOf(iam.AttachRolePolicyInput{}),
	"iam:listAttachedRolePolicies": reflect.TypeOf(iam.ListAttachedRolePoliciesInput{}),
	// The optimised integration that starts the instance state machine.
	"states:startExecution": reflect.TypeOf(awssfn.StartExecutionInput{}),
}

// startExecutionResource is the optimised integration that starts a child
// execution and waits for it (.sync:2: its output as JSON).
const startExecutionResource = "arn:aws:states:::states:startExecution.sync:2"

// aslDefinitions returns the resolved definitions of the containment state
// machine and of the state machine that contains one instance.
func aslDefinitions(t *testing.T) (fleet, instance string) {
	t.Helper()
	if template == nil {
		t.Fatal("the package TestMain did not synthesize the template")
	}
	fleet, err := template.Definition(aslDeployment)
	if err != nil {
		t.Fatalf("resolve the definition: %v", err)
	}
	instance, err = template.InstanceDefinition(aslDeployment)
	if err != nil {
		t.Fatalf("resolve the instance definition: %v", err)
	}
	return fleet, instance
}

// aslTopStates parses a definition's top-level States.
func aslTopStates(t *testing.T, def string) map[string]interface{} {
	t.Helper()
	var asl struct {
		States map[string]interface{}
	}
	if err := json.Unmarshal([]byte(def), &asl); err != nil {
		t.Fatalf("parse the definition: %v", err)
	}
	if len(asl.States) == 0 {
		t.Fatal("the definition has no States")
	}
	return asl.States
}

// aslStates returns the containment state machine's definition and the
// top-level states of both state machines in one map (their names are
// distinct: the test fails otherwise).
func aslStates(t *testing.T) (string, map[string]interface{}) {
	t.Helper()
	fleet, instance := aslDefinitions(t)
	all := aslTopStates(t, fleet)
	for name, s := range aslTopStates(t, instance) {
		if _, dup := all[name]; dup {
			t.Fatalf("state %q is in both state machines", name)
		}
		all[name] = s
	}
	return fleet, all
}

// aslPlace is where a state sits: the States object it belongs to (where
// its Next and Catch targets are) and its state.
type aslPlace struct {
	scope map[string]interface{}
	state map[string]interface{}
}

// walkScoped calls fn for every state of an ASL States object and of the
// Parallel branches and Map item processors within it, at any depth, in name
// order within each States object, with its place, the places of the
// Parallel and Map states around it (innermost first), and perInstance as
// given: true for the states of the instance state machine.
func walkScoped(states map[string]interface{}, outer []aslPlace, perInstance bool, fn func(name string, at aslPlace, outer []aslPlace, perInstance bool)) {
	names := make([]string, 0, len(states))
	for n := range states {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		state, _ := states[name].(map[string]interface{})
		at := aslPlace{states, state}
		fn(name, at, outer, perInstance)
		var nested []interface{}
		if branches, ok := state["Branches"].([]interface{}); ok {
			nested = append(nested, branches...)
		}
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if p, ok := state[k]; ok {
				nested = append(nested, p)
			}
		}
		enclosing := append([]aslPlace{at}, outer...)
		for _, n := range nested {
			m, _ := n.(map[string]interface{})
			nestedStates, _ := m["States"].(map[string]interface{})
			walkScoped(nestedStates, enclosing, perInstance, fn)
		}
	}
}

// aslWalk calls fn for every state of an ASL States object, including the
// states of Parallel branches and Map item processors (ItemProcessor or the
// older Iterator), at any depth, in name order within each States object.
func aslWalk(states map[string]interface{}, fn func(name string, state map[string]interface{})) {
	walkScoped(states, nil, false, func(name string, at aslPlace, _ []aslPlace, _ bool) { fn(name, at.state) })
}

// shapeAction returns the "service:action" of an aws-sdk task resource.
func shapeAction(resource string) (string, error) {
	if resource == startExecutionResource {
		return "states:startExecution", nil
	}
	rest, ok := strings.CutPrefix(resource, aslSDKPrefix)
	if !ok || strings.Count(rest, ":") != 1 {
		return "", fmt.Errorf("resource %q is not arn:aws:states:::aws-sdk:<service>:<action>", resource)
	}
	return rest, nil
}

// shapeCheck reports every key of params that is not a field of the API
// input struct t, and every literal value whose JSON kind does not fit its
// field. A key "X.$" names field X and must hold a path or an intrinsic.
// path prefixes the problems, e.g. "Parameters".
func shapeCheck(t reflect.Type, params map[string]interface{}, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return []string{fmt.Sprintf("%s: %s is not a structure, it cannot take fields", path, t)}
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, key := range keys {
		name, dynamic := strings.CutSuffix(key, ".$")
		at := path + "." + key
		f, ok := t.FieldByName(name)
		if !ok || !f.IsExported() || len(f.Index) != 1 {
			problems = append(problems, fmt.Sprintf("%s: %s has no field %q (fields: %s)", at, t.Name(), name, strings.Join(shapeFields(t), ", ")))
			continue
		}
		v := params[key]
		if dynamic {
			s, isString := v.(string)
			if !isString || !(strings.HasPrefix(s, "$") || strings.HasPrefix(s, "States.")) {
				problems = append(problems, fmt.Sprintf("%s: a .$ key must hold a JSONPath or an intrinsic function, got %s", at, shapeShow(v)))
			}
			continue
		}
		problems = append(problems, shapeValue(f.Type, v, at)...)
	}
	return problems
}

// shapeFields lists the exported fields of a struct, for error messages.
func shapeFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.IsExported() {
			out = append(out, f.Name)
		}
	}
	return out
}

// timeType is the type of timestamp fields, given as strings in JSON.
var timeType = reflect.TypeOf(time.Time{})

// shapeValue checks a literal JSON value against a Go field type.
func shapeValue(ft reflect.Type, v interface{}, at string) []string {
	for ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	mismatch := func(want string) []string {
		return []string{fmt.Sprintf("%s: field of type %s needs %s, got %s", at, ft, want, shapeShow(v))}
	}
	switch ft.Kind() {
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return mismatch("a boolean")
		}
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch("a string")
		}
		if allowed := shapeEnum(ft); allowed != nil && !slices.Contains(allowed, s) {
			return []string{fmt.Sprintf("%s: %q is not a %s (one of %s)", at, s, ft.Name(), strings.Join(allowed, ", "))}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			return mismatch("an integer")
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(float64); !ok {
			return mismatch("a number")
		}
	case reflect.Slice:
		if ft.Elem().Kind() == reflect.Uint8 {
			if _, ok := v.(string); !ok {
				return mismatch("a base64 string")
			}
			return nil
		}
		list, ok := v.([]interface{})
		if !ok {
			return mismatch("a list")
		}
		var problems []string
		for i, e := range list {
			problems = append(problems, shapeValue(ft.Elem(), e, fmt.Sprintf("%s[%d]", at, i))...)
		}
		return problems
	case reflect.Struct:
		if ft == timeType {
			if _, ok := v.(string); !ok {
				return mismatch("a timestamp string")
			}
			return nil
		}
		m, ok := v.(map[string]interface{})
		if !ok {
			return mismatch("an object")
		}
		return shapeCheck(ft, m, at)
	case reflect.Map:
		m, ok := v.(map[string]interface{})
		if !ok {
			return mismatch("an object")
		}
		var problems []string
		for k, e := range m {
			problems = append(problems, shapeValue(ft.Elem(), e, at+"."+k)...)
		}
		return problems
	case reflect.Interface:
		// Documents and unions: any JSON is accepted here.
	default:
		return []string{fmt.Sprintf("%s: the checker does not know field kind %s", at, ft.Kind())}
	}
	return nil
}

// shapeEnum returns the allowed values of an SDK enum string type (one with
// a Values method), or nil for a plain string.
func shapeEnum(t reflect.Type) []string {
	m, ok := t.MethodByName("Values")
	if !ok || m.Type.NumIn() != 1 || m.Type.NumOut() != 1 || m.Type.Out(0).Kind() != reflect.Slice {
		return nil
	}
	values := m.Func.Call([]reflect.Value{reflect.Zero(t)})[0]
	out := make([]string, values.Len())
	for i := range out {
		out[i] = values.Index(i).String()
	}
	return out
}

// shapeShow encodes v as compact JSON for messages.
func shapeShow(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// shapeCheckTask checks one aws-sdk task state against its API input shape.
func shapeCheckTask(name string, state map[string]interface{}) []string {
	resource, _ := state["Resource"].(string)
	action, err := shapeAction(resource)
	if err != nil {
		return []string{fmt.Sprintf("task %q: %v", name, err)}
	}
	input, ok := shapeInputTypes[action]
	if !ok {
		return []string{fmt.Sprintf("task %q calls %s, which has no entry in shapeInputTypes: add its aws-sdk-go-v2 input type", name, action)}
	}
	params, ok := state["Parameters"].(map[string]interface{})
	if !ok {
		if _, present := state["Parameters"]; present {
			return []string{fmt.Sprintf("task %q: Parameters is not an object", name)}
		}
		return nil
	}
	if action == "states:startExecution" {
		// The optimised integration takes Input as a JSON object and
		// serialises it into the API's string.
		params = maps.Clone(params)
		delete(params, "Input")
	}
	var problems []string
	for _, p := range shapeCheck(input, params, "Parameters") {
		problems = append(problems, fmt.Sprintf("task %q (%s): %s", name, action, p))
	}
	return problems
}

func TestAPIShapeOfEveryTaskParameters(t *testing.T) {
	_, states := aslStates(t)
	tasks := 0
	aslWalk(states, func(name string, s map[string]interface{}) {
		if s["Type"] != "Task" {
			return
		}
		tasks++
		for _, p := range shapeCheckTask(name, s) {
			t.Error(p)
		}
	})
	if tasks < 10 {
		t.Fatalf("found %d Task states: the walk is broken", tasks)
	}
	t.Logf("checked the Parameters of %d tasks", tasks)
}

func TestAPIShapeCheckerCatchesMistakes(t *testing.T) {
	task := func(action string, params map[string]interface{}) map[string]interface{} {
		return map[string]interface{}{"Type": "Task", "Resource": aslSDKPrefix + action, "Parameters": params}
	}
	cases := []struct {
		name   string
		state  map[string]interface{}
		report string // a part of the expected problem
	}{
		{"misspelled field", task("ec2:describeInstanceAttribute", map[string]interface{}{"InstanceIdz": "x", "Attribute": "disableApiStop"}), `no field "InstanceIdz"`},
		{"misspelled dynamic field", task("ec2:describeInstanceAttribute", map[string]interface{}{"InstanceIdz.$": "$.InstanceId"}), `no field "InstanceIdz"`},
		{"camelCase field", task("ec2:createTags", map[string]interface{}{"resources.$": "States.Array($.InstanceId)"}), `no field "resources"`},
		{"nested misspelling", task("ec2:createSnapshots", map[string]interface{}{
			"InstanceSpecification": map[string]interface{}{"InstanceID.$": "$.InstanceId"},
		}), `Parameters.InstanceSpecification.InstanceID.$`},
		{"misspelling in a list of objects", task("ec2:copySnapshot", map[string]interface{}{
			"TagSpecifications": []interface{}{map[string]interface{}{"ResourceTyp": "snapshot"}},
		}), `Parameters.TagSpecifications[0].ResourceTyp`},
		{"singular EC2 list name", task("ec2:describeTags", map[string]interface{}{"Filter": []interface{}{}}), `no field "Filter"`},
		{"string for a boolean", task("ec2:copySnapshot", map[string]interface{}{"Encrypted": "true"}), "needs a boolean"},
		{"object for a string", task("ec2:deleteSnapshot", map[string]interface{}{"SnapshotId": map[string]interface{}{}}), "needs a string"},
		{"string for a list", task("ec2:describeSnapshots", map[string]interface{}{"SnapshotIds": "snap-1"}), "needs a list"},
		{"fraction for an integer", task("elasticloadbalancingv2:describeTargetGroups", map[string]interface{}{"PageSize": 1.5}), "needs an integer"},
		{"unknown enum value", task("ec2:describeInstanceAttribute", map[string]interface{}{"Attribute": "disableApiTerminaton"}), `not a InstanceAttributeName`},
		{"literal under a .$ key", task("ec2:deleteSnapshot", map[string]interface{}{"SnapshotId.$": "snap-1"}), "JSONPath or an intrinsic"},
		{"action without an input type", task("ec2:terminateInstances", map[string]interface{}{}), "no entry in shapeInputTypes"},
		{"not an aws-sdk task", map[string]interface{}{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}, "is not arn:aws:states:::aws-sdk"},
	}
	for _, c := range cases {
		problems := shapeCheckTask("Self Test", c.state)
		if len(problems) == 0 {
			t.Errorf("%s: the checker accepted %s", c.name, shapeShow(c.state))
			continue
		}
		if !strings.Contains(strings.Join(problems, "\n"), c.report) {
			t.Errorf("%s: problems %q do not mention %q", c.name, problems, c.report)
		}
	}
	if dups := aslDuplicateKeys(t, `{"a":1,"b":{"a":[{"a":2}],"c":3},"a":4}`); len(dups) != 1 || !strings.HasPrefix(dups[0], `"a"`) {
		t.Errorf("aslDuplicateKeys found %q, want exactly the repeated top-level \"a\"", dups)
	}
	// And it accepts a correct task, with nested objects, lists and enums.
	ok := task("ec2:modifyInstanceAttribute", map[string]interface{}{
		"InstanceId.$":          "$.InstanceId",
		"DisableApiTermination": map[string]interface{}{"Value": true},
		"Attribute":             "instanceInitiatedShutdownBehavior",
		"BlockDeviceMappings":   []interface{}{map[string]interface{}{"DeviceName": "/dev/xvda", "Ebs": map[string]interface{}{"DeleteOnTermination": false}}},
	})
	if problems := shapeCheckTask("Self Test", ok); len(problems) > 0 {
		t.Errorf("the checker rejects a correct task: %q", problems)
	}
}

func TestRetryAndCatchOnEveryTask(t *testing.T) {
	_, states := aslStates(t)
	checked := 0
	aslWalk(states, func(name string, s map[string]interface{}) {
		typ, _ := s["Type"].(string)
		switch typ {
		case "Task":
			checked++
			if retry, _ := s["Retry"].([]interface{}); len(retry) == 0 {
				t.Errorf("task %q has no Retry: a throttled call would fail its step at once", name)
			}
			retryCatchEndsWithAll(t, "task", name, s)
		case "Map", "Parallel":
			checked++
			retryCatchEndsWithAll(t, strings.ToLower(typ), name, s)
		}
	})
	if checked == 0 {
		t.Fatal("no Task, Map or Parallel state found: the walk is broken")
	}
}

// retryCatchEndsWithAll checks that a state's Catch exists and that its last
// entry catches States.ALL, so no error escapes the state unhandled.
func retryCatchEndsWithAll(t *testing.T, kind, name string, s map[string]interface{}) {
	t.Helper()
	catches, _ := s["Catch"].([]interface{})
	if len(catches) == 0 {
		t.Errorf("%s %q has no Catch", kind, name)
		return
	}
	last, _ := catches[len(catches)-1].(map[string]interface{})
	errs, _ := last["ErrorEquals"].([]interface{})
	if len(errs) != 1 || errs[0] != "States.ALL" {
		t.Errorf("%s %q: the last Catch catches %s, want [\"States.ALL\"]", kind, name, shapeShow(last["ErrorEquals"]))
	}
	if next, _ := last["Next"].(string); next == "" {
		t.Errorf("%s %q: the States.ALL Catch has no Next", kind, name)
	}
}

func TestShapeStateNamesUniqueAndShort(t *testing.T) {
	fleet, instance := aslDefinitions(t)
	_, states := aslStates(t)
	// Duplicate keys vanish when JSON is decoded into a map, so look for
	// them in the token stream first.
	for _, def := range []string{fleet, instance} {
		for _, dup := range aslDuplicateKeys(t, def) {
			t.Errorf("a definition has duplicate key %s", dup)
		}
	}
	seen := map[string]int{}
	aslWalk(states, func(name string, _ map[string]interface{}) {
		seen[name]++
		if n := len([]rune(name)); n > 80 {
			t.Errorf("state name %q is %d characters long; Step Functions allows 80", name, n)
		}
		if name == "" {
			t.Error("a state has an empty name")
		}
	})
	for name, n := range seen {
		if n > 1 {
			t.Errorf("state name %q is used by %d states", name, n)
		}
	}
	if len(seen) < 50 {
		t.Fatalf("found %d states: the walk is broken", len(seen))
	}
}

// aslDuplicateKeys lists the keys that appear twice in one JSON object, as
// "<key> in object at offset N".
func aslDuplicateKeys(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	var dups []string
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // an object's next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("tokenize the definition: %v", err)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					dups = append(dups, fmt.Sprintf("%q in object at offset %d", key, dec.InputOffset()))
				}
				top.keys[key] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object expects a key again.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].expect = true
		}
	}
	return dups
}
