package deployment

import (
	"net/url"
	"reflect"
	"testing"
)

const definition = `{"StartAt": "A", "States": {
  "A": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ec2:describeInstances", "Next": "B"},
  "B": {"Type": "Map", "ItemProcessor": {"StartAt": "C", "States": {
     "C": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
           "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:essential-ir-instance"}, "End": true}}}, "Next": "D"},
  "D": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:headObject", "Parameters": {"Bucket": "evidence", "Key.$": "$.k"}, "Next": "E"},
  "E": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:elasticloadbalancingv2:deregisterTargets", "End": true}}}`

func TestDefinitionFacts(t *testing.T) {
	actions, err := RequiredActions(definition)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ec2:describeinstances", "elasticloadbalancing:deregistertargets", "events:describerule", "events:putrule", "events:puttargets",
		"s3:getobject", "states:describeexecution", "states:startexecution", "states:stopexecution"}
	if !reflect.DeepEqual(actions, want) {
		t.Errorf("RequiredActions =\n%v\nwant\n%v", actions, want)
	}
	f, _ := readDefinition(definition)
	if !reflect.DeepEqual(f.startedMachines, []string{"arn:aws:states:us-east-1:1:stateMachine:essential-ir-instance"}) || !reflect.DeepEqual(f.buckets, []string{"evidence"}) {
		t.Errorf("started machines %v, buckets %v", f.startedMachines, f.buckets)
	}
}

func TestPolicies(t *testing.T) {
	doc := `{"Version": "2012-10-17", "Statement": [
	  {"Effect": "Allow", "Action": ["ec2:Describe*", "s3:GetObject"], "Resource": "*"},
	  {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
	  {"Effect": "Allow", "Action": "states:?tartExecution", "Resource": "*"}]}`
	for _, d := range []string{doc, url.QueryEscape(doc)} {
		s, err := policyDocument(d)
		if err != nil {
			t.Fatal(err)
		}
		for action, want := range map[string]bool{"ec2:describeinstances": true, "s3:getobject": true, "s3:putobject": false,
			"iam:putrolepolicy": false, "states:startexecution": true, "ec2:modifyinstanceattribute": false} {
			if allowed(s, action) != want {
				t.Errorf("allowed(%s) = %t", action, !want)
			}
		}
	}
	one, err := policyDocument(`{"Statement": {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}}`)
	if err != nil || !trustsStepFunctions(one) {
		t.Errorf("a single-statement trust policy for Step Functions: %v, %v", one, err)
	}
	if trustsStepFunctions([]statement{{Effect: "Allow", Principal: []byte(`{"Service":"lambda.amazonaws.com"}`)}}) {
		t.Error("a Lambda trust policy trusts Step Functions")
	}
	if got := logGroupName("arn:aws:logs:us-east-1:1:log-group:EssentialIr-ContainmentLogs-abc:*"); got != "EssentialIr-ContainmentLogs-abc" {
		t.Errorf("logGroupName = %q", got)
	}
	if got := roleName("arn:aws:iam::1:role/service-role/essential-ir"); got != "essential-ir" {
		t.Errorf("roleName = %q", got)
	}
}
