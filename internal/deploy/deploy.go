// Package deploy deploys the synthesized stack into the emulated account the
// way CloudFormation would for the parts the workflow touches: the evidence
// KMS key, the evidence bucket (versioned, Object Lock with the template's
// default retention) and the state machine, created from the synthesized
// definition with every reference resolved. moto's CloudFormation ignores
// state machine definitions, so the resources are created directly.
package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/synth"
)

// Deployment is the stack deployed in the emulated account.
type Deployment struct {
	// StateMachineARN is the containment state machine, the one responders
	// start.
	StateMachineARN string
	// InstanceStateMachineARN is the state machine that contains one
	// instance, started by the other once per instance.
	InstanceStateMachineARN string
	// Bucket is the evidence bucket; KeyARN the evidence KMS key.
	Bucket, KeyARN string
	// Definition and InstanceDefinition are the ASL the state machines
	// were created from.
	Definition, InstanceDefinition string
}

// Deploy creates the evidence key and bucket, the state machine named name
// and the instance state machine named after it, for the stack parameters
// given (defaults for the others; StateMachineName is name).
func Deploy(ctx context.Context, emu *emulator.Emulator, tpl *synth.Template, name string, params map[string]string) (*Deployment, error) {
	cfg := emu.AWSConfig()
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("essential-ir evidence (emulated)"),
	})
	if err != nil {
		return nil, fmt.Errorf("deploy: create evidence key: %w", err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)

	bucket := params[stack.ParamEvidenceBucket]
	if bucket == "" {
		suffix := make([]byte, 4)
		if _, err := rand.Read(suffix); err != nil {
			return nil, fmt.Errorf("deploy: random bucket suffix: %w", err)
		}
		bucket = "essential-ir-evidence-" + hex.EncodeToString(suffix)
		days, err := retentionDays(tpl, params)
		if err != nil {
			return nil, err
		}
		if err := createBucket(ctx, s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), bucket, keyARN, days); err != nil {
			return nil, err
		}
	}

	bucketID, err := tpl.LogicalID("AWS::S3::Bucket", stack.BucketID)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	keyID, err := tpl.LogicalID("AWS::KMS::Key", stack.KeyID)
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	named := map[string]string{stack.ParamStateMachineName: name}
	for k, v := range params {
		if k != stack.ParamStateMachineName {
			named[k] = v
		}
	}
	d := synth.Deployment{
		Partition: "aws", Region: emu.Region(), AccountID: emu.AccountID(),
		Parameters: named,
		Resources:  map[string]string{bucketID: bucket, keyID + ".Arn": keyARN},
	}
	out := &Deployment{Bucket: bucket, KeyARN: keyARN}
	// The instance state machine first: the other one starts it.
	if out.InstanceDefinition, err = tpl.InstanceDefinition(d); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	instanceName := name + stack.InstanceStateMachineSuffix
	if out.InstanceStateMachineARN, err = emu.CreateStateMachine(ctx, instanceName, out.InstanceDefinition); err != nil {
		return nil, fmt.Errorf("deploy: create state machine %s from the synthesized definition: %w", instanceName, err)
	}
	if out.Definition, err = tpl.Definition(d); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if out.StateMachineARN, err = emu.CreateStateMachine(ctx, name, out.Definition); err != nil {
		return nil, fmt.Errorf("deploy: create state machine %s from the synthesized definition: %w", name, err)
	}
	return out, nil
}

// retentionDays is the EvidenceRetentionDays parameter, or its default.
func retentionDays(tpl *synth.Template, params map[string]string) (int32, error) {
	v, ok := params[stack.ParamRetentionDays]
	if !ok {
		p, _ := tpl.JSON["Parameters"].(map[string]interface{})
		def, _ := p[stack.ParamRetentionDays].(map[string]interface{})
		v = fmt.Sprint(def["Default"])
	}
	days, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("deploy: %s=%q is not a number of days", stack.ParamRetentionDays, v)
	}
	return int32(days), nil
}

// createBucket creates the evidence bucket as the template does: versioned,
// Object Lock with default GOVERNANCE retention, SSE-KMS with the evidence
// key, public access blocked.
func createBucket(ctx context.Context, client *s3.Client, bucket, keyARN string, days int32) error {
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket:                     aws.String(bucket),
		ObjectLockEnabledForBucket: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("deploy: create evidence bucket %s: %w", bucket, err)
	}
	if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	}); err != nil {
		return fmt.Errorf("deploy: versioning on %s: %w", bucket, err)
	}
	if _, err := client.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
		Bucket: aws.String(bucket),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{
			ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{
				Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(days),
			}},
		},
	}); err != nil {
		return fmt.Errorf("deploy: Object Lock on %s: %w", bucket, err)
	}
	if _, err := client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{
				SSEAlgorithm: s3types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(keyARN),
			},
			BucketKeyEnabled: aws.Bool(true),
		}}},
	}); err != nil {
		return fmt.Errorf("deploy: encryption on %s: %w", bucket, err)
	}
	if _, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true),
			IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		return fmt.Errorf("deploy: public access block on %s: %w", bucket, err)
	}
	return nil
}
