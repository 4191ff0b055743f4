package evidence

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Anchors are what an instance's containment execution says it wrote to
// the evidence bucket: its output when it succeeded, the outcome it failed
// with otherwise. Hashes are base64 SHA-256, as S3 gives them.
type Anchors struct {
	IncidentID, InstanceID string
	Bucket                 string
	// ManifestKey and ManifestSHA256 are the record's manifest; the hash
	// is empty when this execution found the record already written (a
	// re-run) rather than writing it.
	ManifestKey, ManifestSHA256 string
	// Objects are the record's objects (instance.json, user-data.json,
	// console-output.json) by name.
	Objects map[string]Written
	// Screenshot is the console screenshot, nil if not written.
	Screenshot *Written
	// SummaryKey and SummarySHA256 are the containment summary, empty if
	// the execution did not write one (it failed before).
	SummaryKey, SummarySHA256 string
}

// Written is one object as the execution wrote it.
type Written struct {
	SHA256    string `json:"Sha256"`
	VersionID string `json:"VersionId"`
}

// outcome is the part of a containment execution's output (or failed
// outcome) that names its evidence.
type outcome struct {
	InstanceId, IncidentId string
	Record                 []struct {
		Bucket, ManifestKey, ManifestSha256 string
		Objects                             []struct{ Object, Sha256, VersionId string }
	}
	SummaryObject     struct{ Bucket, Key, Sha256 string }
	ConsoleScreenshot struct {
		Object, Sha256, VersionId string
	}
}

// AnchorsFrom reads the anchors of an instance from its containment
// execution's output, or from the outcome it failed with. incidentID is
// used when the outcome does not name one.
func AnchorsFrom(incidentID, instanceID string, outcomeJSON []byte) (Anchors, error) {
	a := Anchors{IncidentID: incidentID, InstanceID: instanceID, Objects: map[string]Written{}}
	if len(outcomeJSON) == 0 {
		return a, nil
	}
	var o outcome
	if err := json.Unmarshal(outcomeJSON, &o); err != nil {
		return a, fmt.Errorf("read the evidence named by the execution of %s: %w", instanceID, err)
	}
	if o.IncidentId != "" {
		a.IncidentID = o.IncidentId
	}
	if len(o.Record) > 0 {
		r := o.Record[0]
		a.Bucket, a.ManifestKey, a.ManifestSHA256 = r.Bucket, r.ManifestKey, r.ManifestSha256
		for _, obj := range r.Objects {
			a.Objects[obj.Object] = Written{SHA256: obj.Sha256, VersionID: obj.VersionId}
		}
	}
	if s := o.SummaryObject; s.Key != "" {
		a.SummaryKey, a.SummarySHA256 = s.Key, s.Sha256
		if a.Bucket == "" {
			a.Bucket = s.Bucket
		}
	}
	if s := o.ConsoleScreenshot; s.Object != "" && s.Sha256 != "" {
		a.Screenshot = &Written{SHA256: s.Sha256, VersionID: s.VersionId}
	}
	return a, nil
}

// prefix is where the anchors' instance keeps its evidence.
func (a Anchors) prefix() string {
	if a.ManifestKey != "" {
		return a.ManifestKey[:strings.LastIndex(a.ManifestKey, "/")+1]
	}
	return Prefix(a.IncidentID, a.InstanceID)
}
