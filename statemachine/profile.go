package statemachine

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// detachInstanceProfile first denies, on the instance's role, everything to
// the credentials already issued to this instance (see revokeCredentials),
// then removes the IAM instance profile, so new credentials stop being
// issued to it, and reads the associations back: none may remain associated
// or associating. The profile ARN and the deny policy are kept for the
// summary.
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
	revoke := b.revokeCredentials(detach)
	detach.Next(confirm).Next(b.choice("Is The Instance Profile Detached?").
		When(sfn.Condition_And(
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associated[0]")),
			sfn.Condition_IsNotPresent(jsii.String("$.ProfileCheck.Associating[0]")),
		), b.succeed("Instance Profile Detached"), nil).
		Otherwise(b.notVerified("Instance Profile Detach Not Verified", "Containment.InstanceProfileNotDetached",
			"instance profile {} is still associated", "States.JsonToString($.Profile.Arns)")))
	has := b.choice("Does It Have An Instance Profile?").
		When(sfn.Condition_IsPresent(jsii.String("$.Profile.AssociationIds[0]")), revoke, nil).
		Otherwise(b.succeed("No Instance Profile"))
	fields := []string{"DetachedInstanceProfiles", "CredentialDenyPolicy"}
	return branch{
		key: "Profile", name: "Detach Instance Profile",
		chain: find.Next(has),
		keep: map[string]interface{}{
			"DetachedInstanceProfiles": "$.Profile.Arns",
			"CredentialDenyPolicy":     "$..Revocation.Policy",
		},
		summary: fields, output: fields,
	}
}

// OptionalCredentialRevocation keys the IAM access of the credential
// revocation, which the RevokeInstanceCredentials stack parameter can turn off.
const OptionalCredentialRevocation = "RevokeInstanceCredentials"

// DenyPolicyPrefix starts the name of the inline deny policy put on the role
// of a contained instance; the instance ID follows. A release of the
// instance removes it by this name.
const DenyPolicyPrefix = "essential-ir-deny-"

// revokeCredentials puts an inline policy on the role of the instance's
// profile that denies every action to requests signed with credentials
// issued to this instance: the ec2:SourceInstanceARN condition key carries
// the instance the role credentials were issued to, wherever they are used,
// so copies taken from the instance metadata service are cut off too, while
// other instances sharing the role keep working. Detaching the profile
// alone leaves those credentials valid for hours. A read confirms the policy
// is in place. It runs only when the RevokeCredentials option is true.
func (b *builder) revokeCredentials(next sfn.IChainable) sfn.IChainable {
	failed := b.stepFailed("Revoke Instance Credentials")
	profileName := "States.ArrayGetItem(States.StringSplit($.Profile.Arns[0], '/'), States.MathAdd(States.ArrayLength(States.StringSplit($.Profile.Arns[0], '/')), -1))"
	role := b.call(sdkCall{
		name:           "Find Instance Profile Role",
		service:        "iam",
		action:         "getInstanceProfile",
		resources:      []string{iamArn("instance-profile/*")},
		params:         map[string]interface{}{"InstanceProfileName.$": profileName},
		resultSelector: map[string]interface{}{"RoleNames.$": "$.InstanceProfile.Roles[*].RoleName"},
		resultPath:     "$.Role",
		onFailure:      failed,
		optional:       OptionalCredentialRevocation,
	})
	policy := b.pass("Write Deny Policy", map[string]interface{}{
		"Policy": map[string]interface{}{
			"RoleName.$":   "$.Role.RoleNames[0]",
			"PolicyName.$": "States.Format('" + DenyPolicyPrefix + "{}', $.InstanceId)",
		},
		"Document": map[string]interface{}{
			"Version": "2012-10-17",
			"Statement": []interface{}{map[string]interface{}{
				"Sid":      "EssentialIrDenyCompromisedInstanceCredentials",
				"Effect":   "Deny",
				"Action":   "*",
				"Resource": "*",
				"Condition": map[string]interface{}{"StringEquals": map[string]interface{}{
					"ec2:SourceInstanceARN.$": "States.Format('" + arn("ec2", "instance/{}") + "', $.InstanceId)",
				}},
			}},
		},
	}, "$.Revocation")
	put := b.call(sdkCall{
		name:      "Deny Credentials Issued To The Instance",
		service:   "iam",
		action:    "putRolePolicy",
		resources: []string{iamArn("role/*")},
		params: map[string]interface{}{
			"RoleName.$":       "$.Revocation.Policy.RoleName",
			"PolicyName.$":     "$.Revocation.Policy.PolicyName",
			"PolicyDocument.$": "States.JsonToString($.Revocation.Document)",
		},
		onFailure: failed,
		optional:  OptionalCredentialRevocation,
	})
	confirm := b.call(sdkCall{
		name:           "Confirm Deny Policy",
		service:        "iam",
		action:         "getRolePolicy",
		resources:      []string{iamArn("role/*")},
		params:         map[string]interface{}{"RoleName.$": "$.Revocation.Policy.RoleName", "PolicyName.$": "$.Revocation.Policy.PolicyName"},
		resultSelector: map[string]interface{}{"PolicyName.$": "$.PolicyName", "RoleName.$": "$.RoleName"},
		resultPath:     "$.DenyCheck",
		onFailure:      failed,
		optional:       OptionalCredentialRevocation,
	})
	verified := b.choice("Is The Deny Policy In Place?").
		When(sfn.Condition_StringEqualsJsonPath(jsii.String("$.DenyCheck.PolicyName"), jsii.String("$.Revocation.Policy.PolicyName")), next, nil).
		Otherwise(b.notVerified("Deny Policy Not Verified", "Containment.CredentialsNotRevoked",
			"deny policy {} was written to role {} but reading it back failed", "$.Revocation.Policy.PolicyName", "$.Revocation.Policy.RoleName"))
	hasRole := b.choice("Does The Profile Have A Role?").
		When(sfn.Condition_IsPresent(jsii.String("$.Role.RoleNames[0]")), policy.Next(put).Next(confirm).Next(verified), nil).
		Otherwise(next)
	return b.choice("Revoke The Instance's Credentials?").
		When(sfn.Condition_BooleanEquals(jsii.String("$.Options.RevokeCredentials"), jsii.Bool(true)), role.Next(hasRole), nil).
		Otherwise(next)
}

// iamArn formats an IAM ARN (IAM is global: no region).
func iamArn(resource string) string {
	return fmt.Sprintf("arn:%s:iam::%s:%s", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), resource)
}
