//go:build linux

package ptytest

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// Open returns the controller and the terminal side of a new
// pseudo-terminal, closed when the test ends. It skips the test where
// the system offers none.
func Open(t testing.TB) (ctl, tty *os.File) {
	t.Helper()
	ctl, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })
	fd := int(ctl.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Skipf("naming the pseudo-terminal: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return ctl, tty
}

// Collect starts reading what is written to tty. Calling the function it
// returns writes an end marker to tty, waits for the marker to come
// through and returns what came before it.
func Collect(ctl, tty *os.File) (stop func() []byte) {
	const marker = "\x00end of ptytest output\x00"
	ch := make(chan []byte, 1)
	go func() {
		var all []byte
		buf := make([]byte, 4096)
		for {
			n, err := ctl.Read(buf)
			all = append(all, buf[:n]...)
			if i := bytes.Index(all, []byte(marker)); i >= 0 {
				ch <- all[:i]
				return
			}
			if err != nil {
				ch <- all
				return
			}
		}
	}()
	return func() []byte {
		tty.WriteString(marker)
		return <-ch
	}
}
