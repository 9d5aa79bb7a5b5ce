package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"synfin/internal/testenv"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// synfinBin builds the command once for the tests that run it as a
// process.
func synfinBin(t *testing.T) string {
	t.Helper()
	gobin := testenv.NeedTool(t, "go")
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "synfin-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "synfin")
		if out, err := exec.Command(gobin, "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

// running is synfin started with a pipe for its standard input.
type running struct {
	cmd            *exec.Cmd
	stdin          *os.File
	stdout, stderr bytes.Buffer
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(synfinBin(t), args...)}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdin, r.stdin = pr, pw
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	t.Cleanup(func() { pw.Close(); r.cmd.Process.Kill() })
	return r
}

// stop sends sig and returns the exit status, failing if the process
// does not end within 10 s.
func (r *running) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
		t.Fatalf("%v: still running 10 s after %v", r.cmd.Args[1:], sig)
	}
	return r.cmd.ProcessState.ExitCode()
}

// TestSignalBeforeInput: a command reading a pipe that has not said
// anything yet (sleep 60 | synfin conns -r -) ends at SIGINT or SIGTERM,
// says it was interrupted, and exits as a shell reports a process the
// signal killed: 128 + the signal's number.
func TestSignalBeforeInput(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, cmd := range []string{"conns", "read", "explain", "diagram"} {
			t.Run(cmd+"/"+sig.String(), func(t *testing.T) {
				r := start(t, cmd, "-r", "-")
				r.waitReading(t, false)
				code := r.stop(t, sig)
				if want := 128 + int(sig); code != want || r.stderr.String() != "synfin "+cmd+": interrupted\n" || r.stdout.Len() != 0 {
					t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and \"synfin %s: interrupted\"", code, r.stdout.String(), r.stderr.String(), want, cmd)
				}
			})
		}
	}
}

// TestSignalFlushes: interrupted while the pipe's writer is alive after
// writing a whole capture, a command prints what it has, as it would have
// at the end of that capture, then says it was interrupted.
func TestSignalFlushes(t *testing.T) {
	bin := synfinBin(t)
	pcap := filepath.Join(t.TempDir(), "w.pcap")
	if out, err := exec.Command(bin, "gen", "-q", "--conns", "20", "-w", pcap).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v %s", err, out)
	}
	data, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"conns"}, {"conns", "--json"}, {"read", "-n"}, {"explain", "--json"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			want, err := exec.Command(bin, append(args, "-r", pcap)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			r := start(t, append(args, "-r", "-")...)
			if _, err := r.stdin.Write(data); err != nil {
				t.Fatal(err)
			}
			r.waitReading(t, true)
			code := r.stop(t, syscall.SIGINT)
			if code != 130 || !strings.HasSuffix(r.stderr.String(), "interrupted\n") {
				t.Errorf("exit %d, stderr %q; want 130 and interrupted", code, r.stderr.String())
			}
			if r.stdout.String() != string(want) {
				t.Errorf("stdout:\n%s\nwant what reading the file prints:\n%s", r.stdout.String(), want)
			}
		})
	}
}
