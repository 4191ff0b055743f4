package deployment

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

// optionalActions are needed only with a stack parameter on: a role
// without them is a warning, not a failure (statemachine's Optional
// access).
var optionalActions = map[string]string{
	"iam:getinstanceprofile":  "RevokeInstanceCredentials=true",
	"iam:putrolepolicy":       "RevokeInstanceCredentials=true",
	"iam:getrolepolicy":       "RevokeInstanceCredentials=true",
	"ec2:disassociateaddress": "DisassociateElasticIps=true",
}

// Target is the deployment to check: the state machine responders start,
// and the evidence bucket when it is known otherwise than from the
// definition (a stack output, a flag).
type Target struct {
	StateMachineARN string
	Bucket          string
}

// Verify checks the deployment. It returns an error only when the check
// itself cannot run (no credentials, for example); each problem found is a
// failed Check.
func Verify(ctx context.Context, cfg aws.Config, t Target, s3Options ...func(*s3.Options)) (*Result, error) {
	v := &verifier{
		sfn: sfn.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg),
		s3: s3.NewFromConfig(cfg, s3Options...), logs: cloudwatchlogs.NewFromConfig(cfg),
		r: &Result{StateMachineARN: t.StateMachineARN},
	}
	return v.r, v.run(ctx, t)
}

type verifier struct {
	sfn  *sfn.Client
	iam  *iam.Client
	s3   *s3.Client
	logs *cloudwatchlogs.Client
	r    *Result
}

func (v *verifier) run(ctx context.Context, t Target) error {
	r := v.r
	machine, err := v.machine(ctx, "state machine", t.StateMachineARN)
	if err != nil || machine == nil {
		return err
	}
	facts, err := readDefinition(aws.ToString(machine.Definition))
	if err != nil {
		r.fail("state machine definition", "redeploy the stack", "%v", err)
		return nil
	}
	machines := []*sfn.DescribeStateMachineOutput{machine}
	if len(facts.startedMachines) == 0 {
		r.fail("instance state machine", "redeploy the stack (cdk deploy)", "the definition starts no other state machine: is this the essential-ir state machine?")
	}
	for _, arn := range facts.startedMachines {
		r.InstanceStateMachineARN = arn
		m, err := v.machine(ctx, "instance state machine", arn)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		machines = append(machines, m)
		if f, err := readDefinition(aws.ToString(m.Definition)); err == nil {
			facts.merge(f)
		}
		if aws.ToString(m.RoleArn) != aws.ToString(machine.RoleArn) {
			r.warn("shared role", "", "the instance state machine runs as %s, the other as %s; both are checked", aws.ToString(m.RoleArn), aws.ToString(machine.RoleArn))
		}
	}
	r.RoleARN = aws.ToString(machine.RoleArn)
	roles := map[string]bool{}
	for _, m := range machines {
		roles[aws.ToString(m.RoleArn)] = true
	}
	for role := range roles {
		if err := v.role(ctx, role, facts); err != nil {
			return err
		}
	}

	bucket := t.Bucket
	if bucket == "" && len(facts.buckets) > 0 {
		bucket = facts.buckets[0]
	}
	for _, b := range facts.buckets {
		if t.Bucket != "" && b != t.Bucket {
			r.fail("evidence bucket", "deploy the stack with EvidenceBucketName set to the bucket you mean, or check --bucket",
				"the definitions write to %s, not to %s", b, t.Bucket)
		}
	}
	r.Bucket = bucket
	if bucket == "" {
		r.fail("evidence bucket", "pass --bucket, or redeploy the stack", "no evidence bucket: the definitions name none and none was given")
	} else if err := v.bucket(ctx, bucket); err != nil {
		return err
	}
	for _, m := range machines {
		if err := v.logging(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// machine checks one state machine: present, active, standard.
func (v *verifier) machine(ctx context.Context, what, arn string) (*sfn.DescribeStateMachineOutput, error) {
	m, err := v.sfn.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		var missing *sfntypes.StateMachineDoesNotExist
		if errors.As(err, &missing) || isCode(err, "StateMachineDoesNotExist") {
			v.r.fail(what, "deploy the stack (cdk deploy) in this account and region, or check --state-machine and --region", "%s does not exist", arn)
			return nil, nil
		}
		return nil, fmt.Errorf("describe %s %s: %w", what, arn, err)
	}
	switch {
	case m.Status != sfntypes.StateMachineStatusActive:
		v.r.fail(what, "redeploy the stack", "%s is %s", arn, m.Status)
	case m.Type != sfntypes.StateMachineTypeStandard:
		v.r.fail(what, "redeploy the stack: containment needs a STANDARD state machine", "%s is %s", arn, m.Type)
	default:
		v.r.ok(what, "%s is active (STANDARD), role %s", arn, aws.ToString(m.RoleArn))
	}
	return m, nil
}

// role checks that the role exists, Step Functions may assume it, and its
// policies allow every action the definitions need.
func (v *verifier) role(ctx context.Context, arn string, facts *definitionFacts) error {
	name := roleName(arn)
	got, err := v.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if isCode(err, "NoSuchEntity") {
			v.r.fail("role", "redeploy the stack: the state machines cannot run without their role", "role %s does not exist", arn)
			return nil
		}
		return fmt.Errorf("read role %s: %w", name, err)
	}
	trust, err := policyDocument(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if err != nil || !trustsStepFunctions(trust) {
		v.r.fail("role trust", "redeploy the stack", "role %s does not let states.amazonaws.com assume it", name)
	} else {
		v.r.ok("role trust", "role %s can be assumed by Step Functions", name)
	}

	statements, policies, err := v.rolePolicies(ctx, name)
	if err != nil {
		return err
	}
	var missing, optional []string
	for a := range facts.actions {
		if allowed(statements, a) {
			continue
		}
		if param, ok := optionalActions[a]; ok {
			optional = append(optional, a+" (needed with "+param+")")
			continue
		}
		missing = append(missing, a)
	}
	sort.Strings(missing)
	sort.Strings(optional)
	switch {
	case len(policies) == 0:
		v.r.fail("role policies", "redeploy the stack (cdk deploy)", "role %s has no policies", name)
	case len(missing) > 0:
		v.r.fail("role policies", "redeploy the stack (cdk deploy) so the role's policies match the definitions",
			"role %s (policies %s) does not allow %d of the %d actions the definitions call: %s",
			name, strings.Join(policies, ", "), len(missing), len(facts.actions), strings.Join(missing, ", "))
	default:
		v.r.ok("role policies", "role %s (policies %s) allows all %d actions the definitions call", name, strings.Join(policies, ", "), len(facts.actions)-len(optional))
	}
	if len(optional) > 0 {
		v.r.warn("optional steps", "", "not allowed, so these optional steps would fail if their parameter is on: %s", strings.Join(optional, ", "))
	}
	return nil
}

// rolePolicies reads every statement of a role's inline and attached
// policies, and the policies' names.
func (v *verifier) rolePolicies(ctx context.Context, name string) ([]statement, []string, error) {
	var statements []statement
	var names []string
	inline := iam.NewListRolePoliciesPaginator(v.iam, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list the policies of role %s: %w", name, err)
		}
		for _, p := range page.PolicyNames {
			doc, err := v.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
			if err != nil {
				return nil, nil, fmt.Errorf("read policy %s of role %s: %w", p, name, err)
			}
			s, err := policyDocument(aws.ToString(doc.PolicyDocument))
			if err != nil {
				return nil, nil, fmt.Errorf("read policy %s of role %s: %w", p, name, err)
			}
			statements, names = append(statements, s...), append(names, p)
		}
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(v.iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list the managed policies of role %s: %w", name, err)
		}
		for _, p := range page.AttachedPolicies {
			pol, err := v.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.PolicyArn})
			if err != nil {
				return nil, nil, fmt.Errorf("read managed policy %s: %w", aws.ToString(p.PolicyArn), err)
			}
			ver, err := v.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
			if err != nil {
				return nil, nil, fmt.Errorf("read managed policy %s: %w", aws.ToString(p.PolicyArn), err)
			}
			s, err := policyDocument(aws.ToString(ver.PolicyVersion.Document))
			if err != nil {
				return nil, nil, fmt.Errorf("read managed policy %s: %w", aws.ToString(p.PolicyArn), err)
			}
			statements, names = append(statements, s...), append(names, aws.ToString(p.PolicyName))
		}
	}
	sort.Strings(names)
	return statements, names, nil
}

// bucket checks versioning, Object Lock and its default retention,
// encryption and the public access block.
func (v *verifier) bucket(ctx context.Context, bucket string) error {
	const fixLock = "the evidence bucket must be created with Object Lock: let the stack create it (EvidenceBucketName empty), or create one with Object Lock and a default retention"
	ver, err := v.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil {
		if isCode(err, "NoSuchBucket") {
			v.r.fail("evidence bucket", "redeploy the stack, or check EvidenceBucketName", "bucket %s does not exist", bucket)
			return nil
		}
		return fmt.Errorf("read the versioning of bucket %s: %w", bucket, err)
	}
	if ver.Status == s3types.BucketVersioningStatusEnabled {
		v.r.ok("bucket versioning", "%s: versioning enabled", bucket)
	} else {
		v.r.fail("bucket versioning", "aws s3api put-bucket-versioning --bucket "+bucket+" --versioning-configuration Status=Enabled",
			"%s: versioning is %q, not Enabled", bucket, ver.Status)
	}

	lock, err := v.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(bucket)})
	switch {
	case err != nil && isCode(err, "ObjectLockConfigurationNotFoundError"):
		v.r.fail("bucket Object Lock", fixLock, "%s: Object Lock is not enabled", bucket)
	case err != nil:
		return fmt.Errorf("read the Object Lock configuration of bucket %s: %w", bucket, err)
	case lock.ObjectLockConfiguration == nil || lock.ObjectLockConfiguration.ObjectLockEnabled != s3types.ObjectLockEnabledEnabled:
		v.r.fail("bucket Object Lock", fixLock, "%s: Object Lock is not enabled", bucket)
	case lock.ObjectLockConfiguration.Rule == nil || lock.ObjectLockConfiguration.Rule.DefaultRetention == nil:
		v.r.fail("bucket Object Lock", "set a default retention: the workflow relies on it to lock each object it writes",
			"%s: Object Lock is enabled but has no default retention, so evidence objects are not locked", bucket)
	default:
		d := lock.ObjectLockConfiguration.Rule.DefaultRetention
		period := fmt.Sprintf("%d days", aws.ToInt32(d.Days))
		if aws.ToInt32(d.Years) > 0 {
			period = fmt.Sprintf("%d years", aws.ToInt32(d.Years))
		}
		v.r.ok("bucket Object Lock", "%s: Object Lock enabled, default retention %s for %s", bucket, d.Mode, period)
	}

	enc, err := v.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	switch {
	case err != nil && isCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
		v.r.fail("bucket encryption", "let the stack create the bucket, or set SSE-KMS default encryption on it", "%s: no default encryption", bucket)
	case err != nil:
		return fmt.Errorf("read the encryption of bucket %s: %w", bucket, err)
	default:
		var algs []string
		kms := false
		for _, rule := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := rule.ApplyServerSideEncryptionByDefault; d != nil {
				algs = append(algs, string(d.SSEAlgorithm)+" "+aws.ToString(d.KMSMasterKeyID))
				kms = kms || strings.HasPrefix(string(d.SSEAlgorithm), "aws:kms")
			}
		}
		if kms {
			v.r.ok("bucket encryption", "%s: %s", bucket, strings.Join(algs, ", "))
		} else {
			v.r.warn("bucket encryption", "use SSE-KMS with the stack's key, as the bucket the stack creates does",
				"%s: default encryption %s, not SSE-KMS", bucket, strings.Join(algs, ", "))
		}
	}

	pab, err := v.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	switch {
	case err != nil && isCode(err, "NoSuchPublicAccessBlockConfiguration"):
		v.r.warn("bucket public access", "aws s3api put-public-access-block --bucket "+bucket+" --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
			"%s: no public access block", bucket)
	case err != nil:
		return fmt.Errorf("read the public access block of bucket %s: %w", bucket, err)
	default:
		c := pab.PublicAccessBlockConfiguration
		if aws.ToBool(c.BlockPublicAcls) && aws.ToBool(c.IgnorePublicAcls) && aws.ToBool(c.BlockPublicPolicy) && aws.ToBool(c.RestrictPublicBuckets) {
			v.r.ok("bucket public access", "%s: all public access blocked", bucket)
		} else {
			v.r.warn("bucket public access", "block all public access on the evidence bucket", "%s: public access is not fully blocked", bucket)
		}
	}
	return nil
}

// logging checks that a state machine logs to a log group that exists.
func (v *verifier) logging(ctx context.Context, m *sfn.DescribeStateMachineOutput) error {
	name := "log group (" + aws.ToString(m.Name) + ")"
	lc := m.LoggingConfiguration
	if lc == nil || lc.Level == sfntypes.LogLevelOff || len(lc.Destinations) == 0 {
		v.r.fail(name, "deploy with LogLevel=ERROR (the default) or ALL: without logs, an execution's history is the only trace of what it did",
			"%s does not log (level %s)", aws.ToString(m.Name), levelOf(lc))
		return nil
	}
	for _, d := range lc.Destinations {
		if d.CloudWatchLogsLogGroup == nil {
			continue
		}
		group := logGroupName(aws.ToString(d.CloudWatchLogsLogGroup.LogGroupArn))
		out, err := v.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		if err != nil {
			return fmt.Errorf("describe log group %s: %w", group, err)
		}
		found := false
		for _, g := range out.LogGroups {
			if aws.ToString(g.LogGroupName) != group {
				continue
			}
			found = true
			retention := "kept forever"
			if g.RetentionInDays != nil {
				retention = fmt.Sprintf("kept %d days", aws.ToInt32(g.RetentionInDays))
			}
			v.r.ok(name, "level %s to %s, %s", lc.Level, group, retention)
		}
		if !found {
			v.r.fail(name, "redeploy the stack: it creates the log group (and keeps it when deleted)", "%s logs to %s, which does not exist", aws.ToString(m.Name), group)
		}
		if !containsString(v.r.LogGroups, group) {
			v.r.LogGroups = append(v.r.LogGroups, group)
		}
	}
	return nil
}

func levelOf(lc *sfntypes.LoggingConfiguration) string {
	if lc == nil || lc.Level == "" {
		return "OFF"
	}
	return string(lc.Level)
}

// isCode reports whether err is an AWS error with the given code.
func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
