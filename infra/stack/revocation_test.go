package stack_test

import (
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/statemachine"
)

// Credential revocation's least privilege (issue 18, item 2), read from the
// synthesized template: no policy of the role allows iam:PutRolePolicy or
// any IAM write on a resource other than the deny policies; CreatePolicy
// and GetPolicyVersion reach only policies under /essential-ir/;
// AttachRolePolicy keeps its ArnLike iam:PolicyARN condition naming that
// path; and an explicit Deny forbids every write to the stack's own role's
// permissions.
func TestRevocationIsLeastPrivilege(t *testing.T) {
	var statements []statement
	for _, name := range append([]string{"ContainmentPolicy", "LoggingAndTracingPolicy"}, optionalPolicies...) {
		statements = append(statements, policyStatements(t, name)...)
	}
	denyPolicies := "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy" + statemachine.DenyPolicyPathPrefix + "*"
	iamWrites := 0
	for _, s := range statements {
		for _, a := range s.Actions {
			service, action, _ := strings.Cut(a, ":")
			if !strings.EqualFold(service, "iam") || strings.HasPrefix(action, "Get") || strings.HasPrefix(action, "List") {
				continue
			}
			if strings.Contains(action, "*") {
				t.Errorf("%s is allowed: an IAM wildcard", a)
			}
			switch action {
			case "CreatePolicy":
				iamWrites++
				if len(s.Resources) != 1 || s.Resources[0] != denyPolicies {
					t.Errorf("iam:CreatePolicy is allowed on %v, want only %s", s.Resources, denyPolicies)
				}
			case "AttachRolePolicy":
				iamWrites++
				if got, err := render(dig(s.Condition, "ArnLike", "iam:PolicyARN")); err != nil || got != denyPolicies {
					t.Errorf("iam:AttachRolePolicy is allowed on %v with condition %s; want ArnLike iam:PolicyARN %s", s.Resources, show(s.Condition), denyPolicies)
				}
				if len(s.Condition) != 1 {
					t.Errorf("iam:AttachRolePolicy's statement has conditions %s; want only the iam:PolicyARN one", show(s.Condition))
				}
			default:
				t.Errorf("%s is allowed on %v: the workflow writes no IAM policy but its deny policies (no iam:PutRolePolicy)", a, s.Resources)
			}
		}
	}
	if iamWrites != 2 {
		t.Errorf("found %d statements allowing iam:CreatePolicy or iam:AttachRolePolicy, want one each", iamWrites)
	}

	roleID, _ := resource(t, "AWS::IAM::Role", stack.RoleID)
	guard := policyStatements(t, stack.SelfProtectionPolicyID)
	denied := map[string]bool{}
	for _, s := range guard {
		if s.Effect != "Deny" || s.Condition != nil {
			t.Errorf("%s holds a %s statement for %v with conditions %s; it must only deny, unconditionally", stack.SelfProtectionPolicyID, s.Effect, s.Actions, show(s.Condition))
			continue
		}
		for _, a := range s.Actions {
			for _, r := range s.Resources {
				denied[a+" "+r] = true
			}
		}
	}
	own := "${" + roleID + ".Arn}"
	for _, a := range []string{"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
		"iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary"} {
		if !denied[a+" "+own] {
			t.Errorf("the role is not denied %s on itself (%s)", a, own)
		}
	}
	for _, a := range []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"} {
		if !denied[a+" *"] {
			t.Errorf("the role is not denied %s", a)
		}
	}
}

// With RevokeInstanceCredentials=false the definition still starts no
// revocation (its Choice compares the parameter), and the IAM permissions go
// with the policy that holds them: every IAM action of the role is in the
// conditioned policy.
func TestRevocationPermissionsFollowTheParameter(t *testing.T) {
	for _, name := range []string{"ContainmentPolicy", "LoggingAndTracingPolicy", "DisassociateElasticIpsPolicy"} {
		for _, s := range policyStatements(t, name) {
			for _, a := range s.Actions {
				if strings.HasPrefix(strings.ToLower(a), "iam:") {
					t.Errorf("%s allows %s, which must exist only with %s=true", name, a, stack.ParamRevoke)
				}
			}
		}
	}
	for _, value := range []string{"true", "false"} {
		states, _ := definition(t, map[string]string{stack.ParamRevoke: value})["States"].(map[string]interface{})
		found := false
		forEachState(states, func(name string, s map[string]interface{}) {
			if name == "Gather The Instances' Profiles" {
				found = true
				if got := dig(s, "Parameters", "Revoke"); got != value {
					t.Errorf("with %s=%s the revocation's option is %s", stack.ParamRevoke, value, show(got))
				}
			}
		})
		if !found {
			t.Fatal("no state Gather The Instances' Profiles in the definition")
		}
	}
}
