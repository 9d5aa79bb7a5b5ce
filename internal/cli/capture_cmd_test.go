//go:build linux

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/wire"
)

// The capture command is tested as users run it: the synfin binary, built
// here, as its own process in a fresh network namespace (so nothing else
// on the machine adds packets or takes ports), stopped by signals.
//
// The test binary doubles as the process that sets the namespaces up:
// started with captureNSEnv set, in new network and mount namespaces, it
// brings lo up, optionally mounts a small tmpfs, and then becomes synfin
// (exec), or runs it and copies a file out of the tmpfs before the mount
// namespace, and the tmpfs with it, goes away.
const (
	captureNSEnv    = "SYNFIN_TEST_CAPTURE_NS"     // the synfin binary to run
	captureTmpfsEnv = "SYNFIN_TEST_CAPTURE_TMPFS"  // DIR:SIZE to mount
	captureCopyEnv  = "SYNFIN_TEST_CAPTURE_COPYTO" // SRC:DST to copy after synfin exits
)

func init() {
	if bin := os.Getenv(captureNSEnv); bin != "" {
		os.Exit(captureNSHelper(bin, os.Args[1:]))
	}
}

func captureNSHelper(bin string, args []string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "capture test helper:", err)
		return 125
	}
	if err := loUp(); err != nil {
		return fail(err)
	}
	// Mounts made here must not propagate back to the parent's namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail(err)
	}
	env := withoutTestEnv(os.Environ())
	tmpfs := os.Getenv(captureTmpfsEnv)
	if tmpfs == "" {
		return fail(syscall.Exec(bin, append([]string{"synfin"}, args...), env))
	}
	dir, size, _ := strings.Cut(tmpfs, ":")
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		return fail(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fail(err)
	}
	if src, dst, ok := strings.Cut(os.Getenv(captureCopyEnv), ":"); ok {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) { // a missing file stays missing
			return fail(err)
		}
	}
	return cmd.ProcessState.ExitCode()
}

func withoutTestEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SYNFIN_TEST_CAPTURE_") {
			out = append(out, kv)
		}
	}
	return out
}

// loUp brings the new namespace's loopback up, which starts down.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// synfinRun is a synfin process in its own namespaces.
type synfinRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	stdout []string      // lines, as they came
	ready  chan struct{} // closed at "listening on", or at exit
	done   chan struct{} // closed when stderr ends
}

// Stdout returns the lines printed so far.
func (r *synfinRun) Stdout() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.stdout)
}

func (r *synfinRun) Stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

type synfinOpts struct {
	tmpfs  string // DIR:SIZE, mounted for synfin only
	copyTo string // SRC:DST, copied out once synfin exits

	// As another user, with these capabilities only: synfin is started
	// directly, from a thread in a new network namespace.
	cred   *syscall.Credential
	caps   []uintptr
	loDown bool // leave that namespace's lo down
}

// startSynfin runs "synfin args..." in new network and mount namespaces.
func startSynfin(t *testing.T, bin string, o synfinOpts, args ...string) *synfinRun {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &synfinRun{ready: make(chan struct{}), done: make(chan struct{})}
	if o.cred != nil {
		r.cmd = exec.Command(bin, args...)
		r.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred, AmbientCaps: o.caps}
	} else {
		r.cmd = exec.Command(self, args...)
		r.cmd.Env = append(os.Environ(), captureNSEnv+"="+bin)
		if o.tmpfs != "" {
			r.cmd.Env = append(r.cmd.Env, captureTmpfsEnv+"="+o.tmpfs, captureCopyEnv+"="+o.copyTo)
		}
		r.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	}
	r.cmd.Env = append(r.cmd.Env, "TZ=UTC")
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			r.mu.Lock()
			r.stdout = append(r.stdout, sc.Text())
			r.mu.Unlock()
		}
	}()
	if err := startInNewNetns(r.cmd, o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Kill()
			r.cmd.Wait()
		}
	})
	go func() {
		defer close(r.done)
		defer func() { <-stdoutDone }()
		sc := bufio.NewScanner(pipe)
		seen := false
		for sc.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(sc.Text() + "\n")
			r.mu.Unlock()
			if !seen && strings.Contains(sc.Text(), "listening on") {
				seen = true
				close(r.ready)
			}
		}
		if !seen {
			close(r.ready)
		}
	}()
	return r
}

// startInNewNetns starts cmd. A process that is not root cannot set up
// its own namespace, so for one the namespace is made here, on a thread
// that the child is forked from and so inherits it.
func startInNewNetns(cmd *exec.Cmd, o synfinOpts) error {
	if o.cred == nil {
		return cmd.Start()
	}
	return testenv.Unshared(unix.CLONE_NEWNET, func() error {
		if !o.loDown {
			if err := loUp(); err != nil {
				return err
			}
		}
		return cmd.Start()
	})
}

// waitReady waits for synfin to listen (its socket and filter are in place).
func (r *synfinRun) waitReady(t *testing.T) {
	t.Helper()
	select {
	case <-r.ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("synfin did not start listening; stderr:\n%s", r.Stderr())
	}
	if !strings.Contains(r.Stderr(), "listening on") {
		r.wait(t)
		t.Fatalf("synfin exited before listening; stderr:\n%s", r.Stderr())
	}
}

// wait waits for synfin to end and returns its exit status.
func (r *synfinRun) wait(t *testing.T) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() { <-r.done; exited <- r.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		r.cmd.Process.Kill()
		t.Fatalf("synfin did not exit; stderr:\n%s", r.Stderr())
	}
	return -1
}

// trafficIn opens and closes TCP connections with a little data on the
// loopback of pid's network namespace until stop is called; stop returns
// how many connections were made.
func trafficIn(t *testing.T, pid int) (stop func() int) {
	t.Helper()
	return trafficOn(t, pid, "127.0.0.1:0")
}

// trafficOn is trafficIn with the server listening on addr.
func trafficOn(t *testing.T, pid int, addr string) (stop func() int) {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	var conns int
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		// The thread stays locked and in the namespace, and so ends with
		// the goroutine instead of going back to the pool.
		runtime.LockOSThread()
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			close(started)
			errc <- err
			return
		}
		ln, err := net.Listen("tcp4", addr)
		if err != nil {
			close(started)
			errc <- err
			return
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { io.Copy(io.Discard, c); c.Close() }()
			}
		}()
		close(started)
		payload := bytes.Repeat([]byte("synfin "), 40)
		for {
			select {
			case <-quit:
				errc <- nil
				return
			default:
			}
			c, err := net.DialTimeout("tcp4", ln.Addr().String(), time.Second)
			if err != nil {
				errc <- err
				return
			}
			c.Write(payload)
			c.Close()
			conns++
			time.Sleep(time.Millisecond)
		}
	}()
	<-started
	return func() int {
		close(quit)
		if err := <-errc; err != nil {
			t.Errorf("traffic: %v", err)
		}
		return conns
	}
}

var capturedRE = regexp.MustCompile(`(?m)^(\d+) packets? captured$`)

// capturedCount parses tcpdump's summary line "N packets captured".
func capturedCount(t *testing.T, stderr string) int {
	t.Helper()
	m := capturedRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"N packets captured\" line in:\n%s", stderr)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// packetsIn counts the packets in a capture file three ways, with tcpdump,
// tshark and synfin's reader, each of which must read it without error.
func packetsIn(t *testing.T, path string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	tcpdump := testenv.NeedTool(t, "tcpdump")
	out, err := exec.Command(tcpdump, "-n", "-r", path).Output()
	if err != nil {
		t.Errorf("tcpdump -r %s: %v", path, err)
	}
	counts["tcpdump"] = bytes.Count(out, []byte("\n"))
	tshark := testenv.NeedTool(t, "tshark")
	out, err = exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.number").Output()
	if err != nil {
		t.Errorf("tshark -r %s: %v", path, err)
	}
	counts["tshark"] = bytes.Count(out, []byte("\n"))
	frames, err := pcaptest.File(t, path)
	if err != nil {
		t.Errorf("pcapfile: after %d packets: %v", len(frames), err)
	}
	counts["synfin"] = len(frames)
	return counts
}

// procStatus reads /proc/PID/status (or /proc/PID/task/TID/status) of a
// running process: its Uid, Gid, Groups and Cap* lines among others.
func procStatus[P int | string](t *testing.T, pid P) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%v/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			st[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return st
}

// threadStatuses reads the status of each thread of process pid: ids
// and capabilities belong to threads, so each must be checked.
func threadStatuses(t *testing.T, pid int) map[string]map[string]string {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) < 2 {
		t.Fatalf("threads of synfin: %d, %v", len(tasks), err)
	}
	statuses := map[string]map[string]string{}
	for _, task := range tasks {
		statuses[task.Name()] = procStatus(t, fmt.Sprintf("%d/task/%s", pid, task.Name()))
	}
	return statuses
}

// buildSynfin builds the synfin command into dir, as a static binary or,
// with cgo, as go build makes it by default where a C compiler is found.
func buildSynfin(t *testing.T, dir string, cgo bool) string {
	t.Helper()
	gocmd := testenv.NeedTool(t, "go")
	bin := filepath.Join(dir, "synfin")
	cmd := exec.Command(gocmd, "build", "-o", bin, "synfin/cmd/synfin")
	cmd.Env = os.Environ()
	if !cgo {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	} else {
		bin += "-cgo"
		cmd.Args[3] = bin
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCaptureCommand runs "synfin capture -w" in a namespace with traffic
// flowing and checks what happens at SIGINT, SIGTERM, a full disk, an
// unwritable path and -Z, and what a user who is not root gets.
func TestCaptureCommand(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw, testenv.CapSysAdmin, testenv.CapNetAdmin)
	testenv.NeedTool(t, "tcpdump")
	testenv.NeedTool(t, "tshark")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Unavailable(t, "no user nobody: "+err.Error())
	}
	// A directory the dropped user may write in, and one it may not.
	open := sharedTempDir(t)
	bin := buildSynfin(t, open, false)
	closed := filepath.Join(open, "root-only")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}

	// Stopped by a signal while traffic flows, or by -c or --for, every
	// packet counted is in the file, and the file is complete, for pcap and
	// pcapng and with privileges dropped.
	t.Run("stops", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			sig  syscall.Signal // 0: synfin stops by itself
			file string
			args []string
			uid  string // the process's uid while capturing
			want int    // packets captured, if known
		}{
			{"SIGINT", syscall.SIGINT, "int.pcap", nil, "0", 0},
			{"SIGTERM", syscall.SIGTERM, "term.pcap", nil, "0", 0},
			{"SIGINT pcapng", syscall.SIGINT, "int.pcapng", nil, "0", 0},
			{"SIGTERM -Z nobody", syscall.SIGTERM, "dropped.pcap", []string{"-Z", "nobody"}, nobody.Uid, 0},
			{"-c 500", 0, "count.pcapng", []string{"-c", "500"}, "0", 500},
			{"--for 1s", 0, "for.pcap", []string{"--for", "1s"}, "0", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				file := filepath.Join(open, tc.file)
				args := append([]string{"capture", "-i", "lo", "-w", file}, tc.args...)
				r := startSynfin(t, bin, synfinOpts{}, append(args, "tcp")...)
				r.waitReady(t)
				st := procStatus(t, r.cmd.Process.Pid) // -Z is done by "listening on"
				stop := trafficIn(t, r.cmd.Process.Pid)
				if tc.sig != 0 {
					time.Sleep(700 * time.Millisecond)
					r.cmd.Process.Signal(tc.sig) // while traffic still flows
				}
				code := r.wait(t)
				conns := stop()
				if got := strings.Fields(st["Uid"]); len(got) != 4 || got[0] != tc.uid || got[1] != tc.uid || got[2] != tc.uid {
					t.Errorf("Uid while capturing: %q, want %s for real, effective and saved", st["Uid"], tc.uid)
				}
				if code != 0 {
					t.Fatalf("exit status %d after %v; stderr:\n%s", code, tc.sig, r.Stderr())
				}
				n := capturedCount(t, r.Stderr())
				if n < 3*conns/2 || n < 50 || (tc.want != 0 && n != tc.want) {
					t.Errorf("%d packets captured for %d connections: the traffic did not get through, or -c was not kept", n, conns)
				}
				for tool, got := range packetsIn(t, file) {
					if got != n {
						t.Errorf("%s reads %d packets from %s; synfin said %d packets captured", tool, got, tc.file, n)
					}
				}
				t.Logf("%s: %d connections, %d packets captured", tc.name, conns, n)
			})
		}
	})

	// -Z drops the user, the groups and every capability once the socket is
	// open; the file is then created as the dropped user. Go changes ids
	// on every thread itself, or through the C library with cgo: both.
	t.Run("drop privileges", func(t *testing.T) {
		for _, cgo := range []bool{false, true} {
			t.Run(fmt.Sprintf("cgo=%v", cgo), func(t *testing.T) { dropPrivileges(t, bin, open, nobody, cgo) })
		}
	})
	// A full disk: one clear error, a non-zero exit, the summary, and a file
	// that readers take whole, holding as many packets as the error says.
	t.Run("full disk", func(t *testing.T) {
		for _, name := range []string{"full.pcap", "full.pcapng"} {
			t.Run(name, func(t *testing.T) {
				mnt := filepath.Join(open, "tmpfs-"+name)
				if err := os.Mkdir(mnt, 0o755); err != nil {
					t.Fatal(err)
				}
				kept := filepath.Join(open, "kept-"+name)
				file := filepath.Join(mnt, name)
				r := startSynfin(t, bin, synfinOpts{tmpfs: mnt + ":64k", copyTo: file + ":" + kept},
					"capture", "-i", "lo", "--for", "60s", "-w", file)
				r.waitReady(t)
				stop := trafficIn(t, r.cmd.Process.Pid)
				code := r.wait(t)
				stop()
				stderr := r.Stderr()
				if code != 1 {
					t.Errorf("exit status %d, want 1; stderr:\n%s", code, stderr)
				}
				var errLines []string
				for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if strings.Contains(l, "synfin capture:") && !strings.Contains(l, "listening on") {
						errLines = append(errLines, l)
					}
				}
				re := regexp.MustCompile(`^synfin capture: write ` + regexp.QuoteMeta(file) +
					`: no space left on device; (\d+) of the (\d+) packets captured were written$`)
				if len(errLines) != 1 || !re.MatchString(errLines[0]) {
					t.Fatalf("want one error line matching %s; stderr:\n%s", re, stderr)
				}
				m := re.FindStringSubmatch(errLines[0])
				written, _ := strconv.Atoi(m[1])
				captured, _ := strconv.Atoi(m[2])
				if n := capturedCount(t, stderr); n != captured || written >= captured || written == 0 {
					t.Errorf("summary says %d captured, error says %d of %d written", n, written, captured)
				}
				for tool, got := range packetsIn(t, kept) {
					if got != written {
						t.Errorf("%s reads %d packets from the full disk's file; synfin said %d were written", tool, got, written)
					}
				}
				t.Logf("%s: disk full; %d of %d packets captured were written", name, written, captured)
			})
		}
	})

	t.Run("without root", func(t *testing.T) { captureWithoutRoot(t, bin, open, nobody) })

	t.Run("live lines", func(t *testing.T) { captureLive(t, bin, open) })
	t.Run("live explain", func(t *testing.T) { captureExplain(t, bin, open) })
	t.Run("live explain hold", func(t *testing.T) { captureExplainHold(t, bin, open) })

	// Paths that cannot be created: one clear line, exit status 1, no file.
	t.Run("unwritable", func(t *testing.T) {
		for _, tc := range []struct {
			name, file string
			args       []string
			want       string
		}{
			{"missing directory", filepath.Join(open, "no", "such", "x.pcap"), nil, "no such file or directory"},
			{"directory closed to the dropped user", filepath.Join(closed, "x.pcap"), []string{"-Z", "nobody"}, "permission denied"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"capture", "-i", "lo", "--for", "10s", "-w", tc.file}, tc.args...)
				r := startSynfin(t, bin, synfinOpts{}, args...)
				code := r.wait(t)
				lines := strings.Split(strings.TrimSpace(r.Stderr()), "\n")
				want := "synfin capture: open " + tc.file + ": " + tc.want
				if code != 1 || len(lines) != 1 || lines[0] != want {
					t.Errorf("exit status %d, stderr:\n%s\nwant 1 and the line %q", code, r.Stderr(), want)
				}
				if _, err := os.Lstat(tc.file); err == nil {
					t.Errorf("%s was created", tc.file)
				}
			})
		}
	})
}

// TestCaptureCommand/without root checks what SECURITY.md promises a user
// who is not root: CAP_NET_RAW alone (what setcap grants) is enough to
// capture, the capture gives it up once the socket is open, and without it, or
// when asked to change user, synfin says what is missing.
func captureWithoutRoot(t *testing.T, bin, dir string, nobody *user.User) {
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	root := &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}}
	netRaw := []uintptr{unix.CAP_NET_RAW}
	for _, tc := range []struct {
		name   string
		cred   *syscall.Credential
		caps   []uintptr
		loDown bool
		args   []string
		code   int
		line   string // the only line on stderr, for a failure
	}{
		{"CAP_NET_RAW only", cred, netRaw, false, []string{"-w", filepath.Join(dir, "netraw.pcap")}, 0, ""},
		{"-Z to the same user", cred, netRaw, false, []string{"-Z", "nobody"}, 0, ""},
		{"no capabilities", cred, nil, false, nil, 1,
			"synfin capture: no permission to capture packets (CAP_NET_RAW is needed): run with sudo, or grant it once with: sudo setcap cap_net_raw+ep $(which synfin)"},
		{"-Z to another user", cred, netRaw, false, []string{"-Z", "root"}, 1,
			"synfin capture: -Z root: changing user needs root (setgroups: operation not permitted)"},
		{"interface down, as root", root, nil, true, nil, 1,
			"synfin capture: lo is down (bring it up with: ip link set lo up)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"capture", "-i", "lo", "--for", "1s"}, tc.args...)
			r := startSynfin(t, bin, synfinOpts{cred: tc.cred, caps: tc.caps, loDown: tc.loDown}, args...)
			if tc.code == 0 {
				r.waitReady(t)
				stop := trafficIn(t, r.cmd.Process.Pid)
				defer stop()
				// CAP_NET_RAW opened the socket and is given up.
				for tid, st := range threadStatuses(t, r.cmd.Process.Pid) {
					for _, key := range []string{"CapEff", "CapPrm", "CapAmb"} {
						if st[key] != "0000000000000000" {
							t.Errorf("thread %s: %s while capturing: %q, want none", tid, key, st[key])
						}
					}
				}
			}
			code := r.wait(t)
			stderr := r.Stderr()
			if len(tc.args) == 2 && tc.args[0] == "-w" {
				n := capturedCount(t, stderr)
				if got := packetsIn(t, tc.args[1]); got["tcpdump"] != n || n == 0 {
					t.Errorf("%d packets captured, tcpdump reads %d", n, got["tcpdump"])
				}
			}
			if code != tc.code {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.line != "" && strings.TrimSuffix(stderr, "\n") != tc.line {
				t.Errorf("stderr:\n%s\nwant the one line\n%s", stderr, tc.line)
			}
			if tc.code == 0 && !strings.Contains(stderr, "0 packets dropped by kernel") {
				t.Errorf("no summary; stderr:\n%s", stderr)
			}
		})
	}
}

// dropPrivileges runs a capture with -Z nobody and reads its ids and
// capabilities while it runs.
func dropPrivileges(t *testing.T, bin, dir string, nobody *user.User, cgo bool) {
	if cgo {
		bin = buildSynfin(t, dir, true)
	}
	file := filepath.Join(dir, fmt.Sprintf("z-cgo=%v.pcap", cgo))
	r := startSynfin(t, bin, synfinOpts{}, "capture", "-i", "lo", "-Z", "nobody", "-w", file)
	r.waitReady(t)
	stop := trafficIn(t, r.cmd.Process.Pid)
	time.Sleep(300 * time.Millisecond)
	statuses := threadStatuses(t, r.cmd.Process.Pid)
	r.cmd.Process.Signal(syscall.SIGINT)
	code := r.wait(t)
	stop()
	ids := func(id string) string { return strings.Repeat(id+" ", 3) + id }
	for tid, st := range statuses {
		for _, c := range []struct{ key, want string }{
			{"Uid", ids(nobody.Uid)},
			{"Gid", ids(nobody.Gid)},
			{"Groups", nobody.Gid},
			{"CapEff", "0000000000000000"},
			{"CapPrm", "0000000000000000"},
			{"CapAmb", "0000000000000000"},
		} {
			if st[c.key] != c.want {
				t.Errorf("thread %s: %s while capturing: %q, want %q", tid, c.key, st[c.key], c.want)
			}
		}
	}
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != nobody.Uid {
		t.Errorf("%s is owned by uid %s, want nobody's %s", file, uid, nobody.Uid)
	}
	n := capturedCount(t, r.Stderr())
	if got := packetsIn(t, file)["tcpdump"]; got != n || n == 0 {
		t.Errorf("tcpdump reads %d packets; synfin said %d captured", got, n)
	}
}

// captureLive checks that printed lines come out while the capture runs,
// not when it ends, that printing and writing at once agree, and that the
// lines are tcpdump's for the file written, with read --annotate's steps.
func captureLive(t *testing.T, bin, dir string) {
	file := filepath.Join(dir, "live.pcap")
	r := startSynfin(t, bin, synfinOpts{}, "capture", "-i", "lo", "-n", "-S", "--annotate", "-w", file, "tcp")
	r.waitReady(t)
	stop := trafficIn(t, r.cmd.Process.Pid)
	time.Sleep(100 * time.Millisecond)
	stop()
	// One connection is at least 7 segments; they must show up while
	// synfin runs on, with the wire idle.
	deadline := time.Now().Add(3 * time.Second)
	for len(r.Stdout()) < 7 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r.cmd.ProcessState != nil {
		t.Fatal("synfin exited early")
	}
	time.Sleep(300 * time.Millisecond) // anything still on its way
	shown := len(r.Stdout())
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
	}
	lines := r.Stdout()
	n := capturedCount(t, r.Stderr())
	if shown < 7 || shown != len(lines) || len(lines) != n {
		t.Fatalf("%d lines printed while the wire was idle, %d in all, %d packets captured; want at least 7 and all of them",
			shown, len(lines), n)
	}
	tcpdump := testenv.NeedTool(t, "tcpdump")
	cmd := exec.Command(tcpdump, "-n", "-S", "-r", file)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bin, "read", "-n", "-S", "--annotate", "-r", file)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	annotated, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	tdLines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	readLines := strings.Split(strings.TrimSuffix(string(annotated), "\n"), "\n")
	if len(tdLines) != n || len(readLines) != n {
		t.Fatalf("%d lines printed live; tcpdump -r prints %d, synfin read %d", n, len(tdLines), len(readLines))
	}
	steps := 0
	for i, l := range lines {
		if !strings.HasPrefix(l, tdLines[i]) {
			t.Errorf("line %d:\n%s\ntcpdump -r:\n%s", i+1, l, tdLines[i])
		}
		if l != readLines[i] {
			t.Errorf("line %d:\n%s\nsynfin read --annotate:\n%s", i+1, l, readLines[i])
		}
		if len(l) > len(tdLines[i]) {
			steps++
		}
	}
	if steps == 0 {
		t.Errorf("no line was annotated:\n%s", strings.Join(lines, "\n"))
	}
	t.Logf("%d lines shown live, %d annotated, all as tcpdump -r and synfin read --annotate print them", n, steps)
}

// captureExplain checks that capture --explain explains the connections
// it saw as explain -r does from the file written at the same time, in
// text and JSON, and that the JSON accounts for every packet tcpdump
// reads from that file, also when --max-conns lets connections go early.
func captureExplain(t *testing.T, bin, dir string) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for _, tc := range []struct {
		name  string
		args  []string
		evict bool // --max-conns is small: connections are let go early
	}{
		{"text", []string{"--lang", "zh", "--width", "100"}, false},
		{"json", []string{"--json"}, false},
		{"json max-conns", []string{"--json", "--max-conns", "2"}, true},
	} {
		// explain -r takes the same options but --max-conns.
		explainArgs := tc.args
		if tc.evict {
			explainArgs = tc.args[:len(tc.args)-2]
		}
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, "explain-"+tc.name+".pcap")
			args := append([]string{"capture", "-i", "lo", "--explain", "-w", file}, tc.args...)
			r := startSynfin(t, bin, synfinOpts{}, append(args, "tcp")...)
			r.waitReady(t)
			stop := trafficIn(t, r.cmd.Process.Pid)
			time.Sleep(100 * time.Millisecond)
			conns := stop()
			time.Sleep(300 * time.Millisecond)
			r.cmd.Process.Signal(syscall.SIGINT)
			if code := r.wait(t); code != 0 {
				t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
			}
			live := strings.Join(r.Stdout(), "\n") + "\n"
			cmd := exec.Command(bin, append([]string{"explain", "-r", file}, explainArgs...)...)
			cmd.Env = append(os.Environ(), "TZ=UTC")
			want, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if !tc.evict && live != string(want) {
				t.Errorf("capture --explain %s differs from explain -r on its file:\n--- live\n%.2000s\n--- explain -r\n%.2000s", tc.args, live, want)
			}
			n := capturedCount(t, r.Stderr())
			out, err := exec.Command(tcpdump, "-n", "-r", file).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Count(out, []byte("\n")); got != n {
				t.Errorf("tcpdump reads %d packets, synfin captured %d", got, n)
			}
			if strings.HasPrefix(tc.name, "json") {
				segs, objs, evicted := 0, 0, 0
				for _, l := range r.Stdout() {
					var c struct {
						End      string
						Segments []json.RawMessage
					}
					if err := json.Unmarshal([]byte(l), &c); err != nil {
						t.Fatalf("%v: %s", err, l)
					}
					segs += len(c.Segments)
					objs++
					if c.End == "evicted" {
						evicted++
					}
				}
				if segs != n || objs < conns {
					t.Errorf("%d connections with %d segments explained; %d connections made, %d packets captured", objs, segs, conns, n)
				}
				if tc.evict != (evicted > 0) {
					t.Errorf("%d of %d connections evicted with %v", evicted, objs, tc.args)
				}
				t.Logf("%v: %d connections made, %d explained live (%d evicted) with %d segments, as tcpdump -r reads the file", tc.args, conns, objs, evicted, segs)
			}
		})
	}
}

// captureExplainHold checks that capture --explain --hold explains each
// connection while the capture runs on a wire gone quiet, about --hold
// after its close, and as explain -r explains it from the file written at
// the same time, but for saying that it was held ("held" where explain -r,
// at the end of the file, says only that 2MSL was not over). Before the
// capture's clock ran on its own, nothing came out until the next packet.
func captureExplainHold(t *testing.T, bin, dir string) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	file := filepath.Join(dir, "explain-hold.pcap")
	r := startSynfin(t, bin, synfinOpts{}, "capture", "-i", "lo", "--explain", "--json", "--hold", "1s", "-w", file, "tcp")
	r.waitReady(t)
	stop := trafficIn(t, r.cmd.Process.Pid)
	time.Sleep(100 * time.Millisecond)
	conns := stop()
	// The last close, the hold, the second the clock runs behind, and a
	// poll interval: about 2 s. Wait for every connection, then stop.
	var lines []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if lines = r.Stdout(); len(lines) >= conns {
			break
		}
	}
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
	}
	if len(lines) != conns {
		t.Fatalf("%d of %d connections explained before the capture stopped; after: %d", len(lines), conns, len(r.Stdout()))
	}
	cmd := exec.Command(bin, "explain", "-r", file, "--json")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	live, n := heldAside(t, lines)
	want, n0 := heldAside(t, jsonLines(string(out)))
	if n != len(lines) || n0 != 0 {
		t.Errorf("%d of %d connections explained live marked held, %d of explain -r's; want all and none", n, len(lines), n0)
	}
	if diff := cmp.Diff(want, live); diff != "" {
		t.Errorf("capture --explain --hold differs from explain -r on its file, held aside (-explain -r +live):\n%.3000s", diff)
	}
	segs := 0
	for _, c := range live {
		s, _ := c["segments"].([]any)
		segs += len(s)
	}
	tout, err := exec.Command(tcpdump, "-n", "-r", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(tout, []byte("\n")); n != segs {
		t.Errorf("tcpdump reads %d packets; the connections explained hold %d segments", n, segs)
	}
	t.Logf("%d connections explained while the capture ran, %d segments, as explain -r and tcpdump -r read the file", conns, segs)
}

// sharedTempDir is a temporary directory every user may enter and write
// in, for a process that has dropped to nobody.
func sharedTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "synfin-capture-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCaptureRotate runs capture -C and -G -W on loopback in a namespace
// of its own with tcpdump capturing the same traffic with the same flags
// beside it. With -C the two write files of the same names and sizes
// and count the same packets; with -G -W both stop by themselves after
// the same number of files. Every packet synfin counts is in one of its
// files, as tcpdump and tshark read them, and each file of -G after the
// first is named by its first packet's time as date(1) formats it.
func TestCaptureRotate(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	nsenter := testenv.NeedTool(t, "nsenter")
	date := testenv.NeedTool(t, "date")
	dir := t.TempDir()
	bin := buildSynfin(t, dir, false)
	// startBoth starts synfin capture and tcpdump in one new network
	// namespace, each with args and its -w FILE.
	startBoth := func(t *testing.T, sfile, tfile string, args ...string) (*synfinRun, *exec.Cmd, func() string) {
		r := startSynfin(t, bin, synfinOpts{}, append([]string{"capture", "-i", "lo", "-w", sfile}, args...)...)
		r.waitReady(t)
		td := exec.Command(nsenter, append([]string{fmt.Sprintf("--net=/proc/%d/ns/net", r.cmd.Process.Pid), tcpdump,
			"-Z", "root", "-B", "65536", "-i", "lo", "-w", tfile}, args...)...)
		td.Env = append(os.Environ(), "TZ=UTC")
		return r, td, pcaptest.StartTcpdump(t, td)
	}
	// inFiles counts the packets in files with tcpdump, tshark and synfin's
	// reader, which must agree.
	inFiles := func(t *testing.T, files []string) int {
		n := 0
		for _, f := range files {
			c := packetsIn(t, f)
			if c["tcpdump"] != c["tshark"] || c["tcpdump"] != c["synfin"] {
				t.Errorf("%s: packets read by tcpdump, tshark, synfin: %v", f, c)
			}
			n += c["tcpdump"]
		}
		return n
	}

	t.Run("size", func(t *testing.T) {
		sd, td := filepath.Join(dir, "s"), filepath.Join(dir, "t")
		os.Mkdir(sd, 0o755)
		os.Mkdir(td, 0o755)
		r, _, stop := startBoth(t, filepath.Join(sd, "c.pcap"), filepath.Join(td, "c.pcap"), "-C", "1", "tcp", "port", "9701")
		bulkIn(t, r.cmd.Process.Pid, "127.0.0.1:9701", 3_500_000)
		time.Sleep(1500 * time.Millisecond) // libpcap hands tcpdump a block a second after its first packet
		r.cmd.Process.Signal(syscall.SIGINT)
		if code := r.wait(t); code != 0 {
			t.Fatalf("exit %d: %s", code, r.Stderr())
		}
		tdStderr := stop()
		sf, tf := dirFiles(t, sd), dirFiles(t, td)
		if !slices.Equal(sf, tf) || len(sf) < 4 {
			t.Fatalf("files %v; tcpdump wrote %v", sf, tf)
		}
		for _, name := range sf {
			s, _ := os.Stat(filepath.Join(sd, name))
			ts, _ := os.Stat(filepath.Join(td, name))
			if s.Size() != ts.Size() {
				t.Errorf("%s: %d bytes; tcpdump's %d", name, s.Size(), ts.Size())
			}
		}
		n := capturedCount(t, r.Stderr())
		if got := inFiles(t, paths(sd, sf)); got != n || n != capturedCount(t, tdStderr) {
			t.Errorf("synfin counted %d packets, its files hold %d; tcpdump counted %d", n, got, capturedCount(t, tdStderr))
		}
		t.Logf("%d packets in %v, as tcpdump's", n, sf)
	})

	t.Run("time", func(t *testing.T) {
		sd, td := filepath.Join(dir, "gs"), filepath.Join(dir, "gt")
		os.Mkdir(sd, 0o755)
		os.Mkdir(td, 0o755)
		r, tdc, _ := startBoth(t, filepath.Join(sd, "g-%H%M%S.pcap"), filepath.Join(td, "g-%H%M%S.pcap"), "-G", "1", "-W", "3", "tcp")
		stopTraffic := trafficIn(t, r.cmd.Process.Pid)
		defer stopTraffic()
		if code := r.wait(t); code != 0 {
			t.Fatalf("exit %d: %s", code, r.Stderr())
		}
		if !strings.Contains(r.Stderr(), "Maximum file limit reached: 3\n") {
			t.Errorf("stderr: %s", r.Stderr())
		}
		done := make(chan error, 1)
		go func() { done <- tdc.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tcpdump: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("tcpdump -G 1 -W 3 did not stop")
		}
		sf, tf := dirFiles(t, sd), dirFiles(t, td)
		if len(sf) != 3 || len(tf) != 3 {
			t.Fatalf("files %v; tcpdump wrote %v", sf, tf)
		}
		n := capturedCount(t, r.Stderr())
		if got := inFiles(t, paths(sd, sf)); got != n || n == 0 {
			t.Errorf("synfin counted %d packets, its files hold %d", n, got)
		}
		for _, name := range sf[1:] {
			out, err := exec.Command(tcpdump, "-tt", "-c", "1", "-r", filepath.Join(sd, name)).Output()
			if err != nil {
				t.Fatal(err)
			}
			sec, _, _ := strings.Cut(string(out), ".")
			cmd := exec.Command(date, "-d", "@"+sec, "+g-%H%M%S.pcap")
			cmd.Env = append(os.Environ(), "TZ=UTC")
			want, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if name != strings.TrimSpace(string(want)) {
				t.Errorf("file %s begins at %s s: date names it %s", name, sec, want)
			}
		}
		t.Logf("%d packets in %v; tcpdump wrote %v", n, sf, tf)
	})
}

func dirFiles(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func paths(dir string, names []string) []string {
	var p []string
	for _, n := range names {
		p = append(p, filepath.Join(dir, n))
	}
	return p
}

// bulkIn sends n bytes, 32 KiB every 2 ms, over one connection to addr on the loopback of
// pid's network namespace, and waits until the server has read them.
func bulkIn(t *testing.T, pid int, addr string, n int) {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine, in the namespace
		defer ns.Close()
		errc <- func() error {
			if err := netns.Set(ns); err != nil {
				return err
			}
			ln, err := net.Listen("tcp4", addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			read := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					_, err = io.Copy(io.Discard, c)
					c.Close()
				}
				read <- err
			}()
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				return err
			}
			// Paced, so that neither capture's ring overflows.
			for chunk := make([]byte, 32<<10); n > 0; n -= len(chunk) {
				if _, err := c.Write(chunk[:min(n, len(chunk))]); err != nil {
					return err
				}
				time.Sleep(2 * time.Millisecond)
			}
			c.Close()
			return <-read
		}()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestReadLoopback captures real connections on lo with tcpdump (data and
// close, abort with RST, a refused connect, IPv6) and compares "synfin
// read" with "tcpdump -r" on the capture for several flag sets.
func TestReadLoopback(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)

	ln4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln4.Close()
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Unavailable(t, "no IPv6 loopback: "+err.Error())
	}
	defer ln6.Close()
	refused, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()
	ports := []string{port(ln4.Addr()), port(ln6.Addr()), port(refused.Addr())}

	capFile := filepath.Join(t.TempDir(), "lo.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tcpdumpPath, "-i", "lo", "--immediate-mode", "-U", "-w", capFile,
		"tcp port "+ports[0]+" or tcp port "+ports[1]+" or tcp port "+ports[2])
	stop := pcaptest.StartTcpdump(t, cmd)
	time.Sleep(500 * time.Millisecond) // the filter is attached a little later

	serve := func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						c.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}
	go serve(ln4)
	go serve(ln6)

	// Data then an orderly close, over IPv4 and IPv6.
	for _, addr := range []string{ln4.Addr().String(), ln6.Addr().String()} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "hello synfin\r\n")
		buf := make([]byte, 64)
		io.ReadAtLeast(c, buf, 14)
		c.Close()
	}
	// Abort: close with unread data pending and linger 0 sends RST.
	c, err := net.Dial("tcp", ln4.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "abort")
	time.Sleep(50 * time.Millisecond)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	// Refused: SYN answered by RST.
	if c, err := net.Dial("tcp", refusedAddr); err == nil {
		c.Close()
		t.Fatal("connect to a closed port succeeded")
	}
	time.Sleep(time.Second)
	stop()

	// Without -n both name 127.0.0.1 and ::1 as the hosts file (or DNS)
	// does.
	flagSets := [][]string{{"-n", "-S"}, {"-n"}, {}, {"-S"}, {"-v", "-n"}, {"-vv"}, {"-e", "-n"}, {"-e", "-q"},
		{"-tt", "-n"}, {"-ttt", "-n"}, {"-x", "-n"}, {"-X", "-n", "-S"}}
	if n := readVsTcpdump(t, tcpdumpPath, capFile, []string{"127.0.0.1", "::1"}, flagSets); n < 15 {
		t.Errorf("only %d TCP records captured", n)
	}
}

func port(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }

// TestCaptureLineAndPacketBuffered: -l and -U, which tcpdump users type
// when piping, are taken as tcpdump takes them, alone and combined with
// other flags.
func TestCaptureLineAndPacketBuffered(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	pcap := filepath.Join(t.TempDir(), "u.pcap")
	for _, args := range [][]string{
		{"capture", "-i", "lo", "-l", "-n", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lnS", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-U", "-w", pcap, "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lU", "--print", "-w", pcap, "--for", "200ms", "port", "9"},
	} {
		code, _, stderr := runMain(t, args...)
		if code != 0 || strings.Contains(stderr, "unknown flag") {
			t.Errorf("%q: exit %d, stderr %q; want the capture run", args, code, stderr)
		}
	}
	if st, err := os.Stat(pcap); err != nil || st.Size() != 24 {
		t.Errorf("-U -w: %v, %v; want a pcap holding its header", st, err)
	}
}

// annotation splits an annotated line into the tcpdump line and the step.
var annotation = regexp.MustCompile(`^(.*)  \[([^\]]*)\]$`)

// stepFits says whether a step name agrees with the flags tcpdump printed
// for the same segment and the payload length.
func stepFits(step, flags string, length int) error {
	has := func(f string) bool { return strings.Contains(flags, f) }
	name, _, _ := strings.Cut(step, ";")
	rules := []struct {
		match string
		ok    bool
	}{
		{"handshake 1/3", flags == "S"},
		{"handshake 2/3", flags == "S."},
		{"handshake 3/3", flags == "." || flags == "P."},
		{"handshake refused", has("R")},
		{"RST", has("R")},
		{"ACK of the FIN", !has("F") && !has("S") && has(".")},
		{"last ACK", !has("F") && !has("S") && has(".")},
		{" FIN", has("F")},
		{" data", length > 0},
		{"bytes)", length > 0},
	}
	matched := false
	for _, r := range rules {
		if strings.Contains(name, r.match) {
			matched = true
			if !r.ok {
				return fmt.Errorf("step %q but tcpdump prints flags [%s] length %d", name, flags, length)
			}
			if r.match == "ACK of the FIN" || r.match == "last ACK" {
				break // not a FIN itself
			}
		}
	}
	if !matched && (has("S") || has("F") || has("R")) {
		return fmt.Errorf("flags [%s] but step %q names no SYN, FIN or RST", flags, name)
	}
	if length > 0 && !strings.Contains(name, fmt.Sprintf("(%d bytes)", length)) {
		return fmt.Errorf("length %d but step %q", length, name)
	}
	return nil
}

// splitAnnotated returns the steps of out and its lines without them.
func splitAnnotated(t *testing.T, out string) (steps []string, lines string) {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		m := annotation.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line without a step: %s", l)
			b.WriteString(l + "\n")
			continue
		}
		steps = append(steps, m[2])
		b.WriteString(m[1] + "\n")
	}
	return steps, b.String()
}

// TestReadAnnotateLab runs lab scenarios on the in-process userspace TCP
// (real segments with real checksums, no privileges), writes them as a
// pcap and checks "read --annotate" on it against tcpdump and the
// scenario's RFC 9293 expectations (see checkAnnotated).
func TestReadAnnotateLab(t *testing.T) {
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	for _, name := range []string{"client-closes-first", "half-close", "abort-rst", "refused", "data-exchange", "last-ack-lost"} {
		t.Run(name, func(t *testing.T) {
			sc, res := labtest.Netstack(t, name)
			file := filepath.Join(t.TempDir(), name+".pcap")
			pcaptest.WriteFile(t, file, res.Link, res.Frames)
			checkAnnotated(t, tcpdumpPath, file, sc, fmt.Sprint(res.Server.Port()))
		})
	}
}

// TestReadAnnotateKernel does the same with the Linux kernel's TCP: the
// lab runs each scenario in a network namespace and captures it.
func TestReadAnnotateKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	tcpdumpPath := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	for i, name := range []string{"seed", "client-closes-first", "three-segment-close", "simultaneous-close", "half-close",
		"abort-rst", "unread-data-rst", "refused", "last-ack-lost", "time-wait-reuse", "old-duplicate-syn"} {
		t.Run(name, func(t *testing.T) {
			sc, err := lab.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			port := fmt.Sprint(9940 + i)
			file := filepath.Join(t.TempDir(), name+".pcap")
			var out, errb bytes.Buffer
			if code := Main(context.Background(), []string{"lab", name, "-w", file, "--port", port}, nil, &out, &errb); code != 0 {
				t.Fatalf("lab %s: exit %d: %s", name, code, errb.String())
			}
			checkAnnotated(t, tcpdumpPath, file, sc, port)
		})
	}
}

// checkAnnotated compares "read -n -S --annotate" of file with tcpdump
// -n -S: every line must be tcpdump's with a step after it, the step must
// fit tcpdump's flags, and the states the steps move each end through
// must follow the scenario's expected RFC 9293 sequence and end where it
// ends. Connections are numbered in order of their first SYN (or first
// line, without one); server is the server's port.
func checkAnnotated(t *testing.T, tcpdumpPath, file string, sc *lab.Scenario, server string) {
	t.Helper()
	want, err := exec.Command(tcpdumpPath, "-n", "-S", "-r", file).Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	out, errOut, code := execRead(t, "-r", file, "-n", "-S", "--annotate")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	steps, lines := splitAnnotated(t, out)
	if d := cmp.Diff(string(want), lines); d != "" {
		t.Fatalf("lines differ from tcpdump's (-tcpdump +synfin):\n%s", d)
	}
	conns := map[string]int{} // client port: connection number
	n := 0
	states := map[string][]string{}
	for i, l := range strings.Split(strings.TrimSuffix(lines, "\n"), "\n") {
		m := annotFlagsLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("not a TCP line: %s", l)
		}
		var length int
		fmt.Sscan(m[4], &length)
		if err := stepFits(steps[i], m[3], length); err != nil {
			t.Errorf("%s: %v", l, err)
		}
		cport := m[1]
		if cport == server {
			cport = m[2]
		}
		if _, ok := conns[cport]; !ok || strings.HasPrefix(steps[i], "handshake 1/3: client SYN;") {
			n++
			conns[cport] = n
		}
		for _, part := range strings.Split(steps[i], "; ")[1:] {
			if strings.HasPrefix(part, "anomalies: ") {
				continue
			}
			for _, ch := range strings.Split(part, ", ") {
				side, st, _ := strings.Cut(ch, " ")
				k := fmt.Sprintf("%d/%s", conns[cport], side)
				states[k] = replay(states[k], st)
			}
		}
	}
	for _, w := range sc.Expect.Kernel {
		k := fmt.Sprintf("%d/%s", w.Conn, w.Role)
		got := states[k]
		if len(w.States) == 0 {
			// The kernel had no socket for it: the packets may show an
			// attempt (an old duplicate SYN's SYN-SENT, a server's
			// SYN-RECEIVED until the reset), never an open connection.
			for _, st := range got {
				if !slices.Contains([]string{"SYN-SENT", "SYN-RECEIVED", "CLOSED", "LISTEN"}, st) {
					t.Errorf("%s: steps move it to %v, but the kernel had no socket for it", k, got)
					break
				}
			}
			continue
		}
		if !labtest.Sampled(got, w.States[1:]) {
			t.Errorf("%s: steps move it to %v, want in order within %v and ending the same", k, got, w.States)
		}
	}
	if t.Failed() {
		t.Logf("synfin read --annotate:\n%s", out)
	}
}

// replay applies one item of a step to the states an end has gone
// through: "X" enters X; "revised: back to X" undoes the changes after
// the last X (all of them if there is none); "revised: X → A (#n) → B
// (#m)" undoes them and enters A and B; "never in X: ..." undoes X
// onwards.
func replay(states []string, item string) []string {
	undo := func(x string, keep bool) []string {
		for i := len(states) - 1; i >= 0; i-- {
			if states[i] == x {
				if keep {
					return states[:i+1]
				}
				return states[:i]
			}
		}
		return nil
	}
	if x, ok := strings.CutPrefix(item, "revised: back to "); ok {
		return undo(x, true)
	}
	if path, ok := strings.CutPrefix(item, "revised: "); ok {
		parts := strings.Split(path, " → ")
		states = undo(parts[0], true)
		for _, p := range parts[1:] {
			st, _, _ := strings.Cut(p, " (#")
			states = append(states, st)
		}
		return states
	}
	if rest, ok := strings.CutPrefix(item, "never in "); ok {
		x, _, _ := strings.Cut(rest, ":")
		return undo(x, false)
	}
	return append(states, item)
}

var annotFlagsLine = regexp.MustCompile(`IP6? \S+\.(\d+) > \S+\.(\d+): Flags \[([^\]]*)\].*length (\d+)`)

// TestReadAllocs checks that read without --annotate allocates nothing
// per segment: a capture ten times longer costs no more allocations.
func TestReadAllocs(t *testing.T) {
	mallocs := func(n int) uint64 {
		pcap := ackPcap(t, n)
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		var out, errb bytes.Buffer
		if code := Main(context.Background(), []string{"read", "-r", "-", "-n", "-S"}, bytes.NewReader(pcap), &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		runtime.ReadMemStats(&ms)
		return ms.Mallocs - before
	}
	mallocs(10) // warm up lazily built tables
	small, large := mallocs(100), mallocs(1000)
	if per := float64(int64(large)-int64(small)) / 900; per > 0.05 {
		t.Errorf("read allocates %.2f times per segment (%d for 100 segments, %d for 1000)", per, small, large)
	}
}

// ackPcap is a raw-IP pcap of n segments: the seed's handshake, then
// acks.
func ackPcap(t *testing.T, n int) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{127, 0, 0, 1}, DstIP: []byte{127, 0, 0, 1}}
	frames := make([]wire.Frame, n)
	for i := range frames {
		tcp := &layers.TCP{SrcPort: 41631, DstPort: 9988, Seq: 2970024579 + uint32(i), Ack: 2032818398, ACK: true, PSH: true, Window: 257}
		tcp.SetNetworkLayerForChecksum(ip)
		frames[i] = pcaptest.Serialize(t, time.Unix(1481531673, int64(i)*1000), ip, tcp, gopacket.Payload("x"))
	}
	return pcaptest.Pcap(t, wire.LinkRaw, frames)
}
