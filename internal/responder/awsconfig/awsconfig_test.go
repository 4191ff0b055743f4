package awsconfig

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// isolate keeps the test away from the machine's AWS settings.
func isolate(t *testing.T) {
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
}

func TestLoadPrecedence(t *testing.T) {
	isolate(t)
	ctx := context.Background()
	if _, err := Load(ctx, Options{}); !errors.Is(err, ErrNoRegion) {
		t.Errorf("Load without a region: err = %v, want ErrNoRegion", err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	cfg, err := Load(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:4566" {
		t.Errorf("from the environment: region %q, endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	cfg, err = Load(ctx, Options{Region: "us-west-2", EndpointURL: "http://localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-west-2" || aws.ToString(cfg.BaseEndpoint) != "http://localhost:5000" {
		t.Errorf("flags do not override the environment: region %q, endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
	}
	if _, err := Load(ctx, Options{Profile: "no-such-profile"}); err == nil {
		t.Error("Load with a profile that does not exist succeeded")
	}
	if _, err := Load(ctx, Options{EndpointURL: "not a url"}); err == nil {
		t.Error("Load with a malformed endpoint succeeded")
	}
}

func TestS3PathStyle(t *testing.T) {
	for endpoint, want := range map[string]bool{
		"":                           false,
		"http://127.0.0.1:4566":      true,
		"http://localhost:4566":      true,
		"https://s3.example.com":     false,
		"https://vpce.amazonaws.com": false,
	} {
		cfg := aws.Config{}
		if endpoint != "" {
			cfg.BaseEndpoint = aws.String(endpoint)
		}
		var o s3.Options
		S3Options(cfg)(&o)
		if o.UsePathStyle != want {
			t.Errorf("endpoint %q: path style %t, want %t", endpoint, o.UsePathStyle, want)
		}
	}
}
