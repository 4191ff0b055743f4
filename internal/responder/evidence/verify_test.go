package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// bucket is an in-memory versioned bucket.
type bucket struct {
	objects map[string][]stored
	n       int
}

type stored struct {
	id   string
	body []byte
	at   time.Time
}

func (b *bucket) put(key string, body []byte) string {
	b.n++
	id := fmt.Sprintf("v%d", b.n)
	b.objects[key] = append(b.objects[key], stored{id: id, body: body, at: time.Unix(int64(b.n), 0)})
	return id
}

func (b *bucket) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	out := &s3.ListObjectVersionsOutput{}
	for key, vs := range b.objects {
		if !strings.HasPrefix(key, *in.Prefix) {
			continue
		}
		for i, v := range vs {
			out.Versions = append(out.Versions, s3types.ObjectVersion{Key: aws.String(key), VersionId: aws.String(v.id),
				LastModified: aws.Time(v.at), IsLatest: aws.Bool(i == len(vs)-1), Size: aws.Int64(int64(len(v.body)))})
		}
	}
	return out, nil
}

func (b *bucket) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	for _, v := range b.objects[*in.Key] {
		if v.id == *in.VersionId {
			return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(v.body)), ChecksumSHA256: aws.String(b64(v.body)),
				ObjectLockMode: s3types.ObjectLockModeGovernance, ServerSideEncryption: s3types.ServerSideEncryptionAwsKms}, nil
		}
	}
	return nil, fmt.Errorf("NoSuchVersion %s %s", *in.Key, *in.VersionId)
}

func b64(body []byte) string {
	s := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(s[:])
}

const prefix = "inc-1/i-0123456789abcdef0/"

// written stores a record as the workflow does and returns the output of
// the containment execution that wrote it.
func written(t *testing.T, b *bucket) []byte {
	t.Helper()
	type obj struct{ Object, Sha256, VersionId string }
	var objs []obj
	for _, name := range []string{InstanceObject, UserDataObject, ConsoleObject} {
		body := []byte(`{"object":"` + name + `"}`)
		objs = append(objs, obj{name, b64(body), b.put(prefix+name, body)})
	}
	manifest, _ := json.Marshal(map[string]interface{}{"InstanceId": "i-0123456789abcdef0", "IncidentId": "inc-1", "Objects": objs})
	b.put(prefix+ManifestObject, manifest)
	shot := []byte(`{"Screenshot":{}}`)
	shotVersion := b.put(prefix+ScreenshotObject, shot)
	summary := []byte(`{"Outcome":"CONTAINED"}`)
	b.put(prefix+"containment-i-0123456789abcdef0-1.json", summary)
	out, _ := json.Marshal(map[string]interface{}{
		"InstanceId": "i-0123456789abcdef0", "IncidentId": "inc-1",
		"Record":            []interface{}{map[string]interface{}{"Bucket": "evidence", "ManifestKey": prefix + ManifestObject, "ManifestSha256": b64(manifest), "Objects": objs}},
		"SummaryObject":     map[string]string{"Bucket": "evidence", "Key": prefix + "containment-i-0123456789abcdef0-1.json", "Sha256": b64(summary)},
		"ConsoleScreenshot": map[string]string{"Object": ScreenshotObject, "Sha256": b64(shot), "VersionId": shotVersion},
	})
	return out
}

func verify(t *testing.T, b *bucket, output []byte) *Record {
	t.Helper()
	a, err := AnchorsFrom("inc-1", "i-0123456789abcdef0", output)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Verify(context.Background(), b, a, "")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyIntactRecord(t *testing.T) {
	b := &bucket{objects: map[string][]stored{}}
	r := verify(t, b, written(t, b))
	if !r.OK() {
		t.Fatalf("an intact record does not verify: %+v", problems(r))
	}
	if len(r.Objects) != 6 {
		t.Fatalf("%d objects verified, want 6", len(r.Objects))
	}
	for _, o := range r.Objects {
		want := map[string]int{RoleManifest: 2, RoleInstance: 3, RoleUserData: 3, RoleConsole: 3, RoleScreenshot: 2, RoleSummary: 2}[o.Role]
		if len(o.Checks) != want {
			t.Errorf("%s: %d checks (%+v), want %d", o.Key, len(o.Checks), o.Checks, want)
		}
		if HexOf(o.SHA256Base64) != o.SHA256Hex || len(o.SHA256Hex) != 64 {
			t.Errorf("%s: hex %s and base64 %s are not the same hash", o.Key, o.SHA256Hex, o.SHA256Base64)
		}
	}
	if len(r.OtherKeys) != 0 {
		t.Errorf("other keys: %v", r.OtherKeys)
	}
}

func TestVerifyRewrittenObject(t *testing.T) {
	b := &bucket{objects: map[string][]stored{}}
	out := written(t, b)
	b.put(prefix+InstanceObject, []byte(`{"object":"tampered"}`))
	r := verify(t, b, out)
	o := r.Object(RoleInstance)
	if r.OK() || o.OK() || !strings.Contains(strings.Join(o.Problems, "\n"), "REWRITTEN: a LATER version") {
		t.Fatalf("a new version of instance.json is not reported: %v", problems(r))
	}
	// The recorded version itself still verifies.
	for _, c := range o.Checks {
		if !c.OK {
			t.Errorf("the recorded version fails its %s check", c.Against)
		}
	}
}

func TestVerifyReplacedObjectAndManifest(t *testing.T) {
	b := &bucket{objects: map[string][]stored{}}
	out := written(t, b)
	// The original versions are deleted (Object Lock bypassed) and a
	// tampered object and a manifest listing its hash written instead.
	tampered := []byte(`{"object":"tampered"}`)
	b.objects[prefix+InstanceObject] = nil
	id := b.put(prefix+InstanceObject, tampered)
	var m map[string]interface{}
	_ = json.Unmarshal(b.objects[prefix+ManifestObject][0].body, &m)
	m["Objects"].([]interface{})[0] = map[string]interface{}{"Object": InstanceObject, "Sha256": b64(tampered), "VersionId": id}
	forged, _ := json.Marshal(m)
	b.objects[prefix+ManifestObject] = nil
	b.put(prefix+ManifestObject, forged)

	r := verify(t, b, out)
	all := strings.Join(problems(r), "\n")
	for _, want := range []string{
		"HASH MISMATCH: the execution history says SHA-256",
		"MISSING: version",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems lack %q:\n%s", want, all)
		}
	}
	if mo := r.Object(RoleManifest); mo.OK() {
		t.Error("a forged manifest verifies")
	}
}

func TestVerifyNothingWritten(t *testing.T) {
	b := &bucket{objects: map[string][]stored{}}
	r := verify(t, b, []byte(`{"InstanceId":"i-0123456789abcdef0","Outcome":"FAILED"}`))
	if !r.OK() || len(r.Notes) == 0 {
		t.Errorf("an execution that wrote nothing: problems %v, notes %v", problems(r), r.Notes)
	}
	// A record the execution names but that is gone is a problem.
	out := written(t, &bucket{objects: map[string][]stored{}})
	r = verify(t, &bucket{objects: map[string][]stored{"other/": {{id: "x"}}}}, out)
	if r.OK() || !strings.Contains(strings.Join(problems(r), "\n"), "MISSING: s3://evidence/"+prefix+ManifestObject) {
		t.Errorf("a missing record: %v", problems(r))
	}
}

func problems(r *Record) []string {
	p := append([]string(nil), r.Problems...)
	for _, o := range r.Objects {
		for _, q := range o.Problems {
			p = append(p, o.Key+": "+q)
		}
	}
	return p
}
