package cli

import (
	"io"
	"os"
)

// Streams are where a command reads and writes.
type Streams struct {
	Stdout, Stderr io.Writer
	// StdoutTTY and StderrTTY say whether each is a terminal: progress is
	// then drawn in place, and coloured unless NO_COLOR is set.
	StdoutTTY, StderrTTY bool
}

// OSStreams are the process's standard streams.
func OSStreams() Streams {
	return Streams{Stdout: os.Stdout, Stderr: os.Stderr, StdoutTTY: isTerminal(os.Stdout), StderrTTY: isTerminal(os.Stderr)}
}

// isTerminal reports whether f is a character device (a terminal), not a
// pipe or a file.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
