package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// iamRole are the AWS::IAM::Role properties honoured.
type iamRole struct {
	RoleName                 string
	AssumeRolePolicyDocument document
	Description              string
	Path                     string
	MaxSessionDuration       *cfnInt
	PermissionsBoundary      string
	ManagedPolicyArns        []string
	Policies                 []inlinePolicy
	Tags                     []tag
}

// inlinePolicy is an inline policy of a role.
type inlinePolicy struct {
	PolicyName     string
	PolicyDocument document
}

// createRole creates an IAM role named RoleName, or
// <stack>-<logical ID>-<random> as CloudFormation names it, with its trust
// policy, inline policies and managed policies. Ref gives the name;
// Fn::GetAtt Arn and RoleId.
func createRole(ctx context.Context, a *account, r request) (*physical, error) {
	var p iamRole
	if err := required(r.props, "AssumeRolePolicyDocument"); err != nil {
		return nil, err
	}
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	name := p.RoleName
	if name == "" {
		var err error
		if name, err = generatedName(r.stackName, r.logicalID, 64); err != nil {
			return nil, err
		}
	}
	trust, err := p.AssumeRolePolicyDocument.JSON()
	if err != nil {
		return nil, fmt.Errorf("AssumeRolePolicyDocument: %w", err)
	}
	in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}
	if p.Description != "" {
		in.Description = aws.String(p.Description)
	}
	if p.Path != "" {
		in.Path = aws.String(p.Path)
	}
	if p.MaxSessionDuration != nil {
		in.MaxSessionDuration = aws.Int32(int32(*p.MaxSessionDuration))
	}
	if p.PermissionsBoundary != "" {
		in.PermissionsBoundary = aws.String(p.PermissionsBoundary)
	}
	for _, t := range p.Tags {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	out, err := a.iam.CreateRole(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create role %s: %w", name, err)
	}
	for _, pol := range p.Policies {
		if err := putRolePolicy(ctx, a, name, pol.PolicyName, &pol.PolicyDocument); err != nil {
			return nil, err
		}
	}
	for _, arn := range p.ManagedPolicyArns {
		if _, err := a.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(arn)}); err != nil {
			return nil, fmt.Errorf("attach %s to role %s: %w", arn, name, err)
		}
	}
	return &physical{ref: name, atts: map[string]interface{}{
		"Arn": aws.ToString(out.Role.Arn), "RoleId": aws.ToString(out.Role.RoleId),
	}}, nil
}

// iamPolicy are the AWS::IAM::Policy properties honoured: the policy is
// inline in each role named (Users and Groups are not supported).
type iamPolicy struct {
	PolicyName     string
	PolicyDocument document
	Roles          []string
}

// createPolicy puts the policy, inline, on each of its roles. Ref gives
// an ID made like CloudFormation's.
func createPolicy(ctx context.Context, a *account, r request) (*physical, error) {
	var p iamPolicy
	if err := required(r.props, "PolicyName", "PolicyDocument", "Roles"); err != nil {
		return nil, err
	}
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	for _, role := range p.Roles {
		if err := putRolePolicy(ctx, a, role, p.PolicyName, &p.PolicyDocument); err != nil {
			return nil, err
		}
	}
	id, err := generatedName(shorten(r.stackName, 5), shorten(r.logicalID, 5), 64)
	if err != nil {
		return nil, err
	}
	return &physical{ref: id, atts: map[string]interface{}{}}, nil
}

// putRolePolicy puts an inline policy on a role.
func putRolePolicy(ctx context.Context, a *account, role, name string, doc *document) error {
	text, err := doc.JSON()
	if err != nil {
		return fmt.Errorf("policy %s: %w", name, err)
	}
	if _, err := a.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(text),
	}); err != nil {
		return fmt.Errorf("put policy %s on role %s: %w", name, role, err)
	}
	return nil
}

// shorten keeps the first n characters of s.
func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
