package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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

// readSyscall is read(2)'s number, as /proc/PID/task/TID/syscall shows it.
var readSyscall = map[string]string{"amd64": "0", "arm64": "63", "386": "3", "arm": "3", "riscv64": "63"}[runtime.GOARCH]

// waitReading waits until the process waits for input: a thread of it
// sleeps in read(2) on its standard input, which it does only once main
// has set up its signals and the command has begun to read, and only
// with the pipe empty. With idle, every other thread sleeps too (its
// goroutines are parked: what it read is handled), seen three times 10 ms
// apart. This is what the process does, not how long it took, so a busy
// machine only makes the wait longer; a process that never gets there
// fails the test after a minute.
func (r *running) waitReading(t *testing.T, idle bool) {
	t.Helper()
	if runtime.GOOS != "linux" || readSyscall == "" {
		t.Skipf("needs /proc/PID/task/TID/syscall and read(2)'s number on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	task := filepath.Join("/proc", strconv.Itoa(r.cmd.Process.Pid), "task")
	waiting := func() bool {
		tids, err := os.ReadDir(task)
		if err != nil {
			t.Fatalf("process ended: %v; stderr %q", err, r.stderr.String())
		}
		reading, asleep := false, 0
		for _, tid := range tids {
			stat, err1 := os.ReadFile(filepath.Join(task, tid.Name(), "stat"))
			call, err2 := os.ReadFile(filepath.Join(task, tid.Name(), "syscall"))
			if err1 != nil || err2 != nil {
				return false // a thread came or went
			}
			// The state follows the command's name in parentheses.
			if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) == 0 || f[0] != "S" {
				continue
			}
			asleep++
			if f := strings.Fields(string(call)); len(f) > 1 && f[0] == readSyscall && f[1] == "0x0" {
				reading = true
			}
		}
		return reading && (!idle || asleep == len(tids))
	}
	for seen, deadline := 0, time.Now().Add(time.Minute); seen < 3; {
		if waiting() {
			seen++
		} else if seen = 0; time.Now().After(deadline) {
			t.Fatalf("%v: not waiting for input after a minute", r.cmd.Args[1:])
		}
		time.Sleep(10 * time.Millisecond)
	}
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
