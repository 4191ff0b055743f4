package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
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
