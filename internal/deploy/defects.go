package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// ConditionalDenyDefect is why the evidence bucket's policy is not in the
// emulated account, when the running emulator still has this moto 5.2.1
// defect. Deploy reports it in Deployment.NotHonoured.
const ConditionalDenyDefect = "moto 5.2.1 refuses every object request (PutObject, GetObject, HeadObject: 403) " +
	"to a bucket whose policy has a Deny statement with a condition, whether or not the condition holds: " +
	"moto/iam/access_control.py IAMPolicyStatement.is_action_permitted returns DENIED when a condition does not hold, " +
	"whatever the Effect, and moto/s3/responses.py applies that to object requests. The stack's TLS-only statement " +
	"(Deny s3:* when aws:SecureTransport is false) would refuse every evidence write, so the policy was put, " +
	"probed (HeadObject of a missing key answered 403, not 404) and removed. The fix belongs in the emulator."

// conditionalDenyDefect probes the emulator once a bucket policy is put:
// HeadObject of a key that does not exist must answer 404. If it answers
// 403, moto's evaluation of the policy refuses object requests AWS would
// serve: the policy is removed and the defect returned. "" if the policy
// stays.
func conditionalDenyDefect(ctx context.Context, a *account, bucket string) (string, error) {
	probe, err := randomSuffix()
	if err != nil {
		return "", err
	}
	_, err = a.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("essential-ir-deploy-probe/" + probe)})
	var api smithy.APIError
	switch {
	case err == nil:
		return "", fmt.Errorf("bucket %s: probe object %s exists", bucket, probe)
	case errors.As(err, &api) && api.ErrorCode() == "NotFound":
		return "", nil
	case errors.As(err, &api) && api.ErrorCode() == "Forbidden":
		if _, err := a.s3.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
			return "", fmt.Errorf("bucket %s: remove the policy the emulator cannot evaluate: %w", bucket, err)
		}
		return ConditionalDenyDefect, nil
	default:
		return "", fmt.Errorf("bucket %s: probe the policy: %w", bucket, err)
	}
}
