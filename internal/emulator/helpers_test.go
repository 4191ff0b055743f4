package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// emu is the emulator shared by every test of this package.
var emu *Emulator

func TestMain(m *testing.M) { os.Exit(RunTestMain(m, &emu)) }

var nameSeq atomic.Int64

// uniqueName returns a state machine name unique in this test binary.
func uniqueName(t *testing.T) string {
	t.Helper()
	n := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(n) > 60 {
		n = n[:60]
	}
	return fmt.Sprintf("%s-%d", n, nameSeq.Add(1))
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// asl marshals a definition written as Go maps.
func asl(t *testing.T, def map[string]any) string {
	t.Helper()
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatalf("marshal definition: %v", err)
	}
	return string(b)
}

// runDef creates a state machine from def and runs it to completion.
func runDef(t *testing.T, def map[string]any, input any) *Execution {
	t.Helper()
	ctx := testCtx(t)
	arn, err := emu.CreateStateMachine(ctx, uniqueName(t), asl(t, def))
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatalf("marshal input: %v", err)
	}
	ex, err := emu.RunExecution(ctx, arn, string(in), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func mustSucceed(t *testing.T, ex *Execution) {
	t.Helper()
	if ex.Status != "SUCCEEDED" {
		t.Fatalf("execution %s: status %s, error %q, cause %q", ex.ARN, ex.Status, ex.Error, ex.Cause)
	}
}

// scene is a small VPC with one running instance.
type scene struct {
	ec2      *ec2.Client
	vpc      string
	subnet   string
	sg       string
	instance string
}

func newScene(t *testing.T) *scene {
	t.Helper()
	ctx := testCtx(t)
	c := ec2.NewFromConfig(emu.AWSConfig())
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	s := &scene{ec2: c, vpc: aws.ToString(vpc.Vpc.VpcId)}
	sub, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(s.vpc), CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	s.subnet = aws.ToString(sub.Subnet.SubnetId)
	s.sg = s.securityGroup(t, "app")
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId:          aws.String("ami-12c6146b"),
		InstanceType:     ec2types.InstanceTypeT3Micro,
		MinCount:         aws.Int32(1),
		MaxCount:         aws.Int32(1),
		SubnetId:         aws.String(s.subnet),
		SecurityGroupIds: []string{s.sg},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	s.instance = aws.ToString(run.Instances[0].InstanceId)
	return s
}

func (s *scene) securityGroup(t *testing.T, name string) string {
	t.Helper()
	out, err := s.ec2.CreateSecurityGroup(testCtx(t), &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(fmt.Sprintf("%s-%d", name, nameSeq.Add(1))),
		Description: aws.String(name),
		VpcId:       aws.String(s.vpc),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	return aws.ToString(out.GroupId)
}

func (s *scene) describeInstance(t *testing.T) ec2types.Instance {
	t.Helper()
	out, err := s.ec2.DescribeInstances(testCtx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{s.instance}})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	return out.Reservations[0].Instances[0]
}

func groupIDs(groups []ec2types.GroupIdentifier) []string {
	ids := make([]string, 0, len(groups))
	for _, g := range groups {
		ids = append(ids, aws.ToString(g.GroupId))
	}
	return ids
}

// sdk returns an aws-sdk Task state.
func sdk(resource string, params map[string]any, next string) map[string]any {
	st := map[string]any{"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:" + resource, "Parameters": params}
	if next == "" {
		st["End"] = true
	} else {
		st["Next"] = next
	}
	return st
}

func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// withTimeScale sets the emulator's time scale for the rest of the test, and
// back to 0 after it. Tests that use it must not run in parallel.
func withTimeScale(t *testing.T, scale float64) {
	t.Helper()
	if err := emu.Configure(testCtx(t), Config{TimeScale: &scale}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := 0.0
		_ = emu.Configure(context.Background(), Config{TimeScale: &zero})
	})
}
