package statemachine_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// associatedProfiles returns the ARNs of instance profiles associated (or
// associating) with the instance.
func associatedProfiles(t *testing.T, id string) []string {
	t.Helper()
	out, err := scenes.EC2.DescribeIamInstanceProfileAssociations(context.Background(), &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}},
	})
	if err != nil {
		t.Fatalf("describe profile associations of %s: %v", id, err)
	}
	var arns []string
	for _, a := range out.IamInstanceProfileAssociations {
		if a.State == ec2types.IamInstanceProfileAssociationStateAssociated || a.State == ec2types.IamInstanceProfileAssociationStateAssociating {
			arns = append(arns, aws.ToString(a.IamInstanceProfile.Arn))
		}
	}
	return arns
}

// assertProfileDetached: no profile is associated any more, and the output
// names the one that was.
func assertProfileDetached(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	if arns := associatedProfiles(t, inst.ID); len(arns) != 0 {
		t.Errorf("%s: instance profile still associated: %v", inst.ID, arns)
	}
	var want []string
	if inst.InstanceProfileARN != "" {
		want = []string{inst.InstanceProfileARN}
	}
	if len(sum.DetachedInstanceProfiles) != len(want) || (len(want) == 1 && sum.DetachedInstanceProfiles[0] != want[0]) {
		t.Errorf("%s: output DetachedInstanceProfiles = %v, want %v", inst.ID, sum.DetachedInstanceProfiles, want)
	}
}

// assertProfileUntouched: the profile the scene associated is still there.
func assertProfileUntouched(t *testing.T, inst *scene.Instance) {
	t.Helper()
	if inst.InstanceProfileARN == "" {
		return
	}
	if arns := associatedProfiles(t, inst.ID); len(arns) != 1 || arns[0] != inst.InstanceProfileARN {
		t.Errorf("%s: associated profiles %v, want unchanged [%s]", inst.ID, arns, inst.InstanceProfileARN)
	}
}

// denyPolicies reads the deny policies attached to a role (its managed
// policies under statemachine.DenyPolicyPathPrefix), by ARN, each the
// document of its default version.
func denyPolicies(t *testing.T, role string) map[string]policyDocument {
	t.Helper()
	ctx := context.Background()
	out := map[string]policyDocument{}
	pages := iam.NewListAttachedRolePoliciesPaginator(scenes.IAM, &iam.ListAttachedRolePoliciesInput{
		RoleName: aws.String(role), PathPrefix: aws.String(statemachine.DenyPolicyPathPrefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("list the policies attached to %s: %v", role, err)
		}
		for _, p := range page.AttachedPolicies {
			arn := aws.ToString(p.PolicyArn)
			out[arn] = managedDocument(t, arn)
		}
	}
	return out
}

// managedDocument reads the default version of a managed policy. IAM sends
// the document URL-encoded.
func managedDocument(t *testing.T, arn string) policyDocument {
	t.Helper()
	ctx := context.Background()
	p, err := scenes.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("get policy %s: %v", arn, err)
	}
	v, err := scenes.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		t.Fatalf("get policy version %s: %v", arn, err)
	}
	text, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
	if err != nil {
		t.Fatalf("policy %s: the document is not URL-encoded: %v", arn, err)
	}
	var doc policyDocument
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("policy %s is not JSON: %v\n%s", arn, err, text)
	}
	doc.text = text
	return doc
}

// policyDocument is an IAM policy document.
type policyDocument struct {
	Statement []struct {
		Effect    string
		Action    interface{}
		Resource  interface{}
		Condition map[string]map[string]interface{}
	}
	text string
}

// instanceARN is the ARN of an instance in the emulated account.
func instanceARN(id string) string {
	return "arn:aws:ec2:" + emu.Region() + ":" + emu.AccountID() + ":instance/" + id
}

// patterns are the ec2:SourceInstanceARN patterns of the document's
// Deny-all statements whose only condition is StringLike on that key.
func (d policyDocument) patterns() []string {
	var out []string
	for _, s := range d.Statement {
		if s.Effect != "Deny" || s.Action != "*" || s.Resource != "*" || len(s.Condition) != 1 {
			continue
		}
		values, ok := s.Condition["StringLike"]
		if !ok || len(values) != 1 {
			continue
		}
		switch v := values["ec2:SourceInstanceARN"].(type) {
		case string:
			out = append(out, v)
		case []interface{}:
			for _, p := range v {
				if ps, ok := p.(string); ok {
					out = append(out, ps)
				}
			}
		}
	}
	return out
}

// deniesInstance evaluates the policy's conditions for a request signed
// with credentials issued to the instance (ec2:SourceInstanceARN is its
// ARN): true when a Deny-all statement matches it.
func (d policyDocument) deniesInstance(id string) bool {
	for _, p := range d.patterns() {
		if stringLike(p, instanceARN(id)) {
			return true
		}
	}
	return false
}

// stringLike is IAM's StringLike: * matches any run of characters, ? any
// one, case-sensitively.
func stringLike(pattern, s string) bool {
	rx := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(rx).MatchString(s)
}

// roleOf is the role of the instance's profile ("" without one).
func roleOf(t *testing.T, inst *scene.Instance) string {
	t.Helper()
	if inst.RoleName != "" || inst.InstanceProfileARN == "" {
		return inst.RoleName
	}
	name := inst.InstanceProfileARN[strings.LastIndex(inst.InstanceProfileARN, "/")+1:]
	out, err := scenes.IAM.GetInstanceProfile(context.Background(), &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil || len(out.InstanceProfile.Roles) != 1 {
		t.Fatalf("the role of %s: %v", inst.InstanceProfileARN, err)
	}
	return aws.ToString(out.InstanceProfile.Roles[0].RoleName)
}

// assertCredentialsDenied: one of the deny policies of the instance's
// execution (out) is attached to the instance's role and denies the
// credentials issued to it; the summary names the role, the output the
// policies and the role.
func assertCredentialsDenied(t *testing.T, inst *scene.Instance, sum InstanceSummary, out Output) {
	t.Helper()
	rev := out.CredentialRevocation
	if inst.InstanceProfileARN == "" || rev.Outcome == statemachine.RevocationOff {
		if len(sum.InstanceProfileRoles) != 0 {
			t.Errorf("%s: summary names roles %v, but it had no profile or revocation is off", inst.ID, sum.InstanceProfileRoles)
		}
		return
	}
	role := roleOf(t, inst)
	if len(sum.InstanceProfileRoles) != 1 || sum.InstanceProfileRoles[0] != role {
		t.Errorf("%s: summary InstanceProfileRoles = %v, want [%s]", inst.ID, sum.InstanceProfileRoles, role)
	}
	if rev.Outcome != statemachine.RevocationRevoked {
		t.Fatalf("%s: credential revocation %s (%s: %s), want %s", inst.ID, rev.Outcome, rev.Error, rev.Cause, statemachine.RevocationRevoked)
	}
	attached := denyPolicies(t, role)
	denied := false
	for _, arn := range rev.Policies {
		if doc, ok := attached[arn]; ok && doc.deniesInstance(inst.ID) {
			denied = true
		}
	}
	if !denied {
		t.Errorf("%s: none of the execution's deny policies %v attached to role %s denies its credentials (attached: %v)", inst.ID, rev.Policies, role, keysOf(attached))
	}
	if !contains(rev.Roles, role) {
		t.Errorf("%s: output CredentialRevocation.Roles = %v, want it to name %s", inst.ID, rev.Roles, role)
	}
}

// keysOf lists a map's keys.
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Two instances share one role; containing the first denies the
// credentials issued to the first only: no pattern of the execution's
// policy would match a request signed with the second's credentials, and
// the second keeps its profile.
func TestCredentialDenyIsScopedToTheInstance(t *testing.T) {
	t.Parallel()
	first := build(t, scene.InstanceSpec{Name: "shared-a", InstanceProfile: true})
	second := build(t, scene.InstanceSpec{Name: "shared-b", VPC: &scene.VPC{ID: first.VPCID, SubnetIDs: []string{first.SubnetID}}, SharedInstanceProfileARN: first.InstanceProfileARN})
	ex := run(t, input(emu.Region(), first.ID))
	out := mustSucceed(t, ex)
	sum := out.summary(t, first.ID)
	assertCredentialsDenied(t, first, sum, out)
	if rev := out.CredentialRevocation; rev.InstancesCovered != 1 || len(rev.Roles) != 1 || rev.RoleCount != 1 || len(rev.Policies) != 1 {
		t.Errorf("output CredentialRevocation %+v, want 1 instance covered by 1 policy on 1 role", rev)
	}
	for arn, doc := range denyPolicies(t, first.RoleName) {
		if doc.deniesInstance(second.ID) {
			t.Errorf("deny policy %s would also deny %s, which shares the role", arn, second.ID)
		}
		if got := doc.patterns(); contains(out.CredentialRevocation.Policies, arn) && (len(got) != 1 || got[0] != "*/"+first.ID) {
			t.Errorf("deny policy %s lists %v, want only */%s", arn, got, first.ID)
		}
	}
	if arns := associatedProfiles(t, second.ID); len(arns) != 1 {
		t.Errorf("%s: profile associations %v; the instance sharing the role must keep its profile", second.ID, arns)
	}
}

// With RevokeInstanceCredentials=false no revocation runs and no policy is
// attached to the role; the profile is still detached.
func TestCredentialRevocationCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "norevoke", InstanceProfile: true})
	ex := runOn(t, machineWith(t, map[string]string{"RevokeInstanceCredentials": "false"}), input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	sum := out.summary(t, inst.ID)
	if got := denyPolicies(t, inst.RoleName); len(got) != 0 {
		t.Errorf("%s: deny policies %v attached although RevokeInstanceCredentials=false", inst.ID, keysOf(got))
	}
	if out.CredentialRevocation.Outcome != statemachine.RevocationOff || out.RevocationExecution != nil {
		t.Errorf("output CredentialRevocation %+v (execution %v), want %s and no revocation execution", out.CredentialRevocation, out.RevocationExecution, statemachine.RevocationOff)
	}
	if len(sum.InstanceProfileRoles) != 0 {
		t.Errorf("%s: summary names roles %v although revocation is off", inst.ID, sum.InstanceProfileRoles)
	}
	assertProfileDetached(t, inst, sum)
}
