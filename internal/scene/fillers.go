package scene

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"
)

// Fillers are empty load balancers that fill a region (Builder.FillRegion).
type Fillers struct {
	// TargetGroupARNs[i] and ClassicNames[i] are the i-th filler target
	// group and classic load balancer, which share a name; "" where the
	// creation did not get that far.
	TargetGroupARNs, ClassicNames []string
}

// FillRegion creates n empty target groups of type instance and n classic
// load balancers in vpc, four at a time: with n over 100 the region holds
// more than a page of each. On error it returns what it created too, for
// Remove.
func (b *Builder) FillRegion(ctx context.Context, vpc *VPC, n int) (*Fillers, error) {
	f := &Fillers{TargetGroupARNs: make([]string, n), ClassicNames: make([]string, n)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	suffix := vpc.ID[len(vpc.ID)-6:]
	for i := range n {
		g.Go(func() error {
			name := fmt.Sprintf("fill-%s-%d", suffix, i)
			tg, err := b.ELBv2.CreateTargetGroup(gctx, &elbv2.CreateTargetGroupInput{
				Name: aws.String(name), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80),
				VpcId: aws.String(vpc.ID), TargetType: elbv2types.TargetTypeEnumInstance,
			})
			if err != nil {
				return fmt.Errorf("scene: create filler target group %s: %w", name, err)
			}
			f.TargetGroupARNs[i] = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
			if _, err := b.ELB.CreateLoadBalancer(gctx, &elb.CreateLoadBalancerInput{
				LoadBalancerName: aws.String(name),
				Listeners:        []elbtypes.Listener{{Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("HTTP"), InstancePort: aws.Int32(80)}},
				Subnets:          vpc.SubnetIDs,
			}); err != nil {
				return fmt.Errorf("scene: create filler classic load balancer %s: %w", name, err)
			}
			f.ClassicNames[i] = name
			return nil
		})
	}
	return f, g.Wait()
}

// Remove deletes the fillers; it returns every error together.
func (f *Fillers) Remove(ctx context.Context, b *Builder) error {
	var errs []error
	for _, arn := range f.TargetGroupARNs {
		if arn != "" {
			if _, err := b.ELBv2.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil {
				errs = append(errs, fmt.Errorf("scene: delete filler target group %s: %w", arn, err))
			}
		}
	}
	for _, name := range f.ClassicNames {
		if name != "" {
			if _, err := b.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerName: aws.String(name)}); err != nil {
				errs = append(errs, fmt.Errorf("scene: delete filler classic load balancer %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}
