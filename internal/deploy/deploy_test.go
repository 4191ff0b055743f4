package deploy_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/statemachine"
)

// TestDeployedAccountIsTheTemplate reads the default deployment back from
// the account and compares every property the tests rely on with the
// synthesized template's: bucket, key, role and policies, log group and
// state machines.
func TestDeployedAccountIsTheTemplate(t *testing.T) {
	got := readAccount(t, template, deployed)
	for _, d := range differences(got, expected(t, template, nil, deployed)) {
		t.Error(d)
	}
	// The same, stated without the template, so that a resolver mistake
	// shared by the deployment and the expectation still fails.
	if got.Bucket == nil {
		t.Fatal("the default deployment created no evidence bucket")
	}
	want := bucketState{
		Versioning:        "Enabled",
		ObjectLock:        "Enabled",
		DefaultRetention:  retention("GOVERNANCE", 365, 0),
		Encryption:        []string{encryption("aws:kms", deployed.KeyARN, true)},
		PublicAccessBlock: publicAccess(true, true, true, true),
		Ownership:         []string{"BucketOwnerEnforced"},
		Policy:            got.Bucket.Policy,
	}
	if !reflect.DeepEqual(*got.Bucket, want) {
		t.Errorf("evidence bucket %s is\n%+v\nwant\n%+v", deployed.Bucket, *got.Bucket, want)
	}
	if !strings.Contains(fmt.Sprint(got.Bucket.Policy), "aws:SecureTransport") ||
		!strings.Contains(fmt.Sprint(got.Bucket.Policy), "arn:aws:s3:::"+deployed.Bucket+"/*") {
		t.Errorf("bucket policy %v does not deny plain HTTP on the bucket's objects", got.Bucket.Policy)
	}
	if !got.Key.Rotation || !reflect.DeepEqual(got.Key.Aliases, []string{"alias/essential-ir-evidence"}) {
		t.Errorf("evidence key: rotation %v, aliases %v; want rotation and alias/essential-ir-evidence", got.Key.Rotation, got.Key.Aliases)
	}
	if got.LogGroup.Retention != 365 || deployed.LogGroupName != stack.LogGroupPrefix+deployed.StackName || got.LogGroup.KmsKeyID == "" || got.LogGroup.KmsKeyID == deployed.KeyARN {
		t.Errorf("log group %s: retention %d days, key %q; want %s%s, 365 days and a key of its own", deployed.LogGroupName, got.LogGroup.Retention, got.LogGroup.KmsKeyID, stack.LogGroupPrefix, deployed.StackName)
	}
	for id, m := range got.Machines {
		if m.RoleArn != deployed.RoleARN || !strings.Contains(m.RoleArn, ":role/essential-ir-"+stack.RoleID) {
			t.Errorf("state machine %s runs as %s, want the stack's role %s", id, m.RoleArn, deployed.RoleARN)
		}
		if !m.Tracing || !strings.HasPrefix(m.Logging, "level="+stack.DefaultLogLevel+" executionData=true") {
			t.Errorf("state machine %s: tracing %v, logging %s", id, m.Tracing, m.Logging)
		}
	}
	if deployed.Outputs[stack.OutputEvidenceBucket] != deployed.Bucket || deployed.Outputs[stack.OutputStateMachineArn] != deployed.StateMachineARN {
		t.Errorf("outputs %v do not name bucket %s and state machine %s", deployed.Outputs, deployed.Bucket, deployed.StateMachineARN)
	}
}

// TestRolePoliciesAreTheTemplatesStatements: the role holds, inline,
// exactly the policies the template attaches to it for the default
// parameters, statement for statement, and the key statements name the
// deployed key.
func TestRolePoliciesAreTheTemplatesStatements(t *testing.T) {
	got := readAccount(t, template, deployed).Role
	want := expected(t, template, nil, deployed).Role
	var names []string
	for name := range got.Inline {
		names = append(names, name)
	}
	sort.Strings(names)
	var wantNames []string
	for _, prefix := range []string{"ContainmentPolicy", "LoggingAndTracingPolicy", statemachine.OptionalCredentialRevocation + "Policy", stack.SelfProtectionPolicyID} {
		wantNames = append(wantNames, logicalID(t, template, "AWS::IAM::Policy", prefix))
	}
	sort.Strings(wantNames)
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("role's inline policies %v, want %v (the Elastic IP policy is off by default)", names, wantNames)
	}
	for name, doc := range want.Inline {
		if !reflect.DeepEqual(got.Inline[name], doc) {
			t.Errorf("policy %s in the account:\n%v\nin the template:\n%v", name, got.Inline[name], doc)
		}
	}
	if len(got.Managed) != 0 {
		t.Errorf("role has managed policies %v; the template attaches none", got.Managed)
	}
	if !strings.Contains(fmt.Sprint(got.Inline[logicalID(t, template, "AWS::IAM::Policy", "ContainmentPolicy")]), deployed.KeyARN) {
		t.Errorf("the containment policy does not name the evidence key %s", deployed.KeyARN)
	}
}

// TestParametersChangeTheDeployment: the stack parameters reach the
// account: retention days and mode, the optional policies and the log
// level.
func TestParametersChangeTheDeployment(t *testing.T) {
	params := map[string]string{
		stack.ParamRetentionDays: "30",
		stack.ParamRetentionMode: "COMPLIANCE",
		stack.ParamElasticIPs:    "true",
		stack.ParamRevoke:        "false",
		stack.ParamLogLevel:      "ALL",
	}
	d := deployNamed(t, template, "essential-ir-parameters", params)
	got := readAccount(t, template, d)
	for _, diff := range differences(got, expected(t, template, params, d)) {
		t.Error(diff)
	}
	if got.Bucket == nil || got.Bucket.DefaultRetention != retention("COMPLIANCE", 30, 0) {
		t.Errorf("bucket with EvidenceRetentionDays=30 and EvidenceRetentionMode=COMPLIANCE: %+v", got.Bucket)
	}
	eip := logicalID(t, template, "AWS::IAM::Policy", statemachine.OptionalElasticIPRelease+"Policy")
	revoke := logicalID(t, template, "AWS::IAM::Policy", statemachine.OptionalCredentialRevocation+"Policy")
	if got.Role.Inline[eip] == nil || got.Role.Inline[revoke] != nil {
		t.Errorf("role policies %v: want %s and not %s", keysOf(got.Role.Inline), eip, revoke)
	}
	for id, m := range got.Machines {
		if !strings.HasPrefix(m.Logging, "level=ALL ") {
			t.Errorf("state machine %s with LogLevel=ALL: %s", id, m.Logging)
		}
	}
	if got.Key.Aliases[0] != "alias/essential-ir-parameters-evidence" || d.Bucket == deployed.Bucket || d.RoleARN == deployed.RoleARN {
		t.Errorf("the second stack shares resources with the first: alias %v, bucket %s, role %s", got.Key.Aliases, d.Bucket, d.RoleARN)
	}
}

// TestExistingEvidenceBucket: with EvidenceBucketName, the stack creates no
// bucket and the workflow and its role use the one named, which the test
// (not the deployment) creates.
func TestExistingEvidenceBucket(t *testing.T) {
	ctx := context.Background()
	c := account()
	existing := "essential-ir-test-existing-evidence"
	if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(existing), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	before := bucketNames(t)
	params := map[string]string{stack.ParamEvidenceBucket: existing}
	d := deployNamed(t, template, "essential-ir-existing-bucket", params)
	if after := bucketNames(t); !reflect.DeepEqual(after, before) {
		t.Errorf("buckets before %v, after %v: the stack must create none", before, after)
	}
	if d.Bucket != existing || d.Outputs[stack.OutputExistingEvidenceBucket] != existing || d.Outputs[stack.OutputEvidenceBucket] != "" {
		t.Errorf("deployment bucket %s, outputs %v; want %s", d.Bucket, d.Outputs, existing)
	}
	got := readAccount(t, template, d)
	for _, diff := range differences(got, expected(t, template, params, d)) {
		t.Error(diff)
	}
	if !strings.Contains(d.Definition+d.InstanceDefinition, `"Bucket":"`+existing+`"`) {
		t.Errorf("the definitions do not write to %s", existing)
	}
	if !strings.Contains(fmt.Sprint(got.Role.Inline), "arn:aws:s3:::"+existing+"/") {
		t.Errorf("the role's policies do not name %s", existing)
	}
}

// bucketNames lists the account's buckets.
func bucketNames(t *testing.T) []string {
	t.Helper()
	out, err := account().s3.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	sort.Strings(names)
	return names
}

// keysOf returns a map's keys, sorted.
func keysOf(m map[string]interface{}) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
