package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// managedPolicyQuota is the most characters a managed policy holds,
// whitespace not counted (IAM User Guide, "IAM and AWS STS quotas").
const managedPolicyQuota = 6144

// policySize counts a policy's characters as IAM does: whitespace excluded.
func policySize(doc string) int {
	return len(regexp.MustCompile(`\s+`).ReplaceAllString(doc, ""))
}

// longestID is an instance ID of the longest form (i- and 17 hexadecimal
// digits), made from n.
func longestID(n int) string { return fmt.Sprintf("i-%017x", n) }

// One deny policy lists DenyChunk instances and stays within the managed
// policy quota with the longest instance IDs, leaving room; the document
// the workflow writes (DenyDocument) is what is measured.
func TestDenyPolicyFitsTheManagedPolicyQuota(t *testing.T) {
	ids := make([]string, statemachine.DenyChunk)
	for i := range ids {
		ids[i] = longestID(i)
	}
	b, err := json.Marshal(statemachine.DenyDocument(ids))
	if err != nil {
		t.Fatal(err)
	}
	size := policySize(string(b))
	if size > managedPolicyQuota {
		t.Fatalf("a deny policy of %d instances is %d characters, over the %d a managed policy holds", statemachine.DenyChunk, size, managedPolicyQuota)
	}
	perInstance := len(`"*/` + longestID(0) + `",`)
	t.Logf("%d instances: %d characters of %d (%d per instance; %d more would fit)", statemachine.DenyChunk, size, managedPolicyQuota, perInstance, (managedPolicyQuota-size)/perInstance)
}

// revocationInput is the input of a revocation execution started directly
// (as the fleet starts it) for instance IDs and profiles.
func revocationInput(incident string, ids, profiles []string) string {
	b, _ := json.Marshal(map[string]interface{}{
		"Phase":              statemachine.RevokePhase,
		"InstanceIds":        ids,
		"InstanceProfiles":   profiles,
		"IncidentId":         incident,
		"Region":             emu.Region(),
		"FleetExecutionName": incident,
		"Options":            map[string]interface{}{"RevokeCredentials": true, "DisassociateElasticIps": false, "SnapshotPollSeconds": 15},
	})
	return string(b)
}

// 241 instances take two policies, of 240 and 1 patterns, both created
// under the emulator's enforced 6,144-character quota and attached to the
// role; together they list every instance exactly once. The revocation
// execution is started directly, as the fleet starts it, with the longest
// instance IDs (it reads no instance).
func TestDenyPoliciesAreChunkedBy240(t *testing.T) {
	t.Parallel()
	inst := build(t, scene.InstanceSpec{Name: "chunk", InstanceProfile: true})
	ids := make([]string, statemachine.DenyChunk+1)
	for i := range ids {
		ids[i] = longestID(0xc0ffee000 + i)
	}
	ex := runOn(t, deployed.InstanceStateMachineARN, revocationInput("chunking-241", ids, []string{inst.InstanceProfileARN}))
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("revocation execution: %s %s: %s", ex.Status, ex.Error, ex.Cause)
	}
	var out struct {
		Outcome          string
		Policies         []string
		PolicyPath       string
		Roles            []string
		RoleCount        int
		InstancesCovered int
	}
	if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
		t.Fatal(err)
	}
	if out.Outcome != statemachine.RevocationRevoked || len(out.Policies) != 2 || out.InstancesCovered != len(ids) ||
		out.RoleCount != 1 || len(out.Roles) != 1 || out.Roles[0] != inst.RoleName {
		t.Fatalf("output %s: want 2 policies covering %d instances on role %s", ex.Output, len(ids), inst.RoleName)
	}
	attached := denyPolicies(t, inst.RoleName)
	listed := map[string]int{}
	for i, arn := range out.Policies {
		doc, ok := attached[arn]
		if !ok {
			t.Fatalf("policy %s is not attached to %s (attached: %v)", arn, inst.RoleName, keysOf(attached))
		}
		if !strings.Contains(arn, ":policy"+out.PolicyPath) || !strings.HasPrefix(out.PolicyPath, statemachine.DenyPolicyPathPrefix) {
			t.Errorf("policy %s is not under this execution's path %s", arn, out.PolicyPath)
		}
		if !strings.HasSuffix(arn, fmt.Sprintf("-%d", i+1)) || !strings.Contains(arn, "/chunking-241-") {
			t.Errorf("policy %s is not named after the incident and its number %d", arn, i+1)
		}
		want := []int{statemachine.DenyChunk, 1}[i]
		if got := doc.patterns(); len(got) != want {
			t.Errorf("policy %d lists %d patterns, want %d", i+1, len(got), want)
		}
		if size := policySize(doc.text); size > managedPolicyQuota {
			t.Errorf("policy %s is %d characters", arn, size)
		}
		for _, p := range doc.patterns() {
			listed[p]++
		}
	}
	for _, id := range ids {
		if listed["*/"+id] != 1 {
			t.Errorf("%s is listed %d times, want once", id, listed["*/"+id])
		}
	}
}

// Two executions at the same time, on instances of one role (two each):
// each attaches its own policy, atomically, so both end up on the role,
// each listing exactly its own instances.
func TestConcurrentRevocationsOnOneRole(t *testing.T) {
	t.Parallel()
	first := build(t, scene.InstanceSpec{Name: "both-0", InstanceProfile: true})
	vpc := &scene.VPC{ID: first.VPCID, SubnetIDs: []string{first.SubnetID}}
	fleet := []*scene.Instance{first}
	for i := 1; i < 4; i++ {
		fleet = append(fleet, build(t, scene.InstanceSpec{Name: fmt.Sprintf("both-%d", i), VPC: vpc, SharedInstanceProfileARN: first.InstanceProfileARN}))
	}
	sets := [][]*scene.Instance{fleet[:2], fleet[2:]}
	var wg sync.WaitGroup
	exs := make([]*emulator.Execution, len(sets))
	errs := make([]error, len(sets))
	for i, set := range sets {
		wg.Add(1)
		go func(i int, set []*scene.Instance) {
			defer wg.Done()
			exs[i], errs[i] = emu.RunExecution(context.Background(), machineARN, input(emu.Region(), set[0].ID, set[1].ID), executionTimeout)
		}(i, set)
	}
	wg.Wait()
	attached := denyPolicies(t, first.RoleName)
	var all []string
	for i, set := range sets {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		out := mustSucceed(t, exs[i])
		if out.RevocationExecution == nil {
			t.Fatalf("execution %d started no revocation", i)
		}
		rev := out.CredentialRevocation
		if len(rev.Policies) != 1 {
			t.Fatalf("execution %d: policies %v, want 1", i, rev.Policies)
		}
		doc, ok := attached[rev.Policies[0]]
		if !ok {
			t.Fatalf("execution %d's policy %s is not attached to %s (attached: %v)", i, rev.Policies[0], first.RoleName, keysOf(attached))
		}
		got := doc.patterns()
		sort.Strings(got)
		want := []string{"*/" + set[0].ID, "*/" + set[1].ID}
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("execution %d's policy lists %v, want %v", i, got, want)
		}
		for _, inst := range set {
			assertNetworkIsolated(t, inst, out.summary(t, inst.ID))
		}
		all = append(all, rev.Policies...)
	}
	if len(attached) != 2 || all[0] == all[1] {
		t.Errorf("role %s holds deny policies %v, want the two executions' own %v", first.RoleName, keysOf(attached), all)
	}
}

// 60 instances of one Auto Scaling group, sharing one role (issue 17's
// scenario; one inline policy per instance used up the role's 10,240
// characters at about 38), in one execution: every ENI is isolated, every
// instance left the group, and the role carries the execution's deny
// policy, whose patterns cover all 60; a role the execution's instances do
// not use gets nothing.
func TestRevocationCoversSixtyInstancesOfOneGroup(t *testing.T) {
	t.Parallel()
	const n = 60
	ctx := context.Background()
	began := time.Now()
	vpc, err := scenes.VPC(ctx, "asg60")
	if err != nil {
		t.Fatal(err)
	}
	first := build(t, scene.InstanceSpec{Name: "asg60-0", VPC: vpc, InstanceProfile: true, AutoScalingGroup: true})
	if _, err := scenes.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(first.AutoScalingGroupName), MaxSize: aws.Int32(2 * n),
	}); err != nil {
		t.Fatal(err)
	}
	rest, err := scenes.Fleet(ctx, []*scene.VPC{vpc}, n-1, scene.InstanceSpec{
		Name: "asg60-", SharedInstanceProfileARN: first.InstanceProfileARN, SharedAutoScalingGroupName: first.AutoScalingGroupName,
	})
	if err != nil {
		t.Fatal(err)
	}
	bystander := build(t, scene.InstanceSpec{Name: "asg60-other", VPC: vpc, InstanceProfile: true})
	fleet := append([]*scene.Instance{first}, rest...)
	ids := make([]string, len(fleet))
	for i, inst := range fleet {
		ids[i] = inst.ID
	}
	built := time.Now()

	// 120 instance executions: more than executionTimeout on a loaded
	// machine (about 2 minutes alone on the project's 2 cores).
	ex, err := emu.RunExecution(ctx, machineARN, input(emu.Region(), ids...), 12*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ran := time.Now()
	out := mustSucceed(t, ex)
	rev := out.CredentialRevocation
	if rev.Outcome != statemachine.RevocationRevoked || rev.InstancesCovered != n || rev.RoleCount != 1 || len(rev.Roles) != 1 ||
		rev.Roles[0] != first.RoleName || len(rev.Policies) != 1 {
		t.Fatalf("output CredentialRevocation %+v, want %d instances covered by 1 policy on role %s", rev, n, first.RoleName)
	}
	attached := denyPolicies(t, first.RoleName)
	doc, ok := attached[rev.Policies[0]]
	if !ok {
		t.Fatalf("policy %s is not attached to %s (attached: %v)", rev.Policies[0], first.RoleName, keysOf(attached))
	}
	if got := doc.patterns(); len(got) != n {
		t.Errorf("the deny policy lists %d patterns, want %d", len(got), n)
	}
	for _, inst := range fleet {
		if !doc.deniesInstance(inst.ID) {
			t.Errorf("%s: the deny policy does not cover its credentials", inst.ID)
		}
		sum := out.summary(t, inst.ID)
		assertNetworkIsolated(t, inst, sum)
		if group, _ := autoScalingMembership(t, inst.ID); group != "" {
			t.Errorf("%s: still in Auto Scaling group %s", inst.ID, group)
		}
		if len(sum.InstanceProfileRoles) != 1 || sum.InstanceProfileRoles[0] != first.RoleName {
			t.Errorf("%s: summary InstanceProfileRoles %v, want [%s]", inst.ID, sum.InstanceProfileRoles, first.RoleName)
		}
	}
	if doc.deniesInstance(bystander.ID) {
		t.Errorf("the deny policy covers %s, which is not in the execution", bystander.ID)
	}
	if got := denyPolicies(t, bystander.RoleName); len(got) != 0 {
		t.Errorf("role %s of an instance outside the execution got deny policies %v", bystander.RoleName, keysOf(got))
	}
	if rev.Execution != out.RevocationExecution.ARN {
		t.Errorf("output names revocation execution %s, the fleet started %s", rev.Execution, out.RevocationExecution.ARN)
	}
	revocation := out.RevocationExecution
	attach, err := emu.Children(ctx, revocation.ARN)
	if err != nil || len(attach) != 1 {
		t.Fatalf("the revocation execution started %v (%v), want one attach execution", attach, err)
	}
	t.Logf("%d instances: scene built in %s, execution %s, checks %s; revocation execution %s, %d history events, its attach execution %d",
		n, built.Sub(began).Round(time.Second), ran.Sub(built).Round(time.Second), time.Since(ran).Round(time.Second),
		revocation.Stop.Sub(revocation.Start).Round(100*time.Millisecond), len(ownHistory(t, revocation.ARN)), len(ownHistory(t, attach[0])))
}

// A role already holding 10 managed policies (IAM's default quota) cannot
// take the deny policy: the revocation fails and the execution fails at
// its end with CredentialsNotRevoked, its cause naming the role, the quota
// and what to do; containment is unaffected (every instance contained,
// every ENI isolated) and the role keeps its 10 policies.
func TestRoleAtItsManagedPolicyQuota(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := build(t, scene.InstanceSpec{Name: "full-0", InstanceProfile: true})
	second := build(t, scene.InstanceSpec{Name: "full-1", VPC: &scene.VPC{ID: first.VPCID, SubnetIDs: []string{first.SubnetID}}, SharedInstanceProfileARN: first.InstanceProfileARN})
	for i := 0; i < 10; i++ {
		p, err := scenes.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{
			PolicyName:     aws.String(fmt.Sprintf("%s-app-%d", first.RoleName, i)),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := scenes.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(first.RoleName), PolicyArn: p.Policy.Arn}); err != nil {
			t.Fatal(err)
		}
	}
	ex := run(t, input(emu.Region(), first.ID, second.ID))
	if ex.Status != "FAILED" || ex.Error != "CredentialsNotRevoked" {
		t.Fatalf("status %s error %q cause %q, want FAILED CredentialsNotRevoked", ex.Status, ex.Error, ex.Cause)
	}
	for _, want := range []string{"all 2 instances were contained", first.RoleName, "most managed policies", "Detach older essential-ir deny policies",
		"Service Quotas", "aws iam attach-role-policy --role-name " + first.RoleName, "PoliciesPerRole"} {
		if !strings.Contains(ex.Cause, want) {
			t.Errorf("cause lacks %q: %s", want, ex.Cause)
		}
	}
	out := tallied(t, ex)
	if out.CredentialRevocation.Outcome != statemachine.RevocationFailed || out.CredentialRevocation.Error != "Iam.LimitExceededException" {
		t.Errorf("output CredentialRevocation %+v, want FAILED with Iam.LimitExceededException", out.CredentialRevocation)
	}
	for _, inst := range []*scene.Instance{first, second} {
		sum := out.summary(t, inst.ID)
		if sum.Outcome != "CONTAINED" {
			t.Errorf("%s: outcome %s (%s: %s), want CONTAINED: revocation must not fail containment", inst.ID, sum.Outcome, sum.Error, sum.Cause)
		}
		assertNetworkIsolated(t, inst, sum)
		assertProfileDetached(t, inst, sum)
	}
	listed, err := scenes.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(first.RoleName)})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.AttachedPolicies) != 10 {
		t.Errorf("role %s holds %d managed policies, want its 10", first.RoleName, len(listed.AttachedPolicies))
	}
}

// historyOfTree counts the history events of an execution and of the
// executions it started, recursively, and its AWS calls (TaskScheduled
// events of aws-sdk tasks); most is the largest history of one execution.
func historyOfTree(t *testing.T, arn string) (events, calls, most, executions int) {
	t.Helper()
	own := ownHistory(t, arn)
	events, most, executions = len(own), len(own), 1
	for _, e := range own {
		if d := e.TaskScheduledEventDetails; d != nil && aws.ToString(d.ResourceType) != "states" {
			calls++
		}
	}
	children, err := emu.Children(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		e, n, m, x := historyOfTree(t, c)
		events, calls, executions = events+e, calls+n, executions+x
		most = max(most, m)
	}
	return events, calls, most, executions
}

// The 1,000-instance case, measured (ESSENTIAL_IR_REVOCATION_1000=1; about
// two minutes for one role, more for many): a revocation execution started
// as the fleet starts it, for 1,000 instances sharing one role, then for
// 1,000 instances on ESSENTIAL_IR_REVOCATION_ROLES distinct roles (default
// 1,000, the worst case: one profile and role per instance). Each creates 5
// policies, attaches all of them to every role, and stays far below 25,000
// history events per execution.
func TestRevocationOfAThousandInstances(t *testing.T) {
	if os.Getenv("ESSENTIAL_IR_REVOCATION_1000") == "" {
		t.Skip("set ESSENTIAL_IR_REVOCATION_1000=1 to measure the revocation of 1,000 instances")
	}
	ctx := context.Background()
	const n = statemachine.MaxInstancesPerExecution
	ids := make([]string, n)
	for i := range ids {
		ids[i] = longestID(0xa11000000 + i)
	}
	roles := n
	if v := os.Getenv("ESSENTIAL_IR_REVOCATION_ROLES"); v != "" {
		fmt.Sscan(v, &roles)
	}
	sfx := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	profile := func(i int) string {
		name := fmt.Sprintf("k%s-%d", sfx, i)
		if _, err := scenes.IAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		p, err := scenes.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := scenes.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		return aws.ToString(p.InstanceProfile.Arn)
	}
	for _, c := range []struct {
		name  string
		roles int
	}{{"one role", 1}, {fmt.Sprintf("%d roles", roles), roles}} {
		began := time.Now()
		profiles := make([]string, c.roles)
		for i := range profiles {
			profiles[i] = profile(i + 1000*c.roles)
		}
		built := time.Now()
		ex := runOn(t, deployed.InstanceStateMachineARN, revocationInput("thousand-"+sfx, ids, profiles))
		if ex.Status != "SUCCEEDED" {
			t.Fatalf("%s: %s %s: %s", c.name, ex.Status, ex.Error, ex.Cause)
		}
		var out struct {
			Policies  []string
			RoleCount int
		}
		if err := json.Unmarshal([]byte(ex.Output), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Policies) != 5 || out.RoleCount != c.roles {
			t.Errorf("%s: output %s, want 5 policies on %d roles", c.name, ex.Output, c.roles)
		}
		for _, arn := range profiles[:1] {
			role := arn[strings.LastIndex(arn, "/")+1:]
			if got := denyPolicies(t, role); len(got) != 5 {
				t.Errorf("%s: role %s holds %d deny policies, want 5", c.name, role, len(got))
			}
		}
		events, calls, most, executions := historyOfTree(t, ex.ARN)
		if most > 20000 {
			t.Errorf("%s: one execution has %d history events, too close to 25,000", c.name, most)
		}
		t.Logf("%s: %d instances, %d profiles built in %s; revocation in %s: %d executions, %d history events (largest %d), %d AWS calls",
			c.name, n, c.roles, built.Sub(began).Round(time.Second), ex.Stop.Sub(ex.Start).Round(time.Second), executions, events, most, calls)
	}
}

// An instance ID that is not "i-" and hexadecimal digits is refused before
// any call: each ID becomes a pattern of the deny policy, and "*" would
// deny the credentials of every instance of every role it is attached to.
func TestRevocationRefusesAnIDThatIsNotOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inst := build(t, scene.InstanceSpec{Name: "wildcard", InstanceProfile: true})
	client := iam.NewFromConfig(emu.AWSConfig())
	count := func() int {
		out, err := client.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal, PathPrefix: aws.String(statemachine.DenyPolicyPathPrefix)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Policies)
	}
	for _, bad := range [][]string{{"*"}, {"i-0123456789abcdef0", "i-*"}, {"i-0123456789ABCDEF0"}} {
		before := count()
		ex := runOn(t, deployed.InstanceStateMachineARN, revocationInput("wildcard", bad, []string{inst.InstanceProfileARN}))
		if ex.Status != "FAILED" || ex.Error != "InvalidInput" || !strings.Contains(ex.Cause, "InstanceIds") {
			t.Errorf("InstanceIds %q: %s %s: %s; want refused as InvalidInput naming InstanceIds", bad, ex.Status, ex.Error, ex.Cause)
		}
		if after := count(); after != before {
			t.Errorf("InstanceIds %q: %d essential-ir policies before, %d after: the refused input created one", bad, before, after)
		}
	}
}
