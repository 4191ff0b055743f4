package deployment

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// definitionFacts are what a deployed definition says about the
// deployment.
type definitionFacts struct {
	// actions are the IAM actions its tasks need, lower case.
	actions map[string]bool
	// startedMachines are the state machines its tasks start.
	startedMachines []string
	// buckets are the buckets its tasks write to or read from.
	buckets []string
}

// iamPrefixes are the IAM prefixes of the aws-sdk service names that
// differ.
var iamPrefixes = map[string]string{"elasticloadbalancingv2": "elasticloadbalancing", "sfn": "states"}

// iamActions are the IAM actions of the API calls whose action is not
// named after the call.
var iamActions = map[string]string{
	"s3:headobject":                 "s3:GetObject",
	"s3:getobjectlockconfiguration": "s3:GetBucketObjectLockConfiguration",
	"s3:listobjectversions":         "s3:ListBucketVersions",
	"s3:listobjectsv2":              "s3:ListBucket",
	"s3:headbucket":                 "s3:ListBucket",
}

// syncActions are what a .sync start of another state machine needs
// besides states:StartExecution (Step Functions Developer Guide, "IAM
// policies for starting a new execution").
var syncActions = []string{"states:DescribeExecution", "states:StopExecution", "events:PutTargets", "events:PutRule", "events:DescribeRule"}

// readDefinition walks an ASL definition, nested states included.
func readDefinition(definition string) (*definitionFacts, error) {
	var root interface{}
	if err := json.Unmarshal([]byte(definition), &root); err != nil {
		return nil, fmt.Errorf("read the definition: %w", err)
	}
	f := &definitionFacts{actions: map[string]bool{}}
	buckets := map[string]bool{}
	var walk func(v interface{})
	walk = func(v interface{}) {
		switch x := v.(type) {
		case map[string]interface{}:
			if x["Type"] == "Task" {
				if r, ok := x["Resource"].(string); ok {
					f.task(r, x, buckets)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []interface{}:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(root)
	for b := range buckets {
		f.buckets = append(f.buckets, b)
	}
	sort.Strings(f.buckets)
	sort.Strings(f.startedMachines)
	return f, nil
}

// task records what one Task state needs.
func (f *definitionFacts) task(resource string, state map[string]interface{}, buckets map[string]bool) {
	params, _ := state["Parameters"].(map[string]interface{})
	// arn:<partition>:states:::<integration>
	parts := strings.SplitN(resource, ":::", 2)
	if len(parts) != 2 {
		return
	}
	integration := parts[1]
	switch {
	case strings.HasPrefix(integration, "aws-sdk:"):
		f.sdkCall(strings.TrimPrefix(integration, "aws-sdk:"))
		if s, ok := params["Bucket"].(string); ok && strings.HasPrefix(integration, "aws-sdk:s3:") {
			buckets[s] = true
		}
	case strings.HasPrefix(integration, "states:startExecution"):
		f.actions["states:startexecution"] = true
		if strings.Contains(integration, ".sync") {
			for _, a := range syncActions {
				f.actions[strings.ToLower(a)] = true
			}
		}
		if m, ok := params["StateMachineArn"].(string); ok && !containsString(f.startedMachines, m) {
			f.startedMachines = append(f.startedMachines, m)
		}
	}
}

// sdkCall records the IAM action of an aws-sdk integration
// ("ec2:describeInstances", with an optional .waitForTaskToken).
func (f *definitionFacts) sdkCall(call string) {
	call = strings.SplitN(call, ".", 2)[0]
	service, action, ok := strings.Cut(call, ":")
	if !ok || action == "" {
		return
	}
	if p, ok := iamPrefixes[service]; ok {
		service = p
	}
	key := strings.ToLower(service + ":" + action)
	if a, ok := iamActions[key]; ok {
		key = strings.ToLower(a)
	}
	f.actions[key] = true
}

// merge adds g's facts to f.
func (f *definitionFacts) merge(g *definitionFacts) {
	for a := range g.actions {
		f.actions[a] = true
	}
	for _, b := range g.buckets {
		if !containsString(f.buckets, b) {
			f.buckets = append(f.buckets, b)
		}
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RequiredActions lists the IAM actions an ASL definition's tasks need,
// lower case, sorted: each aws-sdk call's action (with the IAM prefix and
// name where they differ from the SDK's), and StartExecution with what a
// .sync start needs.
func RequiredActions(definition string) ([]string, error) {
	f, err := readDefinition(definition)
	if err != nil {
		return nil, err
	}
	var out []string
	for a := range f.actions {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}
