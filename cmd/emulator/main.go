// Command emulator starts the emulated AWS account by hand (moto 5.2.1 with
// the project's fixes), deploys the synthesized stack in it, prints how to
// point the AWS CLI (and the essential-ir command) at it, and runs until
// interrupted. -web-server also builds the demo's compromised web server, to
// contain by hand.
//
//	go run ./cmd/emulator [-web-server]
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
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/internal/synth"
)

func main() {
	noMachine := flag.Bool("no-state-machine", false, "start the account only, without creating the state machine")
	webServer := flag.Bool("web-server", false, "also build the demo's compromised web server, to contain by hand")
	flag.Parse()
	if err := run(*noMachine, *webServer); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

func run(noMachine, webServer bool) error {
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

	var web string
	if webServer {
		inst, err := scene.New(emu.AWSConfig()).Instance(ctx, scene.CompromisedWebServer())
		if err != nil {
			return fmt.Errorf("build the compromised web server: %w", err)
		}
		web = inst.ID
	}
	fmt.Printf(`Emulated AWS account %s in %s is running. In another shell:

  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=%s
  aws ec2 describe-instances
  aws stepfunctions start-execution --state-machine-arn %s \
      --input '{"InstanceIds": ["i-..."], "Region": "%s"}'

State machine: %s
Press Ctrl-C to stop (the account's state is lost).
`, emu.AccountID(), emu.Region(), emu.Endpoint(), emu.Region(), arn, emu.Region(), arn)
	if web != "" {
		fmt.Printf(`
Compromised web server: %s. Contain it with the essential-ir command (Documentation/cli.md):

  export AWS_ENDPOINT_URL=%s AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=%s
  go run ./cmd/essential-ir contain --state-machine %s --incident inc-web %s
  go run ./cmd/essential-ir report --state-machine %s inc-web > inc-web.md
`, web, emu.Endpoint(), emu.Region(), arn, web, arn)
	}
	<-ctx.Done()
	return nil
}
