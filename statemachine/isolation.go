package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

const (
	// IsolationGroupName is the name of the isolation security group, one per
	// VPC, found by name or created.
	IsolationGroupName = "essential-ir-isolation"
	// IsolationGroupDescription warns whoever finds the group in the console.
	IsolationGroupDescription = "essential-ir isolation: no inbound or outbound rules. Do not add rules."
	// PurposeTagKey marks resources the workflow created, so its IAM policy can
	// be limited to them.
	PurposeTagKey = "essential-ir:purpose"
	// IsolationPurpose is the PurposeTagKey value of isolation groups.
	IsolationPurpose = "isolation"
)

// isolationGroupFilters finds the isolation group of the VPC at vpcPath.
func isolationGroupFilters(vpcPath string) []interface{} {
	return []interface{}{
		map[string]interface{}{"Name": "vpc-id", "Values.$": "States.Array(" + vpcPath + ")"},
		map[string]interface{}{"Name": "group-name", "Values": []interface{}{IsolationGroupName}},
	}
}

// isolationGroupSelector keeps what the workflow checks of the group.
var isolationGroupSelector = map[string]interface{}{
	"GroupIds.$": "$.SecurityGroups[*].GroupId",
	"Ingress.$":  "$.SecurityGroups[*].IpPermissions[*]",
	"Egress.$":   "$.SecurityGroups[*].IpPermissionsEgress[*]",
}

// prepareIsolationGroup runs once per VPC before any instance is contained,
// so iterations in one VPC never race to create the group. It finds the
// VPC's isolation group or creates it, and removes every rule from it,
// including the allow-all egress rule every new group starts with. It ends
// only when a read shows the group with zero rules. Input: {"VpcId": ...}.
func (b *builder) prepareIsolationGroup() sfn.IChainable {
	failed := sfn.NewFail(b.scope, jsii.String("Isolation Group Preparation Failed"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('Preparing the isolation security group of VPC {} failed, before any instance was changed: {}', $.VpcId, $.Failure.Cause)"),
	})
	read := func(name string) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:           name,
			service:        "ec2",
			action:         "describeSecurityGroups",
			iamAction:      "ec2:DescribeSecurityGroups",
			resources:      []string{"*"},
			params:         map[string]interface{}{"Filters": isolationGroupFilters("$.VpcId")},
			resultSelector: isolationGroupSelector,
			resultPath:     "$.Group",
			onFailure:      failed,
		})
	}
	find := read("Find Isolation Group")
	recheck := read("Recheck Isolation Group")
	ready := b.pass("Isolation Group Ready", map[string]interface{}{
		"VpcId.$":   "$.VpcId",
		"GroupId.$": "$.Group.GroupIds[0]",
	}, "")
	// A conflict (another execution created the group or removed a rule first)
	// is fine if the group is now there with no rules.
	conflict := []catchTo{{errors: []string{"Ec2.Ec2Exception"}, next: recheck, resultPath: "$.Failure"}}
	create := b.call(sdkCall{
		name:      "Create Isolation Group",
		service:   "ec2",
		action:    "createSecurityGroup",
		iamAction: "ec2:CreateSecurityGroup",
		resources: []string{arn("ec2", "security-group/*"), arn("ec2", "vpc/*")},
		params: map[string]interface{}{
			"GroupName":   IsolationGroupName,
			"Description": IsolationGroupDescription,
			"VpcId.$":     "$.VpcId",
			"TagSpecifications": []interface{}{map[string]interface{}{
				"ResourceType": "security-group",
				"Tags": []interface{}{
					map[string]interface{}{"Key": "Name", "Value": IsolationGroupName},
					map[string]interface{}{"Key": PurposeTagKey, "Value": IsolationPurpose},
				},
			}},
		},
		catches:   conflict,
		onFailure: failed,
	})
	// EC2 authorizes tags given at creation as ec2:CreateTags on the new
	// group; without this the create fails with UnauthorizedOperation.
	b.access = append(b.access, Access{
		Action:    "ec2:CreateTags",
		Resources: []string{arn("ec2", "security-group/*")},
		Conditions: map[string]interface{}{
			"StringEquals": map[string]interface{}{"ec2:CreateAction": "CreateSecurityGroup"},
		},
	})
	isolationOnly := map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:ResourceTag/" + PurposeTagKey: IsolationPurpose},
	}
	revokeEgress := b.call(sdkCall{
		name:       "Remove Isolation Group Egress Rules",
		service:    "ec2",
		action:     "revokeSecurityGroupEgress",
		iamAction:  "ec2:RevokeSecurityGroupEgress",
		resources:  []string{arn("ec2", "security-group/*")},
		conditions: isolationOnly,
		params:     map[string]interface{}{"GroupId.$": "$.Group.GroupIds[0]", "IpPermissions.$": "$.Group.Egress"},
		catches:    conflict,
		onFailure:  failed,
	})
	revokeIngress := b.call(sdkCall{
		name:       "Remove Isolation Group Ingress Rules",
		service:    "ec2",
		action:     "revokeSecurityGroupIngress",
		iamAction:  "ec2:RevokeSecurityGroupIngress",
		resources:  []string{arn("ec2", "security-group/*")},
		conditions: isolationOnly,
		params:     map[string]interface{}{"GroupId.$": "$.Group.GroupIds[0]", "IpPermissions.$": "$.Group.Ingress"},
		catches:    conflict,
		onFailure:  failed,
	})
	empty := sfn.Condition_And(
		sfn.Condition_IsPresent(jsii.String("$.Group.GroupIds[0]")),
		sfn.Condition_IsNotPresent(jsii.String("$.Group.Egress[0]")),
		sfn.Condition_IsNotPresent(jsii.String("$.Group.Ingress[0]")),
	)
	state := b.choice("Is The Isolation Group Empty?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.Group.GroupIds[0]")), create, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.Group.Egress[0]")), revokeEgress, nil).
		When(sfn.Condition_IsPresent(jsii.String("$.Group.Ingress[0]")), revokeIngress, nil).
		Otherwise(ready)
	create.Next(find)
	revokeEgress.Next(find)
	revokeIngress.Next(find)
	recheck.Next(b.choice("Is The Isolation Group Usable After A Conflict?").
		When(empty, ready, nil).
		Otherwise(failed))
	return find.Next(state)
}

// isolateNetwork moves every ENI of the instance to the isolation group of
// its VPC, replacing all of its security groups, then reads the ENIs back:
// every ENI attached to the instance must carry exactly one group, the
// isolation group. Each ENI's previous groups are kept for the summary.
func (b *builder) isolateNetwork() sfn.IChainable {
	failed := b.stepFailed("Isolate Network")
	find := b.call(sdkCall{
		name:           "Find VPC Isolation Group",
		service:        "ec2",
		action:         "describeSecurityGroups",
		iamAction:      "ec2:DescribeSecurityGroups",
		resources:      []string{"*"},
		params:         map[string]interface{}{"Filters": isolationGroupFilters("$.Instance.VpcId")},
		resultSelector: isolationGroupSelector,
		resultPath:     "$.IsolationGroup",
		onFailure:      failed,
	})
	swap := sfn.NewMap(b.scope, jsii.String("Move Every ENI To The Isolation Group"), &sfn.MapProps{
		ItemsPath: jsii.String("$.Instance.NetworkInterfaces"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":         "$.InstanceId",
			"NetworkInterfaceId.$": "$$.Map.Item.Value.NetworkInterfaceId",
			"PreviousGroups.$":     "$$.Map.Item.Value.Groups[*].GroupId",
			"IsolationGroupId.$":   "$.IsolationGroup.GroupIds[0]",
		},
		ResultPath: jsii.String("$.Interfaces"),
	})
	moveFailed := b.stepFailed("Isolate ENI")
	swap.ItemProcessor(b.call(sdkCall{
		name:      "Isolate ENI",
		service:   "ec2",
		action:    "modifyNetworkInterfaceAttribute",
		iamAction: "ec2:ModifyNetworkInterfaceAttribute",
		resources: []string{arn("ec2", "network-interface/*"), arn("ec2", "security-group/*")},
		params: map[string]interface{}{
			"NetworkInterfaceId.$": "$.NetworkInterfaceId",
			"Groups.$":             "States.Array($.IsolationGroupId)",
		},
		onFailure: moveFailed,
	}), nil)
	swap.AddCatch(failed, &sfn.CatchProps{Errors: &[]*string{sfn.Errors_ALL()}, ResultPath: jsii.String("$.Failure")})
	confirm := b.call(sdkCall{
		name:      "Confirm Network Isolation",
		service:   "ec2",
		action:    "describeNetworkInterfaces",
		iamAction: "ec2:DescribeNetworkInterfaces",
		resources: []string{"*"},
		params: map[string]interface{}{"Filters": []interface{}{
			map[string]interface{}{"Name": "attachment.instance-id", "Values.$": "States.Array($.InstanceId)"},
		}},
		resultSelector: map[string]interface{}{
			"Interfaces.$":         "States.ArrayLength($.NetworkInterfaces)",
			"GroupAttachments.$":   "States.ArrayLength($.NetworkInterfaces[*].Groups[*])",
			"DistinctGroups.$":     "States.ArrayUnique($.NetworkInterfaces[*].Groups[*].GroupId)",
			"DistinctGroupCount.$": "States.ArrayLength(States.ArrayUnique($.NetworkInterfaces[*].Groups[*].GroupId))",
		},
		resultPath: "$.NetworkCheck",
		onFailure:  failed,
	})
	isolated := sfn.Condition_And(
		sfn.Condition_NumberEqualsJsonPath(jsii.String("$.NetworkCheck.GroupAttachments"), jsii.String("$.NetworkCheck.Interfaces")),
		sfn.Condition_NumberEquals(jsii.String("$.NetworkCheck.DistinctGroupCount"), jsii.Number(1)),
		sfn.Condition_StringEqualsJsonPath(jsii.String("$.NetworkCheck.DistinctGroups[0]"), jsii.String("$.IsolationGroup.GroupIds[0]")),
	)
	check := b.choice("Is Every ENI Isolated?").
		When(isolated, b.succeed("Network Isolated"), nil).
		Otherwise(b.notVerified("Network Isolation Not Verified", "Containment.IsolationNotVerified",
			"after the swap the ENIs carry security groups {}, expected only the isolation group {}",
			"States.JsonToString($.NetworkCheck.DistinctGroups)", "$.IsolationGroup.GroupIds[0]"))
	ready := b.choice("Is The VPC Isolation Group Ready?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.IsolationGroup.GroupIds[0]")),
			sfn.Condition_IsNotPresent(jsii.String("$.IsolationGroup.Egress[0]")),
			sfn.Condition_IsNotPresent(jsii.String("$.IsolationGroup.Ingress[0]")),
		), swap.Next(confirm).Next(check), nil).
		Otherwise(b.notVerified("Isolation Group Not Ready", "Containment.IsolationGroupNotReady",
			"the isolation group {} of VPC {} is missing or has rules", "States.JsonToString($.IsolationGroup.GroupIds)", "$.Instance.VpcId"))
	return find.Next(ready)
}
