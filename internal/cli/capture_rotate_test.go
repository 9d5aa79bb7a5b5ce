//go:build linux

package cli

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
)

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
