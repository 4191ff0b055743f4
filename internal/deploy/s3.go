package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3Bucket are the AWS::S3::Bucket properties honoured.
type s3Bucket struct {
	BucketName              string
	ObjectLockEnabled       *cfnBool
	ObjectLockConfiguration *struct {
		ObjectLockEnabled string
		Rule              *struct {
			DefaultRetention *struct {
				Mode        string
				Days, Years *cfnInt
			}
		}
	}
	VersioningConfiguration *struct{ Status string }
	BucketEncryption        *struct {
		ServerSideEncryptionConfiguration []struct {
			BucketKeyEnabled              *cfnBool
			ServerSideEncryptionByDefault *struct {
				SSEAlgorithm   string
				KMSMasterKeyID string
			}
		}
	}
	PublicAccessBlockConfiguration *struct {
		BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets *cfnBool
	}
	OwnershipControls *struct {
		Rules []struct{ ObjectOwnership string }
	}
	Tags []tag
}

// createBucket creates an S3 bucket named BucketName, or
// <stack>-<logical ID>-<random> in lower case as CloudFormation names it,
// then applies each configuration the template gives. Ref gives the
// name; Fn::GetAtt Arn, DomainName, RegionalDomainName and
// DualStackDomainName.
func createBucket(ctx context.Context, a *account, r request) (*physical, error) {
	var p s3Bucket
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	name := p.BucketName
	if name == "" {
		var err error
		if name, err = generatedBucketName(r.stackName, r.logicalID); err != nil {
			return nil, err
		}
	} else if _, err := a.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err == nil {
		return nil, fmt.Errorf("bucket %s already exists", name)
	}
	in := &s3.CreateBucketInput{Bucket: aws.String(name), ObjectLockEnabledForBucket: aws.Bool(isTrue(p.ObjectLockEnabled))}
	if a.region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(a.region)}
	}
	if _, err := a.s3.CreateBucket(ctx, in); err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	steps := []struct {
		what string
		put  func(context.Context, *account, string, *s3Bucket) error
	}{
		{"OwnershipControls", putOwnershipControls},
		{"PublicAccessBlockConfiguration", putPublicAccessBlock},
		{"VersioningConfiguration", putVersioning},
		{"BucketEncryption", putEncryption},
		{"ObjectLockConfiguration", putObjectLock},
		{"Tags", putBucketTags},
	}
	for _, s := range steps {
		if err := s.put(ctx, a, name, &p); err != nil {
			return nil, fmt.Errorf("bucket %s: %s: %w", name, s.what, err)
		}
	}
	return &physical{ref: name, atts: map[string]interface{}{
		"Arn":                 fmt.Sprintf("arn:%s:s3:::%s", a.partition, name),
		"DomainName":          name + ".s3.amazonaws.com",
		"RegionalDomainName":  fmt.Sprintf("%s.s3.%s.amazonaws.com", name, a.region),
		"DualStackDomainName": fmt.Sprintf("%s.s3.dualstack.%s.amazonaws.com", name, a.region),
	}}, nil
}

// putOwnershipControls applies OwnershipControls.
func putOwnershipControls(ctx context.Context, a *account, name string, p *s3Bucket) error {
	if p.OwnershipControls == nil {
		return nil
	}
	var rules []s3types.OwnershipControlsRule
	for _, r := range p.OwnershipControls.Rules {
		rules = append(rules, s3types.OwnershipControlsRule{ObjectOwnership: s3types.ObjectOwnership(r.ObjectOwnership)})
	}
	_, err := a.s3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{
		Bucket: aws.String(name), OwnershipControls: &s3types.OwnershipControls{Rules: rules},
	})
	return err
}

// putPublicAccessBlock applies PublicAccessBlockConfiguration (an absent
// setting is false, as in CloudFormation).
func putPublicAccessBlock(ctx context.Context, a *account, name string, p *s3Bucket) error {
	c := p.PublicAccessBlockConfiguration
	if c == nil {
		return nil
	}
	_, err := a.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(name),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(isTrue(c.BlockPublicAcls)), BlockPublicPolicy: aws.Bool(isTrue(c.BlockPublicPolicy)),
			IgnorePublicAcls: aws.Bool(isTrue(c.IgnorePublicAcls)), RestrictPublicBuckets: aws.Bool(isTrue(c.RestrictPublicBuckets)),
		},
	})
	return err
}

// putVersioning applies VersioningConfiguration.
func putVersioning(ctx context.Context, a *account, name string, p *s3Bucket) error {
	if p.VersioningConfiguration == nil {
		return nil
	}
	_, err := a.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(name),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatus(p.VersioningConfiguration.Status)},
	})
	return err
}

// putEncryption applies BucketEncryption.
func putEncryption(ctx context.Context, a *account, name string, p *s3Bucket) error {
	if p.BucketEncryption == nil {
		return nil
	}
	var rules []s3types.ServerSideEncryptionRule
	for _, c := range p.BucketEncryption.ServerSideEncryptionConfiguration {
		rule := s3types.ServerSideEncryptionRule{BucketKeyEnabled: aws.Bool(isTrue(c.BucketKeyEnabled))}
		if d := c.ServerSideEncryptionByDefault; d != nil {
			rule.ApplyServerSideEncryptionByDefault = &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(d.SSEAlgorithm)}
			if d.KMSMasterKeyID != "" {
				rule.ApplyServerSideEncryptionByDefault.KMSMasterKeyID = aws.String(d.KMSMasterKeyID)
			}
		}
		rules = append(rules, rule)
	}
	_, err := a.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(name), ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: rules},
	})
	return err
}

// putObjectLock applies ObjectLockConfiguration, which needs
// ObjectLockEnabled, as in CloudFormation.
func putObjectLock(ctx context.Context, a *account, name string, p *s3Bucket) error {
	c := p.ObjectLockConfiguration
	if c == nil {
		return nil
	}
	if !isTrue(p.ObjectLockEnabled) {
		return fmt.Errorf("needs ObjectLockEnabled: true")
	}
	cfg := &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabled(c.ObjectLockEnabled)}
	if c.Rule != nil && c.Rule.DefaultRetention != nil {
		d := c.Rule.DefaultRetention
		retention := &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionMode(d.Mode)}
		if d.Days != nil {
			retention.Days = aws.Int32(int32(*d.Days))
		}
		if d.Years != nil {
			retention.Years = aws.Int32(int32(*d.Years))
		}
		cfg.Rule = &s3types.ObjectLockRule{DefaultRetention: retention}
	}
	_, err := a.s3.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{Bucket: aws.String(name), ObjectLockConfiguration: cfg})
	return err
}

// putBucketTags applies Tags.
func putBucketTags(ctx context.Context, a *account, name string, p *s3Bucket) error {
	if len(p.Tags) == 0 {
		return nil
	}
	var tags []s3types.Tag
	for _, t := range p.Tags {
		tags = append(tags, s3types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	_, err := a.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: tags}})
	return err
}

// s3BucketPolicy are the AWS::S3::BucketPolicy properties honoured.
type s3BucketPolicy struct {
	Bucket         string
	PolicyDocument document
}

// createBucketPolicy sets a bucket's policy. Its Ref is not supported.
func createBucketPolicy(ctx context.Context, a *account, r request) (*physical, error) {
	var p s3BucketPolicy
	if err := required(r.props, "Bucket", "PolicyDocument"); err != nil {
		return nil, err
	}
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	policy, err := p.PolicyDocument.JSON()
	if err != nil {
		return nil, fmt.Errorf("PolicyDocument: %w", err)
	}
	if _, err := a.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Bucket), Policy: aws.String(policy)}); err != nil {
		return nil, fmt.Errorf("put the policy of bucket %s: %w", p.Bucket, err)
	}
	return &physical{atts: map[string]interface{}{}}, nil
}
