package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// logGroup are the AWS::Logs::LogGroup properties honoured.
type logGroup struct {
	LogGroupName    string
	RetentionInDays *cfnInt
	KmsKeyId        string
	LogGroupClass   string
	Tags            []tag
}

// createLogGroup creates a CloudWatch Logs group named LogGroupName, or
// <stack>-<logical ID>-<random> as CloudFormation names it, with its
// retention and key. Ref gives the name; Fn::GetAtt Arn.
func createLogGroup(ctx context.Context, a *account, r request) (*physical, error) {
	var p logGroup
	if err := decode(r.props, &p); err != nil {
		return nil, err
	}
	name := p.LogGroupName
	if name == "" {
		var err error
		if name, err = generatedName(r.stackName, r.logicalID, 512); err != nil {
			return nil, err
		}
	}
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}
	if p.KmsKeyId != "" {
		in.KmsKeyId = aws.String(p.KmsKeyId)
	}
	if p.LogGroupClass != "" {
		in.LogGroupClass = logstypes.LogGroupClass(p.LogGroupClass)
	}
	if len(p.Tags) > 0 {
		in.Tags = map[string]string{}
		for _, t := range p.Tags {
			in.Tags[t.Key] = t.Value
		}
	}
	if _, err := a.logs.CreateLogGroup(ctx, in); err != nil {
		return nil, fmt.Errorf("create log group %s: %w", name, err)
	}
	if p.RetentionInDays != nil {
		if _, err := a.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{
			LogGroupName: aws.String(name), RetentionInDays: aws.Int32(int32(*p.RetentionInDays)),
		}); err != nil {
			return nil, fmt.Errorf("retention of log group %s: %w", name, err)
		}
	}
	return &physical{ref: name, atts: map[string]interface{}{
		"Arn": fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:*", a.partition, a.region, a.accountID, name),
	}}, nil
}
