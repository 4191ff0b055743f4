package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
)

// notByTheWorkflow are the role's policies whose statements Step Functions
// itself uses, not the workflow's calls, so no scenario exercises them in
// the emulated account: log delivery to CloudWatch Logs and X-Ray traces,
// checked by Step Functions when the state machine is created and when it
// writes logs (Step Functions Developer Guide, "Logging using CloudWatch
// Logs"; "AWS X-Ray and Step Functions").
var notByTheWorkflow = []string{"LoggingAndTracingPolicy"}

// notExercisedHere are actions the emulated account cannot exercise, with
// the reason: a statement allowing only these is not required to be the
// sole allower of a call in the scenarios.
var notExercisedHere = map[string]string{
	// The .sync integration with Step Functions learns of a child's end
	// through a managed EventBridge rule (Step Functions Developer Guide,
	// "IAM policies for starting a new execution"); the emulator follows
	// children directly.
	"events:PutTargets":   "managed rule of .sync",
	"events:PutRule":      "managed rule of .sync",
	"events:DescribeRule": "managed rule of .sync",
	// Stopping a child happens only when its parent is stopped or times out.
	"states:StopExecution": "only when a parent is stopped",
}

// roleStatement is one Allow statement of a deployed role's inline policy.
type roleStatement struct {
	policy  string // the policy's name in the template (PolicyName)
	index   int
	actions []string
}

// allowStatements reads the role's inline policies from the emulated
// account, as deployed from the template.
func allowStatements(t *testing.T, roleARN string) []roleStatement {
	t.Helper()
	ctx := context.Background()
	client := iam.NewFromConfig(emu.AWSConfig())
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	var out []roleStatement
	for _, p := range names.PolicyNames {
		got, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		if err != nil {
			t.Fatal(err)
		}
		text, err := url.QueryUnescape(aws.ToString(got.PolicyDocument))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Statement []struct {
				Effect string
				Action interface{}
			}
		}
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("policy %s of %s: %v", p, name, err)
		}
		for i, st := range doc.Statement {
			if st.Effect != "Allow" {
				continue
			}
			var actions []string
			switch a := st.Action.(type) {
			case string:
				actions = []string{a}
			case []interface{}:
				for _, x := range a {
					actions = append(actions, fmt.Sprint(x))
				}
			}
			out = append(out, roleStatement{policy: p, index: i, actions: actions})
		}
	}
	return out
}

// Every Allow statement of the role, as synthesized and deployed, is
// needed: in the scenarios below, each is the only statement that allows
// some call the workflow makes, so removing it makes that call, and the
// scenario, fail (IAM is enforced in the emulated account). The scenarios
// are the compromised web server in a VPC whose containment groups are
// created during the run (Auto Scaling group, target group, classic load
// balancer, Elastic IP, instance profile, encrypted and unencrypted
// volumes), a re-run on it (the record already written), and the same web
// server on a deployment that disassociates Elastic IPs, and a re-run on an
// instance whose first attempt could not store its record.
func TestEveryRoleStatementIsNeeded(t *testing.T) {
	ctx := context.Background()
	if err := emu.RecordGrants(ctx, true); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := emu.RecordGrants(ctx, false); err != nil {
			t.Error(err)
		}
	}()
	web := build(t, scene.CompromisedWebServer())
	first := run(t, input(emu.Region(), web.ID))
	mustSucceed(t, first)
	mustSucceed(t, run(t, input(emu.Region(), web.ID)))
	// A re-run whose record is missing: S3 answers its look for the
	// record 404 only to a caller allowed s3:ListBucket.
	later := build(t, scene.InstanceSpec{Name: "record-later"})
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{Service: "s3", Action: "PutObject", Code: "AccessDenied",
		Message: "Access Denied", Status: 403, Count: 1000}}); err != nil {
		t.Fatal(err)
	}
	run(t, input(emu.Region(), later.ID))
	if err := emu.SetFaults(ctx, nil); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, run(t, input(emu.Region(), later.ID)))
	releasing := machineWith(t, map[string]string{stack.ParamElasticIPs: "true"})
	other := build(t, scene.CompromisedWebServer())
	mustSucceed(t, runOn(t, releasing, input(emu.Region(), other.ID)))

	grants, err := emu.Grants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// sole[policy#index] counts the calls only that statement allows, in
	// any of the deployments: both roles hold the same template's
	// policies, the second its optional Elastic IP policy too.
	sole := map[string]int{}
	for _, g := range grants {
		if len(g.Statements) == 1 {
			s := g.Statements[0]
			policy := strings.TrimPrefix(s.Policy, "inline policy ")
			policy = policy[:strings.Index(policy, " of role ")]
			sole[fmt.Sprintf("%s#%d", policy, s.Index)]++
		}
	}
	checked := 0
	for _, d := range []*deploy.Deployment{deployed, deploymentOf(t, releasing)} {
		for _, st := range allowStatements(t, d.RoleARN) {
			if hasAnyPrefix(st.policy, notByTheWorkflow) {
				continue
			}
			key := fmt.Sprintf("%s#%d", st.policy, st.index)
			exempt := len(st.actions) > 0
			for _, a := range st.actions {
				if _, ok := notExercisedHere[a]; !ok {
					exempt = false
				}
			}
			checked++
			if sole[key] == 0 && !exempt {
				t.Errorf("statement %d of %s (%v) is never the only statement allowing a call in the scenarios: "+
					"remove it, merge it, or add the scenario that needs it", st.index, st.policy, st.actions)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d statements: the role's policies were not read", checked)
	}
}

// deploymentOf is the deployment of a state machine created by machineWith.
func deploymentOf(t *testing.T, machineARN string) *deploy.Deployment {
	t.Helper()
	var found *deploy.Deployment
	deployments.Range(func(_, v interface{}) bool {
		if d := v.(*deploy.Deployment); d.StateMachineARN == machineARN {
			found = d
			return false
		}
		return true
	})
	if found == nil {
		t.Fatalf("no deployment of %s", machineARN)
	}
	return found
}

// hasAnyPrefix says whether s starts with one of prefixes (a policy's
// name is its construct ID and a hash).
func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
