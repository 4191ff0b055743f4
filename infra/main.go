// Command infra is the CDK app of essential-ir: it synthesizes the
// containment stack (cdk synth / cdk deploy run it through cdk.json) and
// checks it with cdk-nag's AWS Solutions rules.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	stack.New(app, "EssentialIr", &stack.Props{StackProps: awscdk.StackProps{
		Description: jsii.String("essential-ir: contains compromised EC2 instances and preserves their evidence (AWS Step Functions)"),
	}})
	app.Synth(nil)
}
