package progress

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// fder is what *os.File offers to reach its descriptor.
type fder interface{ Fd() uintptr }

// IsTerminal reports whether w is a terminal (a *os.File, or anything
// with an Fd method, whose descriptor answers a terminal ioctl).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(fder)
	if !ok || isNilFile(w) {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Width returns w's columns if it is a terminal that knows them, else
// DefaultWidth.
func Width(w io.Writer) int {
	if f, ok := w.(fder); ok && !isNilFile(w) {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			return int(ws.Col)
		}
	}
	return DefaultWidth
}

func isNilFile(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f == nil
}
