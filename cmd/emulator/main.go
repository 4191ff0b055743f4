// Command emulator starts the emulated AWS account by hand (moto 5.2.1 with
// the project's fixes), deploys the synthesized stack in it, prints how to
// point the AWS CLI at it, and runs until interrupted.
//
//	go run ./cmd/emulator
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/jsii-runtime-go"

	"github.com/essential-ir/essential-ir/internal/deploy"
	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/synth"
)

func main() {
	noMachine := flag.Bool("no-state-machine", false, "start the account only, without creating the state machine")
	flag.Parse()
	if err := run(*noMachine); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

func run(noMachine bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	emu, err := emulator.Start(startCtx, emulator.Options{})
	cancel()
	if err != nil {
		return err
	}
	defer emu.Stop()

	arn := "(not created)"
	if !noMachine {
		tpl, err := synth.Synthesize()
		jsii.Close()
		if err != nil {
			return err
		}
		d, err := deploy.Deploy(ctx, emu, tpl, "essential-ir", nil)
		if err != nil {
			return err
		}
		arn = d.StateMachineARN
		fmt.Printf("Evidence bucket: %s\nState machine role: %s\n", d.Bucket, d.RoleARN)
	}
	fmt.Printf(`Emulated AWS account %s in %s is running. In another shell:

  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=%s
  aws ec2 describe-instances
  aws stepfunctions start-execution --state-machine-arn %s \
      --input '{"InstanceIds": ["i-..."], "Region": "%s"}'

State machine: %s
Press Ctrl-C to stop (the account's state is lost).
`, emu.AccountID(), emu.Region(), emu.Endpoint(), emu.Region(), arn, emu.Region(), arn)
	<-ctx.Done()
	return nil
}
