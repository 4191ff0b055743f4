// Package report builds an incident's report, what goes into the incident
// ticket: per instance, its outcome (and, if it failed, the step and the
// cause), what the workflow changed, the before/after view (as recorded in
// the evidence bucket, and as the instance is now) drawn by
// internal/inspect's renderer, where the evidence is and whether every
// SHA-256 verifies, and the AWS CLI commands that release it by hand. It
// writes it as Markdown or as a standalone HTML page.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/essential-ir/essential-ir/internal/inspect"
	"github.com/essential-ir/essential-ir/internal/responder/evidence"
	"github.com/essential-ir/essential-ir/internal/responder/execution"
)

// Report is an incident's report.
type Report struct {
	GeneratedAt time.Time           `json:"generatedAt"`
	Incident    *execution.Incident `json:"incident"`
	Instances   []*Instance         `json:"instances"`
}

// Instance is one instance's part of the report.
type Instance struct {
	*execution.Instance
	// Name is its Name tag.
	Name string `json:"name,omitempty"`
	// Changes are what the containment execution says it changed.
	Changes []string `json:"changes,omitempty"`
	// Before is the instance as recorded before any change; Now as read
	// when the report was made. Either is nil when it could not be read
	// (ViewNotes say why).
	Before    *inspect.InstanceState `json:"before,omitempty"`
	Now       *inspect.InstanceState `json:"now,omitempty"`
	ViewNotes []string               `json:"viewNotes,omitempty"`
	// RecordedAt is when the record was taken; NowReadAt when Now was.
	RecordedAt time.Time `json:"recordedAt,omitempty"`
	NowReadAt  time.Time `json:"nowReadAt,omitempty"`
	// Verification is the verification of its evidence records.
	Verification *evidence.Record `json:"verification"`
	// Snapshots are the evidence snapshots its evidence execution secured.
	Snapshots []Snapshot `json:"snapshots,omitempty"`
	// Release are the commands that undo the changes still in place.
	Release []Command `json:"release"`
}

// EvidenceOK reports whether every instance's evidence verified.
func (r *Report) EvidenceOK() bool {
	for _, i := range r.Instances {
		if !i.Verification.OK() {
			return false
		}
	}
	return true
}

// NeedsAttention reports whether the report found something a responder
// must act on: evidence that does not verify, an instance not contained or
// whose evidence was not preserved, an execution that did not succeed.
func (r *Report) NeedsAttention() bool {
	return !r.EvidenceOK() || r.Incident.NeedsAttention()
}

// Options tune Build.
type Options struct {
	// Bucket is the evidence bucket to read when an execution names none.
	Bucket string
	// Live reads each instance as it is now, for the after side of the
	// view, the rules of its former groups and the release commands.
	// Without it, Now is nil: the view shows the record alone.
	Live bool
	// TagKey is the deployment's investigation tag key (default
	// DefaultTagKey).
	TagKey string
	// Now is the report's time (default time.Now).
	Now func() time.Time
	// S3Options configure the S3 client (path-style addressing for an
	// emulator).
	S3Options func(*s3.Options)
}

// Build reads and verifies the evidence of every instance of inc and
// builds the report. It fails only when AWS cannot be read; what does not
// verify is in the report.
func Build(ctx context.Context, cfg aws.Config, inc *execution.Incident, o Options) (*Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TagKey == "" {
		o.TagKey = DefaultTagKey
	}
	var s3opts []func(*s3.Options)
	if o.S3Options != nil {
		s3opts = append(s3opts, o.S3Options)
	}
	s3c := s3.NewFromConfig(cfg, s3opts...)
	r := &Report{GeneratedAt: o.Now().UTC(), Incident: inc}
	for _, i := range inc.Instances {
		ir, err := buildInstance(ctx, cfg, s3c, inc, i, o)
		if err != nil {
			return nil, err
		}
		r.Instances = append(r.Instances, ir)
	}
	return r, nil
}

func buildInstance(ctx context.Context, cfg aws.Config, s3c *s3.Client, inc *execution.Incident, i *execution.Instance, o Options) (*Instance, error) {
	ir := &Instance{Instance: i}
	incidentID := i.IncidentID
	if incidentID == "" {
		incidentID = inc.IncidentID
	}
	var outcome json.RawMessage
	var c *containment
	if p := i.Containment; p != nil {
		outcome = p.FailedOutcome
		if p.Status == execution.StatusSucceeded {
			outcome = p.Output
			c = &containment{}
			if err := json.Unmarshal(p.Output, c); err != nil {
				return nil, fmt.Errorf("read the output of %s: %w", p.ExecutionARN, err)
			}
			c.DenyPolicies = denyPolicies(inc)
		}
	}
	anchors, err := evidence.AnchorsFrom(incidentID, i.InstanceID, outcome)
	if err != nil {
		return nil, err
	}
	ir.Verification, err = evidence.Verify(ctx, s3c, anchors, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("verify the evidence of %s: %w", i.InstanceID, err)
	}
	if c != nil {
		// The summary object adds the snapshot IDs and tags to the output,
		// when it verifies.
		if so := ir.Verification.Object(evidence.RoleSummary); so != nil && so.OK() {
			var full containment
			if json.Unmarshal(so.Body(), &full) == nil {
				c.SnapshotsStarted, c.Tags, c.AlreadyPreservedSnapshots = full.SnapshotsStarted, full.Tags, full.AlreadyPreservedSnapshots
			}
		}
		ir.Changes = changes(c)
	}
	if p := i.Evidence; p != nil && p.Status == execution.StatusSucceeded {
		var out preserved
		if err := json.Unmarshal(p.Output, &out); err == nil {
			ir.Snapshots = out.Snapshots
		}
	}

	if obj := ir.Verification.Object(evidence.RoleInstance); obj != nil && obj.Body() != nil {
		before, err := beforeState(obj.Body(), c)
		if err != nil {
			ir.ViewNotes = append(ir.ViewNotes, err.Error())
		} else {
			ir.Before, ir.Name = before, before.Name
		}
		if mo := ir.Verification.Object(evidence.RoleManifest); mo != nil {
			ir.RecordedAt = capturedAt(mo.Body())
		}
	} else {
		ir.ViewNotes = append(ir.ViewNotes, "no pre-incident record was read, so the before side is empty")
	}
	if o.Live {
		now, err := inspect.Snapshot(ctx, cfg, i.InstanceID)
		ir.NowReadAt = o.Now().UTC()
		if err != nil {
			ir.ViewNotes = append(ir.ViewNotes, "the instance could not be read now: "+err.Error())
		} else {
			ir.Now = now
			if ir.Name == "" {
				ir.Name = now.Name
			}
		}
	}
	if ir.Before != nil {
		completeBefore(ir.Before, ir.Now, groupsOf(ctx, cfg, ir.Before, o.Live))
		ir.Release = releaseCommands(inc.Region, i.InstanceID, ir.Before, ir.Now, c, o.TagKey)
	}
	return ir, nil
}

// denyPolicies are the deny policies the incident's revocation execution
// attached to the roles of its instances, if it succeeded.
func denyPolicies(inc *execution.Incident) []string {
	r := inc.Revocation
	if r == nil || r.Status != execution.StatusSucceeded {
		return nil
	}
	var out struct{ Policies []string }
	_ = json.Unmarshal(r.Output, &out) // an output without policies lists none
	return out.Policies
}

// groupsOf reads, with their rules as they are now, the groups the
// instance's ENIs were in; none when live reads are off or the read fails
// (a group deleted since): their rules then show as unknown.
func groupsOf(ctx context.Context, cfg aws.Config, before *inspect.InstanceState, live bool) map[string]inspect.SecurityGroup {
	if !live {
		return nil
	}
	var ids []string
	for _, n := range before.NetworkInterfaces {
		for _, g := range n.SecurityGroups {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	groups, err := inspect.SecurityGroups(ctx, cfg, ids)
	if err != nil {
		return nil
	}
	return groups
}
