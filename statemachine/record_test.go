package statemachine_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// evidence is an S3 client for the evidence bucket.
func evidence() *s3.Client {
	return s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

// recordObject reads one object of the record: its bytes, their SHA-256
// (base64, as S3 reports it), its version count and its Object Lock.
func recordObject(t *testing.T, bucket, key string) (body []byte, sum string, versions int, head *s3.HeadObjectOutput) {
	t.Helper()
	ctx := context.Background()
	out, err := evidence().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	body, err = io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	h := sha256.Sum256(body)
	head, err = evidence().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("head s3://%s/%s: %v", bucket, key, err)
	}
	v, err := evidence().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list versions of s3://%s/%s: %v", bucket, key, err)
	}
	return body, base64.StdEncoding.EncodeToString(h[:]), len(v.Versions), head
}

// manifest is the record's manifest object.
type manifest struct {
	IncidentId, InstanceId, CapturedAt string
	// Captured says whether the record shows the instance before any
	// change (a first containment), or after an earlier attempt's.
	Captured struct {
		BeforeAnyChange bool
		Note            string
	}
	Objects []struct{ Object, Sha256, VersionId string }
}

// assertRecordWritten: the pre-incident record is in the evidence bucket
// under <incident>/<instance>/, every object's bytes hash to the SHA-256
// the manifest and the output give, every object is locked (GOVERNANCE, in
// the future) and has one version, and instance.json shows the instance as
// it was before containment (its original groups, DeleteOnTermination on).
// It returns the manifest's bytes, to compare across runs.
func assertRecordWritten(t *testing.T, inst *scene.Instance, sum InstanceSummary, incident string) []byte {
	t.Helper()
	return assertRecordStored(t, inst, sum, incident, true)
}

// assertRecordStored checks the record as assertRecordWritten does; a
// record read after an earlier attempt changed the instance
// (beforeAnyChange false) must say so, with a note, and is not compared
// with the instance as the scene built it.
func assertRecordStored(t *testing.T, inst *scene.Instance, sum InstanceSummary, incident string, beforeAnyChange bool) []byte {
	t.Helper()
	if len(sum.Record) != 1 {
		t.Fatalf("%s: output Record = %+v, want one record", inst.ID, sum.Record)
	}
	rec := sum.Record[0]
	prefix := incident + "/" + inst.ID + "/"
	if rec.Bucket != deployed.Bucket || rec.ManifestKey != prefix+statemachine.RecordManifestObject {
		t.Errorf("%s: output record s3://%s/%s, want s3://%s/%s%s", inst.ID, rec.Bucket, rec.ManifestKey, deployed.Bucket, prefix, statemachine.RecordManifestObject)
	}
	body, got, versions, head := recordObject(t, deployed.Bucket, prefix+statemachine.RecordManifestObject)
	if rec.Written && rec.ManifestSha256 != got {
		t.Errorf("%s: manifest SHA-256 in the output %q, of its bytes %q", inst.ID, rec.ManifestSha256, got)
	}
	assertLocked(t, prefix+statemachine.RecordManifestObject, versions, head)
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: manifest is not JSON: %v\n%s", inst.ID, err, body)
	}
	if m.InstanceId != inst.ID || m.IncidentId != incident || m.CapturedAt == "" {
		t.Errorf("%s: manifest says instance %q incident %q captured %q", inst.ID, m.InstanceId, m.IncidentId, m.CapturedAt)
	}
	if m.Captured.BeforeAnyChange != beforeAnyChange || (!beforeAnyChange && !strings.Contains(m.Captured.Note, "earlier containment")) {
		t.Errorf("%s: manifest says captured %+v, want before any change %v (with a note if not)", inst.ID, m.Captured, beforeAnyChange)
	}
	var names []string
	for _, o := range m.Objects {
		names = append(names, o.Object)
		data, sha, versions, head := recordObject(t, deployed.Bucket, prefix+o.Object)
		if sha != o.Sha256 {
			t.Errorf("%s: %s hashes to %s, manifest says %s", inst.ID, o.Object, sha, o.Sha256)
		}
		assertLocked(t, prefix+o.Object, versions, head)
		if o.Object == statemachine.RecordInstanceObject && beforeAnyChange {
			assertPreIncidentInstance(t, inst, data)
		}
	}
	sort.Strings(names)
	want := []string{statemachine.RecordConsoleObject, statemachine.RecordInstanceObject, statemachine.RecordUserDataObject}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("%s: manifest lists %v, want %v", inst.ID, names, want)
	}
	return body
}

// assertLocked: one version, Object Lock GOVERNANCE until a future date.
func assertLocked(t *testing.T, key string, versions int, head *s3.HeadObjectOutput) {
	t.Helper()
	if versions != 1 {
		t.Errorf("%s has %d versions, want 1 (never overwritten)", key, versions)
	}
	if head.ObjectLockMode != s3types.ObjectLockModeGovernance || head.ObjectLockRetainUntilDate == nil || !head.ObjectLockRetainUntilDate.After(time.Now()) {
		t.Errorf("%s: Object Lock %q until %v, want GOVERNANCE until a future date", key, head.ObjectLockMode, head.ObjectLockRetainUntilDate)
	}
}

// assertPreIncidentInstance: the recorded DescribeInstances item is the
// instance before containment.
func assertPreIncidentInstance(t *testing.T, inst *scene.Instance, data []byte) {
	t.Helper()
	var item struct {
		InstanceId        string
		NetworkInterfaces []struct {
			NetworkInterfaceId string
			Groups             []struct{ GroupId string }
		}
		BlockDeviceMappings []struct {
			Ebs struct{ DeleteOnTermination bool }
		}
	}
	if err := json.Unmarshal(data, &item); err != nil {
		t.Fatalf("%s: instance.json is not the DescribeInstances item: %v", inst.ID, err)
	}
	if item.InstanceId != inst.ID {
		t.Errorf("instance.json is of %q, want %s", item.InstanceId, inst.ID)
	}
	for _, eni := range item.NetworkInterfaces {
		var ids []string
		for _, g := range eni.Groups {
			ids = append(ids, g.GroupId)
		}
		sort.Strings(ids)
		want := append([]string(nil), inst.GroupsByENI[eni.NetworkInterfaceId]...)
		sort.Strings(want)
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("%s: instance.json shows ENI %s with %v, want its pre-incident groups %v", inst.ID, eni.NetworkInterfaceId, ids, want)
		}
	}
	for _, m := range item.BlockDeviceMappings {
		if !m.Ebs.DeleteOnTermination {
			t.Errorf("%s: instance.json shows DeleteOnTermination false: it was read after the change", inst.ID)
		}
	}
}
