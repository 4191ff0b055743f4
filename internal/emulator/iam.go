package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// The emulated account enforces IAM (iam_enforce.py): every call the state
// machine engine makes is authorised against the execution role's policies,
// read from the emulated IAM at call time, and a refused call answers with
// the service's own access-denied error. A state machine whose role does not
// exist, or does not trust states.amazonaws.com, has every call refused.

// StatesTrustPolicy is the trust policy an execution role needs: it lets
// Step Functions assume the role.
const StatesTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"states.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// AllowAllPolicy is the inline policy of the role CreateStateMachine uses:
// every action on every resource. It is an explicit allow-all, so IAM
// enforcement stays on (its calls are still matched against the table of
// authorisations, and an API without an entry is still refused) while tests
// that are not about permissions are not limited by them.
const AllowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"EmulatorAllowAll","Effect":"Allow","Action":"*","Resource":"*"}]}`

const allowAllRoleName = "essential-ir-emulator-sfn"

// RoleARN is the execution role CreateStateMachine gives its state machines.
// It exists in the emulated account once a state machine has been created
// with it (or EnsureAllowAllRole has run), trusts states.amazonaws.com and has
// one inline policy, AllowAllPolicy.
func (e *Emulator) RoleARN() string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", accountID, allowAllRoleName)
}

// EnsureAllowAllRole creates RoleARN's role with AllowAllPolicy, once.
func (e *Emulator) EnsureAllowAllRole(ctx context.Context) error {
	e.roleMu.Lock()
	defer e.roleMu.Unlock()
	if e.roleReady {
		return nil
	}
	if _, err := e.CreateExecutionRole(ctx, allowAllRoleName, map[string]string{"essential-ir-emulator-allow-all": AllowAllPolicy}); err != nil {
		var exists *iamtypes.EntityAlreadyExistsException
		if !errors.As(err, &exists) {
			return err
		}
	}
	e.roleReady = true
	return nil
}

// CreateExecutionRole creates a role that Step Functions may assume
// (StatesTrustPolicy) with the given inline policies (name -> JSON document)
// and returns its ARN.
func (e *Emulator) CreateExecutionRole(ctx context.Context, name string, inlinePolicies map[string]string) (string, error) {
	c := iam.NewFromConfig(e.AWSConfig())
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(StatesTrustPolicy),
	})
	if err != nil {
		return "", fmt.Errorf("emulator: creating role %s: %w", name, err)
	}
	names := make([]string, 0, len(inlinePolicies))
	for n := range inlinePolicies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName:       aws.String(name),
			PolicyName:     aws.String(n),
			PolicyDocument: aws.String(inlinePolicies[n]),
		}); err != nil {
			return "", fmt.Errorf("emulator: policy %s of role %s: %w", n, name, err)
		}
	}
	return aws.ToString(out.Role.Arn), nil
}

// CreateStateMachine creates a STANDARD state machine with RoleARN (allow-all,
// created on first use) and returns its ARN. Names must be unique; that is
// the caller's concern.
func (e *Emulator) CreateStateMachine(ctx context.Context, name, definition string) (string, error) {
	if err := e.EnsureAllowAllRole(ctx); err != nil {
		return "", err
	}
	return e.CreateStateMachineWithRole(ctx, name, definition, e.RoleARN())
}

// CreateStateMachineWithRole creates a STANDARD state machine whose
// executions run as roleARN: every call they make is authorised against that
// role's policies as they are at the time of the call.
func (e *Emulator) CreateStateMachineWithRole(ctx context.Context, name, definition, roleARN string) (string, error) {
	out, err := e.sfnClient.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		Definition: aws.String(definition),
		RoleArn:    aws.String(roleARN),
		Type:       sfntypes.StateMachineTypeStandard,
	})
	if err != nil {
		return "", fmt.Errorf("emulator: creating state machine %q: %w", name, err)
	}
	return aws.ToString(out.StateMachineArn), nil
}

// Denial is one engine call the emulated account refused.
type Denial struct {
	// Service and Action as in Call ("ec2", "ModifyNetworkInterfaceAttribute").
	Service, Action string
	// IAMAction and Resource are the authorisation that failed
	// ("ec2:ModifyNetworkInterfaceAttribute" on a security group's ARN;
	// "kms:GenerateDataKey" on a key for an S3 PutObject).
	IAMAction, Resource string
	// Reason is AWS's phrase ("because no identity-based policy allows the
	// ec2:X action", "with an explicit deny in an identity-based policy"), or
	// the emulator's for a call it has no authorisation rule for.
	Reason string
	// Code and Status are the error answered (UnauthorizedOperation, 403).
	Code   string
	Status int
	// Message is the error message sent.
	Message string
	// Principal is the role session; Role the execution role ARN.
	Principal, Role string
	// StateMachine and Execution made the call (when known).
	StateMachine, Execution string
	// Policy and Statement name the statement of an explicit deny.
	Policy, Statement string
	Time              time.Time
}

func (d Denial) String() string {
	s := fmt.Sprintf("%s %s: %s on %s %s (%s %d)", d.Service, d.Action, d.IAMAction, d.Resource, d.Reason, d.Code, d.Status)
	if d.Statement != "" {
		s += fmt.Sprintf("; statement %s in %s", d.Statement, d.Policy)
	}
	if d.Execution != "" {
		s += "; execution " + d.Execution
	}
	return s
}

type wireDenial struct {
	Service      string  `json:"service"`
	Action       string  `json:"action"`
	IAMAction    string  `json:"iam_action"`
	Resource     string  `json:"resource"`
	Reason       string  `json:"reason"`
	Code         string  `json:"code"`
	Status       int     `json:"status"`
	Message      string  `json:"message"`
	Principal    string  `json:"principal"`
	Role         string  `json:"role"`
	StateMachine string  `json:"state_machine"`
	Execution    string  `json:"execution"`
	Policy       string  `json:"policy"`
	Statement    string  `json:"statement"`
	Time         float64 `json:"time"`
}

// Denials returns the engine calls refused so far, in order.
func (e *Emulator) Denials(ctx context.Context) ([]Denial, error) {
	var wire []wireDenial
	if err := e.control(ctx, http.MethodGet, "/_emulator/denials", nil, &wire); err != nil {
		return nil, err
	}
	out := make([]Denial, len(wire))
	for i, w := range wire {
		sec, frac := math.Modf(w.Time)
		out[i] = Denial{
			Service: w.Service, Action: w.Action, IAMAction: w.IAMAction, Resource: w.Resource,
			Reason: w.Reason, Code: w.Code, Status: w.Status, Message: w.Message,
			Principal: w.Principal, Role: w.Role, StateMachine: w.StateMachine, Execution: w.Execution,
			Policy: w.Policy, Statement: w.Statement, Time: time.Unix(int64(sec), int64(frac*1e9)),
		}
	}
	return out, nil
}

// DenialsOf returns the refused calls made by one execution.
func (e *Emulator) DenialsOf(ctx context.Context, executionARN string) ([]Denial, error) {
	all, err := e.Denials(ctx)
	if err != nil {
		return nil, err
	}
	var out []Denial
	for _, d := range all {
		if d.Execution == executionARN {
			out = append(out, d)
		}
	}
	return out, nil
}

// ResetDenials forgets the recorded denials.
func (e *Emulator) ResetDenials(ctx context.Context) error {
	return e.control(ctx, http.MethodPost, "/_emulator/denials/reset", nil, nil)
}

// FormatDenials renders denials one per line, for a failing test's message.
func FormatDenials(ds []Denial) string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Grant is one call the emulated account allowed, with the statements of
// the role's identity-based policies that allow it (recorded only between
// RecordGrants(true) and RecordGrants(false)). A statement that is the only
// one allowing some call is needed by the workflow.
type Grant struct {
	Role, IAMAction, Resource string
	Statements                []GrantStatement
}

// GrantStatement names one statement: its policy (as the emulator names
// it: "inline policy <name> of role <role>", or a managed policy's ARN) and
// its index in the policy's Statement list.
type GrantStatement struct {
	Policy string `json:"policy"`
	Index  int    `json:"index"`
	Sid    string `json:"sid"`
}

// RecordGrants turns the recording of grants on or off; either way it
// forgets what was recorded.
func (e *Emulator) RecordGrants(ctx context.Context, on bool) error {
	return e.control(ctx, http.MethodPost, "/_emulator/grants/record", map[string]bool{"on": on}, nil)
}

// Grants returns the grants recorded since RecordGrants(true).
func (e *Emulator) Grants(ctx context.Context) ([]Grant, error) {
	var wire []struct {
		Role       string           `json:"role"`
		IAMAction  string           `json:"iam_action"`
		Resource   string           `json:"resource"`
		Statements []GrantStatement `json:"statements"`
	}
	if err := e.control(ctx, http.MethodGet, "/_emulator/grants", nil, &wire); err != nil {
		return nil, err
	}
	out := make([]Grant, len(wire))
	for i, w := range wire {
		out[i] = Grant{Role: w.Role, IAMAction: w.IAMAction, Resource: w.Resource, Statements: w.Statements}
	}
	return out, nil
}
