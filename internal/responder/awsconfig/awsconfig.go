// Package awsconfig loads the AWS configuration the way the AWS CLI does:
// the standard credential chain (environment, shared files and profiles,
// SSO, web identity, container and instance roles), a named profile, a
// region and an endpoint URL, flags taking precedence over the environment
// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).
package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ErrNoRegion is returned by Load when no region is configured anywhere.
var ErrNoRegion = errors.New("no AWS region: pass --region, set AWS_REGION, or set region in the profile (aws configure)")

// Options are the AWS CLI's global settings, empty when not given.
type Options struct {
	Profile     string
	Region      string
	EndpointURL string
}

// Load returns the configuration for o. It fails with ErrNoRegion when no
// region is set, and when the profile does not exist. Credentials are
// resolved on first use, so a missing credential shows on the first call.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.EndpointURL != "" {
		if _, err := url.ParseRequestURI(o.EndpointURL); err != nil {
			return aws.Config{}, fmt.Errorf("endpoint URL %q: %w", o.EndpointURL, err)
		}
		opts = append(opts, config.WithBaseEndpoint(o.EndpointURL))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, ErrNoRegion
	}
	return cfg, nil
}

// S3Options are the S3 client options for cfg: path-style addressing when
// the endpoint is a loopback or IP address (an emulator or a proxy), where
// bucket names cannot be host names; virtual-hosted style otherwise, as
// AWS expects.
func S3Options(cfg aws.Config) func(*s3.Options) {
	return func(o *s3.Options) {
		if cfg.BaseEndpoint == nil {
			return
		}
		u, err := url.Parse(*cfg.BaseEndpoint)
		if err != nil {
			return
		}
		host := u.Hostname()
		if host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
			o.UsePathStyle = true
		}
	}
}
