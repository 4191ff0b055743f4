// Reliability of the containment workflow (issue 6): it rides out transient
// API errors, fails loudly and precisely on permanent ones without losing
// evidence, refuses bad input before touching anything, and can be run again
// or twice at once on the same instance. Documentation/reliability.md gives
// the measured figures.
//
// Fault matrix (TestFaultMatrix). The APIs are read from the synthesized
// definitions of both state machines (every aws-sdk task, in Parallel
// branches and Map item processors too), with the step each one's failure is reported under. Each
// API is failed three ways through the emulator's fault layer: throttled
// twice, one HTTP 500, and denied for good. The first two must end SUCCEEDED
// with every post-condition of a clean run (assertContained). The third must
// end FAILED within a bounded time, with an Error and Cause naming the
// instance, the step and AWS's error; the other instance of the execution (a
// bare one, in its own VPC) must be contained unless it calls the same API;
// and two invariants must hold for every instance: no unencrypted snapshot
// deleted without a completed, encrypted copy, and no instance changed
// without its pre-incident record stored. A best-effort API (the console
// screenshot: its task's Comment starts with statemachine.BestEffortComment)
// denied for good must instead end SUCCEEDED with every instance contained
// and the failure recorded in the screenshot object. The test suite runs a
// deterministic subset (see matrixSelection); ESSENTIAL_IR_FULL_MATRIX=1
// runs every API with every fault, one execution each.
//
// Bad-input corpus (TestBadInputCorpus). "victim" is a compromised web server
// whose ID is put into every rejected input and which must be untouched at the
// end; "own" is a fresh bare instance of the case. Every FAILED case's Cause
// must say "Nothing was changed", carry the listed phrases, and read cleanly
// (no empty placeholder, no interpreter internals, at most 32,768
// characters).
//
//	Case                         Input                                       Expected
//	missing InstanceIds          {"Region": R}                               FAILED InvalidInput "InstanceIds"
//	empty object                 {}                                          FAILED InvalidInput "InstanceIds"
//	misspelt key                 {"instanceIds": [victim], ...}              FAILED InvalidInput "InstanceIds"
//	singular key                 {"InstanceId": victim, ...}                 FAILED InvalidInput "InstanceIds"
//	empty list                   "InstanceIds": []                           FAILED InvalidInput "non-empty list"
//	null list                    "InstanceIds": null                         FAILED InvalidInput "non-empty list"
//	ID not in a list             "InstanceIds": victim                       FAILED InvalidInput "list"
//	comma-separated IDs          "InstanceIds": "victim,i-0123..."           FAILED InvalidInput "list"
//	object for the list          "InstanceIds": {"a": victim}                FAILED InvalidInput "list"
//	list of numbers              "InstanceIds": [1, 2]                       FAILED InvalidInput "instance IDs"
//	nested list                  "InstanceIds": [[victim]]                   FAILED InvalidInput "instance IDs"
//	number after an ID           "InstanceIds": [victim, 42]                 FAILED InvalidInput "instance IDs"
//	null after an ID             "InstanceIds": [victim, null]               FAILED InvalidInput "instance IDs"
//	malformed i-xyz              [victim, "i-xyz"]                           FAILED, names i-xyz, "Check every ID"
//	malformed xyz                [victim, "xyz"]                             FAILED, names xyz, "Check every ID"
//	empty ID                     [victim, ""]                                FAILED "Check every ID"
//	ID with spaces               [" victim "]                                FAILED "Check every ID"
//	upper-case ID                [VICTIM]                                    FAILED, names it, "Check every ID"
//	10,000-character ID          ["i-000...0"]                               FAILED "Check every ID"
//	nonexistent ID               ["i-0123456789abcdef0"]                     FAILED, names it, "Check every ID"
//	real and nonexistent         [victim, "i-0123456789abcdef0"]             FAILED, names the missing one
//	too many                     victim and 100 other IDs                    FAILED InvalidInput "at most 100"
//	duplicates                   [own, own]                                  SUCCEEDED, own contained, listed once
//	150 copies of one ID         [own x 150]                                 SUCCEEDED, own contained, listed once
//	missing Region               {"InstanceIds": [victim]}                   FAILED InvalidInput "Region"
//	empty Region                 "Region": ""                                FAILED InvalidInput "Region"
//	null Region                  "Region": null                              FAILED InvalidInput "Region"
//	Region a number              "Region": 42                                FAILED InvalidInput "Region"
//	wrong Region                 "Region": "eu-west-3"                       FAILED WrongRegion, names both regions
//	upper-case Region            "Region": "US-EAST-1"                       FAILED WrongRegion, names both regions
//	10,000-character Region      "Region": "xxx...x"                         FAILED WrongRegion, names the deployment's
//	extra fields                 + "Comment", "Requester", "Priority"        SUCCEEDED, own contained
//	terminated instance          [terminated]                                FAILED InstanceTerminated, names it
//	terminated and running       [victim, terminated]                        FAILED InstanceTerminated, names it
//	stopped instance             [own, stopped]                              SUCCEEDED, contained, State stopped
//	nothing to detach            [own bare]                                  SUCCEEDED, own contained
//	input a list                 []                                          FAILED InvalidInput "InstanceIds"
//	input a string               "x"                                         FAILED InvalidInput "InstanceIds"
//	input a number               42                                          FAILED InvalidInput "InstanceIds"
//	input null                   null                                        FAILED InvalidInput "InstanceIds"
//
// Idempotency and concurrency. A re-run on a contained instance changes
// nothing in the account, keeps the instance's first incident ID and the
// first run's evidence, takes no snapshot of its own and creates no second
// isolation group (TestRerunChangesNothingMore). Two executions started at
// once on one instance both SUCCEED; neither deletes what the other
// preserved; the instance ends contained with every volume's evidence
// complete (TestTwoExecutionsAtOnceOnOneInstance). Which of the two reaches a
// read-then-change step first is luck, so TestChangeBetweenReadAndChange
// forces the unlucky order deterministically: the test itself makes the
// change (creates the isolation group, detaches the instance from its Auto
// Scaling group, profile or target group) after the execution read the state
// and before its own call goes through, as the other execution would; the
// execution must still SUCCEED, its read-back showing the state it wanted.

package statemachine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/essential-ir/essential-ir/infra/stack"
	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// fullMatrixEnv, set to 1, makes TestFaultMatrix run every API with every
// fault instead of the representative subset.
const fullMatrixEnv = "ESSENTIAL_IR_FULL_MATRIX"

// inputTimeout bounds each execution of the bad-input corpus: none may hang.
const inputTimeout = 2 * time.Minute

// deniedBound bounds how long (in the emulator, where retry back-off does not
// really sleep) an execution may take to fail on a permanently denied call.
const deniedBound = 60 * time.Second

// ---------------------------------------------------------------------------
// The APIs of the definition, as the fault layer names them.
// ---------------------------------------------------------------------------

// matrixAPI is one API the synthesized definition calls.
type matrixAPI struct {
	// Service is the fault rule's service, the SigV4 signing name: "ec2",
	// "autoscaling", "iam", "s3" or "elasticloadbalancing" (classic ELB and
	// ELBv2 alike).
	Service string
	// Action is the operation in PascalCase, e.g. "CreateTags".
	Action string
	// Tasks are the task states that call it.
	Tasks []string
	// Steps are the names a per-instance failure of those tasks is reported
	// under, as in "<Step> failed for instance i-...".
	Steps []string
	// BeforeContainment is set when one of those tasks runs before any
	// instance is touched (finding the instances, preparing each VPC's
	// groups), outside the per-instance Map, so that its failure ends the
	// execution there.
	BeforeContainment bool
	// BestEffort is set when every task calling it is best effort (its
	// Comment starts with statemachine.BestEffortComment): its failure is
	// recorded and the instance is contained all the same.
	BestEffort bool
	// Revocation is set when one of those tasks belongs to the fleet's
	// credential revocation (its Comment starts with
	// statemachine.RevocationComment): its failure fails the revocation,
	// and the execution at its end, but no instance.
	Revocation bool
	// asl is the aws-sdk integration's "service:action", to tell apart two
	// APIs the fault layer names alike.
	asl string
}

// String is the API as "service:Action".
func (a matrixAPI) String() string { return a.Service + ":" + a.Action }

// stepFailurePattern finds the step in a failure cause format such as
// "States.Format('Tag Instance failed for instance {}: {}', ...)".
var stepFailurePattern = regexp.MustCompile(`'([^'{}]+?) failed for instance \{\}`)

// faultService maps an aws-sdk integration's service to the fault layer's.
func faultService(t *testing.T, aslService string) string {
	t.Helper()
	switch aslService {
	case "ec2", "autoscaling", "iam", "s3", "elasticloadbalancing":
		return aslService
	case "elasticloadbalancingv2":
		return "elasticloadbalancing"
	}
	t.Fatalf("the definition calls service %q, which the fault matrix cannot name: add it to faultService", aslService)
	return ""
}

// catchTarget returns the state the last (catch-all) Catch of a state goes
// to, and its name.
func catchTarget(at aslPlace) (string, map[string]interface{}) {
	catches, _ := at.state["Catch"].([]interface{})
	if len(catches) == 0 {
		return "", nil
	}
	last, _ := catches[len(catches)-1].(map[string]interface{})
	next, _ := last["Next"].(string)
	target, _ := at.scope[next].(map[string]interface{})
	return next, target
}

// reachableFailureStep returns the step named by the nearest state, from
// start on, that reports a per-instance failure: a catch may lead first to
// a Choice (is the change already done?) or to a Pass that records what
// could not be read and goes on.
func reachableFailureStep(scope map[string]interface{}, start string) string {
	seen := map[string]bool{}
	queue := []string{start}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		state, ok := scope[name].(map[string]interface{})
		if name == "" || seen[name] || !ok {
			continue
		}
		seen[name] = true
		if step := failureStep(state); step != "" {
			return step
		}
		if next, ok := state["Next"].(string); ok {
			queue = append(queue, next)
		}
		if def, ok := state["Default"].(string); ok {
			queue = append(queue, def)
		}
		for _, k := range []string{"Choices", "Catch"} {
			list, _ := state[k].([]interface{})
			for _, e := range list {
				if m, ok := e.(map[string]interface{}); ok {
					if next, ok := m["Next"].(string); ok {
						queue = append(queue, next)
					}
				}
			}
		}
	}
	return ""
}

// failureStep returns the step name a failure state reports (in its
// CausePath, or in a "Cause.$" anywhere in its Parameters), or "" when it is
// not a per-instance failure.
func failureStep(state map[string]interface{}) string {
	var formats []string
	if s, ok := state["CausePath"].(string); ok {
		formats = append(formats, s)
	}
	var collect func(v interface{})
	collect = func(v interface{}) {
		if m, ok := v.(map[string]interface{}); ok {
			for k, e := range m {
				if s, ok := e.(string); ok && k == "Cause.$" {
					formats = append(formats, s)
				}
				collect(e)
			}
		}
	}
	collect(state["Parameters"])
	for _, f := range formats {
		if m := stepFailurePattern.FindStringSubmatch(f); m != nil {
			return m[1]
		}
	}
	return ""
}

// definitionAPIs lists every API the synthesized definition calls, sorted by
// service and action, with the steps their failures are reported under.
func definitionAPIs(t *testing.T) []matrixAPI {
	t.Helper()
	fleet, instance := aslDefinitions(t)
	byName := map[string]*matrixAPI{}
	visit := func(name string, at aslPlace, outer []aslPlace, perInstance bool) {
		s := at.state
		if s["Type"] != "Task" {
			return
		}
		resource, _ := s["Resource"].(string)
		if resource == startExecutionResource {
			// Starting the instance executions is not an AWS API of the
			// containment; a failing instance execution is tested in
			// TestOneFailingInstanceDoesNotAbortTheOthers.
			return
		}
		sa, err := shapeAction(resource)
		if err != nil {
			t.Errorf("task %q: %v", name, err)
			return
		}
		service, action, _ := strings.Cut(sa, ":")
		api := matrixAPI{Service: faultService(t, service), Action: strings.ToUpper(action[:1]) + action[1:], asl: sa}
		comment, _ := s["Comment"].(string)
		bestEffort := strings.HasPrefix(comment, statemachine.BestEffortComment)
		p, ok := byName[api.String()]
		if !ok {
			api.BestEffort = bestEffort
			p = &api
			byName[api.String()] = p
		}
		p.BestEffort = p.BestEffort && bestEffort
		if p.asl != sa {
			t.Fatalf("%s and %s are both %s to the fault layer: a rule could not fail one alone", p.asl, sa, api)
		}
		p.Tasks = append(p.Tasks, name)
		if strings.HasPrefix(comment, statemachine.RevocationComment) {
			p.Revocation = true
			return
		}
		if bestEffort {
			return
		}
		if !perInstance {
			p.BeforeContainment = true
			// A VPC's group preparation failing fails that VPC's
			// instances, under one step.
			for _, place := range outer {
				if sel, ok := place.state["ItemSelector"].(map[string]interface{}); ok && sel["VpcId.$"] != nil &&
					!slices.Contains(p.Steps, statemachine.VPCPreparationStep) {
					p.Steps = append(p.Steps, statemachine.VPCPreparationStep)
				}
			}
			return
		}
		// The step is named by the nearest failure state its catch-all
		// leads to, or else by that of the nearest Map or Parallel around
		// it that names one.
		var tried []string
		for _, place := range append([]aslPlace{at}, outer...) {
			next, _ := catchTarget(place)
			if step := reachableFailureStep(place.scope, next); step != "" {
				if !slices.Contains(p.Steps, step) {
					p.Steps = append(p.Steps, step)
				}
				return
			}
			tried = append(tried, next)
		}
		t.Errorf("task %q: none of its failure states %q says \"<step> failed for instance {}\"", name, tried)
	}
	// Every state of the instance state machine works on one instance.
	walkScoped(aslTopStates(t, fleet), nil, false, visit)
	walkScoped(aslTopStates(t, instance), nil, true, visit)
	apis := make([]matrixAPI, 0, len(byName))
	for _, a := range byName {
		sort.Strings(a.Steps)
		apis = append(apis, *a)
	}
	sort.Slice(apis, func(i, j int) bool { return apis[i].String() < apis[j].String() })
	if len(apis) < 10 {
		t.Fatalf("found %d APIs in the definition: the walk is broken", len(apis))
	}
	return apis
}

// ---------------------------------------------------------------------------
// Faults and the cases of the matrix.
// ---------------------------------------------------------------------------

// faultKind is one way of failing an API.
type faultKind struct {
	// Name is how the case is named, e.g. "throttled twice".
	Name string
	// Transient faults end; the workflow must survive them.
	Transient bool
	// rule builds the fault rule for an API.
	rule func(api matrixAPI) emulator.FaultRule
}

// permanentCount is the Count of a rule that never runs out in one execution.
const permanentCount = 100000

// faultKinds are the three faults of the matrix, in order.
var faultKinds = []faultKind{
	{Name: "throttled twice", Transient: true, rule: func(api matrixAPI) emulator.FaultRule {
		return throttleRule(api, 2)
	}},
	{Name: "one HTTP 500", Transient: true, rule: func(api matrixAPI) emulator.FaultRule {
		return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "InternalError",
			Message: "We encountered an internal error. Please try again.", Status: 500, Count: 1}
	}},
	{Name: "denied", rule: deniedRule},
}

// throttleRule throttles count calls of the API the way its service does:
// EC2 answers 503 RequestLimitExceeded, S3 503 SlowDown, the query APIs 400
// Throttling.
func throttleRule(api matrixAPI, count int) emulator.FaultRule {
	switch api.Service {
	case "ec2":
		return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "RequestLimitExceeded",
			Message: "Request limit exceeded.", Status: 503, Count: count}
	case "s3":
		return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "SlowDown",
			Message: "Please reduce your request rate.", Status: 503, Count: count}
	}
	return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "Throttling",
		Message: "Rate exceeded", Status: 400, Count: count}
}

// deniedRule denies every call of the API, as a role missing the permission
// would: EC2 answers UnauthorizedOperation, the other services
// AccessDenied.
func deniedRule(api matrixAPI) emulator.FaultRule {
	if api.Service == "ec2" {
		return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "UnauthorizedOperation",
			Message: "You are not authorized to perform this operation.", Status: 403, Count: permanentCount}
	}
	return emulator.FaultRule{Service: api.Service, Action: api.Action, Code: "AccessDenied",
		Message: fmt.Sprintf("User: arn:aws:sts::123456789012:assumed-role/essential-ir/states is not authorized to perform: %s:%s", api.Service, api.Action),
		Status:  403, Count: permanentCount}
}

// matrixFault is one API failed one way.
type matrixFault struct {
	API  matrixAPI
	Kind faultKind
}

// matrixCase is one execution: one API denied, or transient faults of one
// or (in the subset) several APIs at once.
type matrixCase struct {
	Faults []matrixFault
}

// transient reports whether every fault of the case is transient.
func (c matrixCase) transient() bool {
	for _, f := range c.Faults {
		if !f.Kind.Transient {
			return false
		}
	}
	return true
}

// name is the subtest name.
func (c matrixCase) name() string {
	if len(c.Faults) > 1 {
		return fmt.Sprintf("%d transient faults at once", len(c.Faults))
	}
	return c.describe()
}

// describe lists the faults of the case.
func (c matrixCase) describe() string {
	names := make([]string, len(c.Faults))
	for i, f := range c.Faults {
		names[i] = f.API.String() + " " + f.Kind.Name
	}
	return strings.Join(names, ", ")
}

// setup is how the case is set up (the selection never combines APIs with
// different deployments).
func (c matrixCase) setup() matrixSetup {
	var merged matrixSetup
	for _, f := range c.Faults {
		s := matrixSetups[f.API.String()]
		merged.taint = merged.taint || s.taint
		merged.underInvestigation = merged.underInvestigation || s.underInvestigation
		merged.existingBucket = merged.existingBucket || s.existingBucket
		if s.params != nil {
			merged.params = s.params
		}
	}
	return merged
}

// matrixSetup is how a case is set up for an API that a default deployment
// on a fresh web server does not call.
type matrixSetup struct {
	// taint: the VPC's isolation group already exists with an inbound rule
	// (someone added one by hand).
	taint bool
	// underInvestigation: the web server already carries the incident ID
	// of the case's execution, as if an earlier attempt of this very
	// execution had tagged it, so its containment looks for a pre-incident
	// record already written (a first containment's record goes under a
	// new incident ID, where nothing can be yet).
	underInvestigation bool
	// params are the stack parameters of the deployment the case runs on.
	params map[string]string
	// existingBucket: the deployment names matrixBucket, an existing
	// evidence bucket (versioned, Object Lock), which each execution checks
	// first.
	existingBucket bool
}

// matrixBucket is the existing evidence bucket of the cases that need one.
const matrixBucket = "ir-matrix-evidence"

// matrixBucketOnce creates matrixBucket once.
var matrixBucketOnce = sync.OnceValue(func() error {
	_, err := evidence().CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(matrixBucket), ObjectLockEnabledForBucket: aws.Bool(true)})
	return err
})

// matrixSetups are the APIs a default run on a fresh web server does not
// call, and how their cases are set up.
var matrixSetups = map[string]matrixSetup{
	"ec2:RevokeSecurityGroupIngress": {taint: true},
	"s3:HeadObject":                  {underInvestigation: true},
	"ec2:DisassociateAddress":        {params: map[string]string{stack.ParamElasticIPs: "true"}},
	"s3:GetBucketVersioning":         {params: map[string]string{stack.ParamEvidenceBucket: matrixBucket}, existingBucket: true},
	"s3:GetObjectLockConfiguration":  {params: map[string]string{stack.ParamEvidenceBucket: matrixBucket}, existingBucket: true},
}

// subsetSnapshotAPIs are the snapshot APIs between an unencrypted original
// and its deletion: the subset's permanent faults for EC2, for the evidence
// invariant.
var subsetSnapshotAPIs = []string{"ec2:CopySnapshot", "ec2:DeleteSnapshot"}

// matrixSelection returns the cases to run. The full matrix is every API
// with every fault, one execution each. The subset picks, for each fault
// kind k (0, 1, 2) and each service with n APIs in sorted order, the API at
// position k*n/3 (or the next one that needs no special setup). It injects
// all the transient picks (both kinds) in one execution, and denies each
// permanent pick in an execution of its own; for EC2 the permanent picks are
// the snapshot APIs between an unencrypted original and its deletion (the
// evidence invariant). It adds the denied case of every API that needs a
// tainted isolation group: called for one VPC only, its failure must spare
// the other VPC's instance.
func matrixSelection(apis []matrixAPI, full bool) []matrixCase {
	var cases []matrixCase
	if full {
		for _, api := range apis {
			for _, k := range faultKinds {
				cases = append(cases, matrixCase{[]matrixFault{{api, k}}})
			}
		}
		return cases
	}
	byService := map[string][]matrixAPI{}
	var services []string
	for _, api := range apis {
		if _, ok := byService[api.Service]; !ok {
			services = append(services, api.Service)
		}
		byService[api.Service] = append(byService[api.Service], api)
	}
	pick := func(s string, k int) matrixAPI {
		list := byService[s]
		for j := 0; j < len(list); j++ {
			api := list[(k*len(list)/len(faultKinds)+j)%len(list)]
			if _, special := matrixSetups[api.String()]; !special {
				return api
			}
		}
		return list[0]
	}
	var transient matrixCase
	var permanent []matrixAPI
	for k, kind := range faultKinds {
		for _, s := range services {
			switch {
			case kind.Transient:
				transient.Faults = append(transient.Faults, matrixFault{pick(s, k), kind})
			case s == "ec2":
				for _, api := range apis {
					if slices.Contains(subsetSnapshotAPIs, api.String()) {
						permanent = append(permanent, api)
					}
				}
			default:
				permanent = append(permanent, pick(s, k))
			}
		}
	}
	for _, api := range apis {
		if matrixSetups[api.String()].taint {
			permanent = append(permanent, api)
		}
	}
	cases = append(cases, transient)
	denied := faultKinds[len(faultKinds)-1]
	for _, api := range permanent {
		cases = append(cases, matrixCase{[]matrixFault{{api, denied}}})
	}
	return cases
}

// ---------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------

// matrixFigures are the totals the matrix logs for
// Documentation/reliability.md.
type matrixFigures struct {
	cases, survived, failedPrecisely int
	injected                         int
	invariantChecks                  int
	rows                             []string
}

// TestFaultMatrix fails every API of the definition (or a representative
// subset; see matrixSelection) three ways and checks what the workflow does.
// It uses the global fault layer, so it does not run in parallel.
func TestFaultMatrix(t *testing.T) {
	ctx := context.Background()
	apis := definitionAPIs(t)
	full := os.Getenv(fullMatrixEnv) == "1"
	cases := matrixSelection(apis, full)
	faults := 0
	for _, c := range cases {
		faults += len(c.Faults)
	}
	t.Logf("the definition calls %d APIs; injecting %d of %d API faults in %d executions (%s=1 runs all)",
		len(apis), faults, len(apis)*len(faultKinds), len(cases), fullMatrixEnv)
	t.Cleanup(func() { _ = emu.SetFaults(ctx, nil) })

	// Each case's scenes are built while the case before it runs (on the
	// API port, which is never faulted); the first one meanwhile.
	next := prepareCase(cases[0])
	var bareCalls map[string]bool
	if full {
		bareCalls = bareReferenceRun(t)
	}
	var fig matrixFigures
	began := time.Now()
	for i, c := range cases {
		prepared := <-next
		if i+1 < len(cases) {
			next = prepareCase(cases[i+1])
		}
		t.Run(c.name(), func(t *testing.T) {
			runMatrixCase(t, c, prepared, bareCalls, &fig)
		})
	}
	total := time.Since(began)
	t.Logf("fault matrix: %d executions in %s; %d faults injected; %d transient executions survived; %d denied cases failed precisely; %d invariant checks",
		fig.cases, total.Round(100*time.Millisecond), fig.injected, fig.survived, fig.failedPrecisely, fig.invariantChecks)
	for _, row := range fig.rows {
		t.Log(row)
	}
}

// bareReferenceRun contains a bare instance alone, fault-free, and returns
// the APIs that run called: the ones a fault on which may stop the bare
// instance of a case; the full matrix checks that a fault on any other API
// leaves it contained. A web server's target groups and classic load
// balancer exist meanwhile, as in the cases, so it reads them too.
func bareReferenceRun(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	web := build(t, scene.CompromisedWebServer())
	defer retireLoadBalancers(t, web)
	bare := build(t, scene.BareInstance())
	if err := emu.ResetCalls(ctx); err != nil {
		t.Fatal(err)
	}
	ex := run(t, input(emu.Region(), bare.ID))
	assertContained(t, bare, mustSucceed(t, ex), ex, 0)
	calls, err := emu.Calls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, c := range calls {
		service := c.Service
		if service == "elasticloadbalancingv2" {
			service = "elasticloadbalancing"
		}
		set[service+":"+c.Action] = true
	}
	return set
}

// caseScenes are the instances of one case: a compromised web server and,
// for a permanent fault, a bare instance in its own VPC.
type caseScenes struct {
	web, bare *scene.Instance
	// incident names the case's execution when the web server already
	// carries it (matrixSetup.underInvestigation); "" for a UUID name.
	incident string
	built    time.Duration
	err      error
}

// prepareCase builds the scenes of a case in the background.
func prepareCase(c matrixCase) <-chan caseScenes {
	ch := make(chan caseScenes, 1)
	go func() {
		ctx := context.Background()
		began := time.Now()
		var sc caseScenes
		defer func() {
			sc.built = time.Since(began)
			ch <- sc
		}()
		if sc.web, sc.err = scenes.Instance(ctx, scene.CompromisedWebServer()); sc.err != nil {
			return
		}
		if c.setup().taint {
			if _, sc.err = createIsolationGroup(ctx, sc.web.VPCID, true); sc.err != nil {
				return
			}
		}
		if c.setup().underInvestigation {
			sc.incident = "matrix-" + sc.web.Suffix
			if _, sc.err = scenes.EC2.CreateTags(ctx, &ec2.CreateTagsInput{
				Resources: []string{sc.web.ID},
				Tags:      []ec2types.Tag{{Key: aws.String(statemachine.IncidentIDTagKey), Value: aws.String(sc.incident)}},
			}); sc.err != nil {
				return
			}
		}
		if c.setup().existingBucket {
			if sc.err = matrixBucketOnce(); sc.err != nil {
				return
			}
		}
		if !c.transient() {
			sc.bare, sc.err = scenes.Instance(ctx, scene.BareInstance())
		}
	}()
	return ch
}

// runMatrixCase runs one case on its prepared scenes.
func runMatrixCase(t *testing.T, c matrixCase, sc caseScenes, bareCalls map[string]bool, fig *matrixFigures) {
	ctx := context.Background()
	began := time.Now()
	if sc.err != nil {
		t.Fatal(sc.err)
	}
	web := sc.web
	defer retireLoadBalancers(t, web)
	instances := []*scene.Instance{web}
	if sc.bare != nil {
		instances = append(instances, sc.bare)
	}
	ids := make([]string, len(instances))
	for i, inst := range instances {
		ids[i] = inst.ID
	}
	desiredBefore := desired(t, web)
	setup := c.setup()
	target := deploymentFor(t, setup.params)
	machine := target.StateMachineARN

	if len(c.Faults) > 1 {
		t.Logf("faults: %s", c.describe())
	}
	rules := make([]emulator.FaultRule, len(c.Faults))
	for i, f := range c.Faults {
		rules[i] = f.Kind.rule(f.API)
	}
	if err := emu.ResetDelays(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetFaults(ctx, rules); err != nil {
		t.Fatal(err)
	}
	ex, runErr := emu.RunNamedExecution(ctx, machine, sc.incident, input(emu.Region(), ids...), executionTimeout)
	left, err := emu.Faults(ctx)
	if clearErr := emu.SetFaults(ctx, nil); clearErr != nil {
		t.Fatal(clearErr)
	}
	if runErr != nil {
		t.Fatalf("execution did not end: %v", runErr)
	}
	if err != nil || len(left) != len(rules) {
		t.Fatalf("reading the fault rules back: %v (%d rules)", err, len(left))
	}
	injected := 0
	for i, rule := range rules {
		n := rule.Count - left[i].Count
		injected += n
		if n == 0 {
			t.Errorf("the workflow never called %s on this scene (status %s): nothing was tested", c.Faults[i].API, ex.Status)
		} else if c.transient() && n != rule.Count {
			t.Errorf("%s: %d of %d faults were injected", c.Faults[i].API, n, rule.Count)
		}
	}
	fig.cases++
	fig.injected += injected
	elapsed := ex.Stop.Sub(ex.Start)
	backoff := retryBackoff(t)
	defer func() {
		fig.rows = append(fig.rows, fmt.Sprintf("%-62s %-9s %3d faults  execution %5.1fs  back-off on AWS %5.1fs  case %5.1fs (+%4.1fs building scenes meanwhile)",
			c.name(), ex.Status, injected, elapsed.Seconds(), backoff, time.Since(began).Seconds(), sc.built.Seconds()))
	}()
	if t.Failed() {
		t.FailNow()
	}

	if c.transient() {
		out := mustSucceed(t, ex)
		assertContainedOn(t, target, setup.params, web, out, ex, desiredBefore)
		assertRetried(t, injected)
		fig.invariantChecks += assertEvidenceKept(t, ex, history(t, ex), web)
		fig.invariantChecks += assertRecordKept(t, target.Bucket, ex, web, out.summary(t, web.ID))
		fig.invariantChecks += assertNeverLeftOpen(t, web)
		if !t.Failed() {
			fig.survived++
		}
		return
	}

	// Denied for good.
	api, rule := c.Faults[0].API, rules[0]
	if api.BestEffort {
		// Recorded, not a failure: every instance is contained, and the
		// screenshot object names AWS's error.
		out := mustSucceed(t, ex)
		for _, inst := range instances {
			d := int32(0)
			if inst == web {
				d = desiredBefore
			}
			assertContainedOn(t, target, setup.params, inst, out, ex, d)
			if obj := assertScreenshotKept(t, inst, out.summary(t, inst.ID), incidentID(ex)); !obj.Screenshot.NotCaptured || !namesAWSError(obj.Screenshot.Error+" "+obj.Screenshot.Cause, rule) {
				t.Errorf("%s: screenshot %+v, want NotCaptured naming AWS's error %s", inst.ID, obj.Screenshot, rule.Code)
			}
		}
		if !t.Failed() {
			fig.failedPrecisely++
		}
		return
	}
	if ex.Status != "FAILED" {
		t.Fatalf("status %s, want FAILED: every %s call was denied\noutput: %.2000s", ex.Status, api, ex.Output)
	}
	if api.Revocation {
		assertOnlyRevocationFailed(t, ex, rule, instances)
		for _, inst := range instances {
			fig.invariantChecks += assertEvidenceKept(t, ex, history(t, ex), inst)
			fig.invariantChecks += assertNeverLeftOpen(t, inst)
		}
		if !t.Failed() {
			fig.failedPrecisely++
		}
		return
	}
	if elapsed > deniedBound {
		t.Errorf("the execution took %s to fail, more than %s", elapsed, deniedBound)
	}
	if ex.Error == "" || !namesAWSError(ex.Error+" "+ex.Cause, rule) {
		t.Errorf("error %q, cause %q: want AWS's error %s named", ex.Error, ex.Cause, rule.Code)
	}
	// Whether the instance calls the API: the web server calls every API
	// (the fault was injected); the bare instance, as its reference run
	// showed (full matrix), or else unless the API is one the web server's
	// tainted VPC alone calls.
	calls := func(inst *scene.Instance) bool {
		if inst == web {
			return true
		}
		if bareCalls != nil {
			return bareCalls[api.String()]
		}
		return !setup.taint
	}
	events := history(t, ex)
	out, reached := talliedIfAny(t, ex, events)
	if !reached {
		// The execution ended before any instance was worked on.
		if !api.BeforeContainment {
			t.Errorf("the execution ended before Tally Outcomes, but no task calling %s runs before containment", api)
		}
		if !strings.Contains(ex.Cause, "Nothing was changed") && !strings.Contains(ex.Cause, "before any instance was changed") {
			t.Errorf("the cause does not say that nothing was changed: %s", ex.Cause)
		}
		for _, inst := range instances {
			if !strings.Contains(ex.Cause, inst.ID) {
				t.Errorf("the cause does not name instance %s, which was left uncontained: %s", inst.ID, ex.Cause)
			}
			if !calls(inst) {
				t.Errorf("instance %s never calls %s, yet it was not contained: the failure elsewhere stopped it too (error %s: %s)", inst.ID, api, ex.Error, ex.Cause)
			}
			assertUntouched(t, inst)
		}
	} else {
		for _, inst := range instances {
			sum := out.summary(t, inst.ID)
			switch sum.Outcome {
			case "CONTAINED":
				d := int32(0)
				if inst == web {
					d = desiredBefore
				}
				assertContainedOn(t, target, setup.params, inst, out, ex, d)
			case "FAILED":
				if !calls(inst) {
					t.Errorf("instance %s never calls %s, yet it failed: %s", inst.ID, api, sum.Cause)
				}
				if sum.Evidence.Outcome == "FAILED" {
					// Only its evidence phase failed: it is contained.
					assertContainedButEvidence(t, inst, out, ex)
					if ex.Error != "EvidenceNotPreserved" && len(out.Failed) == 0 {
						t.Errorf("every instance was contained but %s's evidence failed: execution error %q, want EvidenceNotPreserved", inst.ID, ex.Error)
					}
				}
				assertStepNamed(t, api, inst.ID, sum.Cause)
				if !namesAWSError(sum.Error+" "+sum.Cause, rule) {
					t.Errorf("%s: error %q and cause do not name AWS's error %s: %s", inst.ID, sum.Error, rule.Code, sum.Cause)
				}
				if !strings.Contains(ex.Cause, inst.ID) {
					t.Errorf("the execution's cause does not name failed instance %s: %s", inst.ID, ex.Cause)
				}
			default:
				t.Errorf("%s: outcome %q", inst.ID, sum.Outcome)
			}
		}
	}
	for _, inst := range instances {
		fig.invariantChecks += assertEvidenceKept(t, ex, events, inst)
		var sum InstanceSummary
		if reached {
			sum = out.summary(t, inst.ID)
		}
		fig.invariantChecks += assertRecordKept(t, target.Bucket, ex, inst, sum)
		fig.invariantChecks += assertNeverLeftOpen(t, inst)
	}
	if !t.Failed() {
		fig.failedPrecisely++
	}
}

// assertOnlyRevocationFailed: an API of the credential revocation was
// denied for good. The revocation fails, naming AWS's error; every
// instance is contained all the same (isolated, profile detached, evidence
// preserved), and the execution fails at its end with CredentialsNotRevoked.
func assertOnlyRevocationFailed(t *testing.T, ex *emulator.Execution, rule emulator.FaultRule, instances []*scene.Instance) {
	t.Helper()
	if ex.Error != "CredentialsNotRevoked" || !namesAWSError(ex.Cause, rule) {
		t.Errorf("error %q, cause %q: want CredentialsNotRevoked naming AWS's error %s", ex.Error, ex.Cause, rule.Code)
	}
	out := tallied(t, ex)
	if rev := out.CredentialRevocation; rev.Outcome != statemachine.RevocationFailed || !namesAWSError(rev.Error+" "+rev.Cause, rule) {
		t.Errorf("CredentialRevocation %+v: want FAILED naming AWS's error %s", rev, rule.Code)
	}
	for _, inst := range instances {
		sum := out.summary(t, inst.ID)
		if sum.Outcome != "CONTAINED" {
			t.Errorf("%s: outcome %s (%s: %s): a failed revocation must not fail containment", inst.ID, sum.Outcome, sum.Error, sum.Cause)
			continue
		}
		assertNetworkIsolated(t, inst, sum)
		assertProfileDetached(t, inst, sum)
	}
}

// assertStepNamed: a failed instance's cause says "<Step> failed for
// instance <id>" for a step that calls the API.
func assertStepNamed(t *testing.T, api matrixAPI, id, cause string) {
	t.Helper()
	for _, step := range api.Steps {
		if strings.Contains(cause, step+" failed for instance "+id) {
			return
		}
	}
	t.Errorf("%s: cause does not say which step failed (any of %q, for instance %s): %s", id, api.Steps, id, cause)
}

// assertRetried: the faults were retried by the state machine's Retry (one
// back-off each), not worked around.
func assertRetried(t *testing.T, faults int) {
	t.Helper()
	delays, err := emu.Delays(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	retries := 0
	for _, d := range delays {
		if d.Kind == "retry" {
			retries++
			if d.RequestedSeconds > 16 {
				t.Errorf("state %q backed off %.1f s, more than the 16 s cap", d.State, d.RequestedSeconds)
			}
		}
	}
	if retries < faults {
		t.Errorf("%d retries for %d injected faults", retries, faults)
	}
}

// history reads an execution's events.
func history(t *testing.T, ex *emulator.Execution) []sfntypes.HistoryEvent {
	t.Helper()
	events, err := emu.HistoryTree(context.Background(), ex.ARN)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// retryBackoff is the longest back-off any one state requested in the
// execution (the sum of its Retry delays): what the faults would cost in
// time on AWS, where back-off really sleeps. Branches back off in parallel,
// so the longest chain, not the total, bounds the delay.
func retryBackoff(t *testing.T) float64 {
	t.Helper()
	delays, err := emu.Delays(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byState := map[string]float64{}
	longest := 0.0
	for _, d := range delays {
		if d.Kind == "retry" {
			byState[d.State] += d.RequestedSeconds
			longest = max(longest, byState[d.State])
		}
	}
	return longest
}

// talliedIfAny is tallied for an execution that may have ended before
// "Tally Outcomes" (reached is false then), from its history events.
func talliedIfAny(t *testing.T, ex *emulator.Execution, events []sfntypes.HistoryEvent) (out Output, reached bool) {
	t.Helper()
	for _, e := range events {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "Tally Outcomes" {
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatalf("Tally Outcomes output: %v", err)
			}
			return withInstances(t, ex, out), true
		}
	}
	return Output{}, false
}

// createIsolationGroup creates a VPC's isolation group before the workflow
// does, as another execution would, with the allow-all outbound rule every
// new group starts with. withIngress adds an inbound SSH rule, as if someone
// had added one by hand.
func createIsolationGroup(ctx context.Context, vpc string, withIngress bool) (string, error) {
	id, err := createContainmentGroup(ctx, vpc, statemachine.IsolationGroupName, statemachine.IsolationGroupDescription, statemachine.IsolationPurpose)
	if err != nil || !withIngress {
		return id, err
	}
	if _, err := scenes.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		}},
	}); err != nil {
		return "", fmt.Errorf("add a rule to the isolation group %s: %w", id, err)
	}
	return id, nil
}

// createUntrackGroup creates the VPC's all-traffic group as the workflow's
// create leaves it, with only the default IPv4 egress rule.
func createUntrackGroup(ctx context.Context, vpc string) (string, error) {
	return createContainmentGroup(ctx, vpc, statemachine.UntrackGroupName, statemachine.UntrackGroupDescription, statemachine.UntrackPurpose)
}

// createContainmentGroup creates a VPC security group with the name,
// description and purpose tag the workflow gives its own, as another
// execution would; EC2 gives it the default allow-all outbound rule.
func createContainmentGroup(ctx context.Context, vpc, name, desc, purpose string) (string, error) {
	out, err := scenes.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(name),
		Description: aws.String(desc),
		VpcId:       aws.String(vpc),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags:         []ec2types.Tag{{Key: aws.String(statemachine.PurposeTagKey), Value: aws.String(purpose)}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("create security group %s in %s: %w", name, vpc, err)
	}
	return aws.ToString(out.GroupId), nil
}

// retireLoadBalancers deletes a scene's load balancers and target groups
// once its case is checked: the workflow reads every target group and
// classic load balancer in the account, so leaving them would slow every
// later execution.
func retireLoadBalancers(t *testing.T, inst *scene.Instance) {
	t.Helper()
	ctx := context.Background()
	for _, lb := range inst.LoadBalancerARNs {
		if _, err := scenes.ELBv2.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb)}); err != nil {
			t.Logf("cleanup: delete load balancer %s: %v", lb, err)
		}
	}
	for _, tg := range inst.TargetGroupARNs {
		if _, err := scenes.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(tg)}); err != nil {
			t.Logf("cleanup: delete target group %s: %v", tg, err)
		}
	}
	if name := inst.ClassicLoadBalancerName; name != "" {
		if _, err := scenes.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(name)}); err != nil {
			t.Logf("cleanup: delete classic load balancer %s: %v", name, err)
		}
	}
}

// ---------------------------------------------------------------------------
// The evidence invariant.
// ---------------------------------------------------------------------------

// historySnapshot is a snapshot as CreateSnapshots returned it.
type historySnapshot struct {
	SnapshotId, VolumeId string
	Encrypted            bool
}

// evidenceHistory reads from an execution's history events the snapshots
// CreateSnapshots returned and the snapshots DeleteSnapshot was asked to
// delete.
func evidenceHistory(t *testing.T, events []sfntypes.HistoryEvent) (created []historySnapshot, deleted []string) {
	t.Helper()
	for _, e := range events {
		if d := e.TaskSucceededEventDetails; d != nil && aws.ToString(d.Resource) == "createSnapshots" {
			var out struct{ Snapshots []historySnapshot }
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatalf("CreateSnapshots output in the history: %v", err)
			}
			created = append(created, out.Snapshots...)
		}
		if d := e.TaskScheduledEventDetails; d != nil && aws.ToString(d.Resource) == "deleteSnapshot" {
			var in struct{ SnapshotId string }
			if err := json.Unmarshal([]byte(aws.ToString(d.Parameters)), &in); err != nil {
				t.Fatalf("DeleteSnapshot parameters in the history: %v", err)
			}
			deleted = append(deleted, in.SnapshotId)
		}
	}
	return created, deleted
}

// assertEvidenceKept checks, whatever the execution's outcome, that no
// evidence of the instance was lost: every snapshot CreateSnapshots returned
// for one of its volumes still exists, or (if it was unencrypted) a
// completed, encrypted copy tagged with its ID and the incident exists;
// every snapshot the workflow asked to delete is one of those and has such a
// copy; and if CreateSnapshots succeeded it covered every volume. It returns
// the number of checks made. events is the execution's history.
func assertEvidenceKept(t *testing.T, ex *emulator.Execution, events []sfntypes.HistoryEvent, inst *scene.Instance) int {
	t.Helper()
	created, deleted := evidenceHistory(t, events)
	// By instance, not by incident: an execution on an instance already
	// under investigation (a re-run, or a second execution started at the
	// same time) tags its snapshots with the first incident's ID.
	out, err := scenes.EC2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + statemachine.InstanceIDTagKey), Values: []string{inst.ID}}},
	})
	if err != nil {
		t.Fatalf("describe the snapshots of instance %s: %v", inst.ID, err)
	}
	exists := map[string]bool{}
	verifiedCopy := map[string]string{} // original -> encrypted, completed copy
	for _, s := range out.Snapshots {
		id := aws.ToString(s.SnapshotId)
		exists[id] = true
		tags := tagMap(s.Tags)
		if src := tags[statemachine.SourceSnapshotTagKey]; src != "" && aws.ToBool(s.Encrypted) &&
			s.State == ec2types.SnapshotStateCompleted && tags[statemachine.InstanceIDTagKey] != "" {
			verifiedCopy[src] = id
		}
	}
	mine := map[string]historySnapshot{}
	volumes := map[string]bool{}
	for _, s := range created {
		if slices.Contains(inst.VolumeIDs, s.VolumeId) {
			mine[s.SnapshotId] = s
			volumes[s.VolumeId] = true
		}
	}
	checks := 0
	for id, s := range mine {
		checks++
		switch {
		case exists[id]:
		case s.Encrypted:
			t.Errorf("%s: encrypted evidence snapshot %s of %s is gone", inst.ID, id, s.VolumeId)
		case verifiedCopy[id] == "":
			t.Errorf("%s: unencrypted snapshot %s of %s is gone and no completed, encrypted copy of it exists", inst.ID, id, s.VolumeId)
		}
	}
	for _, id := range deleted {
		s, ok := mine[id]
		if !ok {
			if !snapshotOfAnyCreated(created, id) {
				t.Errorf("the workflow asked to delete snapshot %s, which it did not create", id)
			}
			continue
		}
		checks++
		if s.Encrypted {
			t.Errorf("%s: the workflow asked to delete encrypted snapshot %s", inst.ID, id)
		}
		if verifiedCopy[id] == "" {
			t.Errorf("%s: the workflow asked to delete unencrypted snapshot %s of %s, but no completed, encrypted copy of it exists", inst.ID, id, s.VolumeId)
		}
	}
	if len(mine) > 0 {
		for _, v := range inst.VolumeIDs {
			checks++
			if !volumes[v] {
				t.Errorf("%s: CreateSnapshots took no snapshot of volume %s", inst.ID, v)
			}
		}
	}
	return checks
}

// snapshotOfAnyCreated reports whether CreateSnapshots returned id.
func snapshotOfAnyCreated(created []historySnapshot, id string) bool {
	for _, s := range created {
		if s.SnapshotId == id {
			return true
		}
	}
	return false
}

// changedInAccount reports whether the workflow changed anything on the
// instance: its tags, protections, volumes, ENIs, profile or Auto Scaling
// group differ from how the scene built it.
func changedInAccount(t *testing.T, inst *scene.Instance) bool {
	t.Helper()
	if tags := instanceTags(t, inst.ID); tags["SecurityIncidentStatus"] != "" || tags[statemachine.IncidentIDTagKey] != "" {
		return true
	}
	if termination, stop, _ := protection(t, inst.ID); termination || stop {
		return true
	}
	for _, del := range deleteOnTermination(t, inst.ID) {
		if !del {
			return true
		}
	}
	now := eniGroups(t, inst.ID)
	for eni, before := range inst.GroupsByENI {
		want := append([]string(nil), before...)
		sort.Strings(want)
		if !reflect.DeepEqual(now[eni], want) {
			return true
		}
	}
	if inst.InstanceProfileARN != "" && len(associatedProfiles(t, inst.ID)) == 0 {
		return true
	}
	if inst.AutoScalingGroupName != "" {
		if group, _ := autoScalingMembership(t, inst.ID); group == "" {
			return true
		}
	}
	return false
}

// assertNeverLeftOpen checks the exposure invariant for one instance of an
// execution, whatever its outcome: no ENI of the instance is left on its
// VPC's all-traffic group. That group allows all traffic in and out; an ENI
// holds it only for the moment between untracking and isolation, so an ENI
// found there after the execution ended was left more open than the
// workflow found it. It returns the number of checks made.
func assertNeverLeftOpen(t *testing.T, inst *scene.Instance) int {
	t.Helper()
	untrack := groupsNamed(t, inst.VPCID, statemachine.UntrackGroupName)
	checks := 0
	for eni, groups := range eniGroups(t, inst.ID) {
		checks++
		for _, g := range untrack {
			if slices.Contains(groups, aws.ToString(g.GroupId)) {
				t.Errorf("%s: ENI %s was left on the all-traffic group %s (groups %v): the execution left it open to all traffic", inst.ID, eni, aws.ToString(g.GroupId), groups)
			}
		}
	}
	return checks
}

// assertRecordKept checks the record invariant for one instance of an
// execution, whatever its outcome: if the workflow changed anything on the
// instance, its pre-incident record (read before the first change) is
// stored in the evidence bucket, unless storing the record is itself what
// failed and the instance's cause says so. bucket is the deployment's
// evidence bucket; sum is the instance's summary
// (zero if the execution never reached Tally Outcomes). It returns the
// number of checks made.
func assertRecordKept(t *testing.T, bucket string, ex *emulator.Execution, inst *scene.Instance, sum InstanceSummary) int {
	t.Helper()
	if !changedInAccount(t, inst) {
		return 1
	}
	key := incidentID(ex) + "/" + inst.ID + "/" + statemachine.RecordManifestObject
	if _, err := evidence().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		return 1
	}
	if sum.Outcome == "FAILED" && strings.Contains(sum.Cause, recordStep+" failed for instance "+inst.ID) {
		return 1
	}
	t.Errorf("%s was changed but its pre-incident record s3://%s/%s was never stored (outcome %q: %s)", inst.ID, bucket, key, sum.Outcome, sum.Cause)
	return 1
}

// recordStep is the step that stores the pre-incident record.
const recordStep = "Record Pre-Incident State"

// ---------------------------------------------------------------------------
// The bad-input corpus.
// ---------------------------------------------------------------------------

// corpusFixture holds the instances the corpus refers to.
type corpusFixture struct {
	// victim is a compromised web server whose ID appears in rejected
	// inputs; it must be untouched after the whole corpus.
	victim *scene.Instance
	// terminated is the ID of a terminated instance.
	terminated string
	region     string
}

// badInput is one case of the corpus.
type badInput struct {
	name string
	// own is the spec of an instance built for this case only (nil: none);
	// stopped stops it first.
	own     *scene.InstanceSpec
	stopped bool
	// input builds the execution input; own is "" when the case has none.
	input func(f *corpusFixture, own string) string
	// status, errorName and phrases are the expected outcome: errorName ""
	// accepts any Error, each phrase must be in the Cause.
	status, errorName string
	phrases           func(f *corpusFixture, own string) []string
}

// js encodes v as JSON.
func js(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// with returns fixed phrases.
func with(p ...string) func(*corpusFixture, string) []string {
	return func(*corpusFixture, string) []string { return p }
}

// nonexistentID is well-formed and exists nowhere.
const nonexistentID = "i-0123456789abcdef0"

// badInputs is the corpus; see the table at the top of this file.
func badInputs() []badInput {
	bare := scene.BareInstance()
	ids := func(f *corpusFixture, list ...interface{}) string {
		if list == nil {
			list = []interface{}{} // [], not null
		}
		return js(map[string]interface{}{"InstanceIds": list, "Region": f.region})
	}
	failed := func(name, errorName string, in func(f *corpusFixture, own string) string, phrases func(*corpusFixture, string) []string) badInput {
		return badInput{name: name, input: in, status: "FAILED", errorName: errorName, phrases: phrases}
	}
	succeeded := func(name string, stopped bool, in func(f *corpusFixture, own string) string) badInput {
		return badInput{name: name, own: &bare, stopped: stopped, input: in, status: "SUCCEEDED"}
	}
	longID := "i-" + strings.Repeat("0", 9998)
	checkID := with("Check every ID", "Nothing was changed")
	return []badInput{
		failed("missing InstanceIds", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"Region": f.region})
		}, with("InstanceIds")),
		failed("empty object", "InvalidInput", func(*corpusFixture, string) string { return `{}` }, with("InstanceIds")),
		failed("misspelt key", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"instanceIds": []string{f.victim.ID}, "Region": f.region})
		}, with("InstanceIds")),
		failed("singular key", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceId": f.victim.ID, "Region": f.region})
		}, with("InstanceIds")),
		failed("empty list", "InvalidInput", func(f *corpusFixture, _ string) string { return ids(f) }, with("non-empty list")),
		failed("null list", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": nil, "Region": f.region})
		}, with("non-empty list")),
		failed("ID not in a list", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": f.victim.ID, "Region": f.region})
		}, with("list")),
		failed("comma-separated IDs", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": f.victim.ID + "," + nonexistentID, "Region": f.region})
		}, with("list")),
		failed("object for the list", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": map[string]string{"a": f.victim.ID}, "Region": f.region})
		}, with("list")),
		failed("list of numbers", "InvalidInput", func(f *corpusFixture, _ string) string { return ids(f, 1, 2) }, with("instance IDs")),
		failed("nested list", "InvalidInput", func(f *corpusFixture, _ string) string {
			return ids(f, []string{f.victim.ID})
		}, with("instance IDs")),
		failed("number after an ID", "InvalidInput", func(f *corpusFixture, _ string) string {
			return ids(f, f.victim.ID, 42)
		}, with("instance IDs")),
		failed("null after an ID", "InvalidInput", func(f *corpusFixture, _ string) string {
			return ids(f, f.victim.ID, nil)
		}, with("instance IDs")),
		failed("malformed i-xyz", "", func(f *corpusFixture, _ string) string { return ids(f, f.victim.ID, "i-xyz") },
			with("i-xyz", "Check every ID", "Nothing was changed")),
		failed("malformed xyz", "", func(f *corpusFixture, _ string) string { return ids(f, f.victim.ID, "xyz") },
			with("xyz", "Check every ID", "Nothing was changed")),
		failed("empty ID", "", func(f *corpusFixture, _ string) string { return ids(f, f.victim.ID, "") }, checkID),
		failed("ID with spaces", "", func(f *corpusFixture, _ string) string { return ids(f, " "+f.victim.ID+" ") }, checkID),
		failed("upper-case ID", "", func(f *corpusFixture, _ string) string { return ids(f, strings.ToUpper(f.victim.ID)) },
			func(f *corpusFixture, _ string) []string {
				return []string{strings.ToUpper(f.victim.ID), "Check every ID", "Nothing was changed"}
			}),
		failed("10,000-character ID", "", func(f *corpusFixture, _ string) string { return ids(f, longID) }, checkID),
		failed("nonexistent ID", "", func(f *corpusFixture, _ string) string { return ids(f, nonexistentID) },
			with(nonexistentID, "Check every ID", "Nothing was changed")),
		failed("real and nonexistent", "", func(f *corpusFixture, _ string) string { return ids(f, f.victim.ID, nonexistentID) },
			with(nonexistentID, "Check every ID", "Nothing was changed")),
		failed("too many", "InvalidInput", func(f *corpusFixture, _ string) string {
			list := []interface{}{f.victim.ID}
			for i := 1; i <= statemachine.DefaultSettings().MaxInstances; i++ {
				list = append(list, fmt.Sprintf("i-%017x", i))
			}
			return ids(f, list...)
		}, with(fmt.Sprintf("at most %d", statemachine.DefaultSettings().MaxInstances))),
		succeeded("duplicates", false, func(f *corpusFixture, own string) string { return ids(f, own, own) }),
		succeeded("150 copies of one ID", false, func(f *corpusFixture, own string) string {
			list := make([]interface{}, 150)
			for i := range list {
				list[i] = own
			}
			return ids(f, list...)
		}),
		failed("missing Region", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}})
		}, with("Region")),
		failed("empty Region", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": ""})
		}, with("Region")),
		failed("null Region", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": nil})
		}, with("Region")),
		failed("Region a number", "InvalidInput", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": 42})
		}, with("Region")),
		failed("wrong Region", "WrongRegion", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": "eu-west-3"})
		}, func(f *corpusFixture, _ string) []string { return []string{"eu-west-3", f.region} }),
		failed("upper-case Region", "WrongRegion", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": strings.ToUpper(f.region)})
		}, func(f *corpusFixture, _ string) []string { return []string{strings.ToUpper(f.region), f.region} }),
		failed("10,000-character Region", "WrongRegion", func(f *corpusFixture, _ string) string {
			return js(map[string]interface{}{"InstanceIds": []string{f.victim.ID}, "Region": strings.Repeat("x", 10000)})
		}, func(f *corpusFixture, _ string) []string { return []string{"deployed in " + f.region} }),
		succeeded("extra fields", false, func(f *corpusFixture, own string) string {
			return js(map[string]interface{}{"InstanceIds": []string{own}, "Region": f.region,
				"Comment": "web tier alert 4711", "Requester": "soc@example.com", "Priority": 1})
		}),
		failed("terminated instance", "InstanceTerminated", func(f *corpusFixture, _ string) string { return ids(f, f.terminated) },
			func(f *corpusFixture, _ string) []string {
				return []string{f.terminated, "terminated", "Nothing was changed"}
			}),
		failed("terminated and running", "InstanceTerminated", func(f *corpusFixture, _ string) string {
			return ids(f, f.victim.ID, f.terminated)
		}, func(f *corpusFixture, _ string) []string {
			return []string{f.terminated, "terminated", "Nothing was changed"}
		}),
		succeeded("stopped instance", true, func(f *corpusFixture, own string) string { return ids(f, own) }),
		succeeded("nothing to detach", false, func(f *corpusFixture, own string) string { return ids(f, own) }),
		failed("input a list", "InvalidInput", func(*corpusFixture, string) string { return `[]` }, with("InstanceIds")),
		failed("input a string", "InvalidInput", func(*corpusFixture, string) string { return `"x"` }, with("InstanceIds")),
		failed("input a number", "InvalidInput", func(*corpusFixture, string) string { return `42` }, with("InstanceIds")),
		failed("input null", "InvalidInput", func(*corpusFixture, string) string { return `null` }, with("InstanceIds")),
	}
}

// TestBadInputCorpus runs every case of the corpus (the table at the top of
// this file) and checks its outcome; then the victim, whose ID was in every
// rejected input, must be untouched.
func TestBadInputCorpus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &corpusFixture{victim: build(t, scene.CompromisedWebServer()), region: emu.Region()}
	term := build(t, scene.BareInstance())
	if _, err := scenes.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{term.ID}}); err != nil {
		t.Fatal(err)
	}
	f.terminated = term.ID
	cases := badInputs()
	if len(cases) < 25 {
		t.Fatalf("the corpus has %d cases, want at least 25", len(cases))
	}
	var mu sync.Mutex
	var rows []string
	var slowest time.Duration
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				ex := runBadInput(t, f, c)
				if ex == nil {
					return
				}
				took := ex.Stop.Sub(ex.Start)
				mu.Lock()
				defer mu.Unlock()
				slowest = max(slowest, took)
				cause := ex.Cause
				if len(cause) > 100 {
					cause = cause[:100] + "..."
				}
				rows = append(rows, fmt.Sprintf("%-26s %-9s %-20s %5.2fs  %s", c.name, ex.Status, ex.Error, took.Seconds(), cause))
			})
		}
	})
	assertUntouched(t, f.victim)
	sort.Strings(rows)
	t.Logf("bad-input corpus: %d inputs, slowest execution %.1fs", len(cases), slowest.Seconds())
	for _, row := range rows {
		t.Log(row)
	}
}

// runBadInput runs one case of the corpus, checks its outcome and returns
// the execution (nil if there was none).
func runBadInput(t *testing.T, f *corpusFixture, c badInput) *emulator.Execution {
	ctx := context.Background()
	var own *scene.Instance
	ownID := ""
	if c.own != nil {
		own = build(t, *c.own)
		ownID = own.ID
		if c.stopped {
			if _, err := scenes.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{own.ID}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	in := c.input(f, ownID)
	ex, err := emu.RunExecution(ctx, machineARN, in, inputTimeout)
	if err != nil {
		t.Fatalf("no outcome within %s: %v", inputTimeout, err)
	}
	shown := in
	if len(shown) > 300 {
		shown = shown[:300] + "..."
	}
	if ex.Status != c.status {
		t.Fatalf("input %s: status %s (error %q, cause %.1000q), want %s", shown, ex.Status, ex.Error, ex.Cause, c.status)
	}
	if c.status == "SUCCEEDED" {
		out := mustSucceed(t, ex)
		if len(out.Instances) != 1 || len(out.Contained) != 1 || out.Contained[0] != own.ID {
			t.Errorf("output lists %d instances, contained %v; want %s once", len(out.Instances), out.Contained, own.ID)
		}
		if c.stopped {
			assertContainedStopped(t, own, out, ex)
		} else {
			assertContained(t, own, out, ex, 0)
		}
		return ex
	}
	if c.errorName != "" && ex.Error != c.errorName {
		t.Errorf("input %s: error %q, want %q (cause: %.1000s)", shown, ex.Error, c.errorName, ex.Cause)
	}
	for _, p := range c.phrases(f, ownID) {
		if !strings.Contains(ex.Cause, p) {
			t.Errorf("input %s: cause does not say %q: %.1000s", shown, p, ex.Cause)
		}
	}
	assertClearRejection(t, ex)
	return ex
}

// assertClearRejection: a rejected input's cause says nothing was changed
// and reads cleanly: no empty placeholder, no interpreter internals, and it
// fits in a Step Functions cause (32,768 characters).
func assertClearRejection(t *testing.T, ex *emulator.Execution) {
	t.Helper()
	cause := ex.Cause
	if !strings.Contains(cause, "Nothing was changed") {
		t.Errorf("cause does not say that nothing was changed: %.1000s", cause)
	}
	if strings.HasPrefix(ex.Error, "States.") {
		t.Errorf("error %q is the engine's, not one saying what is wrong with the input (cause: %.1000s)", ex.Error, cause)
	}
	for _, bad := range []string{"  ", " .", "for .", "TypeError", "'None'", "<nil>"} {
		if strings.Contains(cause, bad) {
			t.Errorf("cause contains %q (an empty value or an internal name): %.1000s", bad, cause)
		}
	}
	if n := len([]rune(cause)); n > 32768 {
		t.Errorf("cause is %d characters long; Step Functions keeps 32,768", n)
	}
}

// assertContainedStopped is assertContained for an instance that was stopped
// before containment: the metadata records it stopped (assertContained
// expects a running one).
func assertContainedStopped(t *testing.T, inst *scene.Instance, out Output, ex *emulator.Execution) {
	t.Helper()
	assertContainedVariant(t, deployed, inst, out, ex, 0, true, false)
}

// assertContainedOn is assertContained for the deployment d made with the
// given stack parameters: with DisassociateElasticIps=true the instance's
// Elastic IP must be released and reported so (assertContained expects it
// kept), and the record is in d's bucket.
// assertContainedButEvidence checks that an instance whose evidence phase
// failed was contained all the same: tagged, protected, its volumes kept,
// its network isolated.
func assertContainedButEvidence(t *testing.T, inst *scene.Instance, out Output, ex *emulator.Execution) {
	t.Helper()
	sum := withContainment(out, inst.ID).summary(t, inst.ID)
	assertTagged(t, inst, incidentID(ex))
	assertProtected(t, inst, sum)
	assertVolumesKept(t, inst)
	assertNetworkIsolated(t, inst, sum)
}

func assertContainedOn(t *testing.T, d *deploy.Deployment, params map[string]string, inst *scene.Instance, out Output, ex *emulator.Execution, desiredBefore int32) {
	t.Helper()
	if d.StateMachineARN == machineARN {
		assertContained(t, inst, out, ex, desiredBefore)
		return
	}
	assertContainedVariant(t, d, inst, out, ex, desiredBefore, false, params[stack.ParamElasticIPs] == "true")
}

// reliabilityDeployments holds the deployments made for non-default stack
// parameters, by parameters.
var reliabilityDeployments sync.Map

// deploymentFor returns the default deployment for nil params, else a
// deployment (state machine, key and bucket) made once for those
// parameters.
func deploymentFor(t *testing.T, params map[string]string) *deploy.Deployment {
	t.Helper()
	if params == nil {
		return deployed
	}
	var keys []string
	for k, v := range params {
		keys = append(keys, k+"-"+v)
	}
	sort.Strings(keys)
	name := "essential-ir-reliability-" + strings.Join(keys, "-")
	if d, ok := reliabilityDeployments.Load(name); ok {
		return d.(*deploy.Deployment)
	}
	d, err := deploy.Deploy(context.Background(), emu, template, name, params)
	if err != nil {
		t.Fatalf("deploy with %v: %v", params, err)
	}
	actual, _ := reliabilityDeployments.LoadOrStore(name, d)
	return actual.(*deploy.Deployment)
}

// namesAWSError reports whether text names the error of the fault rule: its
// code, or for a response without a body (S3 HEAD) its HTTP status.
func namesAWSError(text string, rule emulator.FaultRule) bool {
	return strings.Contains(text, rule.Code) || strings.Contains(text, fmt.Sprintf("Status Code: %d", rule.Status))
}

// ---------------------------------------------------------------------------
// Idempotency and concurrency.
// ---------------------------------------------------------------------------

// containment is the containment-relevant state of an instance in the
// account.
type containment struct {
	Tags                map[string]string
	AutoScalingGroup    string
	DesiredCapacity     int32
	Termination, Stop   bool
	Shutdown            string
	DeleteOnTermination map[string]bool
	ENIGroups           map[string][]string
	IsolationGroups     int
	IsolationRules      int
	Profiles            []string
	DenyPolicies        []string
	ActiveTargetGroups  []string
	ClassicMember       bool
	ElasticIPHolder     string
}

// readContainment reads the instance's containment-relevant state.
func readContainment(t *testing.T, inst *scene.Instance) containment {
	t.Helper()
	var c containment
	c.Tags = instanceTags(t, inst.ID)
	c.AutoScalingGroup, _ = autoScalingMembership(t, inst.ID)
	if inst.AutoScalingGroupName != "" {
		c.DesiredCapacity = desiredCapacity(t, inst.AutoScalingGroupName)
	}
	c.Termination, c.Stop, c.Shutdown = protection(t, inst.ID)
	c.DeleteOnTermination = deleteOnTermination(t, inst.ID)
	c.ENIGroups = eniGroups(t, inst.ID)
	groups := isolationGroups(t, inst.VPCID)
	c.IsolationGroups = len(groups)
	for _, g := range groups {
		c.IsolationRules += len(g.IpPermissions) + len(g.IpPermissionsEgress)
	}
	c.Profiles = associatedProfiles(t, inst.ID)
	if inst.RoleName != "" {
		for arn, doc := range denyPolicies(t, inst.RoleName) {
			c.DenyPolicies = append(c.DenyPolicies, arn+" "+doc.text)
		}
		sort.Strings(c.DenyPolicies)
	}
	for _, g := range inst.TargetGroupARNs {
		if activeTarget(t, g, inst.ID) {
			c.ActiveTargetGroups = append(c.ActiveTargetGroups, g)
		}
	}
	if inst.ClassicLoadBalancerName != "" {
		c.ClassicMember = classicMember(t, inst.ClassicLoadBalancerName, inst.ID)
	}
	if inst.ElasticIPAllocationID != "" {
		c.ElasticIPHolder = elasticIPHolder(t, inst.ElasticIPAllocationID)
	}
	return c
}

// TestRerunChangesNothingMore runs the workflow a second time on a contained
// web server: it succeeds, reports nothing detached, and leaves every
// containment-relevant part of the account exactly as the first run left
// it (tags, including the first incident's ID; Auto Scaling membership and
// capacity; protections; DeleteOnTermination; the isolation group, the only
// one in its VPC, alone on every ENI; profile, deny policy, target groups,
// classic load balancer, Elastic IP). The first run's evidence is intact,
// one snapshot per volume, and the re-run took none of its own.
// (TestRerunOnContainedInstance checks the record and the output.)
func TestRerunChangesNothingMore(t *testing.T) {
	t.Parallel()
	web := build(t, scene.CompromisedWebServer())
	before := desired(t, web)
	first := run(t, input(emu.Region(), web.ID))
	out1 := mustSucceed(t, first)
	assertContained(t, web, out1, first, before)
	after1 := readContainment(t, web)

	second := run(t, input(emu.Region(), web.ID))
	out2 := mustSucceed(t, second)
	after2 := readContainment(t, web)
	if got := after2.Tags[statemachine.IncidentIDTagKey]; got != incidentID(first) {
		t.Errorf("the re-run replaced the instance's incident ID %s with %s: the link to the first incident's record is lost", incidentID(first), got)
	}
	if !reflect.DeepEqual(after1, after2) {
		t.Errorf("the re-run changed the account:\n after the first run  %+v\n after the second run %+v", after1, after2)
	}
	if after2.IsolationGroups != 1 || after2.IsolationRules != 0 {
		t.Errorf("VPC %s has %d isolation groups with %d rules after the re-run, want 1 with none", web.VPCID, after2.IsolationGroups, after2.IsolationRules)
	}
	if got := after2.Tags["SecurityIncidentStatus"]; got != "Investigation" {
		t.Errorf("after the re-run SecurityIncidentStatus = %q, want Investigation", got)
	}
	sum1, sum2 := out1.summary(t, web.ID), out2.summary(t, web.ID)
	if len(sum2.DetachedFromAutoScalingGroups)+len(sum2.DetachedInstanceProfiles)+len(sum2.DeregisteredFromTargetGroups) != 0 {
		t.Errorf("the re-run reports detaching again: groups %v, profiles %v, target groups %v",
			sum2.DetachedFromAutoScalingGroups, sum2.DetachedInstanceProfiles, sum2.DeregisteredFromTargetGroups)
	}
	if sum2.IsolationGroupId != sum1.IsolationGroupId {
		t.Errorf("the re-run used isolation group %s, the first run %s", sum2.IsolationGroupId, sum1.IsolationGroupId)
	}
	// The first run's evidence: one encrypted snapshot per volume, still
	// there; nothing under the second execution's name.
	assertSnapshotsPreserved(t, web, sum1, incidentID(first))
	for _, snap := range volumeSnapshots(t, web.VolumeIDs) {
		if tagMap(snap.Tags)[statemachine.IncidentIDTagKey] == incidentID(second) {
			t.Errorf("the re-run took snapshot %s of %s: a duplicate of the first run's evidence", aws.ToString(snap.SnapshotId), aws.ToString(snap.VolumeId))
		}
	}
}

// TestTwoExecutionsAtOnceOnOneInstance starts two executions on the same web
// server at once. The defined behaviour: both SUCCEED, neither deletes what
// the other preserved, and the instance ends contained (one isolation group,
// with no rules, alone on every ENI) with every volume's evidence complete:
// a completed, encrypted snapshot tagged with one of the two incidents, and
// no unencrypted one left.
func TestTwoExecutionsAtOnceOnOneInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	web := build(t, scene.CompromisedWebServer())
	before := desired(t, web)
	in := input(emu.Region(), web.ID)
	var arns []string
	for i := 0; i < 2; i++ {
		arn, err := emu.StartExecution(ctx, machineARN, in)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	var executions []*emulator.Execution
	for _, arn := range arns {
		ex, err := emu.WaitExecution(ctx, arn, executionTimeout)
		if err != nil {
			t.Fatal(err)
		}
		executions = append(executions, ex)
	}
	var incidents []string
	for _, ex := range executions {
		incidents = append(incidents, incidentID(ex))
		assertEvidenceKept(t, ex, history(t, ex), web)
		if ex.Status != "SUCCEEDED" {
			t.Errorf("execution %s: %s %s: %s", incidentID(ex), ex.Status, ex.Error, ex.Cause)
		}
	}
	assertAccountContained(t, web, before, incidents)
	preserved := map[string]bool{}
	for _, snap := range volumeSnapshots(t, web.VolumeIDs) {
		tags := tagMap(snap.Tags)
		if !slices.Contains(incidents, tags[statemachine.IncidentIDTagKey]) {
			continue
		}
		if !aws.ToBool(snap.Encrypted) {
			t.Errorf("unencrypted evidence snapshot %s of %s left", aws.ToString(snap.SnapshotId), aws.ToString(snap.VolumeId))
			continue
		}
		if snap.State == ec2types.SnapshotStateCompleted && tags[statemachine.VolumeIDTagKey] == aws.ToString(snap.VolumeId) &&
			tags[statemachine.InstanceIDTagKey] == web.ID {
			preserved[aws.ToString(snap.VolumeId)] = true
		}
	}
	for _, v := range web.VolumeIDs {
		if !preserved[v] {
			t.Errorf("volume %s has no completed, encrypted, tagged evidence snapshot from either execution", v)
		}
	}
}

// assertAccountContained checks the account-side post-conditions of
// containment, for an instance contained by one of several incidents.
func assertAccountContained(t *testing.T, inst *scene.Instance, desiredBefore int32, incidents []string) {
	t.Helper()
	c := readContainment(t, inst)
	if c.Tags["SecurityIncidentStatus"] != "Investigation" || !slices.Contains(incidents, c.Tags[statemachine.IncidentIDTagKey]) {
		t.Errorf("%s: tags %v, want SecurityIncidentStatus=Investigation and an incident ID of %v", inst.ID, c.Tags, incidents)
	}
	if c.AutoScalingGroup != "" || (inst.AutoScalingGroupName != "" && c.DesiredCapacity != desiredBefore) {
		t.Errorf("%s: Auto Scaling group %q, desired capacity %d (want none, capacity kept at %d)", inst.ID, c.AutoScalingGroup, c.DesiredCapacity, desiredBefore)
	}
	if !c.Termination || !c.Stop || c.Shutdown != "stop" {
		t.Errorf("%s: termination protection %v, stop protection %v, shutdown %q", inst.ID, c.Termination, c.Stop, c.Shutdown)
	}
	for vol, del := range c.DeleteOnTermination {
		if del {
			t.Errorf("%s: volume %s still DeleteOnTermination", inst.ID, vol)
		}
	}
	if c.IsolationGroups != 1 || c.IsolationRules != 0 {
		t.Errorf("%s: VPC has %d isolation groups with %d rules, want 1 with none", inst.ID, c.IsolationGroups, c.IsolationRules)
	}
	groups := isolationGroups(t, inst.VPCID)
	for eni, g := range c.ENIGroups {
		if len(groups) != 1 || !reflect.DeepEqual(g, []string{aws.ToString(groups[0].GroupId)}) {
			t.Errorf("%s: ENI %s carries %v, want only the isolation group", inst.ID, eni, g)
		}
	}
	if len(c.Profiles) != 0 || len(c.ActiveTargetGroups) != 0 || c.ClassicMember {
		t.Errorf("%s: profiles %v still associated, still an active target of %v, behind its classic load balancer %v", inst.ID, c.Profiles, c.ActiveTargetGroups, c.ClassicMember)
	}
	if inst.RoleName != "" {
		denied := false
		for _, doc := range denyPolicies(t, inst.RoleName) {
			denied = denied || doc.deniesInstance(inst.ID)
		}
		if !denied {
			t.Errorf("%s: no deny policy on role %s denies its credentials", inst.ID, inst.RoleName)
		}
	}
}

// readThenChange is a step that reads the account and then changes it; the
// test makes the change itself in between, as a second execution would.
type readThenChange struct {
	name string
	spec scene.InstanceSpec
	// hold is the call held back (throttled) until the execution has tried
	// it once, i.e. after its read.
	hold matrixAPI
	// resource is the aws-sdk task resource of that call in the history;
	// param, if set, is a parameter the held call must have, with its value.
	resource     string
	param, value string
	// change makes the change the held call would have made.
	change func(t *testing.T, inst *scene.Instance)
	// answer, if set, is how AWS answers the held call once the change is
	// made, where the emulator answers otherwise.
	answer func(inst *scene.Instance) []emulator.FaultRule
	// via, if set, is a state the execution must have entered: the one
	// that takes AWS's refusal of the held call as the change already made.
	via string
}

// readThenChangeSteps are the steps the workflow runs as a read followed by a
// change that a second execution could make first.
func readThenChangeSteps() []readThenChange {
	ctx := context.Background()
	return []readThenChange{
		{
			name: "isolation group created by the other execution",
			spec: scene.InstanceSpec{Name: "race-group"},
			hold: matrixAPI{Service: "ec2", Action: "CreateSecurityGroup"}, resource: "createSecurityGroup",
			param: "GroupName", value: statemachine.IsolationGroupName,
			via: "Already Done? Create Isolation Group",
			change: func(t *testing.T, inst *scene.Instance) {
				// The other execution has just created the group; it still
				// has the allow-all egress rule every new group starts with.
				if _, err := createIsolationGroup(ctx, inst.VPCID, false); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "all-traffic group created by the other execution",
			spec: scene.InstanceSpec{Name: "race-untrack"},
			hold: matrixAPI{Service: "ec2", Action: "CreateSecurityGroup"}, resource: "createSecurityGroup",
			param: "GroupName", value: statemachine.UntrackGroupName,
			via: "Already Done? Create All-Traffic Group",
			change: func(t *testing.T, inst *scene.Instance) {
				// The other execution has just created the group: it has
				// only the default IPv4 egress rule, none of its own yet.
				if _, err := createUntrackGroup(ctx, inst.VPCID); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "all-traffic group's inbound rules added by the other execution",
			spec: scene.InstanceSpec{Name: "race-allow"},
			hold: matrixAPI{Service: "ec2", Action: "AuthorizeSecurityGroupIngress"}, resource: "authorizeSecurityGroupIngress",
			via: "Allow All Ingress On The New Group: Added By Another Execution",
			change: func(t *testing.T, inst *scene.Instance) {
				group, err := scenes.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
					{Name: aws.String("vpc-id"), Values: []string{inst.VPCID}},
					{Name: aws.String("group-name"), Values: []string{statemachine.UntrackGroupName}},
				}})
				if err != nil || len(group.SecurityGroups) != 1 {
					t.Fatalf("want the all-traffic group the execution created in %s, found %v (%v)", inst.VPCID, group, err)
				}
				if _, err := scenes.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
					GroupId: group.SecurityGroups[0].GroupId,
					IpPermissions: []ec2types.IpPermission{{
						IpProtocol: aws.String("-1"),
						IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
						Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}},
					}},
				}); err != nil {
					t.Fatalf("allow all ingress: %v", err)
				}
			},
		},
		{
			name: "isolation group's outbound rule removed by the other execution",
			spec: scene.InstanceSpec{Name: "race-rule"},
			hold: matrixAPI{Service: "ec2", Action: "RevokeSecurityGroupEgress"}, resource: "revokeSecurityGroupEgress",
			change: func(t *testing.T, inst *scene.Instance) {
				groups := isolationGroups(t, inst.VPCID)
				if len(groups) != 1 || len(groups[0].IpPermissionsEgress) == 0 {
					t.Fatalf("want one isolation group with its outbound rule in %s, found %d", inst.VPCID, len(groups))
				}
				if _, err := scenes.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{
					GroupId: groups[0].GroupId, IpPermissions: groups[0].IpPermissionsEgress,
				}); err != nil {
					t.Fatalf("revoke the outbound rule: %v", err)
				}
			},
		},
		{
			name: "Auto Scaling detach done by the other execution",
			spec: scene.InstanceSpec{Name: "race-asg", AutoScalingGroup: true},
			hold: matrixAPI{Service: "autoscaling", Action: "DetachInstances"}, resource: "detachInstances",
			change: func(t *testing.T, inst *scene.Instance) {
				if _, err := scenes.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{
					AutoScalingGroupName: aws.String(inst.AutoScalingGroupName), InstanceIds: []string{inst.ID},
					ShouldDecrementDesiredCapacity: aws.Bool(false),
				}); err != nil {
					t.Fatalf("detach from %s: %v", inst.AutoScalingGroupName, err)
				}
			},
			// moto detaches an instance that already left its group
			// without complaint; AWS refuses with a ValidationError.
			answer: func(inst *scene.Instance) []emulator.FaultRule {
				return []emulator.FaultRule{{Service: "autoscaling", Action: "DetachInstances", Code: "ValidationError",
					Message: fmt.Sprintf("The instance %s is not part of Auto Scaling group %s.", inst.ID, inst.AutoScalingGroupName),
					Count:   permanentCount}}
			},
		},
		{
			name: "instance profile detached by the other execution",
			spec: scene.InstanceSpec{Name: "race-profile", InstanceProfile: true},
			hold: matrixAPI{Service: "ec2", Action: "DisassociateIamInstanceProfile"}, resource: "disassociateIamInstanceProfile",
			change: func(t *testing.T, inst *scene.Instance) {
				out, err := scenes.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
					Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{inst.ID}}},
				})
				if err != nil || len(out.IamInstanceProfileAssociations) != 1 {
					t.Fatalf("find the profile association: %v", err)
				}
				if _, err := scenes.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{
					AssociationId: out.IamInstanceProfileAssociations[0].AssociationId,
				}); err != nil {
					t.Fatalf("detach the profile: %v", err)
				}
			},
		},
		{
			name: "target deregistered by the other execution",
			spec: scene.InstanceSpec{Name: "race-target", TargetGroups: 1},
			hold: matrixAPI{Service: "elasticloadbalancing", Action: "DeregisterTargets"}, resource: "deregisterTargets",
			change: func(t *testing.T, inst *scene.Instance) {
				if _, err := scenes.ELBv2.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
					TargetGroupArn: aws.String(inst.TargetGroupARNs[0]),
					Targets:        []elbv2types.TargetDescription{{Id: aws.String(inst.ID)}},
				}); err != nil {
					t.Fatalf("deregister from %s: %v", inst.TargetGroupARNs[0], err)
				}
			},
		},
	}
}

// TestChangeBetweenReadAndChange forces, for each read-then-change step, the
// order two executions on one instance can take: both read, the other one
// changes first. The execution's call is held back (throttled, with real
// back-off) until it has tried it once; the test then makes the change
// itself and lets the call through. The execution must SUCCEED with the
// instance contained: the state it wanted is there. It uses the global fault
// layer and time scale, so it does not run in parallel.
func TestChangeBetweenReadAndChange(t *testing.T) {
	for _, step := range readThenChangeSteps() {
		t.Run(step.name, func(t *testing.T) {
			inst := build(t, step.spec)
			defer retireLoadBalancers(t, inst)
			before := desired(t, inst)
			var answer []emulator.FaultRule
			if step.answer != nil {
				answer = step.answer(inst)
			}
			ex := runWithCallHeld(t, inst, step.hold, step.resource, step.param, step.value,
				func() { step.change(t, inst) }, answer)
			events := history(t, ex)
			assertEvidenceKept(t, ex, events, inst)
			if step.via != "" && !slices.ContainsFunc(events, func(e sfntypes.HistoryEvent) bool {
				return e.StateEnteredEventDetails != nil && aws.ToString(e.StateEnteredEventDetails.Name) == step.via
			}) {
				t.Errorf("the execution never entered %q: the held call was not refused as already done", step.via)
			}
			if ex.Status != "SUCCEEDED" {
				t.Fatalf("the state the execution wanted was already there, yet it ended %s: %s: %s", ex.Status, ex.Error, ex.Cause)
			}
			assertContained(t, inst, mustSucceed(t, ex), ex, before)
		})
	}
}

// runWithCallHeld starts an execution on inst with every call of hold held
// back (throttled, with real back-off, so the execution cannot use up its
// retries before the test acts) until the execution has tried resource once
// (with param equal to value, if param is set). It then runs act, answers
// later calls with answer (none: they go through) and waits for the end.
// It uses the global fault layer and time scale: callers do not run in
// parallel.
func runWithCallHeld(t *testing.T, inst *scene.Instance, hold matrixAPI, resource, param, value string,
	act func(), answer []emulator.FaultRule) *emulator.Execution {
	t.Helper()
	ctx := context.Background()
	zero, one := 0.0, 1.0
	t.Cleanup(func() {
		_ = emu.SetFaults(ctx, nil)
		_ = emu.Configure(ctx, emulator.Config{TimeScale: &zero})
	})
	if err := emu.SetFaults(ctx, []emulator.FaultRule{throttleRule(hold, permanentCount)}); err != nil {
		t.Fatal(err)
	}
	if err := emu.Configure(ctx, emulator.Config{TimeScale: &one}); err != nil {
		t.Fatal(err)
	}
	arn, err := emu.StartExecution(ctx, machineARN, input(emu.Region(), inst.ID))
	if err != nil {
		t.Fatal(err)
	}
	waitForAttempt(t, arn, resource, param, value)
	act()
	if err := emu.SetFaults(ctx, answer); err != nil {
		t.Fatal(err)
	}
	if err := emu.Configure(ctx, emulator.Config{TimeScale: &zero}); err != nil {
		t.Fatal(err)
	}
	ex, err := emu.WaitExecution(ctx, arn, executionTimeout)
	if clearErr := emu.SetFaults(ctx, nil); clearErr != nil {
		t.Fatal(clearErr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// waitForAttempt waits until the execution's history shows a failed
// (held-back) call of the aws-sdk resource, with the parameter param equal
// to value if param is set.
func waitForAttempt(t *testing.T, arn, resource, param, value string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(executionTimeout)
	for time.Now().Before(deadline) {
		events, err := emu.HistoryTree(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]sfntypes.HistoryEvent{}
		for _, e := range events {
			byID[e.Id] = e
		}
		for _, e := range events {
			if d := e.TaskFailedEventDetails; d != nil && aws.ToString(d.Resource) == resource {
				if param == "" {
					return
				}
				// TaskFailed follows TaskStarted, which follows TaskScheduled.
				scheduled := byID[byID[e.PreviousEventId].PreviousEventId]
				if sd := scheduled.TaskScheduledEventDetails; sd != nil {
					var params map[string]interface{}
					if json.Unmarshal([]byte(aws.ToString(sd.Parameters)), &params) == nil && params[param] == value {
						return
					}
				}
			}
			if e.ExecutionFailedEventDetails != nil || e.ExecutionSucceededEventDetails != nil {
				ex, _ := emu.Describe(ctx, arn)
				t.Fatalf("the execution ended (%s %s: %s) before it called %s", ex.Status, ex.Error, ex.Cause, resource)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the execution did not call %s within %s", resource, executionTimeout)
}

// TestTargetGroupDeletedDuringTheScan deletes a target group after the
// instance's execution listed it and before it read its targets, as anyone
// may do in a live region: the group serves nobody, so the scan goes on and
// the instance is contained. The reads of target health are held back
// (throttled, with real back-off) until one has been tried; the group is
// deleted meanwhile. It uses the global fault layer and time scale, so it
// does not run in parallel.
func TestTargetGroupDeletedDuringTheScan(t *testing.T) {
	ctx := context.Background()
	inst := build(t, scene.CompromisedWebServer())
	defer retireLoadBalancers(t, inst)
	before := desired(t, inst)
	filler, err := scenes.ELBv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("deleted-" + inst.ID[len(inst.ID)-8:]), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80),
		VpcId: aws.String(inst.VPCID), TargetType: elbv2types.TargetTypeEnumInstance,
	})
	if err != nil {
		t.Fatal(err)
	}
	group := filler.TargetGroups[0].TargetGroupArn
	hold := matrixAPI{Service: "elasticloadbalancing", Action: "DescribeTargetHealth"}
	ex := runWithCallHeld(t, inst, hold, "describeTargetHealth", "TargetGroupArn", aws.ToString(group), func() {
		if _, err := scenes.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: group}); err != nil {
			t.Fatal(err)
		}
	}, nil)
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("a target group the instance was not in was deleted during the scan, and the execution ended %s: %s: %s", ex.Status, ex.Error, ex.Cause)
	}
	assertContained(t, inst, mustSucceed(t, ex), ex, before)
}
