package deploy

import (
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/essential-ir/essential-ir/internal/emulator"
)

// account is the emulated account a stack is created in: where it is and
// a client per service the supported resource types use.
type account struct {
	partition, region, accountID string

	kms  *kms.Client
	s3   *s3.Client
	iam  *iam.Client
	logs *cloudwatchlogs.Client
	sfn  *sfn.Client
	ssm  *ssm.Client
}

// newAccount returns the clients of the emulator's API endpoint, for one
// region of its account.
func newAccount(emu *emulator.Emulator, region string) *account {
	cfg := emu.AWSConfig()
	cfg.Region = region
	return &account{
		partition: "aws",
		region:    region,
		accountID: emu.AccountID(),
		kms:       kms.NewFromConfig(cfg),
		s3:        s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		iam:       iam.NewFromConfig(cfg),
		logs:      cloudwatchlogs.NewFromConfig(cfg),
		sfn:       sfn.NewFromConfig(cfg),
		ssm:       ssm.NewFromConfig(cfg),
	}
}
