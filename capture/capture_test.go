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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/vishvananda/netns"
	"synfin/gen"
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

// TestLoad offers the same UDP packet rate on a namespace's loopback to
// "synfin capture -w" and "tcpdump -w" running side by side and reports
// kernel drops and CPU time of each. It runs only with SYNFIN_LOADTEST=1;
// SYNFIN_LOADTEST_PPS (default 50000) and SYNFIN_LOADTEST_SECS (default
// 3) set the load.
func TestLoad(t *testing.T) {
	if os.Getenv("SYNFIN_LOADTEST") != "1" {
		t.Skip("set SYNFIN_LOADTEST=1 to run the load test")
	}
	pps := envInt("SYNFIN_LOADTEST_PPS", 50000)
	secs := envInt("SYNFIN_LOADTEST_SECS", 3)
	a, _ := netnsPair(t)
	ip := testenv.NeedTool(t, "ip")
	tcpdump := testenv.NeedTool(t, "tcpdump")
	dir := t.TempDir()
	synfin := filepath.Join(dir, "synfin")
	if out, err := exec.Command("go", "build", "-o", synfin, "synfin/cmd/synfin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	expr := "udp port 9999"
	dur := fmt.Sprintf("%ds", 2*secs+3) // room for a sender slower than asked
	cmds := map[string]*exec.Cmd{
		"synfin":  exec.Command(ip, "netns", "exec", a, synfin, "capture", "-i", "lo", "--for", dur, "-w", filepath.Join(dir, "s.pcap"), expr),
		"tcpdump": exec.Command(ip, "netns", "exec", a, "timeout", "-s", "INT", dur, tcpdump, "-i", "lo", "-w", filepath.Join(dir, "t.pcap"), expr),
	}
	errs := map[string]*bytes.Buffer{}
	for name, c := range cmds {
		errs[name] = new(bytes.Buffer)
		c.Stderr = errs[name]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // both listening

	var conn net.Conn
	inNetns(t, a, func() (err error) { conn, err = net.Dial("udp", "127.0.0.1:9999"); return err })
	sink := func() (err error) {
		var pc net.PacketConn
		inNetns(t, a, func() error { pc, err = net.ListenPacket("udp", "127.0.0.1:9999"); return err })
		go func() {
			b := make([]byte, 2048)
			for {
				if _, _, err := pc.ReadFrom(b); err != nil {
					return
				}
			}
		}()
		t.Cleanup(func() { pc.Close() })
		return nil
	}
	sink()
	payload := make([]byte, 200)
	start := time.Now()
	sent := 0
	total := pps * secs
	for sent < total && time.Since(start) < 2*time.Duration(secs)*time.Second {
		due := min(int(time.Since(start).Seconds()*float64(pps)), total)
		for ; sent < due; sent++ {
			conn.Write(payload)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	conn.Close()

	re := regexp.MustCompile(`(\d+) packets? (captured|received by filter|dropped by kernel)`)
	for _, name := range []string{"synfin", "tcpdump"} {
		c := cmds[name]
		c.Wait()
		st := c.ProcessState
		got := map[string]string{}
		for _, m := range re.FindAllStringSubmatch(errs[name].String(), -1) {
			got[m[2]] = m[1]
		}
		if got["captured"] == "" {
			t.Errorf("%s printed no summary:\n%s", name, errs[name])
			continue
		}
		t.Logf("%-7s offered %d packets in %.1fs (%.0f/s): captured %s, received by filter %s, dropped by kernel %s; CPU user %v sys %v",
			name, sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), got["captured"], got["received by filter"],
			got["dropped by kernel"], st.UserTime().Round(time.Millisecond), st.SystemTime().Round(time.Millisecond))
	}
	t.Logf("GOMAXPROCS %d, NumCPU %d", runtime.GOMAXPROCS(0), runtime.NumCPU())
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fullDisk takes max bytes, then fails as a full disk does: a short
// write with ENOSPC.
type fullDisk struct {
	bytes.Buffer
	max int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	room := d.max - d.Len()
	if len(p) <= room {
		return d.Buffer.Write(p)
	}
	d.Buffer.Write(p[:max(room, 0)])
	return max(room, 0), syscall.ENOSPC
}

// wholeRecords counts the records pcapfile reads from b before the end or
// the damage: the reader, not the writer, says what a record is.
func wholeRecords(t *testing.T, b []byte) int {
	t.Helper()
	frames, _ := pcaptest.Read(bytes.NewReader(b))
	return len(frames)
}

// TestWriterFullDisk checks that after a write error the writer reports
// the file's error (ENOSPC, not a wrapped string) and knows how many whole
// records got out, for limits that fall in headers, records and buffers.
func TestWriterFullDisk(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 1000)
	for _, ng := range []bool{false, true} {
		for _, limit := range []int{0, 10, 24, 100, 1040, 1064, 70_000, 200_123} {
			d := &fullDisk{max: limit}
			w, err := Create("-", d, WriterOptions{Link: wire.LinkEthernet, Snaplen: 65535, PcapNG: ng})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := 0; i < 500 && werr == nil; i++ {
				werr = w.Write(&wire.Frame{Time: int64(i) * 1e6, Link: wire.LinkEthernet, Data: frame, WireLen: len(frame)})
			}
			cerr := w.Close()
			if !errors.Is(cerr, syscall.ENOSPC) || !strings.Contains(cerr.Error(), "no space left on device") {
				t.Errorf("pcapng=%v limit %d: Close = %v, want ENOSPC", ng, limit, cerr)
			}
			if got, want := w.Written(), wholeRecords(t, d.Bytes()); got != want {
				t.Errorf("pcapng=%v limit %d: Written() = %d, the reader finds %d whole records", ng, limit, got, want)
			}
		}
	}
}

// TestWriterCutsBackFile checks that a file that could not take every
// record is cut back to its last whole one, so readers see no damage.
func TestWriterCutsBackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcap")
	w, err := Create(path, nil, WriterOptions{Link: wire.LinkEthernet, Snaplen: 65535})
	if err != nil {
		t.Fatal(err)
	}
	// Swap the file for a pipe-like sink that fails half-way through a
	// record, then put the file back for Close to cut.
	f := w.out.w
	d := &fullDisk{max: 24 + 1016 + 500}
	w.out.w = d
	for i := 0; i < 3; i++ {
		w.Write(&wire.Frame{Link: wire.LinkEthernet, Data: make([]byte, 1000), WireLen: 1000})
	}
	w.Flush()
	if _, err := f.Write(d.Bytes()); err != nil {
		t.Fatal(err)
	}
	w.out.w = f
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close = %v, want ENOSPC", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 24+1016 || w.Written() != 1 {
		t.Fatalf("file of %d bytes, Written() = %d; want 1040 bytes, 1 record", len(b), w.Written())
	}
	if frames, err := pcaptest.Read(bytes.NewReader(b)); err != nil || len(frames) != 1 {
		t.Fatalf("%d records read, then %v; want 1 and a clean end", len(frames), err)
	}
}

// TestWriterNanos checks the time stamps' resolution of a pcap file
// written through NewWriter, as tcpdump --nano reads them back.
func TestWriterNanos(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tests := []struct {
		nanos bool
		want  string
	}{
		{false, "1.123456000 "},
		{true, "1.123456789 "},
	}
	for _, tt := range tests {
		name := filepath.Join(t.TempDir(), "n.pcap")
		f, err := outfile.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(f, WriterOptions{Link: wire.LinkRaw, Snaplen: 65535, Nanos: tt.nanos})
		if err != nil {
			t.Fatal(err)
		}
		// An IPv4 header with nothing after it: tcpdump prints its time.
		ip := []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		if err := w.Write(&wire.Frame{Time: 1_123_456_789, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tcpdump, "--nano", "-tt", "-n", "-r", name).Output()
		if err != nil {
			t.Fatalf("tcpdump: %v", err)
		}
		if !strings.HasPrefix(string(out), tt.want) {
			t.Errorf("nanos %v: tcpdump reads %q, want the time %q", tt.nanos, out, tt.want)
		}
	}
}

// TestPacketBuffered: with PacketBuffered (tcpdump's -U) each packet is
// in the file as soon as it is written, not when the buffer fills.
func TestPacketBuffered(t *testing.T) {
	for _, each := range []bool{false, true} {
		f, err := outfile.Create(filepath.Join(t.TempDir(), "u.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(f, WriterOptions{Link: wire.LinkRaw, Snaplen: 65535, PacketBuffered: each})
		if err != nil {
			t.Fatal(err)
		}
		ip := []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		if err := w.Write(&wire.Frame{Time: 1, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if each {
			want = 24 + 16 + int64(len(ip)) // file header, record header, packet
		}
		if st.Size() != want {
			t.Errorf("PacketBuffered %v: %d bytes in the file after one packet; want %d", each, st.Size(), want)
		}
		w.Close()
	}
}

// TestWriterLinkTypes: frames keep their link types. A pcapng file gets an
// interface for each, which tshark reads back frame by frame; a pcap file
// takes the first frame's link type in place of the one it was created
// with, and refuses a frame of another after it, keeping what it holds.
func TestWriterLinkTypes(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	ip := []byte("\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01" +
		"\xa2\xa6\x27\x04\x00\x00\x03\xe8\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00")
	eth := append([]byte("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x02\x08\x00"), ip...)
	frames := []wire.Frame{
		{Time: 1e9, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)},
		{Time: 2e9, Link: wire.LinkEthernet, Data: eth, WireLen: len(eth)},
		{Time: 3e9, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)},
	}
	dir := t.TempDir()
	for _, name := range []string{"mixed.pcapng", "mixed.pcap"} {
		path := filepath.Join(dir, name)
		// Created with a link type that no frame has, as read -w is for
		// a pcapng input whose first interface is not yet read.
		w, err := Create(path, nil, WriterOptions{Link: wire.LinkNull, PcapNG: strings.HasSuffix(name, ".pcapng")})
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := range frames {
			if werr = w.Write(&frames[i]); werr != nil {
				break
			}
		}
		cerr := w.Close()
		out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.encap_type", "-e", "ip.src").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", name, err)
		}
		got := strings.Fields(string(out))
		if name == "mixed.pcapng" {
			// Wiretap's encapsulation numbers: 7 raw IP, 1 Ethernet.
			if want := []string{"7", "127.0.0.1", "1", "127.0.0.1", "7", "127.0.0.1"}; werr != nil || cerr != nil || !slices.Equal(got, want) {
				t.Errorf("pcapng: tshark reads %q (%v, %v), want %q", got, werr, cerr, want)
			}
			continue
		}
		if werr == nil || !strings.Contains(werr.Error(), "write pcapng") || !slices.Equal(got, []string{"7", "127.0.0.1"}) {
			t.Errorf("pcap: tshark reads %q after error %v; want the first frame, raw IP, and an error saying to write pcapng", got, werr)
		}
	}
}

// TestRotateSizeAsTcpdump writes a generated capture of 3.6 MB with -C
// and -W as the capture command does, and has tcpdump split the same
// file with the same flags (tcpdump -Z root -r IN -w OUT -C MB -W N, which
// rotates as a live capture does): the same file names, each file the
// same bytes, the header aside (tcpdump's libpcap keeps the input's
// snap length, synfin writes its own) but its size included.
func TestRotateSizeAsTcpdump(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	generated := pcaptest.GeneratedFile(t, gen.Config{Conns: 1200})
	// Files of exactly 1,000,000 bytes (the header, a record of 76 bytes,
	// then records of 100), which -C 1 does not find larger.
	exact := filepath.Join(t.TempDir(), "exact.pcap")
	var b bytes.Buffer
	pw := pcapgo.NewWriter(&b)
	pw.WriteFileHeader(DefaultSnaplen, layers.LinkTypeEthernet)
	for i := range 25000 {
		data := make([]byte, 84)
		if i == 0 {
			data = data[:60]
		}
		pw.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1e9, int64(i)*1000), CaptureLength: len(data), Length: len(data)}, data)
	}
	if err := os.WriteFile(exact, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in        string
		mb, files int
	}{{generated, 1, 0}, {generated, 1, 2}, {generated, 1, 3}, {generated, 1, 11}, {generated, 2, 0}, {generated, 3, 1}, {exact, 1, 0}, {exact, 1, 2}} {
		in := tc.in
		frames, err := pcaptest.File(t, in)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"-C", strconv.Itoa(tc.mb)}
		if tc.files > 0 {
			args = append(args, "-W", strconv.Itoa(tc.files))
		}
		t.Run(filepath.Base(in)+" "+strings.Join(args, " "), func(t *testing.T) {
			td, sf := filepath.Join(t.TempDir(), "td"), filepath.Join(t.TempDir(), "sf")
			for _, d := range []string{td, sf} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command(tcpdump, append([]string{"-Z", "root", "-r", in, "-w", filepath.Join(td, "t.pcap")}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("tcpdump: %v: %s", err, out)
			}
			w, err := Create(filepath.Join(sf, "t.pcap"), nil, WriterOptions{Link: wire.LinkEthernet,
				Rotate: Rotation{Size: int64(tc.mb) * 1e6, Files: tc.files}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if err := w.Write(&frames[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Written() != len(frames) {
				t.Errorf("Written() = %d, want %d", w.Written(), len(frames))
			}
			want, got := dirFiles(t, td), dirFiles(t, sf)
			if d := cmp.Diff(keys(want), keys(got)); d != "" {
				t.Fatalf("file names (-tcpdump +synfin):\n%s", d)
			}
			for name, b := range want {
				if len(b) != len(got[name]) || !bytes.Equal(b[24:], got[name][24:]) {
					t.Errorf("%s: %d bytes; tcpdump's has %d, and its records differ", name, len(got[name]), len(b))
				}
			}
			t.Logf("%d files: %v", len(want), keys(want))
		})
	}
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func keys(m map[string][]byte) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}

// TestStrftime holds strftime to GNU date's (C's strftime in the C
// locale), for every conversion, at times that cross a year, a week
// boundary and daylight saving time, in three zones.
func TestStrftime(t *testing.T) {
	date := testenv.NeedTool(t, "date")
	layouts := []string{
		"%a %A %b %B %h %C %d %D %e %F %g %G %H %I %j %k %l %m %M %p %P %r %R %s %S %T %u %U %V %w %W %x %X %y %Y %z %Z %%",
		"%c", "trace-%Y%m%d-%H%M%S.pcap", "x%n%ty", "100%", "%Q%E", "plain",
	}
	times := []int64{0, 1, 946684799, 946684800, 1104537600, 1230681600, 1262303999, 1711846799, 1711846800,
		1730000000, 1735603200, 1766000000, 4102444800}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			testenv.Unavailable(t, "no time zone data: "+err.Error())
		}
		for _, layout := range layouts {
			for _, sec := range times {
				cmd := exec.Command(date, "-d", "@"+strconv.FormatInt(sec, 10), "+"+layout)
				cmd.Env = append(os.Environ(), "TZ="+zone, "LC_ALL=C")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("date %s: %v", layout, err)
				}
				want := strings.TrimSuffix(string(out), "\n")
				if got := strftime(layout, time.Unix(sec, 0).In(loc)); got != want {
					t.Errorf("TZ=%s strftime(%q, %d) = %q; date says %q", zone, layout, sec, got, want)
				}
			}
		}
	}
}

// Writes 3 MB of frames to files of about 1,000,000 bytes each in a ring
// of two, as tcpdump -w ring.pcap -C 1 -W 2 does (the same names and
// sizes, from the same frames): the third file is written over the
// first.
func ExampleRotation() {
	dir, err := os.MkdirTemp("", "rotation")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	w, err := Create(filepath.Join(dir, "ring.pcap"), nil, WriterOptions{Link: wire.LinkEthernet,
		Rotate: Rotation{Size: 1e6, Files: 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	data := make([]byte, 10000)
	for i := range 300 {
		w.Write(&wire.Frame{Time: int64(i) * 1e6, Data: data, CapLen: len(data), WireLen: len(data), Link: wire.LinkEthernet})
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, _ := e.Info()
		fmt.Println(e.Name(), info.Size())
	}
	fmt.Println(w.Written(), "frames written")
	// Output:
	// ring.pcap0 1001624
	// ring.pcap1 1001624
	// 300 frames written
}
