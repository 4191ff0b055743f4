// Package responder groups the packages behind the essential-ir command
// (cmd/essential-ir), which a responder runs against a real AWS account:
//
//   - awsconfig: the AWS configuration, as the AWS CLI builds it (profile,
//     region, endpoint, standard credential chain);
//   - locate: the stack's outputs (state machine, evidence bucket);
//   - execution: start an incident's execution, find its instance
//     executions and follow them step by step;
//   - evidence: read an instance's records in the evidence bucket and
//     verify every SHA-256;
//   - report: the incident report (Markdown, HTML) and the commands that
//     release an instance by hand;
//   - deployment: the read-only check of a deployed stack;
//   - cli: the commands, flags, output formats and exit codes.
package responder
