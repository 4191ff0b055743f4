package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// OptionalElasticIPRelease keys the IAM access of Elastic IP
// disassociation, which the DisassociateElasticIps stack parameter turns on.
const OptionalElasticIPRelease = "DisassociateElasticIps"

// recordPublicAddresses records the instance's Elastic IPs (its public IPv4
// addresses are in the metadata) and, only when the DisassociateElasticIps
// option is true, disassociates them and reads the addresses back: none
// may remain associated with the instance. By default the addresses stay,
// so what was exposed stays visible to the investigation; the isolation
// group already blocks all traffic to them.
func (b *builder) recordPublicAddresses() branch {
	failed := b.stepFailed("Public Addresses")
	read := func(name, resultPath string) sfn.TaskStateBase {
		return b.call(sdkCall{
			name:      name,
			service:   "ec2",
			action:    "describeAddresses",
			resources: []string{"*"},
			params: map[string]interface{}{"Filters": []interface{}{
				map[string]interface{}{"Name": "instance-id", "Values.$": "States.Array($.InstanceId)"},
			}},
			resultSelector: map[string]interface{}{
				"PublicIps.$":      "$.Addresses[*].PublicIp",
				"AssociationIds.$": "$.Addresses[*].AssociationId",
			},
			resultPath: resultPath,
			onFailure:  failed,
		})
	}
	find := read("Find Elastic IPs", "$.ElasticIps")
	release := sfn.NewMap(b.scope, jsii.String("Disassociate Each Elastic IP"), &sfn.MapProps{
		ItemsPath: jsii.String("$.ElasticIps.AssociationIds"),
		ItemSelector: &map[string]interface{}{
			"InstanceId.$":    "$.InstanceId",
			"AssociationId.$": "$$.Map.Item.Value",
		},
		ResultPath: sfn.JsonPath_DISCARD(),
	})
	release.ItemProcessor(b.call(sdkCall{
		name:      "Disassociate Elastic IP",
		service:   "ec2",
		action:    "disassociateAddress",
		resources: []string{arn("ec2", "elastic-ip/*"), arn("ec2", "network-interface/*"), arn("ec2", "instance/*")},
		params:    map[string]interface{}{"AssociationId.$": "$.AssociationId"},
		// Already disassociated: the read after the Map checks every one.
		alreadyDone: associationGone,
		verify:      b.succeed("Elastic IP Already Disassociated"),
		onFailure:   b.stepFailed("Disassociate Elastic IP"),
		optional:    OptionalElasticIPRelease,
	}), nil)
	release.AddCatch(failed, anyError())
	confirm := read("Confirm Elastic IPs Disassociated", "$.ElasticIpCheck")
	verified := b.choice("Are The Elastic IPs Disassociated?").
		When(sfn.Condition_IsNotPresent(jsii.String("$.ElasticIpCheck.PublicIps[0]")),
			b.pass("Elastic IPs Disassociated", map[string]interface{}{"Disassociated.$": "$.ElasticIps.PublicIps"}, "$.ElasticIpOutcome"), nil).
		Otherwise(b.notVerified("Elastic IP Release Not Verified", "Containment.ElasticIpNotDisassociated",
			"Elastic IPs {} are still associated", "States.JsonToString($.ElasticIpCheck.PublicIps)"))
	fields := []string{"ElasticIps", "DisassociatedElasticIps"}
	chain := find.Next(b.choice("Disassociate Its Elastic IPs?").
		When(sfn.Condition_And(
			sfn.Condition_BooleanEquals(jsii.String("$.Options.DisassociateElasticIps"), jsii.Bool(true)),
			sfn.Condition_IsPresent(jsii.String("$.ElasticIps.AssociationIds[0]")),
		), release.Next(confirm).Next(verified), nil).
		Otherwise(b.pass("Elastic IPs Recorded", map[string]interface{}{"Disassociated": []interface{}{}}, "$.ElasticIpOutcome")))
	return branch{
		key: "ElasticIps", name: "Record Public Addresses",
		chain: chain,
		keep: map[string]interface{}{
			"ElasticIps":              "$.ElasticIps.PublicIps",
			"DisassociatedElasticIps": "$.ElasticIpOutcome.Disassociated",
		},
		summary: fields, output: fields,
	}
}
