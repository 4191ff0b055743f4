// Package scene builds realistic incident scenes in an (emulated) AWS
// account: a compromised EC2 instance together with everything a real one
// tends to be tangled up in — several network interfaces with their own
// security groups, encrypted and unencrypted EBS volumes, an IAM instance
// profile, an Auto Scaling group, Application Load Balancer target groups and
// a classic load balancer.
//
// A Builder needs only an aws.Config. Every name it creates carries a random
// suffix, so scenes built concurrently (for example by parallel tests) in one
// account never clash. Every constructor verifies its own result with a
// describe call before returning, so a returned scene is known to exist in the
// account as described.
//
// The package is written against the real AWS APIs and is exercised against
// moto 5.2.1 (plain, and patched by internal/emulator). What moto does:
//
//   - RunInstances honours Ebs.Encrypted, VolumeSize and DeleteOnTermination
//     in BlockDeviceMappings (DescribeVolumes reports Encrypted=true), so all
//     volumes come from the one RunInstances call; no CreateVolume+AttachVolume
//     or ModifyInstanceAttribute is needed. Without mappings moto creates an
//     8 GiB unencrypted root at /dev/sda1 with DeleteOnTermination=true.
//   - Plain moto reports every attached ENI's groups as its own groups plus
//     the instance-level SecurityGroupIds given to RunInstances, and
//     ModifyNetworkInterfaceAttribute cannot remove the latter. The builder
//     therefore launches with an explicit primary NetworkInterfaces spec
//     (valid on AWS too), which leaves moto's instance-level group list empty
//     and keeps groups per ENI. On plain moto the instance-level
//     SecurityGroups of DescribeInstances is then empty; read ENI groups.
//   - AMIs are per region; the builder looks one up with DescribeImages
//     (newest Amazon Linux 2 owned by "amazon"), else any available image.
//   - AttachInstances raises DesiredCapacity by one and reports the instance
//     InService at once; ELBv2, classic ELB and IAM are consistent at once.
//     The builder still polls or retries where real AWS is eventually
//     consistent (ASG lifecycle state, instance profile association).
package scene

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// TagScene is the tag key put on every resource a Builder creates; its value
// is the random suffix of the scene (VPC or instance) the resource belongs to.
const TagScene = "essential-ir:scene"

// FleetConcurrency bounds how many instances Fleet builds at once.
const FleetConcurrency = 4

// Builder creates scenes with the AWS clients it holds. It is safe for
// concurrent use.
type Builder struct {
	// EC2, AutoScaling, ELBv2 (Application Load Balancers), ELB (classic load
	// balancers) and IAM are the clients scenes are built with; tests may use
	// them to check post-conditions.
	EC2         *ec2.Client
	AutoScaling *autoscaling.Client
	ELBv2       *elbv2.Client
	ELB         *elb.Client
	IAM         *iam.Client

	// InstanceType is used for every instance and launch template
	// (default t3.micro).
	InstanceType ec2types.InstanceType

	amiOnce sync.Once
	ami     image
	amiErr  error

	azOnce sync.Once
	azs    []string
	azErr  error
}

type image struct {
	id, rootDevice string
	// instanceStore is true for an instance-store-backed AMI: its
	// instances have no EBS root volume.
	instanceStore bool
}

// New returns a Builder whose clients all use cfg.
func New(cfg aws.Config) *Builder {
	return &Builder{
		EC2:          ec2.NewFromConfig(cfg),
		AutoScaling:  autoscaling.NewFromConfig(cfg),
		ELBv2:        elbv2.NewFromConfig(cfg),
		ELB:          elb.NewFromConfig(cfg),
		IAM:          iam.NewFromConfig(cfg),
		InstanceType: ec2types.InstanceTypeT3Micro,
	}
}

// VPC is a VPC built by Builder.VPC.
type VPC struct {
	ID string
	// SubnetIDs holds two subnets in two different availability zones.
	SubnetIDs []string
	// CIDR is the VPC's IPv4 block (a random 10.N.0.0/16).
	CIDR string
	// InternetGatewayID is attached to the VPC so internet-facing load
	// balancers can be placed in it.
	InternetGatewayID string
	// Name is the VPC's Name tag, including the random suffix.
	Name string
}

// VolumeSpec describes one EBS volume of an instance.
type VolumeSpec struct {
	SizeGiB   int32
	Encrypted bool
}

// InstanceSpec describes the instance scene that Builder.Instance builds.
type InstanceSpec struct {
	// Name is the base of every resource name; a random suffix is appended.
	Name string
	// VPC is where the instance is launched (first subnet); nil builds a new VPC.
	VPC *VPC
	// ExtraENIs is the number of network interfaces beyond the primary one;
	// each gets its own new security group and is attached at device index
	// 1, 2, ...
	ExtraENIs int
	// Volumes are the root volume followed by data volumes, all created with
	// DeleteOnTermination=true (the worst case for forensics). Empty means
	// just the AMI's root volume.
	Volumes []VolumeSpec
	// InstanceProfile creates an IAM role and instance profile and
	// associates the profile with the instance.
	InstanceProfile bool
	// AutoScalingGroup creates a launch template and an Auto Scaling group
	// (min 0) in the VPC and attaches the instance to it.
	AutoScalingGroup bool
	// TargetGroups is the number of ELBv2 target groups, each behind its own
	// Application Load Balancer, that the instance is registered in.
	TargetGroups int
	// ClassicLoadBalancer creates a classic ELB with the instance registered.
	ClassicLoadBalancer bool
	// ShutdownTerminates launches the instance with instance-initiated
	// shutdown behaviour "terminate" (a shutdown from inside deletes it).
	ShutdownTerminates bool
	// ElasticIP allocates an Elastic IP and associates it with the instance.
	ElasticIP bool
	// SharedInstanceProfileARN associates this existing instance profile
	// (for example another scene's) instead of creating one; it takes
	// precedence over InstanceProfile.
	SharedInstanceProfileARN string
	// SharedAutoScalingGroupName attaches the instance to this existing
	// Auto Scaling group (for example another scene's, whose MaxSize leaves
	// room) instead of creating one; it takes precedence over
	// AutoScalingGroup.
	SharedAutoScalingGroupName string
	// Tags are put on the instance in addition to Name and TagScene.
	Tags map[string]string
	// Spot launches a one-time Spot Instance (InstanceMarketOptions), whose
	// instance-initiated shutdown terminates it: EC2 refuses "stop" for
	// Spot Instances.
	Spot bool
	// ImageID launches from this AMI instead of the builder's Amazon Linux
	// 2 image (for example an instance-store-backed AMI; give no Volumes
	// then, an instance-store root has no EBS volume).
	ImageID string
}

// Instance is an instance scene built by Builder.Instance. All fields are
// read back from the account after building.
type Instance struct {
	ID, VPCID, SubnetID string
	// Name is the instance's Name tag (spec name plus random suffix).
	Name string
	// Suffix is the random suffix shared by every resource of the scene.
	Suffix string
	// ENIIDs lists the instance's network interfaces ordered by device index
	// (the primary first).
	ENIIDs []string
	// GroupsByENI maps each ENI ID to its security group IDs before
	// containment.
	GroupsByENI map[string][]string
	// VolumeIDs lists the attached volumes ordered by device name as given in
	// the spec (root first).
	VolumeIDs []string
	// EncryptedByVolume maps each volume ID to whether it is encrypted.
	EncryptedByVolume map[string]bool
	// InstanceProfileARN and RoleName are empty unless the spec asked for an
	// instance profile.
	InstanceProfileARN, RoleName string
	// AutoScalingGroupName is empty unless the spec asked for an ASG.
	AutoScalingGroupName string
	// LaunchTemplateID is the ASG's launch template.
	LaunchTemplateID string
	// TargetGroupARNs[i] is behind LoadBalancerARNs[i].
	TargetGroupARNs, LoadBalancerARNs []string
	// ClassicLoadBalancerName is empty unless the spec asked for one.
	ClassicLoadBalancerName string
	// ElasticIP and ElasticIPAllocationID are empty unless the spec asked
	// for an Elastic IP.
	ElasticIP, ElasticIPAllocationID string
}

// CompromisedWebServer is the realistic case: a production web server with
// two extra ENIs, an 8 GiB unencrypted root volume plus 20 GiB encrypted and
// 10 GiB unencrypted data volumes, an instance profile, an Auto Scaling group
// and two target groups behind two ALBs.
func CompromisedWebServer() InstanceSpec {
	return InstanceSpec{
		Name:      "web",
		ExtraENIs: 2,
		Volumes: []VolumeSpec{
			{SizeGiB: 8},
			{SizeGiB: 20, Encrypted: true},
			{SizeGiB: 10},
		},
		InstanceProfile:     true,
		AutoScalingGroup:    true,
		TargetGroups:        2,
		ClassicLoadBalancer: true,
		ShutdownTerminates:  true,
		ElasticIP:           true,
		Tags: map[string]string{
			"Environment": "production",
			"Role":        "web",
			"Team":        "storefront",
		},
	}
}

// BareInstance is an instance with one ENI, the AMI's root volume only and
// nothing attached.
func BareInstance() InstanceSpec {
	return InstanceSpec{Name: "bare"}
}

// suffix returns 8 random hex characters.
func suffix() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("scene: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// shortName builds a load-balancer-safe name (alphanumerics and hyphens, at
// most 32 characters) from base, the scene suffix and a kind such as "tg0".
func shortName(base, sfx, kind string) string {
	var sb strings.Builder
	for _, r := range base {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			sb.WriteRune(r)
		}
	}
	clean := strings.Trim(sb.String(), "-")
	if clean == "" {
		clean = "scene"
	}
	room := 32 - len(sfx) - len(kind) - 2
	if len(clean) > room {
		clean = strings.TrimRight(clean[:room], "-")
	}
	return clean + "-" + kind + "-" + sfx
}

func ec2Tags(rt ec2types.ResourceType, name, sfx string, extra map[string]string) []ec2types.TagSpecification {
	tags := []ec2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(name)},
		{Key: aws.String(TagScene), Value: aws.String(sfx)},
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Name" || k == TagScene {
			continue
		}
		tags = append(tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(extra[k])})
	}
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: tags}}
}

func (b *Builder) availabilityZones(ctx context.Context) ([]string, error) {
	b.azOnce.Do(func() {
		out, err := b.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
			Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}},
		})
		if err != nil {
			b.azErr = fmt.Errorf("describe availability zones: %w", err)
			return
		}
		for _, az := range out.AvailabilityZones {
			b.azs = append(b.azs, aws.ToString(az.ZoneName))
		}
		sort.Strings(b.azs)
		if len(b.azs) < 2 {
			b.azErr = fmt.Errorf("need 2 availability zones, region has %d", len(b.azs))
		}
	})
	return b.azs, b.azErr
}

// image returns an AMI usable in the configured region: the newest Amazon
// Linux 2 image owned by "amazon", or else the first available image.
func (b *Builder) image(ctx context.Context) (image, error) {
	b.amiOnce.Do(func() {
		pick := func(imgs []ec2types.Image) bool {
			sort.Slice(imgs, func(i, j int) bool {
				return aws.ToString(imgs[i].CreationDate)+aws.ToString(imgs[i].Name) >
					aws.ToString(imgs[j].CreationDate)+aws.ToString(imgs[j].Name)
			})
			for _, im := range imgs {
				if im.State == ec2types.ImageStateAvailable && im.RootDeviceType == ec2types.DeviceTypeEbs {
					b.ami = image{id: aws.ToString(im.ImageId), rootDevice: aws.ToString(im.RootDeviceName)}
					if b.ami.rootDevice == "" {
						b.ami.rootDevice = "/dev/xvda"
					}
					return true
				}
			}
			return false
		}
		out, err := b.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{
			Owners: []string{"amazon"},
			Filters: []ec2types.Filter{
				{Name: aws.String("name"), Values: []string{"amzn2-ami-hvm-*-x86_64-gp2"}},
				{Name: aws.String("state"), Values: []string{"available"}},
			},
		})
		if err != nil {
			b.amiErr = fmt.Errorf("describe Amazon Linux 2 images: %w", err)
			return
		}
		if pick(out.Images) {
			return
		}
		out, err = b.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{
			Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}},
		})
		if err != nil {
			b.amiErr = fmt.Errorf("describe images: %w", err)
			return
		}
		if !pick(out.Images) {
			b.amiErr = errors.New("no available EBS-backed image in region")
		}
	})
	return b.ami, b.amiErr
}

// VPC builds a VPC with a random 10.N.0.0/16 block, two subnets in two
// availability zones and an attached internet gateway.
func (b *Builder) VPC(ctx context.Context, name string) (*VPC, error) {
	if name == "" {
		name = "vpc"
	}
	sfx := suffix()
	v := &VPC{Name: name + "-" + sfx}
	wrap := func(step string, err error) error {
		return fmt.Errorf("scene: build VPC %q: %s: %w", v.Name, step, err)
	}
	azs, err := b.availabilityZones(ctx)
	if err != nil {
		return nil, wrap("availability zones", err)
	}
	octet := mrand.IntN(256)
	v.CIDR = fmt.Sprintf("10.%d.0.0/16", octet)
	vo, err := b.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:         aws.String(v.CIDR),
		TagSpecifications: ec2Tags(ec2types.ResourceTypeVpc, v.Name, sfx, nil),
	})
	if err != nil {
		return nil, wrap("create VPC", err)
	}
	v.ID = aws.ToString(vo.Vpc.VpcId)
	for i := 0; i < 2; i++ {
		so, err := b.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId:             aws.String(v.ID),
			CidrBlock:         aws.String(fmt.Sprintf("10.%d.%d.0/24", octet, i+1)),
			AvailabilityZone:  aws.String(azs[i]),
			TagSpecifications: ec2Tags(ec2types.ResourceTypeSubnet, fmt.Sprintf("%s-%s", v.Name, azs[i]), sfx, nil),
		})
		if err != nil {
			return nil, wrap(fmt.Sprintf("create subnet in %s", azs[i]), err)
		}
		v.SubnetIDs = append(v.SubnetIDs, aws.ToString(so.Subnet.SubnetId))
	}
	igw, err := b.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
		TagSpecifications: ec2Tags(ec2types.ResourceTypeInternetGateway, v.Name, sfx, nil),
	})
	if err != nil {
		return nil, wrap("create internet gateway", err)
	}
	v.InternetGatewayID = aws.ToString(igw.InternetGateway.InternetGatewayId)
	if _, err := b.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{
		InternetGatewayId: aws.String(v.InternetGatewayID),
		VpcId:             aws.String(v.ID),
	}); err != nil && !attachedTo(ctx, b.EC2, v.InternetGatewayID, v.ID) {
		// The SDK retries a call whose answer it did not get (a loaded
		// machine); the retry then finds the gateway attached by the
		// first attempt, which is what was asked.
		return nil, wrap("attach internet gateway", err)
	}

	// Verify.
	so, err := b.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{v.ID}}},
	})
	if err != nil {
		return nil, wrap("verify subnets", err)
	}
	zones := map[string]bool{}
	for _, s := range so.Subnets {
		zones[aws.ToString(s.AvailabilityZone)] = true
	}
	if len(so.Subnets) != 2 || len(zones) != 2 {
		return nil, wrap("verify subnets", fmt.Errorf("want 2 subnets in 2 zones, got %d in %d", len(so.Subnets), len(zones)))
	}
	return v, nil
}

// ingress is one security group rule.
type ingress struct {
	port int32
	cidr string
	desc string
}

func (b *Builder) securityGroup(ctx context.Context, vpcID, name, desc, sfx string, rules []ingress) (string, error) {
	out, err := b.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:         aws.String(name),
		Description:       aws.String(desc),
		VpcId:             aws.String(vpcID),
		TagSpecifications: ec2Tags(ec2types.ResourceTypeSecurityGroup, name, sfx, nil),
	})
	if err != nil {
		return "", fmt.Errorf("create security group %q: %w", name, err)
	}
	id := aws.ToString(out.GroupId)
	if len(rules) == 0 {
		return id, nil
	}
	perms := make([]ec2types.IpPermission, 0, len(rules))
	for _, r := range rules {
		perms = append(perms, ec2types.IpPermission{
			IpProtocol: aws.String("tcp"),
			FromPort:   aws.Int32(r.port),
			ToPort:     aws.Int32(r.port),
			IpRanges:   []ec2types.IpRange{{CidrIp: aws.String(r.cidr), Description: aws.String(r.desc)}},
		})
	}
	if _, err := b.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId:       aws.String(id),
		IpPermissions: perms,
	}); err != nil {
		return "", fmt.Errorf("authorize ingress on security group %q: %w", name, err)
	}
	return id, nil
}

// extraENIPorts gives each extra ENI a plausible role.
var extraENIPorts = []ingress{
	{port: 5432, desc: "postgres from VPC"},
	{port: 9100, desc: "node exporter from VPC"},
	{port: 8080, desc: "internal API from VPC"},
	{port: 6379, desc: "redis from VPC"},
}

// Instance builds the scene described by spec and verifies it with describe
// calls before returning.
func (b *Builder) Instance(ctx context.Context, spec InstanceSpec) (*Instance, error) {
	if spec.Name == "" {
		spec.Name = "instance"
	}
	sfx := suffix()
	name := spec.Name + "-" + sfx
	inst := &Instance{Name: name, Suffix: sfx}
	wrap := func(step string, err error) error {
		return fmt.Errorf("scene: build instance %q: %s: %w", name, step, err)
	}
	if spec.ExtraENIs < 0 || spec.TargetGroups < 0 {
		return nil, wrap("validate spec", errors.New("negative ExtraENIs or TargetGroups"))
	}

	vpc := spec.VPC
	if vpc == nil {
		var err error
		if vpc, err = b.VPC(ctx, spec.Name+"-vpc"); err != nil {
			return nil, wrap("new VPC", err)
		}
	}
	if len(vpc.SubnetIDs) == 0 {
		return nil, wrap("validate spec", fmt.Errorf("VPC %s has no subnets", vpc.ID))
	}
	inst.VPCID, inst.SubnetID = vpc.ID, vpc.SubnetIDs[0]
	vpcCIDR := vpc.CIDR
	if vpcCIDR == "" {
		vpcCIDR = "10.0.0.0/8"
	}

	img, err := b.image(ctx)
	if err != nil {
		return nil, wrap("find AMI", err)
	}
	if spec.ImageID != "" {
		if img, err = b.imageOf(ctx, spec.ImageID); err != nil {
			return nil, wrap("describe AMI "+spec.ImageID, err)
		}
	}

	// Primary ENI: two groups with realistic ingress.
	webSG, err := b.securityGroup(ctx, vpc.ID, name+"-web", "web tier for "+name, sfx, []ingress{
		{port: 443, cidr: "0.0.0.0/0", desc: "HTTPS from anywhere"},
		{port: 80, cidr: vpcCIDR, desc: "HTTP from load balancers"},
	})
	if err != nil {
		return nil, wrap("primary security groups", err)
	}
	adminSG, err := b.securityGroup(ctx, vpc.ID, name+"-admin", "admin access for "+name, sfx, []ingress{
		{port: 22, cidr: "10.0.0.0/8", desc: "SSH from corporate network"},
	})
	if err != nil {
		return nil, wrap("primary security groups", err)
	}

	// Volumes: moto honours Encrypted and DeleteOnTermination here.
	var bdms []ec2types.BlockDeviceMapping
	devices := map[string]int{}
	for i, v := range spec.Volumes {
		dev := img.rootDevice
		if i > 0 {
			dev = fmt.Sprintf("/dev/sd%c", 'f'+i-1)
		}
		devices[dev] = i
		bdms = append(bdms, ec2types.BlockDeviceMapping{
			DeviceName: aws.String(dev),
			Ebs: &ec2types.EbsBlockDevice{
				VolumeSize:          aws.Int32(v.SizeGiB),
				VolumeType:          ec2types.VolumeTypeGp3,
				Encrypted:           aws.Bool(v.Encrypted),
				DeleteOnTermination: aws.Bool(true),
			},
		})
	}
	tagSpecs := ec2Tags(ec2types.ResourceTypeInstance, name, sfx, spec.Tags)
	tagSpecs = append(tagSpecs, ec2Tags(ec2types.ResourceTypeVolume, name, sfx, nil)...)
	ro, err := b.EC2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId:      aws.String(img.id),
		InstanceType: b.InstanceType,
		MinCount:     aws.Int32(1),
		MaxCount:     aws.Int32(1),
		// The primary ENI is specified explicitly rather than with
		// SubnetId+SecurityGroupIds: moto reports every attached ENI's groups
		// as its own groups ∪ the instance-level SecurityGroupIds, which
		// ModifyNetworkInterfaceAttribute can never remove. With an explicit
		// NetworkInterfaces spec moto keeps groups per ENI, as AWS does.
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex:         aws.Int32(0),
			SubnetId:            aws.String(inst.SubnetID),
			Groups:              []string{webSG, adminSG},
			DeleteOnTermination: aws.Bool(true),
			Description:         aws.String("Primary network interface"),
		}},
		BlockDeviceMappings:               bdms,
		TagSpecifications:                 tagSpecs,
		InstanceInitiatedShutdownBehavior: shutdownBehavior(spec.ShutdownTerminates || spec.Spot),
		InstanceMarketOptions:             spotMarket(spec.Spot),
		MetadataOptions: &ec2types.InstanceMetadataOptionsRequest{
			HttpTokens: ec2types.HttpTokensStateOptional, // IMDSv1 left on: realistic for a compromised host
		},
	})
	if err != nil {
		return nil, wrap("run instance", err)
	}
	if len(ro.Instances) != 1 {
		return nil, wrap("run instance", fmt.Errorf("got %d instances", len(ro.Instances)))
	}
	inst.ID = aws.ToString(ro.Instances[0].InstanceId)
	waiter := ec2.NewInstanceRunningWaiter(b.EC2, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = time.Second, 5*time.Second
	})
	if err := waiter.Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{inst.ID}}, 5*time.Minute); err != nil {
		return nil, wrap("wait for instance "+inst.ID+" running", err)
	}

	// Extra ENIs, each with its own group.
	for i := 0; i < spec.ExtraENIs; i++ {
		rule := extraENIPorts[i%len(extraENIPorts)]
		rule.cidr = vpcCIDR
		sg, err := b.securityGroup(ctx, vpc.ID, fmt.Sprintf("%s-eni%d", name, i+1),
			fmt.Sprintf("ENI %d of %s", i+1, name), sfx, []ingress{rule})
		if err != nil {
			return nil, wrap(fmt.Sprintf("extra ENI %d", i+1), err)
		}
		no, err := b.EC2.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
			SubnetId:          aws.String(inst.SubnetID),
			Groups:            []string{sg},
			Description:       aws.String(fmt.Sprintf("%s secondary interface %d", name, i+1)),
			TagSpecifications: ec2Tags(ec2types.ResourceTypeNetworkInterface, fmt.Sprintf("%s-eni%d", name, i+1), sfx, nil),
		})
		if err != nil {
			return nil, wrap(fmt.Sprintf("create extra ENI %d", i+1), err)
		}
		eni := aws.ToString(no.NetworkInterface.NetworkInterfaceId)
		if _, err := b.EC2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
			DeviceIndex:        aws.Int32(int32(i + 1)),
			InstanceId:         aws.String(inst.ID),
			NetworkInterfaceId: aws.String(eni),
		}); err != nil {
			return nil, wrap(fmt.Sprintf("attach extra ENI %d (%s)", i+1, eni), err)
		}
	}

	switch {
	case spec.SharedInstanceProfileARN != "":
		inst.InstanceProfileARN = spec.SharedInstanceProfileARN
		if err := b.associateProfile(ctx, inst); err != nil {
			return nil, wrap("shared instance profile", err)
		}
	case spec.InstanceProfile:
		if err := b.instanceProfile(ctx, inst, sfx); err != nil {
			return nil, wrap("instance profile", err)
		}
	}
	if spec.ElasticIP {
		if err := b.elasticIP(ctx, inst, sfx); err != nil {
			return nil, wrap("elastic IP", err)
		}
	}
	switch {
	case spec.SharedAutoScalingGroupName != "":
		if err := b.joinAutoScalingGroup(ctx, inst, spec.SharedAutoScalingGroupName); err != nil {
			return nil, wrap("shared auto scaling group", err)
		}
	case spec.AutoScalingGroup:
		if err := b.autoScalingGroup(ctx, inst, vpc, img, sfx, spec.Tags); err != nil {
			return nil, wrap("auto scaling group", err)
		}
	}
	if spec.TargetGroups > 0 || spec.ClassicLoadBalancer {
		lbSG, err := b.securityGroup(ctx, vpc.ID, name+"-lb", "load balancers for "+name, sfx, []ingress{
			{port: 80, cidr: "0.0.0.0/0", desc: "HTTP from anywhere"},
			{port: 443, cidr: "0.0.0.0/0", desc: "HTTPS from anywhere"},
		})
		if err != nil {
			return nil, wrap("load balancer security group", err)
		}
		for i := 0; i < spec.TargetGroups; i++ {
			if err := b.targetGroup(ctx, inst, vpc, lbSG, spec.Name, sfx, i); err != nil {
				return nil, wrap(fmt.Sprintf("target group %d", i), err)
			}
		}
		if spec.ClassicLoadBalancer {
			if err := b.classicLoadBalancer(ctx, inst, vpc, lbSG, spec.Name, sfx); err != nil {
				return nil, wrap("classic load balancer", err)
			}
		}
	}

	if err := b.readBack(ctx, inst, spec, devices, img.instanceStore); err != nil {
		return nil, wrap("verify", err)
	}
	return inst, nil
}

// readBack fills the ENI and volume fields from describe calls and checks
// them against spec (an instance-store root is no volume).
func (b *Builder) readBack(ctx context.Context, inst *Instance, spec InstanceSpec, devices map[string]int, instanceStore bool) error {
	no, err := b.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{inst.ID}}},
	})
	if err != nil {
		return fmt.Errorf("describe network interfaces: %w", err)
	}
	enis := no.NetworkInterfaces
	sort.Slice(enis, func(i, j int) bool {
		return aws.ToInt32(enis[i].Attachment.DeviceIndex) < aws.ToInt32(enis[j].Attachment.DeviceIndex)
	})
	inst.GroupsByENI = map[string][]string{}
	for _, n := range enis {
		id := aws.ToString(n.NetworkInterfaceId)
		inst.ENIIDs = append(inst.ENIIDs, id)
		for _, g := range n.Groups {
			inst.GroupsByENI[id] = append(inst.GroupsByENI[id], aws.ToString(g.GroupId))
		}
		sort.Strings(inst.GroupsByENI[id])
	}
	if want := 1 + spec.ExtraENIs; len(inst.ENIIDs) != want {
		return fmt.Errorf("instance %s has %d ENIs, want %d", inst.ID, len(inst.ENIIDs), want)
	}

	vo, err := b.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
		Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{inst.ID}}},
	})
	if err != nil {
		return fmt.Errorf("describe volumes: %w", err)
	}
	type vol struct {
		id     string
		order  int
		device string
		enc    bool
	}
	var vols []vol
	for _, v := range vo.Volumes {
		dev := ""
		for _, a := range v.Attachments {
			if aws.ToString(a.InstanceId) == inst.ID {
				dev = aws.ToString(a.Device)
			}
		}
		order, ok := devices[dev]
		if !ok {
			order = len(devices)
		}
		vols = append(vols, vol{id: aws.ToString(v.VolumeId), order: order, device: dev, enc: aws.ToBool(v.Encrypted)})
		if ok {
			want := spec.Volumes[order]
			if aws.ToBool(v.Encrypted) != want.Encrypted || aws.ToInt32(v.Size) != want.SizeGiB {
				return fmt.Errorf("volume %s on %s: size %d encrypted %v, want size %d encrypted %v",
					aws.ToString(v.VolumeId), dev, aws.ToInt32(v.Size), aws.ToBool(v.Encrypted), want.SizeGiB, want.Encrypted)
			}
		}
	}
	sort.Slice(vols, func(i, j int) bool {
		if vols[i].order != vols[j].order {
			return vols[i].order < vols[j].order
		}
		return vols[i].device < vols[j].device
	})
	inst.EncryptedByVolume = map[string]bool{}
	for _, v := range vols {
		inst.VolumeIDs = append(inst.VolumeIDs, v.id)
		inst.EncryptedByVolume[v.id] = v.enc
	}
	want := len(spec.Volumes)
	if want == 0 && !instanceStore {
		want = 1 // the AMI's EBS root
	}
	if len(vols) != want {
		return fmt.Errorf("instance %s has %d volumes, want %d", inst.ID, len(vols), want)
	}
	return nil
}

const ec2TrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Service": "ec2.amazonaws.com"},
    "Action": "sts:AssumeRole"
  }]
}`

const webRolePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}
  ]
}`

// shutdownBehavior is the RunInstances value for the spec.
// spotMarket launches a one-time Spot Instance, terminated when interrupted,
// when spot is set.
func spotMarket(spot bool) *ec2types.InstanceMarketOptionsRequest {
	if !spot {
		return nil
	}
	return &ec2types.InstanceMarketOptionsRequest{
		MarketType: ec2types.MarketTypeSpot,
		SpotOptions: &ec2types.SpotMarketOptions{
			SpotInstanceType:             ec2types.SpotInstanceTypeOneTime,
			InstanceInterruptionBehavior: ec2types.InstanceInterruptionBehaviorTerminate,
		},
	}
}

// imageOf describes one AMI: its ID and root device name.
func (b *Builder) imageOf(ctx context.Context, id string) (image, error) {
	out, err := b.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return image{}, err
	}
	if len(out.Images) != 1 {
		return image{}, fmt.Errorf("%d images named %s", len(out.Images), id)
	}
	return image{id: id, rootDevice: aws.ToString(out.Images[0].RootDeviceName),
		instanceStore: out.Images[0].RootDeviceType == ec2types.DeviceTypeInstanceStore}, nil
}

func shutdownBehavior(terminate bool) ec2types.ShutdownBehavior {
	if terminate {
		return ec2types.ShutdownBehaviorTerminate
	}
	return ec2types.ShutdownBehaviorStop
}

// elasticIP allocates an Elastic IP and associates it with the instance.
func (b *Builder) elasticIP(ctx context.Context, inst *Instance, sfx string) error {
	ao, err := b.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            ec2types.DomainTypeVpc,
		TagSpecifications: ec2Tags(ec2types.ResourceTypeElasticIp, inst.Name+"-eip", sfx, nil),
	})
	if err != nil {
		return fmt.Errorf("allocate Elastic IP: %w", err)
	}
	inst.ElasticIP, inst.ElasticIPAllocationID = aws.ToString(ao.PublicIp), aws.ToString(ao.AllocationId)
	if _, err := b.EC2.AssociateAddress(ctx, &ec2.AssociateAddressInput{
		AllocationId: ao.AllocationId,
		InstanceId:   aws.String(inst.ID),
	}); err != nil {
		return fmt.Errorf("associate Elastic IP %s: %w", inst.ElasticIP, err)
	}
	do, err := b.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{inst.ElasticIPAllocationID}})
	if err != nil || len(do.Addresses) != 1 || aws.ToString(do.Addresses[0].InstanceId) != inst.ID {
		return fmt.Errorf("verify Elastic IP %s on %s: %v", inst.ElasticIP, inst.ID, err)
	}
	return nil
}

// associateProfile associates an existing instance profile and waits until
// EC2 reports it associated.
func (b *Builder) associateProfile(ctx context.Context, inst *Instance) error {
	// On real AWS a new profile takes seconds to become usable by EC2.
	err := retry(ctx, 10, 2*time.Second, func() error {
		_, err := b.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(inst.InstanceProfileARN)},
			InstanceId:         aws.String(inst.ID),
		})
		var apiErr smithy.APIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidParameterValue") {
			return permanent{err}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("associate instance profile %q: %w", inst.InstanceProfileARN, err)
	}
	ao, err := b.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{inst.ID}}},
	})
	if err != nil {
		return fmt.Errorf("verify instance profile association: %w", err)
	}
	for _, a := range ao.IamInstanceProfileAssociations {
		if a.IamInstanceProfile != nil && aws.ToString(a.IamInstanceProfile.Arn) == inst.InstanceProfileARN &&
			(a.State == ec2types.IamInstanceProfileAssociationStateAssociated ||
				a.State == ec2types.IamInstanceProfileAssociationStateAssociating) {
			return nil
		}
	}
	return fmt.Errorf("verify instance profile association: %s not associated with %s", inst.InstanceProfileARN, inst.ID)
}

func (b *Builder) instanceProfile(ctx context.Context, inst *Instance, sfx string) error {
	name := inst.Name + "-role"
	tags := []iamTag{{"Name", name}, {TagScene, sfx}}
	if _, err := b.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(ec2TrustPolicy),
		Description:              aws.String("instance role of " + inst.Name),
		Tags:                     iamTags(tags),
	}); err != nil {
		return fmt.Errorf("create role %q: %w", name, err)
	}
	inst.RoleName = name
	if _, err := b.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName:       aws.String(name),
		PolicyName:     aws.String("app-access"),
		PolicyDocument: aws.String(webRolePolicy),
	}); err != nil {
		return fmt.Errorf("put policy on role %q: %w", name, err)
	}
	po, err := b.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String(name),
		Tags:                iamTags(tags),
	})
	if err != nil {
		return fmt.Errorf("create instance profile %q: %w", name, err)
	}
	inst.InstanceProfileARN = aws.ToString(po.InstanceProfile.Arn)
	if _, err := b.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
		InstanceProfileName: aws.String(name),
		RoleName:            aws.String(name),
	}); err != nil && !profileHoldsRole(ctx, b.IAM, name, name) {
		// A retry of a call that succeeded finds the role already there:
		// what was asked.
		return fmt.Errorf("add role to instance profile %q: %w", name, err)
	}
	return b.associateProfile(ctx, inst)
}

type iamTag struct{ k, v string }

func iamTags(ts []iamTag) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(ts))
	for _, t := range ts {
		out = append(out, iamtypes.Tag{Key: aws.String(t.k), Value: aws.String(t.v)})
	}
	return out
}

// permanent marks an error that retry must not retry.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry calls f up to attempts times, sleeping wait between failures, and
// stops early on a permanent error.
func retry(ctx context.Context, attempts int, wait time.Duration, f func() error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = f(); err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.err
		}
		if i == attempts-1 {
			break
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return err
}

// joinAutoScalingGroup attaches the instance to an existing group and
// waits until it is InService there.
func (b *Builder) joinAutoScalingGroup(ctx context.Context, inst *Instance, name string) error {
	if _, err := b.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{
		AutoScalingGroupName: aws.String(name),
		InstanceIds:          []string{inst.ID},
	}); err != nil {
		return fmt.Errorf("attach instance to %q: %w", name, err)
	}
	inst.AutoScalingGroupName = name
	return retry(ctx, 30, time.Second, func() error {
		io, err := b.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{
			InstanceIds: []string{inst.ID},
		})
		if err != nil {
			return err
		}
		if len(io.AutoScalingInstances) != 1 || aws.ToString(io.AutoScalingInstances[0].AutoScalingGroupName) != name ||
			aws.ToString(io.AutoScalingInstances[0].LifecycleState) != string(astypes.LifecycleStateInService) {
			return fmt.Errorf("instance %s is not InService in %q", inst.ID, name)
		}
		return nil
	})
}

func (b *Builder) autoScalingGroup(ctx context.Context, inst *Instance, vpc *VPC, img image, sfx string, tags map[string]string) error {
	name := inst.Name + "-asg"
	lt, err := b.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(inst.Name + "-lt"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{
			ImageId:      aws.String(img.id),
			InstanceType: b.InstanceType,
		},
		TagSpecifications: ec2Tags(ec2types.ResourceTypeLaunchTemplate, inst.Name+"-lt", sfx, nil),
	})
	if err != nil {
		return fmt.Errorf("create launch template: %w", err)
	}
	inst.LaunchTemplateID = aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	asTags := []astypes.Tag{
		{Key: aws.String("Name"), Value: aws.String(inst.Name), PropagateAtLaunch: aws.Bool(true)},
		{Key: aws.String(TagScene), Value: aws.String(sfx), PropagateAtLaunch: aws.Bool(true)},
	}
	if _, err := b.AutoScaling.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(name),
		MinSize:              aws.Int32(0),
		MaxSize:              aws.Int32(4),
		DesiredCapacity:      aws.Int32(0),
		LaunchTemplate: &astypes.LaunchTemplateSpecification{
			LaunchTemplateId: aws.String(inst.LaunchTemplateID),
			Version:          aws.String("$Latest"),
		},
		VPCZoneIdentifier: aws.String(strings.Join(vpc.SubnetIDs, ",")),
		Tags:              asTags,
	}); err != nil {
		return fmt.Errorf("create auto scaling group %q: %w", name, err)
	}
	inst.AutoScalingGroupName = name
	if _, err := b.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{
		AutoScalingGroupName: aws.String(name),
		InstanceIds:          []string{inst.ID},
	}); err != nil {
		return fmt.Errorf("attach instance to %q: %w", name, err)
	}
	// Verify: InService in this group, and desired capacity equals the
	// number of attached instances.
	err = retry(ctx, 30, time.Second, func() error {
		io, err := b.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{
			InstanceIds: []string{inst.ID},
		})
		if err != nil {
			return err
		}
		if len(io.AutoScalingInstances) != 1 {
			return fmt.Errorf("instance %s in %d groups", inst.ID, len(io.AutoScalingInstances))
		}
		ai := io.AutoScalingInstances[0]
		if aws.ToString(ai.AutoScalingGroupName) != name || aws.ToString(ai.LifecycleState) != string(astypes.LifecycleStateInService) {
			return fmt.Errorf("instance %s is %s in %q", inst.ID, aws.ToString(ai.LifecycleState), aws.ToString(ai.AutoScalingGroupName))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verify membership of %q: %w", name, err)
	}
	gro, err := b.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		AutoScalingGroupNames: []string{name},
	})
	if err != nil {
		return fmt.Errorf("verify %q: %w", name, err)
	}
	if len(gro.AutoScalingGroups) != 1 {
		return fmt.Errorf("verify %q: not found", name)
	}
	g := gro.AutoScalingGroups[0]
	if aws.ToInt32(g.DesiredCapacity) != int32(len(g.Instances)) || len(g.Instances) != 1 {
		return fmt.Errorf("verify %q: desired capacity %d with %d instances, want 1 and 1",
			name, aws.ToInt32(g.DesiredCapacity), len(g.Instances))
	}
	return nil
}

func (b *Builder) targetGroup(ctx context.Context, inst *Instance, vpc *VPC, lbSG, base, sfx string, i int) error {
	tgName := shortName(base, sfx, fmt.Sprintf("tg%d", i))
	albName := shortName(base, sfx, fmt.Sprintf("alb%d", i))
	tags := []elbv2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(inst.Name)},
		{Key: aws.String(TagScene), Value: aws.String(sfx)},
	}
	tg, err := b.ELBv2.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:            aws.String(tgName),
		Protocol:        elbv2types.ProtocolEnumHttp,
		Port:            aws.Int32(80),
		VpcId:           aws.String(vpc.ID),
		TargetType:      elbv2types.TargetTypeEnumInstance,
		HealthCheckPath: aws.String("/healthz"),
		Tags:            tags,
	})
	if err != nil {
		return fmt.Errorf("create target group %q: %w", tgName, err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	lb, err := b.ELBv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:           aws.String(albName),
		Type:           elbv2types.LoadBalancerTypeEnumApplication,
		Scheme:         elbv2types.LoadBalancerSchemeEnumInternetFacing,
		Subnets:        vpc.SubnetIDs,
		SecurityGroups: []string{lbSG},
		Tags:           tags,
	})
	if err != nil {
		return fmt.Errorf("create load balancer %q: %w", albName, err)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	if _, err := b.ELBv2.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Protocol:        elbv2types.ProtocolEnumHttp,
		Port:            aws.Int32(80),
		DefaultActions: []elbv2types.Action{{
			Type:           elbv2types.ActionTypeEnumForward,
			TargetGroupArn: aws.String(tgARN),
		}},
	}); err != nil {
		return fmt.Errorf("create listener on %q: %w", albName, err)
	}
	if _, err := b.ELBv2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tgARN),
		Targets:        []elbv2types.TargetDescription{{Id: aws.String(inst.ID), Port: aws.Int32(80)}},
	}); err != nil {
		return fmt.Errorf("register instance in %q: %w", tgName, err)
	}
	ho, err := b.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return fmt.Errorf("verify targets of %q: %w", tgName, err)
	}
	found := false
	for _, d := range ho.TargetHealthDescriptions {
		if d.Target != nil && aws.ToString(d.Target.Id) == inst.ID {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("verify targets of %q: %s not registered", tgName, inst.ID)
	}
	inst.TargetGroupARNs = append(inst.TargetGroupARNs, tgARN)
	inst.LoadBalancerARNs = append(inst.LoadBalancerARNs, lbARN)
	return nil
}

func (b *Builder) classicLoadBalancer(ctx context.Context, inst *Instance, vpc *VPC, lbSG, base, sfx string) error {
	name := shortName(base, sfx, "clb")
	if _, err := b.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		LoadBalancerName: aws.String(name),
		Listeners: []elbtypes.Listener{{
			Protocol:         aws.String("HTTP"),
			LoadBalancerPort: 80,
			InstanceProtocol: aws.String("HTTP"),
			InstancePort:     aws.Int32(80),
		}},
		Subnets:        vpc.SubnetIDs,
		SecurityGroups: []string{lbSG},
		Tags: []elbtypes.Tag{
			{Key: aws.String("Name"), Value: aws.String(inst.Name)},
			{Key: aws.String(TagScene), Value: aws.String(sfx)},
		},
	}); err != nil {
		// The name carries this scene's random suffix, so a duplicate is
		// this create's own earlier attempt: the SDK retries a request
		// whose answer it did not get (an emulator slow under load), and
		// the first attempt may have created the balancer. The read below
		// verifies it serves the instance.
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "DuplicateLoadBalancerName" {
			return fmt.Errorf("create classic load balancer %q: %w", name, err)
		}
	}
	if _, err := b.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{
		LoadBalancerName: aws.String(name),
		Instances:        []elbtypes.Instance{{InstanceId: aws.String(inst.ID)}},
	}); err != nil {
		return fmt.Errorf("register instance with %q: %w", name, err)
	}
	do, err := b.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{name}})
	if err != nil {
		return fmt.Errorf("verify %q: %w", name, err)
	}
	for _, d := range do.LoadBalancerDescriptions {
		for _, i := range d.Instances {
			if aws.ToString(i.InstanceId) == inst.ID {
				inst.ClassicLoadBalancerName = name
				return nil
			}
		}
	}
	return fmt.Errorf("verify %q: %s not registered", name, inst.ID)
}

// Fleet builds n instances from spec spread round-robin over vpcs (instance
// i goes to vpcs[i%len(vpcs)]), at most FleetConcurrency at a time. Instance
// names get the index appended. The result is in index order; on error the
// first failure is returned along with the instances that were built.
func (b *Builder) Fleet(ctx context.Context, vpcs []*VPC, n int, spec InstanceSpec) ([]*Instance, error) {
	if len(vpcs) == 0 {
		return nil, errors.New("scene: build fleet: no VPCs")
	}
	if spec.Name == "" {
		spec.Name = "fleet"
	}
	out := make([]*Instance, n)
	errs := make([]error, n)
	sem := make(chan struct{}, FleetConcurrency)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		s := spec
		s.VPC = vpcs[i%len(vpcs)]
		s.Name = fmt.Sprintf("%s%d", spec.Name, i)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			out[i], errs[i] = b.Instance(ctx, s)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return out, fmt.Errorf("scene: build fleet member %d of %d: %w", i, n, err)
		}
	}
	return out, nil
}

// attachedTo says whether the internet gateway is attached to the VPC.
func attachedTo(ctx context.Context, client *ec2.Client, gateway, vpc string) bool {
	out, err := client.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{gateway}})
	if err != nil || len(out.InternetGateways) != 1 {
		return false
	}
	for _, a := range out.InternetGateways[0].Attachments {
		if aws.ToString(a.VpcId) == vpc {
			return true
		}
	}
	return false
}

// profileHoldsRole says whether the instance profile holds the role.
func profileHoldsRole(ctx context.Context, client *iam.Client, profile, role string) bool {
	out, err := client.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(profile)})
	if err != nil {
		return false
	}
	for _, r := range out.InstanceProfile.Roles {
		if aws.ToString(r.RoleName) == role {
			return true
		}
	}
	return false
}
