// Package evidence reads an instance's records in the evidence bucket and
// verifies each object's SHA-256 three ways: against the bytes themselves,
// against the checksum S3 computed when it stored them, and against what
// the execution history says was written (and, for the pre-incident record,
// what the manifest lists). The execution history cannot be changed, so it
// is the anchor: a new version written over a record, a version deleted, or
// a manifest rewritten to match a changed object all show.
//
// Objects live under <incident-id>/<instance-id>/ (statemachine/record.go,
// screenshot.go and workflow.go name them).
package evidence

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Object names under <incident-id>/<instance-id>/, as the workflow writes
// them (statemachine.RecordInstanceObject, ...).
const (
	InstanceObject   = "instance.json"
	UserDataObject   = "user-data.json"
	ConsoleObject    = "console-output.json"
	ManifestObject   = "manifest.json"
	ScreenshotObject = "console-screenshot.json"
	// SummaryPrefix starts the containment summary's name:
	// containment-<containment execution name>.json.
	SummaryPrefix = "containment-"
)

// Object roles, as the report names them.
const (
	RoleInstance   = "pre-incident instance (DescribeInstances)"
	RoleUserData   = "user data"
	RoleConsole    = "console output"
	RoleManifest   = "manifest (SHA-256 of the record)"
	RoleScreenshot = "console screenshot"
	RoleSummary    = "containment summary"
)

// S3 is the part of the S3 API Verify uses.
type S3 interface {
	ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Prefix is the key prefix of an instance's evidence.
func Prefix(incidentID, instanceID string) string {
	return incidentID + "/" + instanceID + "/"
}
