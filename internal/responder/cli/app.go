// Package cli is the essential-ir command: contain instances and follow
// the containment, show an incident's status, write its report, and check
// a deployment. Run is the whole command; cmd/essential-ir only wires it
// to the process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/essential-ir/essential-ir/internal/responder/locate"
)

// mainHelp is essential-ir --help.
const mainHelp = `essential-ir contains compromised EC2 instances with the essential-ir workflow
(AWS Step Functions), follows the containment, and reports what was changed
and where the evidence is.

Usage:
  essential-ir COMMAND [flags] [arguments]

Commands:
  contain            Contain instances now, and follow it to the end.
                       essential-ir contain --incident inc-2026-11-27-web i-0123456789abcdef0
  status             Where an incident is: each instance's outcome, step, console links.
                       essential-ir status inc-2026-11-27-web
  report             The incident report for the ticket: what changed, before/after,
                     evidence hashes verified, the commands to release by hand.
                       essential-ir report inc-2026-11-27-web > inc-2026-11-27-web.md
  verify-deployment  Check, read only, that the deployed stack can contain and keep evidence.
                       essential-ir verify-deployment

Run essential-ir COMMAND --help for a command's flags.

` + globalHelp + `
Exit codes:
  0    done: every instance contained and its evidence preserved and verified
       (verify-deployment: every check passed)
  2    wrong command line; nothing was done
  3    needs attention: an instance was NOT contained, its evidence was not
       preserved or does not verify, or a deployment check failed
  130  interrupted (Ctrl-C): stopped following; the containment goes on
  253  credentials or configuration (no region, expired or missing credentials)
  254  AWS returned an error (access denied, no such stack or incident)
  255  anything else (AWS could not be reached, ...)
`

// command is one subcommand.
type command struct {
	name string
	help string
	run  func(ctx context.Context, g *globals, args []string, s Streams) (int, error)
	// flags adds the command's own flags.
	flags func(fs *flag.FlagSet)
}

// Run runs the command line args (without the program name) and returns
// the exit code. ctx ending (Ctrl-C) stops what the command follows, never
// what it started.
func Run(ctx context.Context, args []string, s Streams) int {
	g := &globals{output: outputText, stack: locate.DefaultStack}
	top := flag.NewFlagSet("essential-ir", flag.ContinueOnError)
	g.register(top)
	help := top.Bool("help", false, "")
	top.BoolVar(help, "h", false, "")
	top.SetOutput(io.Discard)
	if err := top.Parse(args); err != nil {
		return fail(s, usageError{err.Error()}, mainHelp)
	}
	rest := top.Args()
	if *help || len(rest) == 0 || rest[0] == "help" {
		if len(rest) > 1 && rest[0] == "help" {
			rest = []string{rest[1], "--help"}
		} else {
			io.WriteString(s.Stdout, mainHelp)
			if len(rest) == 0 && !*help {
				return ExitUsage
			}
			return ExitOK
		}
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == rest[0] {
			c := c
			cmd = &c
		}
	}
	if cmd == nil {
		return fail(s, usagef("unknown command %q: use contain, status, report or verify-deployment", rest[0]), "")
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	g.register(fs)
	fs.Bool("help", false, "")
	fs.Bool("h", false, "")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	cmdArgs, err := parse(fs, rest[1:])
	if errors.Is(err, flag.ErrHelp) || isSet(fs, "help") || isSet(fs, "h") {
		io.WriteString(s.Stdout, cmd.help+"\n"+globalHelp)
		return ExitOK
	}
	if err != nil {
		return fail(s, err, cmd.help)
	}
	if err := g.check(); err != nil {
		return fail(s, err, cmd.help)
	}
	code, err := cmd.run(ctx, g, cmdArgs, s)
	if err != nil {
		return fail(s, err, cmd.help)
	}
	return code
}

// commands are the subcommands.
func commands() []command {
	return []command{containCommand(), statusCommand(), reportCommand(), verifyCommand()}
}

// isSet reports whether the boolean flag name was set to true.
func isSet(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Value.String() == "true"
}

// fail prints err, what to do about it, and for a usage error the
// command's help; it returns the exit code.
func fail(s Streams, err error, help string) int {
	code, hint := classify(err)
	if code == ExitInterrupted {
		fmt.Fprintln(s.Stderr, "essential-ir: interrupted")
		return code
	}
	fmt.Fprintf(s.Stderr, "essential-ir: %v\n", err)
	if hint != "" {
		fmt.Fprintf(s.Stderr, "  What to do: %s\n", hint)
	}
	if code == ExitUsage && help != "" {
		fmt.Fprintf(s.Stderr, "\n%s", firstParagraphs(help))
		fmt.Fprintln(s.Stderr, "Run with --help for every flag.")
	}
	return code
}

// firstParagraphs is a help text's description and usage (its first two
// paragraphs).
func firstParagraphs(help string) string {
	parts := strings.SplitN(help, "\n\n", 3)
	if len(parts) < 2 {
		return help + "\n"
	}
	return parts[0] + "\n\n" + parts[1] + "\n\n"
}
