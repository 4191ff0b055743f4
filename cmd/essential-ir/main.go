// Command essential-ir is the responder's command line for the essential-ir
// containment workflow: contain instances and follow the containment,
// show an incident's status, write the incident report with its evidence
// verified, and check a deployment. It uses the AWS CLI's credential chain,
// profiles, regions and endpoint settings.
//
//	go install ./cmd/essential-ir
//	essential-ir --help
//
// See Documentation/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/essential-ir/essential-ir/internal/responder/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// A second Ctrl-C ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.Run(ctx, os.Args[1:], cli.OSStreams())
	stop()
	os.Exit(code)
}
