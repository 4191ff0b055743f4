package statemachine

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// Evidence objects written per instance under <incident-id>/<instance-id>/.
const (
	// RecordInstanceObject is the full DescribeInstances item, read before
	// any change: ENIs and their groups, instance profile, volumes and
	// DeleteOnTermination, tags (including its Auto Scaling group's).
	RecordInstanceObject = "instance.json"
	// RecordUserDataObject is DescribeInstanceAttribute userData, as returned.
	RecordUserDataObject = "user-data.json"
	// RecordConsoleObject is GetConsoleOutput, as returned.
	RecordConsoleObject = "console-output.json"
	// RecordManifestObject lists every object above with its SHA-256.
	RecordManifestObject = "manifest.json"
)

// recordObjects are the pre-incident record's objects and the state paths
// their contents are read from.
var recordObjects = []struct{ name, file, body string }{
	{"Instance", RecordInstanceObject, "$.Instance.Item"},
	{"User Data", RecordUserDataObject, "$.Record.UserData"},
	{"Console Output", RecordConsoleObject, "$.Record.Console"},
}

// recordPreIncidentState writes the pre-incident record of the instance to
// the evidence bucket: the DescribeInstances item read before the first
// change, its user data and its console output, each as a JSON object, and
// a manifest with the SHA-256 of each (computed by S3 from the bytes it
// stored, ChecksumAlgorithm SHA256). Writes are conditional (If-None-Match),
// so nothing is ever overwritten; if the manifest already exists (a re-run)
// the record is left as it is. The console screenshot is taken last, once
// the instance is contained (captureScreenshot): its image is the one result
// whose size AWS does not bound.
//
// It is a step of the containment phase, beside isolation: it never delays
// isolation, and its failure (after whatever could be stored is stored)
// fails the instance once every other step has run.
func (b *builder) recordPreIncidentState() branch {
	const step = "Record Pre-Incident State"
	// Every outcome below ends here: a failure is raised so the phase
	// records it; a stored record is kept for the summary.
	outcome := b.choice("Was The Record Stored Whole?").
		When(sfn.Condition_IsPresent(jsii.String("$.RecordFailure")), sfn.NewFail(b.scope, jsii.String(step+" Failed"), &sfn.FailProps{
			ErrorPath: jsii.String("$.RecordFailure.Error"),
			CausePath: jsii.String("$.RecordFailure.Cause"),
		}), nil).
		Otherwise(b.succeed("Record Stored"))
	failed := b.pass("Record Failed", map[string]interface{}{"RecordFailure": map[string]interface{}{
		"Error.$": "$.Failure.Error",
		"Cause.$": "States.Format('" + step + " failed for instance {}: {}', $.InstanceId, $.Failure.Cause)",
	}}, "")
	failed.Next(outcome)
	key := func(file string) string {
		return "States.Format('{}/{}/" + file + "', $.IncidentId, $.InstanceId)"
	}
	// S3 encrypts each object with the evidence key (SSE-KMS, bucket key),
	// and decrypts it to check its checksum (Already Stored), on the
	// workflow's behalf: only S3 may use the key so (kms:ViaService, KMS
	// Developer Guide).
	viaS3 := map[string]interface{}{"StringEquals": map[string]interface{}{"kms:ViaService": viaService("s3")}}
	b.access = append(b.access,
		Access{Action: "kms:GenerateDataKey", Resources: []string{b.settings.EvidenceKeyArn}, Conditions: viaS3},
		Access{Action: "kms:Decrypt", Resources: []string{b.settings.EvidenceKeyArn}, Conditions: viaS3})
	// Without s3:ListBucket, S3 answers a request for a missing object with
	// 403 AccessDenied instead of 404 NoSuchKey (Amazon S3 API Reference,
	// HeadObject, "Permissions"), and the look for an existing record
	// below could not tell "not written yet" from "refused".
	b.access = append(b.access, Access{Action: "s3:ListBucket", Resources: []string{b.bucketARN()}})
	kept := b.pass("Record Already Written", map[string]interface{}{"RecordResult": map[string]interface{}{
		"Bucket":        b.settings.EvidenceBucket,
		"ManifestKey.$": key(RecordManifestObject),
		"Written":       false,
	}}, "")
	kept.Next(outcome)

	// A read that fails is recorded in its object instead ({"NotCaptured":
	// true, "Error", "Cause"}), so the rest of the record, the
	// DescribeInstances item first, is still stored; the instance then fails
	// with a cause naming what is missing.
	notRead := func(name, into string) sfn.Pass {
		return b.pass(name+" Not Read", map[string]interface{}{
			"NotCaptured": true,
			"Error.$":     "$.Failure.Error",
			"Cause.$":     "$.Failure.Cause",
		}, into)
	}
	userDataNotRead := notRead("User Data", "$.Record.UserData")
	consoleNotRead := notRead("Console Output", "$.Record.Console")
	userData := b.call(sdkCall{
		name:       "Read User Data",
		service:    "ec2",
		action:     "describeInstanceAttribute",
		resources:  []string{"*"},
		params:     map[string]interface{}{"InstanceId.$": "$.InstanceId", "Attribute": "userData"},
		resultPath: "$.Record.UserData",
		onFailure:  userDataNotRead,
	})
	console := b.call(sdkCall{
		name:       "Read Console Output",
		service:    "ec2",
		action:     "getConsoleOutput",
		resources:  []string{arn("ec2", "instance/*")},
		params:     map[string]interface{}{"InstanceId.$": "$.InstanceId"},
		resultPath: "$.Record.Console",
		onFailure:  consoleNotRead,
	})
	userDataNotRead.Next(console)

	// Each object is written in parallel; its S3-computed SHA-256 is kept.
	write := sfn.NewParallel(b.scope, jsii.String("Write Record Objects"), &sfn.ParallelProps{
		ResultPath: jsii.String("$.RecordObjects"),
	})
	for _, o := range recordObjects {
		write.Branch(b.writeEvidence("Write "+o.name+" Record", key(o.file), o.body, map[string]interface{}{
			"Object":      o.file,
			"Sha256.$":    "$.ChecksumSHA256",
			"VersionId.$": "$.VersionId",
		}, "$", b.recordWriteFailed(o.name), "").put)
	}
	manifest := b.writeEvidence("Write Record Manifest", key(RecordManifestObject), map[string]interface{}{
		"IncidentId.$":      "$.IncidentId",
		"InstanceId.$":      "$.InstanceId",
		"ExecutionId.$":     "$$.Execution.Id",
		"CapturedAt.$":      "$.Instance.CapturedAt",
		"Captured.$":        "$.Record.Captured",
		"ChecksumAlgorithm": "SHA256 (base64, computed by S3)",
		"Objects.$":         "$.RecordObjects",
		"ConsoleScreenshot": "taken once the instance is contained, best effort: " + ScreenshotObject,
	}, map[string]interface{}{
		"Sha256.$":    "$.ChecksumSHA256",
		"VersionId.$": "$.VersionId",
	}, "$.RecordManifest", failed, "")
	written := b.pass("Record Written", map[string]interface{}{
		"Bucket":           b.settings.EvidenceBucket,
		"ManifestKey.$":    key(RecordManifestObject),
		"ManifestSha256.$": "$.RecordManifest.Sha256",
		"Objects.$":        "$.RecordObjects",
		"Written":          true,
	}, "$.RecordResult")
	write.AddCatch(failed, anyError())

	reads := userData.Next(console)
	// Whether the record shows the instance as it was before any change:
	// on a first containment it does; a re-run reads an instance an
	// earlier attempt already changed.
	beforeAnyChange := b.pass("Record Read Before Any Change", map[string]interface{}{
		"BeforeAnyChange": true,
	}, "$.Record.Captured")
	beforeAnyChange.Next(reads)
	afterEarlierAttempt := b.pass("Record Read After An Earlier Attempt", map[string]interface{}{
		"BeforeAnyChange": false,
		"Note.$": "States.Format('Read when instance {} was already under investigation for incident {}: an earlier containment of that incident " +
			"changed it (its ENIs, protections, DeleteOnTermination, instance profile) before its record could be stored. " +
			"Its values before any change are in the history and the CloudWatch log of that earlier execution.', $.InstanceId, $.IncidentId)",
	}, "$.Record.Captured")
	afterEarlierAttempt.Next(reads)
	// A present manifest means the record was written by an earlier run.
	exists := b.call(sdkCall{
		name:           "Is The Record Already Written?",
		service:        "s3",
		action:         "headObject",
		resources:      []string{b.bucketObjects()},
		params:         map[string]interface{}{"Bucket": b.settings.EvidenceBucket, "Key.$": key(RecordManifestObject)},
		resultSelector: map[string]interface{}{"ETag.$": "$.ETag"},
		resultPath:     "$.RecordExisting",
		// No manifest yet (S3 answers HeadObject with 404, which the SDK
		// raises as NoSuchKey, given s3:ListBucket): read and write the
		// record. Any other error fails the record; the writes'
		// If-None-Match never overwrites.
		catches:   []catchTo{{errors: []string{"S3.NoSuchKeyException"}, next: afterEarlierAttempt, resultPath: "$.RecordExisting"}},
		onFailure: failed,
	})
	console.Next(write)
	consoleNotRead.Next(write)
	write.Next(manifest.put)
	incomplete := b.pass("Record Stored Incomplete", map[string]interface{}{
		"RecordFailure": map[string]interface{}{
			"Error": "Containment.RecordIncomplete",
			"Cause.$": "States.Format('" + step + " failed for instance {}: the record was stored, but without what could not be read (user data or console output): {}', " +
				"$.InstanceId, States.JsonToString($.Record..Cause))",
		},
	}, "$.RecordOutcome")
	incomplete.Next(b.pass("Keep The Incomplete Record's Failure", map[string]interface{}{
		"RecordFailure.$": "$.RecordOutcome.RecordFailure",
	}, "")).Next(outcome)
	manifest.then(written)
	written.Next(b.choice("Was Every Part Read?").
		When(sfn.Condition_Or(
			sfn.Condition_IsPresent(jsii.String("$.Record.UserData.NotCaptured")),
			sfn.Condition_IsPresent(jsii.String("$.Record.Console.NotCaptured")),
		), incomplete, nil).
		Otherwise(outcome))
	// The record's keys start with the incident ID. An instance's first
	// containment uses a new one (the execution's name), so its first
	// attempt finds nothing there and need not look: only a re-run (an
	// instance already under investigation keeps its first incident ID)
	// may find the record written.
	record := b.choice("Record The Pre-Incident State?").
		When(sfn.Condition_IsPresent(jsii.String("$.Instance.IncidentIds[0]")), exists.Next(kept), nil).
		Otherwise(beforeAnyChange)
	return branch{
		key: "Record", name: step,
		chain:   record,
		keep:    map[string]interface{}{"Record": "$..RecordResult"},
		summary: []string{"Record"},
		output:  []string{"Record"},
	}
}

// recordWriteFailed is the Fail state of one record object's write: the
// Parallel's catch turns it into $.RecordFailure.
func (b *builder) recordWriteFailed(name string) sfn.Fail {
	return sfn.NewFail(b.scope, jsii.String("Write "+name+" Record Failed"), &sfn.FailProps{
		ErrorPath: jsii.String("$.Failure.Error"),
		CausePath: jsii.String("States.Format('writing the {} object of the pre-incident record failed for instance {}: {}', '" + name + "', $.InstanceId, $.Failure.Cause)"),
	})
}

// writeOnce limits s3:PutObject to requests that carry If-None-Match, so
// no write can replace an object: S3 then refuses the write when the key
// exists (412).
func writeOnce() map[string]interface{} {
	return map[string]interface{}{"Null": map[string]interface{}{"s3:if-none-match": "false"}}
}

// bucketARN is the ARN of the evidence bucket.
func (b *builder) bucketARN() string {
	return "arn:" + *awscdk.Aws_PARTITION() + ":s3:::" + b.settings.EvidenceBucket
}

// bucketObjects is the ARN pattern of every object in the evidence bucket.
func (b *builder) bucketObjects() string {
	return b.bucketARN() + "/*"
}

// evidenceWrite is the write of one evidence object: put writes it; stored
// reads the checksum of the object already there when S3 refuses the write
// because the key exists. Both produce the same result.
type evidenceWrite struct {
	put, stored sfn.TaskStateBase
}

// then continues after the write, whichever way it ended.
func (w evidenceWrite) then(next sfn.IChainable) sfn.IChainable {
	w.put.Next(next)
	w.stored.Next(next)
	return next
}

// objectExists: S3 refuses a PutObject with If-None-Match: * when the key
// already holds an object (412 PreconditionFailed).
var objectExists = []string{"PreconditionFailed", "pre-conditions you specified did not hold"}

// writeEvidence writes one JSON object to the evidence bucket, write-once
// (If-None-Match: nothing is ever overwritten), and has S3 compute its
// SHA-256 from the bytes it stored. body is either a JSONPath ("$...") or
// an object built in place. If the object is already there (an earlier
// attempt of this record, cut short by another step's failure, or a
// concurrent execution), it is kept and its stored SHA-256 is read back
// (HeadObject, ChecksumMode ENABLED), so a half-written record is completed
// without rewriting what is already stored.
//
// bestEffort, if not empty, says why a failure of the write is recorded
// rather than a failure of the instance (sdkCall.bestEffort).
func (b *builder) writeEvidence(name, keyFormat string, body interface{}, resultSelector map[string]interface{}, resultPath string, onFailure sfn.IChainable, bestEffort string) evidenceWrite {
	params := map[string]interface{}{
		"Bucket":            b.settings.EvidenceBucket,
		"Key.$":             keyFormat,
		"ContentType":       "application/json",
		"ChecksumAlgorithm": "SHA256",
		"IfNoneMatch":       "*",
	}
	if path, ok := body.(string); ok {
		params["Body.$"] = path
	} else {
		params["Body"] = body
	}
	stored := b.call(sdkCall{
		name:      strings.Replace(name, "Write ", "Already Stored: ", 1),
		service:   "s3",
		action:    "headObject",
		resources: []string{b.bucketObjects()},
		params: map[string]interface{}{
			"Bucket":       b.settings.EvidenceBucket,
			"Key.$":        keyFormat,
			"ChecksumMode": "ENABLED",
		},
		resultSelector: resultSelector,
		resultPath:     resultPath,
		onFailure:      onFailure,
		bestEffort:     bestEffort,
	})
	put := b.call(sdkCall{
		name:      name,
		service:   "s3",
		action:    "putObject",
		resources: []string{b.bucketObjects()},
		// Write-once only: the request must carry If-None-Match (SAR,
		// Amazon S3, PutObject: s3:if-none-match; S3 User Guide, "Enforce
		// conditional writes on Amazon S3 buckets"), in the stack's bucket
		// or an existing one given by parameter.
		conditions:     writeOnce(),
		params:         params,
		resultSelector: resultSelector,
		resultPath:     resultPath,
		alreadyDone:    objectExists,
		verify:         stored,
		onFailure:      onFailure,
		bestEffort:     bestEffort,
	})
	return evidenceWrite{put: put, stored: stored}
}
