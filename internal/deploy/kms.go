package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// kmsKey are the AWS::KMS::Key properties honoured.
type kmsKey struct {
	Description                    string
	KeyPolicy                      *document
	EnableKeyRotation              *cfnBool
	RotationPeriodInDays           *cfnInt
	Enabled                        *cfnBool
	KeySpec                        string
	KeyUsage                       string
	MultiRegion                    *cfnBool
	BypassPolicyLockoutSafetyCheck *cfnBool
	Tags                           []tag
}

// createKey creates a KMS key with the template's policy (the account's
// default key policy if none), rotation and state. Ref gives the key ID;
// Fn::GetAtt Arn and KeyId.
func createKey(ctx context.Context, a *account, r request) (*physical, error) {
	var p kmsKey
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	in := &kms.CreateKeyInput{
		MultiRegion:                    aws.Bool(isTrue(p.MultiRegion)),
		BypassPolicyLockoutSafetyCheck: isTrue(p.BypassPolicyLockoutSafetyCheck),
	}
	if p.Description != "" {
		in.Description = aws.String(p.Description)
	}
	if p.KeyPolicy != nil {
		policy, err := p.KeyPolicy.JSON()
		if err != nil {
			return nil, fmt.Errorf("KeyPolicy: %w", err)
		}
		in.Policy = aws.String(policy)
	}
	if p.KeySpec != "" {
		in.KeySpec = kmstypes.KeySpec(p.KeySpec)
	}
	if p.KeyUsage != "" {
		in.KeyUsage = kmstypes.KeyUsageType(p.KeyUsage)
	}
	for _, t := range p.Tags {
		in.Tags = append(in.Tags, kmstypes.Tag{TagKey: aws.String(t.Key), TagValue: aws.String(t.Value)})
	}
	out, err := a.kms.CreateKey(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	id, arn := aws.ToString(out.KeyMetadata.KeyId), aws.ToString(out.KeyMetadata.Arn)
	switch {
	case isTrue(p.EnableKeyRotation):
		rotation := &kms.EnableKeyRotationInput{KeyId: aws.String(id)}
		if p.RotationPeriodInDays != nil {
			rotation.RotationPeriodInDays = aws.Int32(int32(*p.RotationPeriodInDays))
		}
		if _, err := a.kms.EnableKeyRotation(ctx, rotation); err != nil {
			return nil, fmt.Errorf("enable rotation of key %s: %w", id, err)
		}
	case p.RotationPeriodInDays != nil:
		return nil, fmt.Errorf("RotationPeriodInDays without EnableKeyRotation")
	}
	if p.Enabled != nil && !bool(*p.Enabled) {
		if _, err := a.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(id)}); err != nil {
			return nil, fmt.Errorf("disable key %s: %w", id, err)
		}
	}
	return &physical{ref: id, atts: map[string]interface{}{"Arn": arn, "KeyId": id}}, nil
}

// kmsAlias are the AWS::KMS::Alias properties honoured.
type kmsAlias struct {
	AliasName   string
	TargetKeyId string
}

// createAlias creates a KMS alias. Ref gives the alias name.
func createAlias(ctx context.Context, a *account, r request) (*physical, error) {
	var p kmsAlias
	if err := required(r.props, "AliasName", "TargetKeyId"); err != nil {
		return nil, err
	}
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	if _, err := a.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(p.AliasName), TargetKeyId: aws.String(p.TargetKeyId)}); err != nil {
		return nil, fmt.Errorf("create alias %s: %w", p.AliasName, err)
	}
	return &physical{ref: p.AliasName, atts: map[string]interface{}{}}, nil
}
