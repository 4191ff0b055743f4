package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// RunTestMain is for a test binary's TestMain: it starts one emulator, stores
// it in *shared, runs the tests and always stops the emulator. If Python or
// moto 5.2.1 is missing it prints how to install them and returns 1: the tests
// fail rather than skip silently. Each setup function then runs, in order,
// before the tests; if one fails, no test runs and the result is 1.
//
//	var emu *emulator.Emulator
//	func TestMain(m *testing.M) { os.Exit(emulator.RunTestMain(m, &emu)) }
func RunTestMain(m *testing.M, shared **Emulator, setups ...func(*Emulator) error) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	e, err := Start(ctx, Options{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "emulator: cannot start the emulated AWS: %v\n", err)
		if errors.Is(err, ErrMissingDependency) {
			fmt.Fprintf(os.Stderr, "emulator: install it with: %s (Python 3.11)\n", InstallHint)
		}
		return 1
	}
	*shared = e
	defer func() {
		if err := e.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "emulator: stop: %v\n", err)
		}
	}()
	for _, setup := range setups {
		if err := setup(e); err != nil {
			fmt.Fprintf(os.Stderr, "test setup failed: %v\n", err)
			return 1
		}
	}
	return m.Run()
}
