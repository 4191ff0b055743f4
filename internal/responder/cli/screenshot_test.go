package cli

import (
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// screenshot opens an HTML report in headless Chromium with
// scripts/report-screenshot.sh and checks the picture shows the
// before/after view: rows of the changed colour. It skips without
// Chromium.
func screenshot(t *testing.T, html string) {
	t.Helper()
	browser := os.Getenv("CHROMIUM")
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if browser != "" {
			break
		}
		if p, err := exec.LookPath(b); err == nil {
			browser = p
		}
	}
	if browser == "" {
		t.Skip("no Chromium: the HTML report is not opened in a browser (apt-get install -y chromium, or set CHROMIUM, to check it)")
	}
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "..", "scripts", "report-screenshot.sh")
	shot := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.Command(script, html, shot, "1280", "2400")
	cmd.Env = append(os.Environ(), "CHROMIUM="+browser)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	if keep := os.Getenv("ESSENTIAL_IR_KEEP_SCREENSHOT"); keep != "" {
		if data, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(keep, data, 0o644)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot %dx%d, want 1280x2400", b.Dx(), b.Dy())
	}
	// The changed rows' background, #fff8c5.
	changed := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == 0xff && g>>8 == 0xf8 && bl>>8 == 0xc5 {
				changed++
			}
		}
	}
	if changed < 1000 {
		t.Errorf("%d sampled pixels of the changed rows' colour: the before/after view did not render", changed)
	}
}
