package statemachine_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/essential-ir/essential-ir/internal/scene"
)

// activeTarget reports whether the instance is a target of the group in any
// state but draining (draining is how ELB reports a deregistered target
// until the deregistration delay ends).
func activeTarget(t *testing.T, group, id string) bool {
	t.Helper()
	out, err := scenes.ELBv2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(group)})
	if err != nil {
		t.Fatalf("describe target health of %s: %v", group, err)
	}
	for _, d := range out.TargetHealthDescriptions {
		if aws.ToString(d.Target.Id) == id && d.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining {
			return true
		}
	}
	return false
}

// assertDeregistered: no target group serves the instance any more, and the
// output lists exactly the groups it was removed from.
func assertDeregistered(t *testing.T, inst *scene.Instance, sum InstanceSummary) {
	t.Helper()
	for _, g := range inst.TargetGroupARNs {
		if activeTarget(t, g, inst.ID) {
			t.Errorf("%s: still an active target of %s", inst.ID, g)
		}
	}
	got := append([]string(nil), sum.DeregisteredFromTargetGroups...)
	want := append([]string(nil), inst.TargetGroupARNs...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: output DeregisteredFromTargetGroups = %v, want %v", inst.ID, got, want)
	}
}

// assertStillRegistered: the workflow did not deregister the instance.
func assertStillRegistered(t *testing.T, inst *scene.Instance) {
	t.Helper()
	for _, g := range inst.TargetGroupARNs {
		if !activeTarget(t, g, inst.ID) {
			t.Errorf("%s: no longer a target of %s, but nothing should have changed", inst.ID, g)
		}
	}
}
