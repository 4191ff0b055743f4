package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/essential-ir/essential-ir/internal/responder/evidence"
	"github.com/essential-ir/essential-ir/internal/responder/report"
	"github.com/essential-ir/essential-ir/internal/scene"
)

func s3Client() *s3.Client {
	return s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

// storedObject is one version in the evidence bucket, hashed here.
type storedObject struct {
	key, version, hex, base64 string
	body                      []byte
}

// stored lists every version under prefix, each read and hashed by the
// test itself.
func stored(t *testing.T, prefix string) []storedObject {
	t.Helper()
	ctx := context.Background()
	c := s3Client()
	out, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(deployed.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var objs []storedObject
	for _, v := range out.Versions {
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(deployed.Bucket), Key: v.Key, VersionId: v.VersionId})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		objs = append(objs, storedObject{key: aws.ToString(v.Key), version: aws.ToString(v.VersionId),
			hex: hex.EncodeToString(sum[:]), base64: base64.StdEncoding.EncodeToString(sum[:]), body: body})
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
	return objs
}

func TestReportVerifiesTheWebServersEvidence(t *testing.T) {
	web := build(t, scene.CompromisedWebServer())
	incident := contained(t, web.ID)
	prefix := evidence.Prefix(incident, web.ID)

	r := essentialIR(t, "report", incident)
	if r.code != ExitOK {
		t.Fatalf("exit %d, want %d", r.code, ExitOK)
	}
	md := r.stdout
	objs := stored(t, prefix)
	if len(objs) != 6 || !strings.Contains(r.stderr, "Evidence verified: 6 objects") {
		t.Fatalf("%d objects stored under %s; stderr %q", len(objs), prefix, r.stderr)
	}
	// Every object is named with its version and both forms of the hash
	// the test computed from its bytes.
	for _, o := range objs {
		for _, want := range []string{o.key[len(prefix):], "`" + o.version + "`", "`" + o.hex + "`", "`" + o.base64 + "`"} {
			if !strings.Contains(md, want) {
				t.Errorf("the report lacks %s of %s", want, o.key)
			}
		}
	}
	// The before/after view is inspect's, recorded against now.
	for _, want := range []string{"```text\nInstance " + web.ID, "RECORDED 20", "NOW 20", "5. Network (per ENI", "8. Snapshots (evidence)"} {
		if !strings.Contains(md, want) {
			t.Errorf("the view lacks %q", want)
		}
	}
	// The release commands restore exactly what the scene had.
	for eni, groups := range web.GroupsByENI {
		g := append([]string(nil), groups...)
		sort.Strings(g)
		if want := "aws ec2 modify-network-interface-attribute --network-interface-id " + eni + " --groups " + strings.Join(g, " ") + " --region us-east-1"; !strings.Contains(md, want) {
			t.Errorf("no release of %s: %s", eni, want)
		}
	}
	for _, want := range []string{
		"--iam-instance-profile Arn=" + web.InstanceProfileARN,
		"aws iam detach-role-policy --role-name " + web.RoleName + " --policy-arn arn:aws:iam::" + emu.AccountID() + ":policy" + report.DenyPolicyPathPrefix,
		"aws elb register-instances-with-load-balancer --load-balancer-name " + web.ClassicLoadBalancerName + " --instances " + web.ID,
		"--auto-scaling-group-name " + web.AutoScalingGroupName,
		"--no-disable-api-termination", "--attribute instanceInitiatedShutdownBehavior --value terminate",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the release lacks %q", want)
		}
	}
	for _, tg := range web.TargetGroupARNs {
		if !strings.Contains(md, "aws elbv2 register-targets --target-group-arn "+tg+" --targets Id="+web.ID) {
			t.Errorf("no release from target group %s", tg)
		}
	}

	// HTML, to a file.
	file := filepath.Join(t.TempDir(), "report.html")
	if r := essentialIR(t, "report", "--html", "--file", file, incident); r.code != ExitOK || r.stdout != "" {
		t.Fatalf("report --html --file: exit %d, stdout %q", r.code, r.stdout)
	}
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(page, []byte("<!DOCTYPE html>")) || !bytes.Contains(page, []byte(`<table class="before-after">`)) || !bytes.Contains(page, []byte(objs[0].hex)) {
		t.Error("the HTML report lacks the page, the view or the hashes")
	}
	t.Run("in a browser", func(t *testing.T) { screenshot(t, file) })

	// JSON: every check of every object passed.
	r = essentialIR(t, "report", "--output", "json", incident)
	var rep report.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Instances) != 1 {
		t.Fatalf("report JSON: %v", err)
	}
	v := rep.Instances[0].Verification
	if len(v.Objects) != 6 {
		t.Fatalf("%d objects verified, want 6", len(v.Objects))
	}
	for _, o := range v.Objects {
		if len(o.Problems) > 0 || len(o.Checks) < 2 {
			t.Errorf("%s: checks %+v, problems %v", o.Key, o.Checks, o.Problems)
		}
		for _, c := range o.Checks {
			if !c.OK {
				t.Errorf("%s: check against %s failed", o.Key, c.Against)
			}
		}
	}
}

// tamper writes a new version of an evidence object, as someone who can
// change the bucket's policy can, Object Lock or not: the policy refuses
// any other write over an object (If-None-Match), so it is lifted for the
// write and put back.
func tamper(t *testing.T, key string, body []byte) {
	t.Helper()
	ctx := context.Background()
	c := s3Client()
	policy, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(deployed.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(deployed.Bucket)}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(deployed.Bucket), Policy: policy.Policy}); err != nil {
			t.Fatal(err)
		}
	}()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(deployed.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(body), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}); err != nil {
		t.Fatal(err)
	}
}

func TestReportFailsOnARewrittenRecordObject(t *testing.T) {
	bare := build(t, scene.BareInstance())
	incident := contained(t, bare.ID)
	key := evidence.Prefix(incident, bare.ID) + evidence.InstanceObject
	tampered := []byte(`{"InstanceId": "` + bare.ID + `", "Tags": []}`)
	tamper(t, key, tampered)
	sum := sha256.Sum256(tampered)

	r := essentialIR(t, "report", incident)
	if r.code != ExitAttention {
		t.Fatalf("exit %d, want %d", r.code, ExitAttention)
	}
	for _, want := range []string{"**⚠ NEEDS ATTENTION**", "EVIDENCE DOES NOT VERIFY", "REWRITTEN: a LATER version", base64.StdEncoding.EncodeToString(sum[:])} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if !strings.Contains(r.stderr, "THE EVIDENCE OF "+bare.ID+" DOES NOT VERIFY") || !strings.Contains(r.stderr, key) {
		t.Error("stderr does not say loudly which object does not verify")
	}
	// The recorded version is still the one shown and verified.
	var rep report.Report
	r = essentialIR(t, "report", "--output", "json", incident)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, o := range rep.Instances[0].Verification.Objects {
		if o.Key == key && (len(o.OtherVersions) != 1 || o.SHA256Base64 == base64.StdEncoding.EncodeToString(sum[:])) {
			t.Errorf("instance.json: verified %s, other versions %+v", o.SHA256Base64, o.OtherVersions)
		}
		if o.Key != key && len(o.Problems) > 0 {
			t.Errorf("%s, untouched, has problems: %v", o.Key, o.Problems)
		}
	}
}

// A manifest rewritten to list a changed hash does not match the hash the
// execution history recorded for it.
func TestReportFailsOnAChangedManifest(t *testing.T) {
	bare := build(t, scene.BareInstance())
	incident := contained(t, bare.ID)
	prefix := evidence.Prefix(incident, bare.ID)
	var manifest map[string]interface{}
	for _, o := range stored(t, prefix) {
		if o.key == prefix+evidence.ManifestObject {
			if err := json.Unmarshal(o.body, &manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	objects := manifest["Objects"].([]interface{})
	objects[0].(map[string]interface{})["Sha256"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
	forged, _ := json.Marshal(manifest)
	tamper(t, prefix+evidence.ManifestObject, forged)

	r := essentialIR(t, "report", incident)
	if r.code != ExitAttention || !strings.Contains(r.stderr, prefix+evidence.ManifestObject+": REWRITTEN") {
		t.Fatalf("exit %d, want %d naming the manifest", r.code, ExitAttention)
	}

	// If the original manifest is gone too (Object Lock bypassed), the one
	// left does not hash to what the execution history recorded.
	ctx := context.Background()
	c := s3Client()
	first := stored(t, prefix+evidence.ManifestObject)
	var original string
	for _, o := range first {
		if !bytes.Equal(o.body, forged) {
			original = o.version
		}
	}
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(deployed.Bucket), Key: aws.String(prefix + evidence.ManifestObject),
		VersionId: aws.String(original), BypassGovernanceRetention: aws.Bool(true)}); err != nil {
		t.Skipf("the emulated S3 does not delete a locked version with BypassGovernanceRetention: %v", err)
	}
	r = essentialIR(t, "report", incident)
	if r.code != ExitAttention || !strings.Contains(r.stdout, "HASH MISMATCH: the execution history says SHA-256") {
		t.Errorf("exit %d; the forged manifest is not reported against the execution history", r.code)
	}
}
