package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"synfin/internal/outfile"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

func TestCreateRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{dir, os.DevNull} {
		if _, err := Create(p, nil, WriterOptions{Link: wire.LinkEthernet, Snaplen: 65535}); !errors.Is(err, outfile.ErrNotRegular) {
			t.Errorf("Create(%s): %v, want a refusal", p, err)
		}
	}
}

// TestWriterReadBack writes frames as pcap and pcapng and has tcpdump and
// tshark read them.
func TestWriterReadBack(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tshark := testenv.NeedTool(t, "tshark")
	frame := []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x08\x00" +
		"\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01" +
		"\xa2\xa6\x27\x04\x00\x00\x03\xe8\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00")
	for _, name := range []string{"out.pcap", "out.pcapng"} {
		path := filepath.Join(t.TempDir(), name)
		w, err := Create(path, nil, WriterOptions{Link: wire.LinkEthernet, Snaplen: 262144,
			PcapNG: strings.HasSuffix(name, "pcapng"), Interface: "lo", Filter: "tcp"})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			f := wire.Frame{Time: int64(1_700_000_000_123_456_000) + int64(i)*1000, Link: wire.LinkEthernet, Data: frame, WireLen: len(frame) + 10}
			if err := w.Write(&f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tcpdump, "-n", "-tt", "-r", path).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump -r %s: %v\n%s", name, err, out)
		}
		if want := "1700000000.123456 IP 127.0.0.1.41638 > 127.0.0.1.9988: Flags [S], seq 1000, win 65535, length 0 [|tcp]"; !strings.Contains(string(out), want) &&
			!strings.Contains(string(out), "1700000000.123456 IP 127.0.0.1.41638 > 127.0.0.1.9988: Flags [S]") {
			t.Errorf("tcpdump -r %s:\n%s\nwant a line like %q", name, out, want)
		}
		out, err = exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.len", "-e", "tcp.dstport").CombinedOutput()
		if err != nil {
			t.Fatalf("tshark -r %s: %v\n%s", name, err, out)
		}
		if got := strings.Count(string(out), "64\t9988"); got != 3 {
			t.Errorf("tshark -r %s: %d frames of 64 bytes to 9988, want 3:\n%s", name, got, out)
		}
	}
}

// netnsPair creates two network namespaces joined by a veth pair,
// 10.231.0.1 in a and 10.231.0.2 in b, and removes them when the test ends.
func netnsPair(t *testing.T) (a, b string) {
	testenv.NeedCaps(t, testenv.CapNetAdmin, testenv.CapNetRaw, testenv.CapSysAdmin)
	ip := testenv.NeedTool(t, "ip")
	// Named synfin-<pid>-..., so that a lab's sweep running meanwhile
	// knows their owner is alive.
	a, b = fmt.Sprintf("synfin-%d-a", os.Getpid()), fmt.Sprintf("synfin-%d-b", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		exec.Command(ip, "netns", "del", a).Run()
		exec.Command(ip, "netns", "del", b).Run()
	})
	run("netns", "add", a)
	run("netns", "add", b)
	run("link", "add", "sfa", "netns", a, "type", "veth", "peer", "name", "sfb", "netns", b)
	run("-n", a, "addr", "add", "10.231.0.1/24", "dev", "sfa")
	run("-n", b, "addr", "add", "10.231.0.2/24", "dev", "sfb")
	for _, ns := range []string{a, b} {
		run("-n", ns, "link", "set", "lo", "up")
	}
	run("-n", a, "link", "set", "sfa", "up")
	run("-n", b, "link", "set", "sfb", "up")
	return a, b
}

// inNetns runs fn on a thread inside namespace name; sockets created there
// stay in it.
func inNetns(t *testing.T, name string, fn func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left locked, so it ends with the goroutine
		// instead of going back to the pool inside the namespace.
		target, err := netns.GetFromName(name)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

type segment struct {
	Src, Dst         string
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            string
	Window           uint16
	Payload          int
}

func segmentsOf(t *testing.T, frames []wire.Frame) []segment {
	var out []segment
	for _, f := range frames {
		var p wire.Packet
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Errorf("frame %d: %v", f.Index, err)
			continue
		}
		out = append(out, segment{p.Src.String(), p.Dst.String(), p.SrcPort, p.DstPort, p.Seq, p.Ack,
			fmt.Sprint(p.Flags), p.Window, p.PayloadLen})
	}
	return out
}

// countPcap counts the whole records of a pcap file another process may
// still be writing.
func countPcap(path string) int {
	fh, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer fh.Close()
	frames, _ := pcaptest.Read(fh)
	return len(frames)
}

// startTcpdump runs tcpdump in namespace ns and waits until it listens.
// stop interrupts it and returns all it wrote to standard error, its
// summary included.
func startTcpdump(t *testing.T, ns string, args ...string) (stop func() string) {
	ip := testenv.NeedTool(t, "ip")
	testenv.NeedTool(t, "tcpdump")
	return pcaptest.StartTcpdump(t, exec.Command(ip, append([]string{"netns", "exec", ns, "tcpdump"}, args...)...))
}

// captureIn opens a capture inside namespace ns and collects frames until
// the returned stop function is called.
func captureIn(t *testing.T, ns string, opt Options) (stop func() ([]wire.Frame, Stats)) {
	var h *Handle
	inNetns(t, ns, func() (err error) { h, err = Open(opt); return err })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []wire.Frame)
	go func() {
		var frames []wire.Frame
		for {
			var f wire.Frame
			if err := h.Next(ctx, &f); err != nil {
				done <- frames
				return
			}
			f.Data = bytes.Clone(f.Data)
			frames = append(frames, f)
		}
	}()
	return func() ([]wire.Frame, Stats) {
		cancel()
		frames := <-done
		st, err := h.Stats()
		if err != nil {
			t.Error(err)
		}
		h.Close()
		return frames, st
	}
}

// exchange runs a TCP server in ns srv and a client in ns cli: connect,
// send, echo, close.
func exchange(t *testing.T, srv, cli, listen, dial string) {
	var ln net.Listener
	inNetns(t, srv, func() (err error) { ln, err = net.Listen("tcp", listen); return err })
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Write(buf[:n])
		c.Read(buf) // EOF: the client closes first
		c.Close()
	}()
	var c net.Conn
	inNetns(t, cli, func() (err error) { c, err = net.Dial("tcp", dial); return err })
	c.Write([]byte("hello, synfin"))
	io.ReadFull(c, make([]byte, 13))
	c.Close()
	// Wait for the server's close too: on a loaded machine its FIN can come
	// late, and a capture stopped before it would miss it.
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Error("the server did not close within 5 s")
	}
	time.Sleep(300 * time.Millisecond) // let the last ACK pass
}

// TestNamespaceAgainstTcpdump captures one connection with synfin and
// with tcpdump at the same time, on a veth interface and on loopback, and
// compares the segments.
func TestNamespaceAgainstTcpdump(t *testing.T) {
	a, b := netnsPair(t)
	for _, tc := range []struct {
		name, iface, srvNS, listen, dial string
	}{
		{"veth", "sfa", b, "10.231.0.2:8080", "10.231.0.2:8080"},
		{"lo", "lo", a, "127.0.0.1:9988", "127.0.0.1:9988"},
		{"any", "any", b, "10.231.0.2:8080", "10.231.0.2:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expr := "tcp port " + tc.listen[strings.LastIndexByte(tc.listen, ':')+1:]
			tdFile := filepath.Join(t.TempDir(), "tcpdump.pcap")
			stopTcpdump := startTcpdump(t, a, "-i", tc.iface, "-n", "-U", "--immediate-mode", "-w", tdFile, expr)
			stop := captureIn(t, a, Options{Interface: tc.iface, Filter: expr})
			exchange(t, tc.srvNS, a, tc.listen, tc.dial)
			ours, st := stop()
			// tcpdump writes each packet as it reads it (-U); on a loaded
			// machine it may not have read the last ones yet, and SIGINT
			// would make it drop what is still in its ring.
			for end := time.Now().Add(5 * time.Second); countPcap(tdFile) < len(ours) && time.Now().Before(end); {
				time.Sleep(50 * time.Millisecond)
			}
			tdErr := stopTcpdump()
			theirs, err := pcaptest.File(t, tdFile)
			if err != nil {
				t.Fatal(err)
			}
			if len(theirs) < 8 {
				t.Fatalf("tcpdump saw only %d segments (synfin %d): %s", len(theirs), len(ours), tdErr)
			}
			tsegs, osegs := segmentsOf(t, theirs), segmentsOf(t, ours)
			// The kernel sometimes drops a few packets for tcpdump's socket
			// on a loaded machine, and tcpdump says so: then its segments
			// must be ours less that many.
			var dropped int
			if m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(tdErr); m != nil {
				dropped, _ = strconv.Atoi(m[1])
			}
			if dropped > 0 && len(osegs)-len(tsegs) == dropped && pcaptest.Subsequence(tsegs, osegs) {
				t.Logf("tcpdump's kernel dropped %d packets: its %d segments are among synfin's %d", dropped, len(tsegs), len(osegs))
			} else if diff := cmp.Diff(tsegs, osegs); diff != "" {
				t.Errorf("segments (-tcpdump +synfin):\n%s\ntcpdump said: %s", diff, tdErr)
			}
			if ours[0].Link != theirs[0].Link {
				t.Errorf("link type %d, tcpdump %d", ours[0].Link, theirs[0].Link)
			}
			if st.Captured != uint64(len(ours)) || st.Received < st.Captured {
				t.Errorf("stats %+v for %d frames", st, len(ours))
			}
			if tc.name == "any" {
				// SLL2 headers: protocol, interface type, address length.
				if diff := cmp.Diff(theirs[0].Data[:2], ours[0].Data[:2]); diff != "" {
					t.Errorf("SLL2 protocol (-tcpdump +synfin):\n%s", diff)
				}
				if diff := cmp.Diff(theirs[0].Data[8:20], ours[0].Data[8:20]); diff != "" {
					t.Errorf("SLL2 hatype..address (-tcpdump +synfin):\n%s", diff)
				}
			}
		})
	}
}
