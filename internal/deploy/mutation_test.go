package deploy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/deploy"
)

// mutation is a deliberate change to the synthesized template, and the
// field of the deployed account it must change.
type mutation struct {
	name   string
	field  string
	change func(t *testing.T, resources map[string]interface{})
}

// mutations change, in the template, what issue 24 says no test saw.
var mutations = []mutation{
	{"no-default-retention", "Bucket.DefaultRetention", func(t *testing.T, r map[string]interface{}) {
		lock := bucketProps(t, r)["ObjectLockConfiguration"].(map[string]interface{})
		delete(lock, "Rule")
	}},
	{"retention-7-days", "Bucket.DefaultRetention", func(t *testing.T, r map[string]interface{}) {
		lock := bucketProps(t, r)["ObjectLockConfiguration"].(map[string]interface{})
		lock["Rule"].(map[string]interface{})["DefaultRetention"].(map[string]interface{})["Days"] = 7.0 // JSON numbers are float64
	}},
	{"no-versioning", "Bucket.Versioning", func(t *testing.T, r map[string]interface{}) {
		p := bucketProps(t, r)
		delete(p, "VersioningConfiguration")
		delete(p, "ObjectLockEnabled")
		delete(p, "ObjectLockConfiguration")
	}},
	{"s3-managed-key", "Bucket.Encryption", func(t *testing.T, r map[string]interface{}) {
		rules := bucketProps(t, r)["BucketEncryption"].(map[string]interface{})["ServerSideEncryptionConfiguration"].([]interface{})
		rules[0].(map[string]interface{})["ServerSideEncryptionByDefault"] = map[string]interface{}{"SSEAlgorithm": "AES256"}
	}},
	{"public-policy-allowed", "Bucket.PublicAccessBlock", func(t *testing.T, r map[string]interface{}) {
		bucketProps(t, r)["PublicAccessBlockConfiguration"].(map[string]interface{})["BlockPublicPolicy"] = false
	}},
	{"no-key-rotation", "Key.Rotation", func(t *testing.T, r map[string]interface{}) {
		properties(t, r, "AWS::KMS::Key", stack.KeyID)["EnableKeyRotation"] = false
	}},
	{"role-statement-dropped", "Role.Inline.", func(t *testing.T, r map[string]interface{}) {
		doc := properties(t, r, "AWS::IAM::Policy", "ContainmentPolicy")["PolicyDocument"].(map[string]interface{})
		doc["Statement"] = doc["Statement"].([]interface{})[1:]
	}},
	// A policy moto evaluates as AWS does (no conditional Deny): it stays
	// in the account, which shows the bucket policy path end to end.
	{"bucket-policy-changed", "Bucket.Policy", func(t *testing.T, r map[string]interface{}) {
		doc := properties(t, r, "AWS::S3::BucketPolicy", stack.BucketID)["PolicyDocument"].(map[string]interface{})
		statement := doc["Statement"].([]interface{})[0].(map[string]interface{})
		delete(statement, "Condition")
		statement["Action"] = "s3:DeleteBucket"
		statement["Resource"] = statement["Resource"].([]interface{})[0]
	}},
	{"log-retention-30-days", "LogGroup.Retention", func(t *testing.T, r map[string]interface{}) {
		properties(t, r, "AWS::Logs::LogGroup", stack.LogGroupID)["RetentionInDays"] = 30.0
	}},
}

// bucketProps are the evidence bucket's properties.
func bucketProps(t *testing.T, r map[string]interface{}) map[string]interface{} {
	t.Helper()
	return properties(t, r, "AWS::S3::Bucket", stack.BucketID)
}

// TestTemplateMutationsReachTheAccount is the proof issue 24 asks for: each
// change to the synthesized template changes the deployed account
// accordingly, so a test comparing the account with the stack as written
// fails on it.
func TestTemplateMutationsReachTheAccount(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			tpl := mutated(t, func(r map[string]interface{}) { m.change(t, r) })
			d := deployNamed(t, tpl, "essential-ir-mutation-"+m.name, nil)
			got := readAccount(t, tpl, d)
			for _, diff := range differences(got, expected(t, tpl, nil, d)) {
				t.Errorf("the account does not follow the mutated template: %s", diff)
			}
			caught := false
			for _, diff := range differences(got, expected(t, template, nil, d)) {
				caught = caught || strings.HasPrefix(diff, m.field)
			}
			if !caught {
				t.Errorf("the account deployed from the mutated template still matches the stack's %s", m.field)
			}
		})
	}
}

// TestUnsupportedResourceIsRefusedBeforeAnythingIsCreated: a resource type
// the emulated deployment cannot create fails the deployment loudly, and
// nothing of the stack is created.
func TestUnsupportedResourceIsRefusedBeforeAnythingIsCreated(t *testing.T) {
	tpl := mutated(t, func(r map[string]interface{}) {
		r["AlarmTopic"] = map[string]interface{}{"Type": "AWS::SNS::Topic", "Properties": map[string]interface{}{}}
	})
	name := "essential-ir-unsupported"
	_, err := deploy.Deploy(context.Background(), emu, tpl, name, nil)
	if err == nil || !strings.Contains(err.Error(), "not supported by the emulated deployment: AWS::SNS::Topic") {
		t.Fatalf("error %v, want the SNS topic refused", err)
	}
	if _, err := account().sfn.DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{
		StateMachineArn: aws.String("arn:aws:states:" + emu.Region() + ":" + emu.AccountID() + ":stateMachine:" + name),
	}); err == nil {
		t.Errorf("state machine %s was created by a refused deployment", name)
	}
}

// TestUnknownPropertyIsRefused: a property the deployment does not honour
// fails it, naming the property, nested or not, before anything is created.
func TestUnknownPropertyIsRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(r map[string]interface{})
		want   string
	}{
		{"top-level", func(r map[string]interface{}) {
			properties(t, r, "AWS::S3::Bucket", stack.BucketID)["LifecycleConfiguration"] = map[string]interface{}{"Rules": []interface{}{}}
		}, "property LifecycleConfiguration of AWS::S3::Bucket is not supported"},
		{"nested", func(r map[string]interface{}) {
			lock := properties(t, r, "AWS::S3::Bucket", stack.BucketID)["ObjectLockConfiguration"].(map[string]interface{})
			lock["Rule"].(map[string]interface{})["DefaultRetention"].(map[string]interface{})["Weeks"] = 2.0
		}, "property ObjectLockConfiguration.Rule.DefaultRetention.Weeks is not supported"},
		{"attribute", func(r map[string]interface{}) {
			for _, res := range r {
				if body := res.(map[string]interface{}); body["Type"] == "AWS::Logs::LogGroup" {
					body["CreationPolicy"] = map[string]interface{}{"ResourceSignal": map[string]interface{}{"Count": 1}}
				}
			}
		}, "resource attribute CreationPolicy is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := deploy.Deploy(context.Background(), emu, mutated(t, c.change), "essential-ir-unknown-"+c.name, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "created before it") {
				t.Errorf("resources were created before the refusal: %v", err)
			}
		})
	}
}

// TestBootstrapVersionRuleIsChecked: the template's CheckBootstrapVersion
// rule reads the bootstrap version from Systems Manager; an account
// bootstrapped with an old version is refused with the rule's message.
func TestBootstrapVersionRuleIsChecked(t *testing.T) {
	old := "/essential-ir-test/old-bootstrap/version"
	if _, err := ssm.NewFromConfig(emu.AWSConfig()).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(old), Value: aws.String("5"), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	tpl := mutated(t, func(map[string]interface{}) {})
	tpl.JSON["Parameters"].(map[string]interface{})["BootstrapVersion"].(map[string]interface{})["Default"] = old
	_, err := deploy.Deploy(context.Background(), emu, tpl, "essential-ir-old-bootstrap", nil)
	if err == nil || !strings.Contains(err.Error(), "CDK bootstrap stack version 6 required") {
		t.Errorf("error %v, want the bootstrap rule's assertion", err)
	}
}
