package statemachine

import (
	sfn "github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// ScreenshotObject is the console screenshot of the instance, written beside
// its pre-incident record under <incident-id>/<instance-id>/.
const ScreenshotObject = "console-screenshot.json"

// captureScreenshot takes a screenshot of the instance's console
// (GetConsoleScreenshot: a base64 JPG) and writes it, write-once with its
// SHA-256, to the evidence bucket, then goes to next with
// $.Screenshot = {"Object", "Sha256", "VersionId"}.
//
// It is best effort and runs once the instance is contained and its
// snapshots are secured: an instance type without screenshots
// (UnsupportedOperation) or any other error is recorded in the object
// ({"NotCaptured": true, "Error", "Cause"}) and fails nothing. It runs last
// because the image is the one result whose size AWS does not bound: a
// result over the 256 KiB state limit ends the execution
// (States.DataLimitExceeded cannot be caught), and by then nothing else is
// left to do for the instance. The console of an isolated instance still
// shows what it showed: isolation does not reboot or stop it.
func (b *builder) captureScreenshot(next sfn.IChainable) sfn.IChainable {
	notCaptured := b.pass("Console Screenshot Not Captured", map[string]interface{}{
		"NotCaptured": true,
		"Error.$":     "$.Failure.Error",
		"Cause.$":     "$.Failure.Cause",
	}, "$.Screenshot")
	capture := b.call(sdkCall{
		name:           "Capture Console Screenshot",
		service:        "ec2",
		action:         "getConsoleScreenshot",
		resources:      []string{arn("ec2", "instance/*")},
		params:         map[string]interface{}{"InstanceId.$": "$.InstanceId"},
		resultSelector: map[string]interface{}{"ImageData.$": "$.ImageData"},
		resultPath:     "$.Screenshot",
		onFailure:      notCaptured,
		bestEffort:     "an instance type without console screenshots, or any error, is recorded in " + ScreenshotObject + ".",
	})
	key := "States.Format('{}/{}/" + ScreenshotObject + "', $.IncidentId, $.InstanceId)"
	notWritten := b.pass("Console Screenshot Not Written", map[string]interface{}{
		"NotWritten": true,
		"Error.$":    "$.Failure.Error",
		"Cause.$":    "$.Failure.Cause",
	}, "$.Screenshot")
	// The write's result replaces the image in the state.
	write := b.writeEvidence("Write Console Screenshot", key, map[string]interface{}{
		"IncidentId.$": "$.IncidentId",
		"InstanceId.$": "$.InstanceId",
		"TakenAt.$":    "$$.State.EnteredTime",
		"Note":         "Taken once the instance was contained and its volumes snapshotted. ImageData is a base64 JPG (EC2 GetConsoleScreenshot).",
		"Screenshot.$": "$.Screenshot",
	}, map[string]interface{}{
		"Object":      ScreenshotObject,
		"Sha256.$":    "$.ChecksumSHA256",
		"VersionId.$": "$.VersionId",
	}, "$.Screenshot", notWritten, "")
	capture.Next(write.put)
	notCaptured.Next(write.put)
	write.then(next)
	notWritten.Next(next)
	return capture
}
