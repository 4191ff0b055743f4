package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Sources a hash is checked against.
const (
	SourceExecution = "execution history"
	SourceManifest  = "manifest"
	SourceS3        = "S3 checksum"
)

// Record is an instance's evidence as read and verified.
type Record struct {
	InstanceID string `json:"instanceId"`
	IncidentID string `json:"incidentId"`
	Bucket     string `json:"bucket"`
	Prefix     string `json:"prefix"`
	// Objects are the evidence objects: the record's, its manifest, the
	// console screenshot and the containment summary.
	Objects []*Object `json:"objects"`
	// Problems are what does not verify at the record's level.
	Problems []string `json:"problems,omitempty"`
	// Notes are what a reader should know but is not a failure.
	Notes []string `json:"notes,omitempty"`
	// OtherKeys are the keys under Prefix that are none of Objects (the
	// summaries of other executions on the same instance, for example).
	OtherKeys []string `json:"otherKeys,omitempty"`
}

// Object is one evidence object: the version verified, its hashes and
// what they were checked against.
type Object struct {
	Key  string `json:"key"`
	Role string `json:"role"`
	// VersionID is the version verified: the one the execution or the
	// manifest names, else the first written.
	VersionID    string     `json:"versionId,omitempty"`
	Size         int64      `json:"size"`
	LastModified *time.Time `json:"lastModified,omitempty"`
	// SHA256Hex and SHA256Base64 are computed here from the bytes read:
	// the first is what sha256sum prints, the second what S3 gives.
	SHA256Hex    string `json:"sha256Hex,omitempty"`
	SHA256Base64 string `json:"sha256Base64,omitempty"`
	// Checks are the comparisons made, the S3 checksum's first.
	Checks []Check `json:"checks"`
	// OtherVersions are the key's other versions and delete markers.
	OtherVersions []Version `json:"otherVersions,omitempty"`
	// LockMode and LockUntil are the version's Object Lock retention.
	LockMode  string     `json:"lockMode,omitempty"`
	LockUntil *time.Time `json:"lockUntil,omitempty"`
	// Encryption is the server-side encryption (aws:kms, AES256) and
	// KMSKeyID its key.
	Encryption string   `json:"encryption,omitempty"`
	KMSKeyID   string   `json:"kmsKeyId,omitempty"`
	Problems   []string `json:"problems,omitempty"`
	body       []byte
}

// Check is one comparison of an object's SHA-256.
type Check struct {
	// Against is SourceS3, SourceExecution or SourceManifest.
	Against string `json:"against"`
	// Expected is the base64 SHA-256 it gives.
	Expected string `json:"expected"`
	OK       bool   `json:"ok"`
}

// Version is another version of an evidence key.
type Version struct {
	VersionID    string     `json:"versionId"`
	LastModified *time.Time `json:"lastModified,omitempty"`
	IsLatest     bool       `json:"isLatest"`
	DeleteMarker bool       `json:"deleteMarker,omitempty"`
	// SHA256Base64 is computed from its bytes ("" for a delete marker).
	SHA256Base64 string `json:"sha256Base64,omitempty"`
}

// Body is the verified version's content.
func (o *Object) Body() []byte { return o.body }

// OK reports whether the object verified: read, and every check passed.
func (o *Object) OK() bool { return len(o.Problems) == 0 }

// OK reports whether every object verified and the record is complete.
func (r *Record) OK() bool {
	if len(r.Problems) > 0 {
		return false
	}
	for _, o := range r.Objects {
		if !o.OK() {
			return false
		}
	}
	return true
}

// Object returns the object of the given role, nil if none.
func (r *Record) Object(role string) *Object {
	for _, o := range r.Objects {
		if o.Role == role {
			return o
		}
	}
	return nil
}

// manifest is the part of the record's manifest Verify reads.
type manifest struct {
	IncidentId, InstanceId, ExecutionId string
	Objects                             []struct{ Object, Sha256, VersionId string }
}

// verifier holds one record's verification.
type verifier struct {
	api      S3
	bucket   string
	versions map[string][]s3types.ObjectVersion
	markers  map[string][]s3types.DeleteMarkerEntry
	done     map[string]bool
}

// Verify reads and verifies the evidence the anchors name, in their bucket
// (bucket when they name none). It fails only when S3 cannot be read; what
// does not verify is in the Record's Problems.
func Verify(ctx context.Context, api S3, a Anchors, bucket string) (*Record, error) {
	if a.Bucket != "" {
		bucket = a.Bucket
	}
	r := &Record{InstanceID: a.InstanceID, IncidentID: a.IncidentID, Bucket: bucket, Prefix: a.prefix()}
	if bucket == "" {
		r.Notes = append(r.Notes, "the execution names no evidence bucket (it ended before writing the record) and none was given (--bucket)")
		return r, nil
	}
	v := &verifier{api: api, bucket: bucket, versions: map[string][]s3types.ObjectVersion{}, markers: map[string][]s3types.DeleteMarkerEntry{}, done: map[string]bool{}}
	if err := v.list(ctx, r.Prefix); err != nil {
		return nil, err
	}
	if len(v.versions) == 0 && len(v.markers) == 0 && a.ManifestKey == "" && a.SummaryKey == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("nothing is stored under s3://%s/%s: the execution ended before writing the record", bucket, r.Prefix))
		return r, nil
	}

	// The manifest, checked against the execution history.
	manifestKey := a.ManifestKey
	if manifestKey == "" {
		manifestKey = r.Prefix + ManifestObject
	}
	var m manifest
	mo, err := v.object(ctx, manifestKey, RoleManifest, "", expect(SourceExecution, a.ManifestSHA256))
	if err != nil {
		return nil, err
	}
	r.Objects = append(r.Objects, mo)
	if mo.body != nil {
		if err := json.Unmarshal(mo.body, &m); err != nil {
			mo.Problems = append(mo.Problems, "the manifest is not the JSON the workflow writes: "+err.Error())
		}
		if m.InstanceId != "" && m.InstanceId != a.InstanceID {
			mo.Problems = append(mo.Problems, fmt.Sprintf("the manifest names instance %s, not %s", m.InstanceId, a.InstanceID))
		}
	}
	if a.ManifestSHA256 == "" && mo.body != nil {
		r.Notes = append(r.Notes, "this execution found the record already written (the instance was contained before); the manifest was written by "+orUnknown(m.ExecutionId))
	}

	// The record's objects, against the history and the manifest.
	listed := map[string]struct{ sha, version string }{}
	for _, o := range m.Objects {
		listed[o.Object] = struct{ sha, version string }{o.Sha256, o.VersionId}
	}
	for _, name := range []struct{ file, role string }{{InstanceObject, RoleInstance}, {UserDataObject, RoleUserData}, {ConsoleObject, RoleConsole}} {
		inHistory, fromManifest := a.Objects[name.file], listed[name.file]
		version := inHistory.VersionID
		if version == "" {
			version = fromManifest.version
		}
		o, err := v.object(ctx, r.Prefix+name.file, name.role, version,
			expect(SourceExecution, inHistory.SHA256), expect(SourceManifest, fromManifest.sha))
		if err != nil {
			return nil, err
		}
		if inHistory.VersionID != "" && fromManifest.version != "" && inHistory.VersionID != fromManifest.version {
			o.Problems = append(o.Problems, fmt.Sprintf("the manifest names version %s, the execution history %s", fromManifest.version, inHistory.VersionID))
		}
		if mo.body != nil && fromManifest.sha == "" {
			o.Problems = append(o.Problems, "the manifest does not list this object")
		}
		r.Objects = append(r.Objects, o)
	}

	// The screenshot and the summary, against the history.
	if a.Screenshot != nil || len(v.versions[r.Prefix+ScreenshotObject]) > 0 {
		var w Written
		if a.Screenshot != nil {
			w = *a.Screenshot
		}
		o, err := v.object(ctx, r.Prefix+ScreenshotObject, RoleScreenshot, w.VersionID, expect(SourceExecution, w.SHA256))
		if err != nil {
			return nil, err
		}
		r.Objects = append(r.Objects, o)
	}
	if a.SummaryKey != "" {
		o, err := v.object(ctx, a.SummaryKey, RoleSummary, "", expect(SourceExecution, a.SummarySHA256))
		if err != nil {
			return nil, err
		}
		r.Objects = append(r.Objects, o)
	}
	for _, key := range v.keys() {
		if !v.done[key] {
			r.OtherKeys = append(r.OtherKeys, key)
		}
	}
	return r, nil
}

// expectation is a hash an object must have, and where it comes from.
type expectation struct{ source, sha string }

func expect(source, sha string) expectation { return expectation{source, sha} }

// list reads every version and delete marker under prefix.
func (v *verifier) list(ctx context.Context, prefix string) error {
	p := s3.NewListObjectVersionsPaginator(v.api, &s3.ListObjectVersionsInput{Bucket: aws.String(v.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list the versions of s3://%s/%s: %w", v.bucket, prefix, err)
		}
		for _, o := range page.Versions {
			v.versions[aws.ToString(o.Key)] = append(v.versions[aws.ToString(o.Key)], o)
		}
		for _, d := range page.DeleteMarkers {
			v.markers[aws.ToString(d.Key)] = append(v.markers[aws.ToString(d.Key)], d)
		}
	}
	for _, vs := range v.versions {
		sort.SliceStable(vs, func(i, j int) bool { return aws.ToTime(vs[i].LastModified).Before(aws.ToTime(vs[j].LastModified)) })
	}
	return nil
}

// keys are every key listed, sorted.
func (v *verifier) keys() []string {
	var keys []string
	for k := range v.versions {
		keys = append(keys, k)
	}
	for k := range v.markers {
		if _, ok := v.versions[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// object verifies one key: the version named (else the first written),
// its bytes against S3's checksum and each expectation, and the key's
// other versions, each of which is a problem: evidence is written once.
func (v *verifier) object(ctx context.Context, key, role, version string, expectations ...expectation) (*Object, error) {
	v.done[key] = true
	o := &Object{Key: key, Role: role}
	versions := v.versions[key]
	if len(versions) == 0 {
		o.Problems = append(o.Problems, fmt.Sprintf("MISSING: s3://%s/%s does not exist", v.bucket, key))
		v.markersOf(o)
		return o, nil
	}
	chosen := versions[0]
	if version != "" {
		found := false
		for _, ver := range versions {
			if aws.ToString(ver.VersionId) == version {
				chosen, found = ver, true
			}
		}
		if !found {
			o.Problems = append(o.Problems, fmt.Sprintf("MISSING: version %s, the one the record names, no longer exists; the earliest remaining version was checked instead", version))
		}
	}
	o.VersionID, o.Size, o.LastModified = aws.ToString(chosen.VersionId), aws.ToInt64(chosen.Size), chosen.LastModified
	read, err := v.read(ctx, key, o.VersionID)
	if err != nil {
		return nil, err
	}
	o.body = read.body
	o.SHA256Hex, o.SHA256Base64 = read.hex, read.base64
	o.LockMode, o.LockUntil = read.lockMode, read.lockUntil
	o.Encryption, o.KMSKeyID = read.encryption, read.kmsKeyID
	if read.s3SHA != "" {
		o.addCheck(SourceS3, read.s3SHA)
	} else {
		o.Problems = append(o.Problems, "S3 gives no SHA-256 checksum for this version (it was not written by the workflow, which has S3 compute one)")
	}
	for _, e := range expectations {
		if e.sha != "" {
			o.addCheck(e.source, e.sha)
		}
	}
	for _, ver := range versions {
		id := aws.ToString(ver.VersionId)
		if id == o.VersionID {
			continue
		}
		other, err := v.read(ctx, key, id)
		if err != nil {
			return nil, err
		}
		o.OtherVersions = append(o.OtherVersions, Version{VersionID: id, LastModified: ver.LastModified, IsLatest: aws.ToBool(ver.IsLatest), SHA256Base64: other.base64})
		what := "another version"
		if aws.ToBool(ver.IsLatest) {
			what = "a LATER version, which a read without a version ID returns,"
		}
		o.Problems = append(o.Problems, fmt.Sprintf("REWRITTEN: %s (%s, written %s, SHA-256 %s) exists beside the recorded one: evidence is written once, so this one was written by someone else",
			what, id, aws.ToTime(ver.LastModified).UTC().Format(time.RFC3339), other.base64))
	}
	v.markersOf(o)
	return o, nil
}

// markersOf adds the key's delete markers to o, each a problem.
func (v *verifier) markersOf(o *Object) {
	for _, d := range v.markers[o.Key] {
		o.OtherVersions = append(o.OtherVersions, Version{VersionID: aws.ToString(d.VersionId), LastModified: d.LastModified, IsLatest: aws.ToBool(d.IsLatest), DeleteMarker: true})
		o.Problems = append(o.Problems, fmt.Sprintf("DELETED: a delete marker (%s, %s) hides the object from reads without a version ID",
			aws.ToString(d.VersionId), aws.ToTime(d.LastModified).UTC().Format(time.RFC3339)))
	}
}

// addCheck compares the object's hash with want.
func (o *Object) addCheck(source, want string) {
	ok := want == o.SHA256Base64
	o.Checks = append(o.Checks, Check{Against: source, Expected: want, OK: ok})
	if !ok {
		o.Problems = append(o.Problems, fmt.Sprintf("HASH MISMATCH: the %s says SHA-256 %s (hex %s), the stored bytes hash to %s (hex %s)",
			source, want, hexOf(want), o.SHA256Base64, o.SHA256Hex))
	}
}

// readResult is one version's content and metadata.
type readResult struct {
	body                 []byte
	hex, base64, s3SHA   string
	lockMode             string
	lockUntil            *time.Time
	encryption, kmsKeyID string
}

// read gets one version and hashes its bytes.
func (v *verifier) read(ctx context.Context, key, version string) (readResult, error) {
	out, err := v.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket:       aws.String(v.bucket),
		Key:          aws.String(key),
		VersionId:    aws.String(version),
		ChecksumMode: s3types.ChecksumModeEnabled,
	})
	if err != nil {
		return readResult{}, fmt.Errorf("read s3://%s/%s version %s: %w", v.bucket, key, version, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		return readResult{}, fmt.Errorf("read s3://%s/%s version %s: %w", v.bucket, key, version, err)
	}
	sum := sha256.Sum256(body)
	return readResult{
		body: body, hex: hex.EncodeToString(sum[:]), base64: base64.StdEncoding.EncodeToString(sum[:]),
		s3SHA:    aws.ToString(out.ChecksumSHA256),
		lockMode: string(out.ObjectLockMode), lockUntil: out.ObjectLockRetainUntilDate,
		encryption: string(out.ServerSideEncryption), kmsKeyID: aws.ToString(out.SSEKMSKeyId),
	}, nil
}

// hexOf converts a base64 SHA-256 to hex ("" if it is not base64).
func hexOf(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "not base64"
	}
	return hex.EncodeToString(b)
}

// HexOf converts a base64 SHA-256, as S3 gives it, to the hex form
// sha256sum prints.
func HexOf(b64 string) string { return hexOf(b64) }

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "an unknown execution"
	}
	return s
}
