package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/essential-ir/essential-ir/internal/responder/awsconfig"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
	"github.com/essential-ir/essential-ir/internal/responder/locate"
)

// Exit codes, as the AWS CLI's where they overlap.
const (
	// ExitOK: done, and nothing needs attention.
	ExitOK = 0
	// ExitUsage: the command line is wrong; nothing was done.
	ExitUsage = 2
	// ExitAttention: the command ran, and found something a responder
	// must act on: an instance NOT contained, evidence not preserved or
	// not verifying, an execution that did not succeed, a deployment check
	// that failed.
	ExitAttention = 3
	// ExitInterrupted: Ctrl-C stopped the command; an execution it
	// started or followed goes on.
	ExitInterrupted = 130
	// ExitEnvironment: credentials or configuration are missing or
	// rejected (no region, expired token, unknown profile).
	ExitEnvironment = 253
	// ExitService: AWS answered with an error (access denied, not found).
	ExitService = 254
	// ExitOther: anything else (the endpoint could not be reached, ...).
	ExitOther = 255
)

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...interface{}) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// credentialCodes are the AWS error codes that mean the credentials were
// rejected: the environment, not the request, needs fixing.
var credentialCodes = map[string]bool{
	"ExpiredToken": true, "ExpiredTokenException": true, "InvalidClientTokenId": true, "UnrecognizedClientException": true,
	"SignatureDoesNotMatch": true, "InvalidAccessKeyId": true, "AuthFailure": true, "RequestExpired": true, "InvalidToken": true,
}

// classify returns the exit code for err and what the responder can do
// about it ("" when the error says it).
func classify(err error) (int, string) {
	var u usageError
	var apiErr smithy.APIError
	var netErr net.Error
	var opErr *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &u):
		return ExitUsage, ""
	case errors.Is(err, context.Canceled):
		return ExitInterrupted, ""
	case errors.Is(err, awsconfig.ErrNoRegion):
		return ExitEnvironment, ""
	case strings.Contains(msg, "failed to get shared config profile"):
		return ExitEnvironment, "no such profile: list them with aws configure list-profiles"
	case strings.Contains(msg, "get identity") || strings.Contains(msg, "failed to retrieve credentials") ||
		strings.Contains(msg, "failed to refresh cached credentials") || strings.Contains(msg, "load the AWS configuration"):
		return ExitEnvironment, "check your credentials: aws sts get-caller-identity (--profile NAME); for SSO, aws sso login"
	case errors.As(err, &apiErr) && credentialCodes[apiErr.ErrorCode()]:
		return ExitEnvironment, "your credentials were rejected (" + apiErr.ErrorCode() + "): refresh them (aws sso login, or new keys) and run the command again"
	case errors.Is(err, locate.ErrStackNotFound):
		return ExitService, "deploy the stack (cdk deploy), or pass --stack NAME or --state-machine ARN; check --region and --profile"
	case errors.Is(err, execution.ErrIncidentExists):
		return ExitService, "follow that incident with: essential-ir status INCIDENT; or give this containment another incident ID"
	case errors.As(err, &apiErr):
		code := apiErr.ErrorCode()
		switch {
		case strings.Contains(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "AuthorizationError":
			return ExitService, "your identity is not allowed this call: use a responder role that is (the error names the action)"
		case code == "ExecutionDoesNotExist":
			return ExitService, "no such incident: check the incident ID, --region, and the state machine (--stack or --state-machine)"
		case code == "StateMachineDoesNotExist":
			return ExitService, "check --state-machine, or the stack's StateMachineArn output, and --region"
		}
		return ExitService, ""
	case errors.As(err, &opErr) || errors.As(err, &netErr):
		return ExitOther, "AWS could not be reached: check the network, --region and --endpoint-url (AWS_ENDPOINT_URL)"
	}
	return ExitOther, ""
}
