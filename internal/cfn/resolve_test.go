package cfn

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fakeResources gives each resource the physical ID "phys-<id>" and each
// attribute "<id>.<attribute>".
type fakeResources struct{}

func (fakeResources) Ref(id string) (string, error) { return "phys-" + id, nil }
func (fakeResources) GetAtt(id, attr string) (interface{}, error) {
	if attr == "Bad" {
		return nil, fmt.Errorf("no attribute Bad")
	}
	return id + "." + attr, nil
}

// testTemplate exercises every function the resolver supports.
const testTemplate = `{
  "Parameters": {
    "Name":   {"Type": "String", "Default": "demo", "AllowedPattern": "[a-z]+", "MinLength": 2, "MaxLength": 8},
    "Mode":   {"Type": "String", "Default": "on", "AllowedValues": ["on", "off"]},
    "Days":   {"Type": "Number", "Default": 365, "MinValue": 1, "MaxValue": 400},
    "Zones":  {"Type": "CommaDelimitedList", "Default": "a,b,c"},
    "Bucket": {"Type": "String", "Default": ""},
    "Version": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk/version"}
  },
  "Mappings": {"Sizes": {"demo": {"Small": "t3.micro"}}},
  "Conditions": {
    "IsOn":      {"Fn::Equals": [{"Ref": "Mode"}, "on"]},
    "IsOff":     {"Fn::Not": [{"Condition": "IsOn"}]},
    "NoBucket":  {"Fn::Equals": [{"Ref": "Bucket"}, ""]},
    "Both":      {"Fn::And": [{"Condition": "IsOn"}, {"Condition": "NoBucket"}]},
    "Either":    {"Fn::Or": [{"Condition": "IsOff"}, {"Fn::Equals": [{"Ref": "Days"}, 365]}]}
  },
  "Rules": {
    "Version": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2"], {"Ref": "Version"}]}]}, "AssertDescription": "version 3 or later"}]}
  },
  "Resources": {
    "Key":    {"Type": "Test::Key", "Properties": {}},
    "Store":  {"Type": "Test::Bucket", "Condition": "NoBucket", "Properties": {"KeyArn": {"Fn::GetAtt": ["Key", "Arn"]}}},
    "Off":    {"Type": "Test::Thing", "Condition": "IsOff", "Properties": {}},
    "Last":   {"Type": "Test::Thing", "DependsOn": "Other", "Properties": {"A": {"Fn::Sub": "${Store.Arn}"}}},
    "Other":  {"Type": "Test::Thing", "Properties": {"B": {"Fn::Sub": ["${X}", {"X": {"Ref": "Key"}}]}}}
  },
  "Outputs": {
    "StoreName": {"Value": {"Ref": "Store"}, "Condition": "NoBucket"},
    "OffName":   {"Value": {"Ref": "Off"}, "Condition": "IsOff"},
    "Region":    {"Value": {"Fn::Sub": "${AWS::Region}"}}
  }
}`

// newTestStack evaluates testTemplate with the given parameters.
func newTestStack(t *testing.T, params map[string]string) (*Stack, error) {
	t.Helper()
	var raw map[string]interface{}
	if err := json.Unmarshal([]byte(testTemplate), &raw); err != nil {
		t.Fatal(err)
	}
	tpl, err := Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return NewStack(tpl, Options{
		Pseudo:     Pseudo{Partition: "aws", Region: "eu-west-3", AccountID: "123456789012", StackName: "Demo-1"},
		Parameters: params,
		SSM: func(name string) (string, error) {
			if name == "/cdk/version" {
				return "21", nil
			}
			return "", fmt.Errorf("no parameter %s", name)
		},
		Resources: fakeResources{},
	})
}

// mustStack is newTestStack that must succeed.
func mustStack(t *testing.T, params map[string]string) *Stack {
	t.Helper()
	s, err := newTestStack(t, params)
	if err != nil {
		t.Fatalf("new stack: %v", err)
	}
	return s
}

// resolveJSON resolves a value written as JSON.
func resolveJSON(t *testing.T, s *Stack, expr string) (interface{}, error) {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal([]byte(expr), &v); err != nil {
		t.Fatalf("bad test expression %s: %v", expr, err)
	}
	return s.Resolve(v)
}

func TestResolveEachIntrinsic(t *testing.T) {
	s := mustStack(t, nil)
	for _, c := range []struct {
		expr string
		want interface{}
	}{
		{`{"Ref": "AWS::Partition"}`, "aws"},
		{`{"Ref": "AWS::Region"}`, "eu-west-3"},
		{`{"Ref": "AWS::AccountId"}`, "123456789012"},
		{`{"Ref": "AWS::StackName"}`, "Demo-1"},
		{`{"Ref": "AWS::URLSuffix"}`, "amazonaws.com"},
		{`{"Ref": "AWS::StackId"}`, "arn:aws:cloudformation:eu-west-3:123456789012:stack/Demo-1/00000000-0000-0000-0000-000000000000"},
		{`{"Ref": "Name"}`, "demo"},
		{`{"Ref": "Days"}`, "365"},
		{`{"Ref": "Zones"}`, []interface{}{"a", "b", "c"}},
		{`{"Ref": "Version"}`, "21"},
		{`{"Ref": "Key"}`, "phys-Key"},
		{`{"Fn::GetAtt": ["Key", "Arn"]}`, "Key.Arn"},
		{`{"Fn::GetAtt": "Key.Arn"}`, "Key.Arn"},
		{`{"Fn::Join": ["-", ["a", {"Ref": "Name"}, {"Ref": "Days"}]]}`, "a-demo-365"},
		{`{"Fn::Join": [",", {"Ref": "Zones"}]}`, "a,b,c"},
		{`{"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${Name}/${Key}/${Key.Arn}/${!Literal}"}`, "arn:aws:x:eu-west-3:demo/phys-Key/Key.Arn/${Literal}"},
		{`{"Fn::Sub": ["${A}-${Name}", {"A": {"Fn::Join": ["", ["x", "y"]]}}]}`, "xy-demo"},
		{`{"Fn::Select": [1, {"Ref": "Zones"}]}`, "b"},
		{`{"Fn::Select": ["2", {"Fn::Split": ["/", "p/q/r"]}]}`, "r"},
		{`{"Fn::Split": [",", "a,b"]}`, []interface{}{"a", "b"}},
		{`{"Fn::FindInMap": ["Sizes", {"Ref": "Name"}, "Small"]}`, "t3.micro"},
		{`{"Fn::Base64": "hi"}`, "aGk="},
		{`{"Fn::If": ["IsOn", "yes", "no"]}`, "yes"},
		{`{"Fn::If": ["IsOff", {"Ref": "Off"}, "not created"]}`, "not created"},
		{`{"A": {"Fn::If": ["IsOff", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}`, map[string]interface{}{"B": 1.0}},
		{`["a", {"Ref": "AWS::NoValue"}, "b"]`, []interface{}{"a", "b"}},
		{`{"Ref": "AWS::NoValue"}`, nil},
		{`{"Statement": [{"Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}`, map[string]interface{}{"Statement": []interface{}{map[string]interface{}{"Condition": map[string]interface{}{"Bool": map[string]interface{}{"aws:SecureTransport": "false"}}}}}},
	} {
		got, err := resolveJSON(t, s, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
}

func TestResolveErrorsLoudly(t *testing.T) {
	s := mustStack(t, nil)
	for _, c := range []struct{ expr, want string }{
		{`{"Fn::GetAZs": ""}`, "intrinsic function Fn::GetAZs is not supported"},
		{`{"Fn::ImportValue": "x"}`, "intrinsic function Fn::ImportValue is not supported"},
		{`{"Fn::Cidr": ["10.0.0.0/16", 2, 8]}`, "intrinsic function Fn::Cidr is not supported"},
		{`{"Ref": "Nothing"}`, "neither a pseudo parameter, a parameter nor a resource"},
		{`{"Ref": "Off"}`, "resource Off is not created: its condition IsOff is false"},
		{`{"Fn::GetAtt": ["Key", "Bad"]}`, "no attribute Bad"},
		{`{"Fn::If": ["Missing", 1, 2]}`, "condition Missing is not in the template"},
		{`{"Fn::Equals": ["a", "a"]}`, "allowed only in Conditions and Rules"},
		{`{"Fn::Select": [5, ["a"]]}`, "index 5 out of a list of 1"},
		{`{"Fn::Sub": "${Unknown}"}`, "neither a pseudo parameter, a parameter nor a resource"},
		{`{"Fn::Sub": "${Open"}`, "without a closing }"},
		{`{"Ref": "Name", "Other": 1}`, "a function must be the only key"},
		{`{"Fn::Join": ["", [true]]}`, "element 0 is a boolean"},
	} {
		_, err := resolveJSON(t, s, c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.expr, err, c.want)
		}
	}
}

func TestParametersAreChecked(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"Mode": "maybe"}, "not one of AllowedValues"},
		{map[string]string{"Name": "Demo"}, "does not match AllowedPattern"},
		{map[string]string{"Name": "ademonstration"}, "longer than MaxLength"},
		{map[string]string{"Name": "a"}, "shorter than MinLength"},
		{map[string]string{"Days": "0"}, "below MinValue"},
		{map[string]string{"Days": "401"}, "above MaxValue"},
		{map[string]string{"Days": "many"}, "not a number"},
		{map[string]string{"Undeclared": "x"}, "not declared by the template"},
	} {
		_, err := newTestStack(t, c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.params, err, c.want)
		}
	}
	s := mustStack(t, map[string]string{"Days": "30", "Mode": "off"})
	if v, _ := s.Parameter("Days"); v != "30" {
		t.Errorf("Days = %v, want the value given, 30", v)
	}
}

func TestConditions(t *testing.T) {
	for _, c := range []struct {
		params map[string]string
		want   map[string]bool
	}{
		{nil, map[string]bool{"IsOn": true, "IsOff": false, "NoBucket": true, "Both": true, "Either": true}},
		{map[string]string{"Mode": "off", "Bucket": "b", "Days": "7"}, map[string]bool{"IsOn": false, "IsOff": true, "NoBucket": false, "Both": false, "Either": true}},
		{map[string]string{"Days": "7"}, map[string]bool{"Either": false}},
	} {
		s := mustStack(t, c.params)
		for name, want := range c.want {
			if got, err := s.Condition(name); err != nil || got != want {
				t.Errorf("%v: condition %s = %v (%v), want %v", c.params, name, got, err, want)
			}
		}
	}
}

func TestConditionCycleIsAnError(t *testing.T) {
	tpl, err := Parse(map[string]interface{}{
		"Conditions": map[string]interface{}{
			"A": map[string]interface{}{"Fn::Not": []interface{}{map[string]interface{}{"Condition": "B"}}},
			"B": map[string]interface{}{"Fn::Not": []interface{}{map[string]interface{}{"Condition": "A"}}},
		},
		"Resources": map[string]interface{}{"R": map[string]interface{}{"Type": "T"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewStack(tpl, Options{Pseudo: Pseudo{Partition: "aws", Region: "r", AccountID: "1", StackName: "S"}})
	if err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("error %v, want a cycle", err)
	}
}

func TestRules(t *testing.T) {
	s := mustStack(t, nil)
	if err := s.CheckRules(); err != nil {
		t.Errorf("rules with SSM version 21: %v", err)
	}
	s.ssmValues["/cdk/version"] = "2"
	if err := s.CheckRules(); err == nil || !strings.Contains(err.Error(), "version 3 or later") {
		t.Errorf("rules with version 2: %v, want the assertion's description", err)
	}
}

func TestOrderFollowsReferencesAndDependsOn(t *testing.T) {
	s := mustStack(t, nil)
	got, err := s.Order()
	if err != nil {
		t.Fatal(err)
	}
	// Off is not created; Store needs Key; Last needs Store (Fn::Sub) and
	// Other (DependsOn); Other needs Key (Fn::Sub variable).
	want := []string{"Key", "Other", "Store", "Last"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	s = mustStack(t, map[string]string{"Mode": "off", "Bucket": "given"})
	got, err = s.Order()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Key", "Off", "Other", "Last"}; !reflect.DeepEqual(got, want) {
		t.Errorf("order with Store not created: %v, want %v", got, want)
	}
}

func TestOrderRejectsCycles(t *testing.T) {
	tpl, err := Parse(map[string]interface{}{"Resources": map[string]interface{}{
		"A": map[string]interface{}{"Type": "T", "Properties": map[string]interface{}{"X": map[string]interface{}{"Ref": "B"}}},
		"B": map[string]interface{}{"Type": "T", "DependsOn": []interface{}{"A"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStack(tpl, Options{Pseudo: Pseudo{Partition: "aws", Region: "r", AccountID: "1", StackName: "S"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Order(); err == nil || !strings.Contains(err.Error(), "dependency cycle") {
		t.Errorf("error %v, want a dependency cycle", err)
	}
}

func TestOutputsFollowConditions(t *testing.T) {
	out, err := mustStack(t, nil).Outputs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"StoreName": "phys-Store", "Region": "eu-west-3"}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("outputs %v, want %v", out, want)
	}
}

func TestParseRejectsWhatItCannotHonour(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want string
	}{
		{`{"Transform": "AWS::Serverless-2016-10-31", "Resources": {"R": {"Type": "T"}}}`, "section Transform is not supported"},
		{`{"Resources": {"R": {"Type": "T", "DependsOn": "Q"}}}`, "not a resource of the template"},
		{`{"Resources": {"R": {"Type": "T", "Condition": "C"}}}`, "condition \"C\" is not in the template"},
		{`{"Resources": {"R": {"Properties": {}}}}`, "has no Type"},
	} {
		var raw map[string]interface{}
		if err := json.Unmarshal([]byte(c.raw), &raw); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(raw); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.raw, err, c.want)
		}
	}
}
