package deploy

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"github.com/essential-ir/essential-ir/internal/cfn"
)

// request is one resource to create: its stack, its logical ID and its
// properties, resolved, without the ignored ones.
type request struct {
	stackName, logicalID string
	props                map[string]interface{}
}

// resourceType is how the emulated deployment creates resources of one
// CloudFormation type.
type resourceType struct {
	// props is the struct of the properties honoured: each of its fields
	// (and nested fields) is applied to the resource it creates.
	props reflect.Type
	// ignored are the properties accepted without effect, each with the
	// reason.
	ignored map[string]string
	// create creates one resource from its resolved properties.
	create func(ctx context.Context, a *account, r request) (*physical, error)
	// attributes are the attributes Fn::GetAtt gives, and noRef is set
	// when the type has no Ref value: create's physical must agree.
	attributes []string
	noRef      bool
}

// resourceTypes are the types the emulated deployment creates. Any other
// type is refused: "not supported by the emulated deployment".
var resourceTypes = map[string]resourceType{
	"AWS::KMS::Key": {props: reflect.TypeOf(kmsKey{}), create: createKey, attributes: []string{"Arn", "KeyId"}, ignored: map[string]string{
		"PendingWindowInDays": "the waiting period before the key is deleted; the emulated deployment never deletes",
	}},
	"AWS::KMS::Alias": {props: reflect.TypeOf(kmsAlias{}), create: createAlias},
	"AWS::S3::Bucket": {props: reflect.TypeOf(s3Bucket{}), create: createBucket,
		attributes: []string{"Arn", "DomainName", "RegionalDomainName", "DualStackDomainName"}},
	"AWS::S3::BucketPolicy":            {props: reflect.TypeOf(s3BucketPolicy{}), create: createBucketPolicy, noRef: true},
	"AWS::IAM::Role":                   {props: reflect.TypeOf(iamRole{}), create: createRole, attributes: []string{"Arn", "RoleId"}},
	"AWS::IAM::Policy":                 {props: reflect.TypeOf(iamPolicy{}), create: createPolicy},
	"AWS::Logs::LogGroup":              {props: reflect.TypeOf(logGroup{}), create: createLogGroup, attributes: []string{"Arn"}},
	"AWS::StepFunctions::StateMachine": {props: reflect.TypeOf(stateMachine{}), create: createStateMachine, attributes: []string{"Arn", "Name"}},
}

// resourceAttributes are the resource attributes (beside Type, Properties,
// Condition and DependsOn, which internal/cfn honours) accepted without
// effect, each with the reason. Any other (CreationPolicy: resource
// signals) is refused.
var resourceAttributes = map[string]string{
	"Metadata":            "information for tools (cdk_nag suppressions, CDK paths); CloudFormation does not pass it to the resource",
	"DeletionPolicy":      "applies when the stack deletes the resource; the emulated deployment only creates, and the account ends with the emulator",
	"UpdateReplacePolicy": "applies when a stack update replaces the resource; the emulated deployment only creates",
	"UpdatePolicy":        "applies to stack updates; the emulated deployment only creates",
}

// checkSupported refuses, before anything is created, a template with a
// resource type, a resource attribute or a top-level property the emulated
// deployment cannot honour. Nested properties are checked when the
// resource's properties are resolved.
func checkSupported(tpl *cfn.Template) error {
	for _, id := range tpl.ResourceIDs() {
		r := tpl.Resources[id]
		typ, ok := resourceTypes[r.Type]
		if !ok {
			return fmt.Errorf("resource %s: not supported by the emulated deployment: %s", id, r.Type)
		}
		for _, attr := range sortedNames(r.Attributes) {
			if _, ok := resourceAttributes[attr]; !ok {
				return fmt.Errorf("resource %s: resource attribute %s is not supported by the emulated deployment", id, attr)
			}
		}
		for _, p := range sortedNames(r.Properties) {
			if _, ok := typ.ignored[p]; ok {
				continue
			}
			if _, ok := typ.props.FieldByName(p); !ok {
				return fmt.Errorf("resource %s: property %s of %s is not supported by the emulated deployment", id, p, r.Type)
			}
		}
	}
	return nil
}

// sortedNames returns an object's keys, sorted.
func sortedNames(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
