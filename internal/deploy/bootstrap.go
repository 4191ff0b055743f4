package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The CDK bootstrap records its version in this Systems Manager parameter;
// every CDK template reads it (the BootstrapVersion parameter) and its
// CheckBootstrapVersion rule refuses versions older than it needs.
const (
	bootstrapVersionParameter = "/cdk-bootstrap/hnb659fds/version"
	// bootstrapVersion is the version the emulated account is bootstrapped
	// with: any version from 6 on satisfies the stack's rule.
	bootstrapVersion = "21"
)

// bootstrap does for the emulated account what `cdk bootstrap` does for
// the part the stack reads: it records the bootstrap version, unless it is
// already recorded (another deployment, or a test that set it).
func (a *account) bootstrap(ctx context.Context) error {
	_, err := a.ssm.PutParameter(ctx, &ssm.PutParameterInput{
		Name:      aws.String(bootstrapVersionParameter),
		Value:     aws.String(bootstrapVersion),
		Type:      ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(false),
	})
	var exists *ssmtypes.ParameterAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("bootstrap: record the CDK bootstrap version in %s: %w", bootstrapVersionParameter, err)
	}
	return nil
}

// parameterReader reads Systems Manager parameters from the account, for
// the template's parameters of an AWS::SSM::Parameter::Value type.
func (a *account) parameterReader(ctx context.Context) func(string) (string, error) {
	return func(name string) (string, error) {
		out, err := a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Parameter.Value), nil
	}
}
