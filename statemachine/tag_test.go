package statemachine_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// instanceTags reads the instance's tags from the account.
func instanceTags(t *testing.T, id string) map[string]string {
	t.Helper()
	out, err := scenes.EC2.DescribeTags(context.Background(), &ec2.DescribeTagsInput{
		Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}},
	})
	if err != nil {
		t.Fatalf("describe tags of %s: %v", id, err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

// assertTagged: the instance carries the investigation tag and the incident
// ID, and keeps its own tags.
func assertTagged(t *testing.T, inst *scene.Instance, incident string) {
	t.Helper()
	tags := instanceTags(t, inst.ID)
	if got := tags["SecurityIncidentStatus"]; got != "Investigation" {
		t.Errorf("%s: tag SecurityIncidentStatus = %q, want Investigation", inst.ID, got)
	}
	if got := tags["SecurityIncidentId"]; got != incident {
		t.Errorf("%s: tag SecurityIncidentId = %q, want the incident ID %q", inst.ID, got, incident)
	}
	if got := tags["Name"]; got != inst.Name {
		t.Errorf("%s: its Name tag changed to %q, want %q", inst.ID, got, inst.Name)
	}
}

// assertNotTagged: the workflow did not mark the instance.
func assertNotTagged(t *testing.T, inst *scene.Instance) {
	t.Helper()
	tags := instanceTags(t, inst.ID)
	for _, k := range []string{"SecurityIncidentStatus", "SecurityIncidentId"} {
		if v, ok := tags[k]; ok {
			t.Errorf("%s: tag %s=%q present, but nothing should have been changed", inst.ID, k, v)
		}
	}
}
