// Command diagram draws the essential-ir state machine: it synthesizes the
// stack, renders the definition as Graphviz DOT into
// Documentation/statemachine.dot, and renders that with the dot binary into
// Documentation/statemachine.svg and Documentation/statemachine.png.
//
// Run it from the module root after changing the workflow:
//
//	go run ./cmd/diagram
//
// The statemachine tests fail while the committed DOT file differs from the
// current definition.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/essential-ir/essential-ir/internal/diagram"
	"github.com/essential-ir/essential-ir/internal/synth"
)

func main() {
	dir := flag.String("dir", "Documentation", "directory the diagram files are written to")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "diagram:", err)
		os.Exit(1)
	}
}

// run writes statemachine.dot, .svg and .png into dir.
func run(dir string) error {
	tpl, err := synth.Synthesize()
	if err != nil {
		return fmt.Errorf("synthesize the stack: %w", err)
	}
	dot, err := diagram.FromTemplate(tpl)
	if err != nil {
		return err
	}
	overview, err := diagram.OverviewFromTemplate(tpl)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, d := range []struct{ name, dot string }{{"statemachine", dot}, {"overview", overview}} {
		if err := render(dir, d.name, d.dot); err != nil {
			return err
		}
	}
	return nil
}

// render writes name.dot into dir and renders it with Graphviz as name.svg
// and name.png.
func render(dir, name, dot string) error {
	dotPath := filepath.Join(dir, name+".dot")
	if err := os.WriteFile(dotPath, []byte(dot), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", dotPath, err)
	}
	fmt.Println("wrote", dotPath)
	graphviz, err := exec.LookPath("dot")
	if err != nil {
		return fmt.Errorf("the Graphviz dot binary is not on PATH (install it with `apt-get install -y graphviz`); %s is written but not rendered: %w", dotPath, err)
	}
	for _, format := range []string{"svg", "png"} {
		out := filepath.Join(dir, name+"."+format)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		msg, err := exec.CommandContext(ctx, graphviz, "-T"+format, "-o", out, dotPath).CombinedOutput()
		cancel()
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return fmt.Errorf("dot -T%s %s failed (exit code %d): %s", format, dotPath, exit.ExitCode(), msg)
			}
			return fmt.Errorf("run dot -T%s: %w", format, err)
		}
		fmt.Println("wrote", out)
	}
	return nil
}
