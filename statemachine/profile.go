package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// detachInstanceProfile removes the IAM instance profile, so new role
// credentials stop being issued to the instance, and reads the
// associations back: none may remain associated or associating. The
// credentials already issued are denied by the fleet's revocation
// (revocation.go), beside this step. Once the profile is detached, its role
// is read for the summary (only when credentials are revoked: the read
// needs iam:GetInstanceProfile), best effort. The profile ARN and its role
// are kept for the summary.
func (b *builder) detachInstanceProfile() branch {
	failed := b.stepFailed("Detach Instance Profile")
	read := func(name, resultPath string, selector map[string]interface{}) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:      name,
			service:   "ec2",
			action:    "describeIamInstanceProfileAssociations",
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
	confirm := read("Confirm Instance Profile Detached", "$.ProfileCheck", map[string]interface{}{
		"Associated.$":  "$.IamInstanceProfileAssociations[?(@.State == 'associated')].AssociationId",
		"Associating.$": "$.IamInstanceProfileAssociations[?(@.State == 'associating')].AssociationId",
	})
	detach := b.call(sdkCall{
		name:        "Disassociate Instance Profile",
		service:     "ec2",
		action:      "disassociateIamInstanceProfile",
		resources:   []string{arn("ec2", "instance/*")},
		params:      map[string]interface{}{"AssociationId.$": "$.Profile.AssociationIds[0]"},
		alreadyDone: associationGone,
		verify:      confirm,
		onFailure:   failed,
	})
	detach.Next(confirm).Next(b.choice("Is The Instance Profile Detached?").
		When(sfn.Condition_And(
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associated[0]")),
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associating[0]")),
		), b.recordProfileRole(b.succeed("Instance Profile Detached")), nil).
		Otherwise(b.notVerified("Instance Profile Detach Not Verified", "Containment.InstanceProfileNotDetached",
			"instance profile {} is still associated", "States.JsonToString($.Profile.Arns)")))
	has := b.choice("Does It Have An Instance Profile?").
		When(sfn.Condition_IsPresent(jsii.String("$.Profile.AssociationIds[0]")), detach, nil).
		Otherwise(b.succeed("No Instance Profile"))
	fields := []string{"DetachedInstanceProfiles", "InstanceProfileRoles"}
	return branch{
		key: "Profile", name: "Detach Instance Profile",
		chain: find.Next(has),
		keep: map[string]interface{}{
			"DetachedInstanceProfiles": "$.Profile.Arns",
			// Absent when not read: the recursive path gives [].
			"InstanceProfileRoles": "$..ProfileRole.RoleNames[*]",
		},
		summary: fields, output: fields,
	}
}

// OptionalCredentialRevocation keys the IAM access of the credential
// revocation, which the RevokeInstanceCredentials stack parameter can turn off.
const OptionalCredentialRevocation = "RevokeInstanceCredentials"

// recordProfileRole reads the role of the instance profile just detached,
// for the summary: the role whose policies deny the instance's
// credentials. Only when the RevokeCredentials option is "true"; a failed
// read is recorded in place of the role and the step still succeeds.
func (b *builder) recordProfileRole(next sfn.IChainable) sfn.IChainable {
	profileName := "States.ArrayGetItem(States.StringSplit($.Profile.Arns[0], '/'), States.MathAdd(States.ArrayLength(States.StringSplit($.Profile.Arns[0], '/')), -1))"
	notRead := b.pass("Its Role Not Read", map[string]interface{}{
		"RoleNames": []interface{}{},
		"Error.$":   "$.Failure.Error",
		"Cause.$":   "$.Failure.Cause",
	}, "$.ProfileRole")
	notRead.Next(next)
	role := b.call(sdkCall{
		name:           "Find Instance Profile Role",
		service:        "iam",
		action:         "getInstanceProfile",
		resources:      []string{iamArn("instance-profile/*")},
		params:         map[string]interface{}{"InstanceProfileName.$": profileName},
		resultSelector: map[string]interface{}{"RoleNames.$": "$.InstanceProfile.Roles[*].RoleName"},
		resultPath:     "$.ProfileRole",
		onFailure:      notRead,
		optional:       OptionalCredentialRevocation,
		bestEffort:     "the profile is already detached and the fleet's revocation finds the role itself; this read only names it in the summary.",
		retries:        2,
	})
	role.Next(next)
	return b.choice("Name Its Role In The Summary?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Options.RevokeCredentials"), jsii.Bool(true)), role, nil).
		Otherwise(next)
}

// iamArn formats an IAM ARN (IAM is global: no region).
func iamArn(resource string) string {
	return fmt.Sprintf("arn:%s:iam::%s:%s", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), resource)
}
