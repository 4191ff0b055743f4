package statemachine

import (
	"github.com/aws/jsii-runtime-go"

	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// WriteCheckPrefix starts the key of the object each execution writes to
// an existing evidence bucket to check that it can: a ':' is in no incident
// ID (IncidentIDCharacters), so no evidence key starts so.
const WriteCheckPrefix = "essential-ir:write-check/"

// bucketCheckRetries bounds the retries of the bucket's checks: their
// errors are mostly permanent (no Object Lock, access denied), and the
// responder should read the cause within seconds.
const bucketCheckRetries = 2

// checkEvidenceBucket checks, when the evidence bucket is an existing one
// named by the EvidenceBucketName parameter (Settings.EvidenceBucketGiven),
// that it can hold evidence before anything is changed: versioning enabled,
// Object Lock enabled, and the role can write to it write-once (a small
// object under WriteCheckPrefix, named after the execution, with the
// If-None-Match and checksum the evidence writes use, encrypted as the
// bucket encrypts: a bucket key the role may not use fails here, not on
// every instance). Any failure ends the execution with error
// EvidenceBucketNotUsable and a cause saying what to fix; no instance was
// read or changed. The bucket the stack creates is configured so by the
// stack, and is not checked.
func (b *builder) checkEvidenceBucket(next sfn.IChainable) sfn.IChainable {
	bucket := b.settings.EvidenceBucket
	// why goes into an intrinsic function's string: no quote in it.
	notUsable := func(name, why string) sfn.Fail {
		return sfn.NewFail(b.scope, jsii.String(name), &sfn.FailProps{
			Error: jsii.String("EvidenceBucketNotUsable"),
			CausePath: jsii.String("States.Format('The evidence bucket " + bucket + " (stack parameter EvidenceBucketName) cannot hold evidence: " + why +
				" Nothing was changed on any instance.', $.Failure.Cause)"),
		})
	}
	notVersioned := sfn.NewFail(b.scope, jsii.String("Evidence Bucket Not Versioned"), &sfn.FailProps{
		Error: jsii.String("EvidenceBucketNotUsable"),
		Cause: jsii.String("The evidence bucket " + bucket + " (stack parameter EvidenceBucketName) cannot hold evidence: its versioning is not enabled. " +
			"Enable it (aws s3api put-bucket-versioning), or deploy the stack without EvidenceBucketName to have it create a bucket. Nothing was changed on any instance."),
	})
	notLocked := sfn.NewFail(b.scope, jsii.String("Evidence Bucket Not Locked"), &sfn.FailProps{
		Error: jsii.String("EvidenceBucketNotUsable"),
		Cause: jsii.String("The evidence bucket " + bucket + " (stack parameter EvidenceBucketName) cannot hold evidence: Object Lock is not enabled on it. " +
			"Use a bucket with Object Lock, or deploy the stack without EvidenceBucketName to have it create one. Nothing was changed on any instance."),
	})
	versioning := b.call(sdkCall{
		name:       "Read The Evidence Bucket's Versioning",
		retries:    bucketCheckRetries,
		service:    "s3",
		action:     "getBucketVersioning",
		resources:  []string{b.bucketARN()},
		params:     map[string]interface{}{"Bucket": bucket},
		resultPath: "$.BucketCheck.Versioning",
		onFailure:  notUsable("Evidence Bucket Versioning Not Read", "reading its versioning failed ({})."),
	})
	lock := b.call(sdkCall{
		name:       "Read The Evidence Bucket's Object Lock",
		retries:    bucketCheckRetries,
		service:    "s3",
		action:     "getObjectLockConfiguration",
		resources:  []string{b.bucketARN()},
		params:     map[string]interface{}{"Bucket": bucket},
		resultPath: "$.BucketCheck.Lock",
		onFailure:  notUsable("Evidence Bucket Object Lock Not Read", "Object Lock is not enabled on it, or reading it failed ({}). Use a bucket with Object Lock."),
	})
	write := b.call(sdkCall{
		name:       "Check The Evidence Bucket Takes A Write",
		retries:    bucketCheckRetries,
		service:    "s3",
		action:     "putObject",
		resources:  []string{b.bucketObjects()},
		conditions: writeOnce(),
		params: map[string]interface{}{
			"Bucket":            bucket,
			"Key.$":             "States.Format('" + WriteCheckPrefix + "{}.json', $$.Execution.Name)",
			"Body":              map[string]interface{}{"Check": "essential-ir can write to its evidence bucket", "Execution.$": "$$.Execution.Id"},
			"ContentType":       "application/json",
			"ChecksumAlgorithm": "SHA256",
			"IfNoneMatch":       "*",
		},
		resultPath: "",
		onFailure: notUsable("Evidence Bucket Not Writable", "the role of the state machines cannot write to it ({}). "+
			"The bucket policy, the policy of the bucket default encryption key, or the bucket settings refuse it: "+
			"allow the role s3:PutObject on the bucket and, for SSE-KMS, kms:GenerateDataKey on the key."),
	})
	usable := b.pass("Evidence Bucket Usable", map[string]interface{}{"Checked": true}, "$.BucketCheck")
	usable.Next(next)
	versioning.Next(b.choice("Is The Evidence Bucket Versioned?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.BucketCheck.Versioning.Status")),
			sfn.Condition_StringEquals(jsii.String("$.BucketCheck.Versioning.Status"), jsii.String("Enabled")),
		), lock, nil).
		Otherwise(notVersioned))
	lock.Next(b.choice("Is The Evidence Bucket Locked?").
		When(sfn.Condition_And(
			sfn.Condition_IsPresent(jsii.String("$.BucketCheck.Lock.ObjectLockConfiguration.ObjectLockEnabled")),
			sfn.Condition_StringEquals(jsii.String("$.BucketCheck.Lock.ObjectLockConfiguration.ObjectLockEnabled"), jsii.String("Enabled")),
		), write, nil).
		Otherwise(notLocked))
	write.Next(usable)
	given := b.pass("Is The Evidence Bucket Given?", map[string]interface{}{"Given": b.settings.EvidenceBucketGiven}, "$.BucketCheck")
	return given.Next(b.choice("Check The Given Evidence Bucket?").
		When(sfn.Condition_StringEquals(jsii.String("$.BucketCheck.Given"), jsii.String("true")), versioning, nil).
		Otherwise(next))
}
