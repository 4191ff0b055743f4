package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// detachInstanceProfile removes the IAM instance profile from the instance,
// so new credentials for its role stop being issued to it, then reads the
// associations back: none may remain associated or associating. The profile
// ARN and association ID are kept for the summary.
func (b *builder) detachInstanceProfile() sfn.IChainable {
	failed := b.stepFailed("Detach Instance Profile")
	read := func(name, resultPath string, selector map[string]interface{}) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:      name,
			service:   "ec2",
			action:    "describeIamInstanceProfileAssociations",
			iamAction: "ec2:DescribeIamInstanceProfileAssociations",
			resources: []string{"*"},
			params: map[string]interface{}{"Filters": []interface{}{
				map[string]interface{}{"Name": "instance-id", "Values.$": "States.Array($.InstanceId)"},
			}},
			resultSelector: selector,
			resultPath:     resultPath,
			onFailure:      failed,
		})
	}
	find := read("Find Instance Profile", "$.Profile", map[string]interface{}{
		"AssociationIds.$": "$.IamInstanceProfileAssociations[?(@.State == 'associated')].AssociationId",
		"Arns.$":           "$.IamInstanceProfileAssociations[?(@.State == 'associated')].IamInstanceProfile.Arn",
	})
	detach := b.call(sdkCall{
		name:      "Detach Instance Profile",
		service:   "ec2",
		action:    "disassociateIamInstanceProfile",
		iamAction: "ec2:DisassociateIamInstanceProfile",
		resources: []string{arn("ec2", "instance/*")},
		params:    map[string]interface{}{"AssociationId.$": "$.Profile.AssociationIds[0]"},
		onFailure: failed,
	})
	confirm := read("Confirm Instance Profile Detached", "$.ProfileCheck", map[string]interface{}{
		"Associated.$":  "$.IamInstanceProfileAssociations[?(@.State == 'associated')].AssociationId",
		"Associating.$": "$.IamInstanceProfileAssociations[?(@.State == 'associating')].AssociationId",
	})
	check := b.choice("Is The Instance Profile Detached?").
		When(sfn.Condition_And(
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associated[0]")),
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associating[0]")),
		), b.succeed("Instance Profile Detached"), nil).
		Otherwise(b.notVerified("Instance Profile Detach Not Verified", "Containment.InstanceProfileNotDetached",
			"instance profile {} is still associated", "States.JsonToString($.Profile.Arns)"))
	has := b.choice("Does It Have An Instance Profile?").
		When(sfn.Condition_IsPresent(jsii.String("$.Profile.AssociationIds[0]")), detach.Next(confirm).Next(check), nil).
		Otherwise(b.succeed("No Instance Profile"))
	return find.Next(has)
}
