package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/essential-ir/essential-ir/internal/responder/awsconfig"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
	"github.com/essential-ir/essential-ir/internal/responder/report"
)

const reportHelp = `essential-ir report: the incident report, for the incident ticket.

Usage:
  essential-ir report [--html] [--file PATH] INCIDENT-ID | EXECUTION-ARN

For each instance: its outcome (and if it failed, the step and the cause),
what the workflow changed, the instance before (as recorded in the evidence
bucket) and now, side by side, where the evidence is (bucket, keys, version
IDs) with every SHA-256 in hex (as sha256sum prints it) and base64 (as S3
gives it), and the AWS CLI commands that release it by hand.

Every evidence object is read and its SHA-256 checked against its bytes, S3's
checksum, the execution history and the record's manifest; a version written
over the evidence, deleted or changed is reported loudly, on stderr too, and
the exit code is 3. Reads only.

Flags:
  --html          write a standalone HTML page instead of Markdown
  --file PATH     write the report to PATH instead of stdout
  --bucket NAME   the evidence bucket, if the executions do not name it
  (--output json writes the report's data, verification included, as JSON)

Examples:
  essential-ir report inc-2026-11-27-web > inc-2026-11-27-web.md
  essential-ir report --html --file inc-2026-11-27-web.html inc-2026-11-27-web`

func reportCommand() command {
	var (
		html   bool
		file   string
		bucket string
	)
	return command{
		name: "report",
		help: reportHelp,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&html, "html", false, "")
			fs.StringVar(&file, "file", "", "")
			fs.StringVar(&bucket, "bucket", "", "")
		},
		run: func(ctx context.Context, g *globals, args []string, s Streams) (int, error) {
			if len(args) != 1 {
				return 0, usagef("give one incident ID or execution ARN")
			}
			cfg, arn, stackBucket, err := incidentExecution(ctx, g, args[0])
			if err != nil {
				return 0, err
			}
			if bucket == "" {
				bucket = stackBucket
			}
			inc, err := execution.Read(ctx, sfn.NewFromConfig(cfg), arn)
			if err != nil {
				return 0, err
			}
			r, err := report.Build(ctx, cfg, inc, report.Options{Bucket: bucket, Live: true, S3Options: awsconfig.S3Options(cfg)})
			if err != nil {
				return 0, err
			}
			var buf bytes.Buffer
			switch {
			case g.output == outputJSON:
				err = writeJSON(&buf, r)
			case html:
				err = report.WriteHTML(&buf, r)
			default:
				err = report.WriteMarkdown(&buf, r)
			}
			if err != nil {
				return 0, err
			}
			if file != "" {
				if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
					return 0, fmt.Errorf("write the report: %w", err)
				}
				fmt.Fprintf(s.Stderr, "Report of incident %s written to %s.\n", inc.IncidentID, file)
			} else if _, err := s.Stdout.Write(buf.Bytes()); err != nil {
				return 0, fmt.Errorf("write the report: %w", err)
			}
			return reportCode(s, r), nil
		},
	}
}

// reportCode says on stderr what needs attention, so it shows on the
// terminal while the report goes to a file, and returns the exit code.
func reportCode(s Streams, r *report.Report) int {
	for _, i := range r.Instances {
		v := i.Verification
		var problems []string
		problems = append(problems, v.Problems...)
		for _, o := range v.Objects {
			for _, p := range o.Problems {
				problems = append(problems, o.Key+": "+p)
			}
		}
		if len(problems) > 0 {
			fmt.Fprintf(s.Stderr, "essential-ir: THE EVIDENCE OF %s DOES NOT VERIFY:\n  %s\n", i.InstanceID, strings.Join(problems, "\n  "))
		}
		if i.Outcome == execution.OutcomeNotContained || i.Outcome == execution.OutcomeEvidenceNotPreserved {
			fmt.Fprintf(s.Stderr, "essential-ir: %s: %s: %s: %s\n", i.InstanceID, instanceOutcome(i.Instance), i.Error, shorten(i.Cause, 300))
		}
	}
	if r.NeedsAttention() {
		return ExitAttention
	}
	if r.EvidenceOK() {
		n := 0
		for _, i := range r.Instances {
			n += len(i.Verification.Objects)
		}
		fmt.Fprintf(s.Stderr, "Evidence verified: %d objects, every SHA-256 as recorded.\n", n)
	}
	return ExitOK
}
