package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// IncidentIDTagKey is the tag that carries the incident ID (the execution
// name) on the instance, its snapshots and the isolation group's work.
const IncidentIDTagKey = "SecurityIncidentId"

// tagInstance tags the instance as under investigation and with the incident
// ID, then reads the tag back. The summary keeps the tags it put.
func (b *builder) tagInstance() branch {
	failed := b.stepFailed("Tag Instance")
	tag := b.call(sdkCall{
		name:      "Tag Instance Under Investigation",
		service:   "ec2",
		action:    "createTags",
		resources: []string{arn("ec2", "instance/*")},
		// Only the two investigation tags (SAR, CreateTags: aws:TagKeys).
		conditions: map[string]interface{}{
			"ForAllValues:StringEquals": map[string]interface{}{"aws:TagKeys": []string{b.settings.TagKey, IncidentIDTagKey}},
			"Null":                      map[string]interface{}{"aws:TagKeys": "false"},
		},
		params: map[string]interface{}{
			"Resources.$": "States.Array($.InstanceId)",
			"Tags": []interface{}{
				map[string]interface{}{"Key": b.settings.TagKey, "Value": b.settings.TagValue},
				map[string]interface{}{"Key": IncidentIDTagKey, "Value.$": "$.IncidentId"},
			},
		},
		onFailure: failed,
	})
	read := b.call(sdkCall{
		name:      "Read Investigation Tag",
		service:   "ec2",
		action:    "describeTags",
		resources: []string{"*"},
		params: map[string]interface{}{
			"Filters": []interface{}{
				map[string]interface{}{"Name": "resource-id", "Values.$": "States.Array($.InstanceId)"},
				map[string]interface{}{"Name": "key", "Values": []interface{}{b.settings.TagKey}},
			},
		},
		resultSelector: map[string]interface{}{"Values.$": "$.Tags[*].Value"},
		resultPath:     "$.TagCheck",
		onFailure:      failed,
	})
	check := b.choice("Is The Instance Tagged?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.TagCheck.Values[0]")),
			sfn.Condition_StringEquals(jsii.String("$.TagCheck.Values[0]"), jsii.String(b.settings.TagValue)),
		), b.succeed("Instance Tagged"), nil).
		Otherwise(b.notVerified("Tag Not Verified", "Containment.TagNotVerified",
			"the investigation tag was written but reading it back did not show it"))
	return branch{
		key: "Tag", name: "Tag Instance",
		chain: tag.Next(read).Next(check),
		keep: map[string]interface{}{"Tags": []interface{}{
			map[string]interface{}{"Key": b.settings.TagKey, "Value": b.settings.TagValue},
			map[string]interface{}{"Key": IncidentIDTagKey, "Value.$": "$.IncidentId"},
		}},
		summary: []string{"Tags"},
	}
}
