package statemachine_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

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

// denyPolicy reads the deny policy the workflow put on a role for an
// instance; ok is false when there is none.
func denyPolicy(t *testing.T, role, instance string) (doc policyDocument, ok bool) {
	t.Helper()
	out, err := scenes.IAM.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{
		RoleName: aws.String(role), PolicyName: aws.String(statemachine.DenyPolicyPrefix + instance),
	})
	var missing *iamtypes.NoSuchEntityException
	if errors.As(err, &missing) {
		return doc, false
	}
	if err != nil {
		t.Fatalf("get deny policy of %s on %s: %v", instance, role, err)
	}
	text, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		text = aws.ToString(out.PolicyDocument)
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatalf("deny policy of %s is not JSON: %v\n%s", instance, err, text)
	}
	return doc, true
}

// policyDocument is an IAM policy document.
type policyDocument struct {
	Statement []struct {
		Effect    string
		Action    interface{}
		Resource  interface{}
		Condition map[string]map[string]interface{}
	}
}

// instanceARN is the ARN of an instance in the emulated account.
func instanceARN(id string) string {
	return "arn:aws:ec2:" + emu.Region() + ":" + emu.AccountID() + ":instance/" + id
}

// deniesInstance evaluates the policy's conditions for a request signed
// with credentials issued to the instance: true when a Deny-all statement
// matches it.
func (d policyDocument) deniesInstance(id string) bool {
	for _, s := range d.Statement {
		if s.Effect != "Deny" || s.Action != "*" || s.Resource != "*" || len(s.Condition) != 1 {
			continue
		}
		values, ok := s.Condition["StringEquals"]
		if ok && len(values) == 1 && values["ec2:SourceInstanceARN"] == instanceARN(id) {
			return true
		}
	}
	return false
}

// assertCredentialsDenied: the instance's role carries the deny policy for
// this instance's credentials (and only them), and the output names it.
func assertCredentialsDenied(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	if inst.RoleName == "" {
		if len(sum.CredentialDenyPolicy) != 0 {
			t.Errorf("%s: output reports deny policies %v but it had no role", inst.ID, sum.CredentialDenyPolicy)
		}
		return
	}
	doc, ok := denyPolicy(t, inst.RoleName, inst.ID)
	if !ok || !doc.deniesInstance(inst.ID) {
		t.Errorf("%s: role %s has no deny-all policy for this instance's credentials (found %v: %+v)", inst.ID, inst.RoleName, ok, doc)
	}
	want := statemachine.DenyPolicyPrefix + inst.ID
	if len(sum.CredentialDenyPolicy) != 1 || sum.CredentialDenyPolicy[0].PolicyName != want || sum.CredentialDenyPolicy[0].RoleName != inst.RoleName {
		t.Errorf("%s: output CredentialDenyPolicy = %+v, want [{%s %s}]", inst.ID, sum.CredentialDenyPolicy, inst.RoleName, want)
	}
}

// Two instances share one role; containing the first denies the
// credentials issued to the first only: the policy's condition would not
// match a request signed with the second's credentials, and the second
// keeps its profile.
func TestCredentialDenyIsScopedToTheInstance(t *testing.T) {
	t.Parallel()
	first := build(t, scene.InstanceSpec{Name: "shared-a", InstanceProfile: true})
	second := build(t, scene.InstanceSpec{Name: "shared-b", VPC: &scene.VPC{ID: first.VPCID, SubnetIDs: []string{first.SubnetID}}, SharedInstanceProfileARN: first.InstanceProfileARN})
	ex := run(t, input(emu.Region(), first.ID))
	sum := mustSucceed(t, ex).summary(t, first.ID)
	assertCredentialsDenied(t, first, sum)
	doc, _ := denyPolicy(t, first.RoleName, first.ID)
	if doc.deniesInstance(second.ID) {
		t.Errorf("the deny policy for %s would also deny %s, which shares the role", first.ID, second.ID)
	}
	if _, ok := denyPolicy(t, first.RoleName, second.ID); ok {
		t.Errorf("a deny policy for the uncontained %s exists", second.ID)
	}
	if arns := associatedProfiles(t, second.ID); len(arns) != 1 {
		t.Errorf("%s: profile associations %v; the instance sharing the role must keep its profile", second.ID, arns)
	}
}

// With RevokeInstanceCredentials=false the role is left alone, and the
// profile is still detached.
func TestCredentialRevocationCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "norevoke", InstanceProfile: true})
	ex := runOn(t, machineWith(t, map[string]string{"RevokeInstanceCredentials": "false"}), input(emu.Region(), inst.ID))
	sum := mustSucceed(t, ex).summary(t, inst.ID)
	if _, ok := denyPolicy(t, inst.RoleName, inst.ID); ok {
		t.Errorf("%s: deny policy written although RevokeInstanceCredentials=false", inst.ID)
	}
	if len(sum.CredentialDenyPolicy) != 0 {
		t.Errorf("%s: output reports deny policies %v", inst.ID, sum.CredentialDenyPolicy)
	}
	assertProfileDetached(t, inst, sum)
}
