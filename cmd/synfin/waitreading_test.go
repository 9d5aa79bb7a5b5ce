package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

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
	task := filepath.Join("/proc", fmt.Sprint(r.cmd.Process.Pid), "task")
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
