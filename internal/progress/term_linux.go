package progress

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// withFd calls fn with w's descriptor if w is a file. It goes through
// SyscallConn rather than Fd, which would switch the descriptor to
// blocking mode (for every process sharing it).
func withFd(w io.Writer, fn func(fd int)) bool {
	var sc syscall.Conn
	switch f := w.(type) {
	case *os.File:
		if f == nil {
			return false
		}
		sc = f
	case syscall.Conn:
		sc = f
	default:
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) }) == nil
}

// IsTerminal reports whether w is a terminal: a file whose descriptor
// answers a terminal ioctl.
func IsTerminal(w io.Writer) bool {
	tty := false
	withFd(w, func(fd int) {
		_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		tty = err == nil
	})
	return tty
}

// Width returns w's columns if it is a terminal that knows them, else
// DefaultWidth.
func Width(w io.Writer) int {
	cols := DefaultWidth
	withFd(w, func(fd int) {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
			cols = int(ws.Col)
		}
	})
	return cols
}
