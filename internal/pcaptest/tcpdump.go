package pcaptest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartTcpdump starts cmd, a tcpdump writing a capture (run directly or
// through "ip netns exec"), and waits until it says it is listening.
// stop interrupts it, waits for it and returns what else it wrote to
// standard error (its summary included); it may be called again, and the
// test's cleanup calls it.
func StartTcpdump(tb testing.TB, cmd *exec.Cmd) (stop func() string) {
	tb.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var rest strings.Builder
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		listening := false
		for sc.Scan() {
			if !listening && strings.Contains(sc.Text(), "listening on") {
				listening = true
				close(ready)
				continue
			}
			rest.WriteString(sc.Text() + "\n")
		}
		if !listening {
			close(ready)
		}
	}()
	var once sync.Once
	stop = func() string {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			<-done // Wait closes the pipe: read it to the end first
			cmd.Wait()
		})
		return rest.String()
	}
	tb.Cleanup(func() { stop() })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		tb.Fatal("tcpdump did not start listening")
	}
	return stop
}
