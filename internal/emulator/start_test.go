package emulator

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Without moto 5.2.1 Start fails with the install command (launcher exit 3),
// instead of a timeout or a silent skip.
func TestStartWithoutMoto(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	dir := t.TempDir()
	// A fake "moto" of another version shadows the real one.
	if err := os.MkdirAll(filepath.Join(dir, "moto"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "moto", "__init__.py"), []byte("__version__ = '0.0.1'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(dir, "python-without-moto")
	script := fmt.Sprintf("#!/bin/sh\nPYTHONPATH=%q exec %q \"$@\"\n", dir, python)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := Start(ctx, Options{Python: wrapper, StartTimeout: 20 * time.Second})
	if err == nil {
		_ = e.Stop()
		t.Fatal("Start succeeded with a fake moto 0.0.1")
	}
	if msg := err.Error(); !strings.Contains(msg, InstallHint) || !strings.Contains(msg, "0.0.1") {
		t.Fatalf("error %q does not give the install command and found version", msg)
	}
}

// S3 putObject Body given as a JSON object is stored as its JSON text; a
// string Body is stored as is.
func TestS3PutObjectBody(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	cfg := emu.AWSConfig()
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := fmt.Sprintf("evidence-%d", nameSeq.Add(1))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	def := map[string]any{
		"StartAt": "Object",
		"States": map[string]any{
			"Object": sdk("s3:putObject", map[string]any{"Bucket": bucket, "Key": "meta.json", "Body.$": "$.meta"}, "Text"),
			"Text":   sdk("s3:putObject", map[string]any{"Bucket": bucket, "Key": "note.txt", "Body": "plain text"}, ""),
		},
	}
	mustSucceed(t, runDef(t, def, map[string]any{"meta": map[string]any{"instance": "i-1", "tags": []string{"a"}}}))
	for key, want := range map[string]string{"meta.json": `{"instance":"i-1","tags":["a"]}`, "note.txt": "plain text"} {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		buf := new(strings.Builder)
		_, err = fmt.Fprint(buf, readAll(t, out.Body))
		if err != nil {
			t.Fatal(err)
		}
		if buf.String() != want {
			t.Errorf("%s = %q, want %q", key, buf.String(), want)
		}
	}
}
