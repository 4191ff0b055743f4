package statemachine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/essential-ir/essential-ir/internal/emulator"
	"github.com/essential-ir/essential-ir/internal/scene"
	"github.com/essential-ir/essential-ir/statemachine"
)

// screenshotObject is the documented console-screenshot.json.
type screenshotObject struct {
	IncidentId, InstanceId, TakenAt string
	Screenshot                      struct {
		ImageData   string
		NotCaptured bool
		Error       string
		Cause       string
	}
}

// assertScreenshotKept: the contained instance's console screenshot is in
// the evidence bucket, write-once and locked, its bytes hash to the SHA-256
// the output gives, and it holds a JPEG or says why it was not captured.
func assertScreenshotKept(t *testing.T, inst *scene.Instance, sum InstanceSummary, incident string) screenshotObject {
	t.Helper()
	shot := sum.ConsoleScreenshot
	if shot.Object != statemachine.ScreenshotObject || shot.Sha256 == "" {
		t.Fatalf("%s: output ConsoleScreenshot %+v, want the object %s with its SHA-256", inst.ID, shot, statemachine.ScreenshotObject)
	}
	key := incident + "/" + inst.ID + "/" + statemachine.ScreenshotObject
	body, sha, versions, head := recordObject(t, sum.SummaryObject.Bucket, key)
	if sha != shot.Sha256 {
		t.Errorf("%s: %s hashes to %s, the output says %s", inst.ID, key, sha, shot.Sha256)
	}
	assertLocked(t, key, versions, head)
	var obj screenshotObject
	if err := json.Unmarshal(body, &obj); err != nil {
		t.Fatalf("%s: %s is not the documented JSON: %v", inst.ID, key, err)
	}
	if obj.InstanceId != inst.ID || obj.IncidentId != incident || obj.TakenAt == "" {
		t.Errorf("%s: screenshot says instance %q, incident %q, taken %q", inst.ID, obj.InstanceId, obj.IncidentId, obj.TakenAt)
	}
	if obj.Screenshot.NotCaptured {
		if obj.Screenshot.Error == "" || obj.Screenshot.Cause == "" {
			t.Errorf("%s: screenshot not captured, without saying why: %+v", inst.ID, obj.Screenshot)
		}
		return obj
	}
	raw, err := base64.StdEncoding.DecodeString(obj.Screenshot.ImageData)
	if err != nil {
		t.Fatalf("%s: ImageData is not base64: %v", inst.ID, err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("%s: ImageData is not the JPEG EC2 returned: %v", inst.ID, err)
	}
	return obj
}

// An instance type without console screenshots (EC2 answers
// UnsupportedOperation) is contained all the same: the screenshot object
// records why there is no image.
func TestScreenshotUnsupportedIsRecorded(t *testing.T) {
	ctx := context.Background()
	inst := build(t, scene.BareInstance())
	if err := emu.SetFaults(ctx, []emulator.FaultRule{{
		Service: "ec2", Action: "GetConsoleScreenshot", Code: "UnsupportedOperation",
		Message: "This instance type does not support console screenshots.", Count: 100,
	}}); err != nil {
		t.Fatal(err)
	}
	defer emu.SetFaults(ctx, nil)
	ex := run(t, input(emu.Region(), inst.ID))
	out := mustSucceed(t, ex)
	sum := out.summary(t, inst.ID)
	obj := assertScreenshotKept(t, inst, sum, incidentID(ex))
	if !obj.Screenshot.NotCaptured || !strings.Contains(obj.Screenshot.Cause, "does not support console screenshots") {
		t.Errorf("screenshot object %+v, want NotCaptured with EC2's UnsupportedOperation", obj.Screenshot)
	}
	if sum.Outcome != "CONTAINED" {
		t.Errorf("outcome %s: a missing screenshot must not fail the instance", sum.Outcome)
	}
}
