package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// state is what a deployment is, in the template's terms: read from the
// emulated account (readAccount) or derived from the template (expected),
// so that the two can be compared field by field.
type state struct {
	// Bucket is nil when the stack creates none.
	Bucket   *bucketState
	Key      keyState
	Role     roleState
	LogGroup logGroupState
	// Machines are the state machines, by construct ID.
	Machines map[string]machineState
}

// bucketState is the evidence bucket.
type bucketState struct {
	Versioning        string
	ObjectLock        string
	DefaultRetention  string
	Encryption        []string
	PublicAccessBlock string
	Ownership         []string
	Policy            interface{}
}

// keyState is the evidence key.
type keyState struct {
	Description string
	Rotation    bool
	Policy      interface{}
	Aliases     []string
}

// roleState is the state machines' role.
type roleState struct {
	Description string
	Trust       interface{}
	// Inline are the inline policies, by name.
	Inline  map[string]interface{}
	Managed []string
}

// logGroupState is the state machines' log group.
type logGroupState struct {
	Retention int32
	KmsKeyID  string
}

// machineState is one state machine.
type machineState struct {
	Name, Type, RoleArn string
	Logging             string
	Tracing             bool
	Definition          interface{}
}

// clients are the emulated account's API clients.
type clients struct {
	s3   *s3.Client
	kms  *kms.Client
	iam  *iam.Client
	logs *cloudwatchlogs.Client
	sfn  *sfn.Client
}

// account returns clients of the emulated account.
func account() clients {
	cfg := emu.AWSConfig()
	return clients{
		s3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		kms:  kms.NewFromConfig(cfg),
		iam:  iam.NewFromConfig(cfg),
		logs: cloudwatchlogs.NewFromConfig(cfg),
		sfn:  sfn.NewFromConfig(cfg),
	}
}

// logicalID is the logical ID of the one resource of a type whose logical
// ID starts with prefix.
func logicalID(t *testing.T, tpl *synth.Template, cfnType, prefix string) string {
	t.Helper()
	id, err := tpl.LogicalID(cfnType, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readAccount reads a deployment back from the emulated account.
func readAccount(t *testing.T, tpl *synth.Template, d *deploy.Deployment) state {
	t.Helper()
	ctx := context.Background()
	c := account()
	s := state{Machines: map[string]machineState{}}
	if name, ok := d.Resources[logicalID(t, tpl, "AWS::S3::Bucket", stack.BucketID)]; ok {
		b := readBucket(t, c, name)
		s.Bucket = &b
	}
	s.Key = readKey(t, c, d.KeyARN)
	s.Role = readRole(t, c, d.RoleARN[strings.LastIndex(d.RoleARN, "/")+1:])
	groups, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(d.LogGroupName)})
	if err != nil || len(groups.LogGroups) != 1 {
		t.Fatalf("log group %s: %v (%d found)", d.LogGroupName, err, len(groups.LogGroups))
	}
	s.LogGroup = logGroupState{Retention: aws.ToInt32(groups.LogGroups[0].RetentionInDays), KmsKeyID: aws.ToString(groups.LogGroups[0].KmsKeyId)}
	for id, arn := range map[string]string{stack.StateMachineID: d.StateMachineARN, stack.InstanceStateMachineID: d.InstanceStateMachineARN} {
		out, err := c.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("state machine %s: %v", arn, err)
		}
		m := machineState{Name: aws.ToString(out.Name), Type: string(out.Type), RoleArn: aws.ToString(out.RoleArn), Definition: parseJSON(t, aws.ToString(out.Definition))}
		if l := out.LoggingConfiguration; l != nil {
			var dest []string
			for _, x := range l.Destinations {
				dest = append(dest, aws.ToString(x.CloudWatchLogsLogGroup.LogGroupArn))
			}
			m.Logging = logging(string(l.Level), l.IncludeExecutionData, dest)
		}
		m.Tracing = out.TracingConfiguration != nil && out.TracingConfiguration.Enabled
		s.Machines[id] = m
	}
	return s
}

// logging is a state machine's logging configuration, as one string.
func logging(level string, data bool, destinations []string) string {
	return fmt.Sprintf("level=%s executionData=%v destinations=%v", level, data, destinations)
}

// readBucket reads a bucket's configuration.
func readBucket(t *testing.T, c clients, name string) bucketState {
	t.Helper()
	ctx := context.Background()
	b := aws.String(name)
	var s bucketState
	v, err := c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil {
		t.Fatalf("versioning of %s: %v", name, err)
	}
	s.Versioning = string(v.Status)
	if lock, err := c.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b}); err == nil {
		s.ObjectLock = string(lock.ObjectLockConfiguration.ObjectLockEnabled)
		if r := lock.ObjectLockConfiguration.Rule; r != nil && r.DefaultRetention != nil {
			s.DefaultRetention = retention(string(r.DefaultRetention.Mode), aws.ToInt32(r.DefaultRetention.Days), aws.ToInt32(r.DefaultRetention.Years))
		}
	} else if !isCode(err, "ObjectLockConfigurationNotFoundError") {
		t.Fatalf("Object Lock of %s: %v", name, err)
	}
	if enc, err := c.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); err == nil {
		for _, r := range enc.ServerSideEncryptionConfiguration.Rules {
			var alg, key string
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				alg, key = string(d.SSEAlgorithm), aws.ToString(d.KMSMasterKeyID)
			}
			s.Encryption = append(s.Encryption, encryption(alg, key, aws.ToBool(r.BucketKeyEnabled)))
		}
	} else if !isCode(err, "ServerSideEncryptionConfigurationNotFoundError") {
		t.Fatalf("encryption of %s: %v", name, err)
	}
	if pab, err := c.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}); err == nil {
		p := pab.PublicAccessBlockConfiguration
		s.PublicAccessBlock = publicAccess(aws.ToBool(p.BlockPublicAcls), aws.ToBool(p.BlockPublicPolicy), aws.ToBool(p.IgnorePublicAcls), aws.ToBool(p.RestrictPublicBuckets))
	} else if !isCode(err, "NoSuchPublicAccessBlockConfiguration") {
		t.Fatalf("public access block of %s: %v", name, err)
	}
	if own, err := c.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b}); err == nil {
		for _, r := range own.OwnershipControls.Rules {
			s.Ownership = append(s.Ownership, string(r.ObjectOwnership))
		}
	} else if !isCode(err, "OwnershipControlsNotFoundError") {
		t.Fatalf("ownership controls of %s: %v", name, err)
	}
	if pol, err := c.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err == nil {
		s.Policy = parseJSON(t, aws.ToString(pol.Policy))
	} else if !isCode(err, "NoSuchBucketPolicy") {
		t.Fatalf("policy of %s: %v", name, err)
	}
	return s
}

// retention is an Object Lock default retention, as one string.
func retention(mode string, days, years int32) string {
	return fmt.Sprintf("%s days=%d years=%d", mode, days, years)
}

// encryption is a bucket encryption rule, as one string.
func encryption(algorithm, key string, bucketKey bool) string {
	return fmt.Sprintf("%s key=%s bucketKey=%v", algorithm, key, bucketKey)
}

// publicAccess is a public access block, as one string.
func publicAccess(acls, policy, ignoreAcls, restrict bool) string {
	return fmt.Sprintf("blockAcls=%v blockPolicy=%v ignoreAcls=%v restrict=%v", acls, policy, ignoreAcls, restrict)
}

// readKey reads a KMS key, its policy, rotation and aliases.
func readKey(t *testing.T, c clients, arn string) keyState {
	t.Helper()
	ctx := context.Background()
	k, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("key %s: %v", arn, err)
	}
	rot, err := c.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatalf("rotation of key %s: %v", arn, err)
	}
	pol, err := c.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String("default")})
	if err != nil {
		t.Fatalf("policy of key %s: %v", arn, err)
	}
	aliases, err := c.kms.ListAliases(ctx, &kms.ListAliasesInput{KeyId: k.KeyMetadata.KeyId})
	if err != nil {
		t.Fatalf("aliases of key %s: %v", arn, err)
	}
	s := keyState{Description: aws.ToString(k.KeyMetadata.Description), Rotation: rot.KeyRotationEnabled, Policy: parseJSON(t, aws.ToString(pol.Policy))}
	for _, a := range aliases.Aliases {
		s.Aliases = append(s.Aliases, aws.ToString(a.AliasName))
	}
	sort.Strings(s.Aliases)
	return s
}

// readRole reads a role's trust policy, inline and managed policies.
func readRole(t *testing.T, c clients, name string) roleState {
	t.Helper()
	ctx := context.Background()
	r, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatalf("role %s: %v", name, err)
	}
	s := roleState{Description: aws.ToString(r.Role.Description), Trust: policyDocument(t, aws.ToString(r.Role.AssumeRolePolicyDocument)), Inline: map[string]interface{}{}}
	inline, err := c.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatalf("policies of role %s: %v", name, err)
	}
	for _, p := range inline.PolicyNames {
		doc, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		if err != nil {
			t.Fatalf("policy %s of role %s: %v", p, name, err)
		}
		s.Inline[p] = policyDocument(t, aws.ToString(doc.PolicyDocument))
	}
	managed, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatalf("managed policies of role %s: %v", name, err)
	}
	for _, p := range managed.AttachedPolicies {
		s.Managed = append(s.Managed, aws.ToString(p.PolicyArn))
	}
	return s
}

// policyDocument parses an IAM policy document, URL-encoded as IAM returns
// it or not.
func policyDocument(t *testing.T, text string) interface{} {
	t.Helper()
	if strings.HasPrefix(text, "%7B") {
		decoded, err := url.QueryUnescape(text)
		if err != nil {
			t.Fatalf("policy document %q: %v", text, err)
		}
		text = decoded
	}
	return parseJSON(t, text)
}

// parseJSON parses a JSON document.
func parseJSON(t *testing.T, text string) interface{} {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, text)
	}
	return v
}

// isCode reports whether err is an AWS error with that code.
func isCode(err error, code string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == code
}
