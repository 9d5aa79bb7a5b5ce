package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"synfin/internal/testenv"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// floodSource is the client end of the i-th SYN of a flood.
type floodSource struct {
	addr netip.Addr
	port uint16
}

var floodServer = netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), 80)

// writeFlood writes a capture of n SYNs to floodServer, 10 µs apart, each
// from its own address (10.x.y.z, counting up) and a random port, and
// returns the sources in order.
func writeFlood(t testing.TB, file string, n int, seed uint64) []floodSource {
	t.Helper()
	sw := newSegWriter(t, file)
	ip, tcp := sw.ip, sw.tcp
	rng := rand.New(rand.NewPCG(seed, 0x5f17))
	src := make([]floodSource, n)
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	dst := floodServer.Addr().As4()
	for i := range n {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		p := uint16(1024 + rng.IntN(65536-1024))
		src[i] = floodSource{a, p}
		as4 := a.As4()
		clear(ip)
		ip[0], ip[2], ip[3], ip[8], ip[9] = 0x45, 0, 40, 64, 6
		binary.BigEndian.PutUint16(ip[4:], uint16(i))
		copy(ip[12:16], as4[:])
		copy(ip[16:20], dst[:])
		clear(tcp)
		binary.BigEndian.PutUint16(tcp[0:], p)
		binary.BigEndian.PutUint16(tcp[2:], floodServer.Port())
		binary.BigEndian.PutUint32(tcp[4:], rng.Uint32())
		tcp[12], tcp[13] = 5<<4, 0x02 // SYN
		binary.BigEndian.PutUint16(tcp[14:], 64240)
		sw.write(start.Add(time.Duration(i) * 10 * time.Microsecond))
	}
	sw.close()
	return src
}

// segWriter writes a pcap file of Ethernet frames, each an IPv4 header
// and a TCP header with no payload, that the caller fills in (ip, tcp)
// before each write, which sets both checksums.
type segWriter struct {
	t       testing.TB
	f       *os.File
	bw      *bufio.Writer
	w       *pcapgo.Writer
	pkt     []byte
	ip, tcp []byte
}

func newSegWriter(t testing.TB, file string) *segWriter {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 54)
	copy(pkt, []byte{0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00})
	return &segWriter{t: t, f: f, bw: bw, w: w, pkt: pkt, ip: pkt[14:34], tcp: pkt[34:54]}
}

func (s *segWriter) write(ts time.Time) {
	ip, tcp := s.ip, s.tcp
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], ^wire.Checksum(ip, 0))
	tcp[16], tcp[17] = 0, 0
	pseudo := wire.PseudoHeaderChecksum(wire.ProtoTCP, ip[12:16], ip[16:20], len(tcp))
	binary.BigEndian.PutUint16(tcp[16:], ^wire.Checksum(tcp, pseudo))
	ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(s.pkt), Length: len(s.pkt)}
	if err := s.w.WritePacket(ci, s.pkt); err != nil {
		s.t.Fatal(err)
	}
}

func (s *segWriter) close() {
	if err := s.bw.Flush(); err != nil {
		s.t.Fatal(err)
	}
	if err := s.f.Close(); err != nil {
		s.t.Fatal(err)
	}
}

// floodSink reads conns --json output as it is written, without keeping
// it: it counts connections and evictions and keeps the others' sources.
type floodSink struct {
	partial []byte
	lines   int
	evicted int
	kept    map[floodSource]string // source → end
	err     error
}

func (s *floodSink) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.partial = append(s.partial, b...)
			break
		}
		line := b[:i]
		if len(s.partial) > 0 {
			line = append(s.partial, line...)
			s.partial = s.partial[:0]
		}
		s.line(line)
		b = b[i+1:]
	}
	return n, nil
}

func (s *floodSink) line(l []byte) {
	s.lines++
	if bytes.Contains(l, []byte(`"end":"evicted"`)) {
		s.evicted++
		return
	}
	var v struct {
		OrigH string `json:"id.orig_h"`
		OrigP uint16 `json:"id.orig_p"`
		End   string `json:"end"`
	}
	if err := json.Unmarshal(l, &v); err != nil {
		s.err = fmt.Errorf("%v in %q", err, l)
		return
	}
	a, err := netip.ParseAddr(v.OrigH)
	if err != nil {
		s.err = err
		return
	}
	s.kept[floodSource{a, v.OrigP}] = v.End
}

// heapInUse is the runtime's HeapInuse, read without stopping the world.
func heapInUse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// residentBytes is the process's resident memory (0 where /proc is not
// there). It counts what the Go heap's figures do not: the collector's
// headroom and memory not yet given back.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// floodResult is what one conns run over a flood gave.
type floodResult struct {
	sink     *floodSink
	stderr   string
	code     int
	peak     uint64 // peak HeapInuse during the run, above the level before it
	peakRSS  uint64 // peak resident memory, above the level before it
	duration time.Duration
}

func runFlood(t *testing.T, file string, maxConns int) floodResult {
	t.Helper()
	runtime.GC()
	base, baseRSS := heapInUse(), residentBytes()
	var (
		peak, peakRSS uint64
		wg            sync.WaitGroup
		stop          = make(chan struct{})
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, heapInUse())
			peakRSS = max(peakRSS, residentBytes())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	sink := &floodSink{kept: map[floodSource]string{}}
	var errb bytes.Buffer
	args := []string{"conns", "--json", "-r", file}
	if maxConns > 0 {
		args = append(args, "--max-conns", strconv.Itoa(maxConns))
	}
	began := time.Now()
	code := Main(context.Background(), args, nil, sink, &errb)
	took := time.Since(began)
	close(stop)
	wg.Wait()
	if sink.err != nil {
		t.Fatal(sink.err)
	}
	peak, peakRSS = max(peak, base), max(peakRSS, baseRSS)
	return floodResult{sink, errb.String(), code, peak - base, peakRSS - baseRSS, took}
}

// checkFlood checks a run over n SYNs from src with --max-conns max:
// every connection is listed once, all but the max most recent ones as
// evicted, and those max as kept to the end of the capture.
func checkFlood(t *testing.T, r floodResult, src []floodSource, max int) {
	t.Helper()
	n := len(src)
	// The evictions are said in one line on standard error, and nothing else.
	want := ""
	if n > max {
		want = fmt.Sprintf("synfin conns: %d connections evicted before their end to stay within --max-conns %d (end \"evicted\" in --json)\n", n-max, max)
	}
	if r.code != 0 || r.stderr != want {
		t.Fatalf("exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	if r.sink.lines != n {
		t.Errorf("%d connections listed, want %d (one per SYN)", r.sink.lines, n)
	}
	if r.sink.evicted != n-max {
		t.Errorf("%d evicted, want %d", r.sink.evicted, n-max)
	}
	if len(r.sink.kept) != max {
		t.Errorf("%d connections kept, want %d", len(r.sink.kept), max)
	}
	for _, s := range src[n-max:] {
		if end, ok := r.sink.kept[s]; !ok || end != "capture-end" {
			t.Fatalf("the recent connection from %v:%d is not kept to the capture's end (end %q)", s.addr, s.port, end)
		}
	}
}

// floodBytesPerConn bounds the memory one held connection may take (its
// state, Zeek engine and table slot), with room for the garbage the
// collector has not yet reclaimed. floodBase is the rest: buffers, the
// collector's minimum heap, the test binary's own pages first touched.
const (
	floodBytesPerConn = 8 << 10
	floodBase         = 16 << 20
)

// TestFloodOracle checks a small flood against tcpdump and tshark: they
// count the SYNs and the conversations, and conns lists as many.
func TestFloodOracle(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tshark := testenv.NeedTool(t, "tshark")
	const n = 10_000
	file := filepath.Join(t.TempDir(), "flood.pcap")
	src := writeFlood(t, file, n, 1)

	out, err := exec.Command(tcpdump, "-n", "-r", file, "tcp[tcpflags] == tcp-syn").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(out), "\n"); got != n {
		t.Fatalf("tcpdump counts %d SYNs, want %d", got, n)
	}
	out, err = exec.Command(tshark, "-n", "-q", "-r", file, "-z", "conv,tcp").Output()
	if err != nil {
		t.Fatal(err)
	}
	convs := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "<->") {
			convs++
		}
	}
	if convs != n {
		t.Fatalf("tshark counts %d conversations, want %d", convs, n)
	}

	r := runFlood(t, file, 0)
	checkFlood(t, r, src, n)
	for _, max := range []int{100, 1000} {
		r := runFlood(t, file, max)
		checkFlood(t, r, src, max)
		t.Logf("--max-conns %d: %d listed, %d evicted, peak heap %.1f MiB, resident %.1f MiB above the start",
			max, r.sink.lines, r.sink.evicted, float64(r.peak)/(1<<20), float64(r.peakRSS)/(1<<20))
	}
}

// TestFlood runs a million SYNs from random ports through conns with
// --max-conns: memory stays within what the bound justifies (a thousand
// times less than the file's connections would take), every connection is
// listed, the evicted ones as evicted, the kept ones to the end.
func TestFlood(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "flood.pcap")
	began := time.Now()
	src := writeFlood(t, file, n, 2)
	t.Logf("wrote %d SYNs in %v", n, time.Since(began).Round(time.Millisecond))
	if capinfos, err := exec.LookPath("capinfos"); err == nil && !testing.Short() {
		out, err := exec.Command(capinfos, "-c", "-M", file).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), " "+strconv.Itoa(n)+"\n") {
			t.Fatalf("capinfos does not count %d packets:\n%s", n, out)
		}
	}
	for _, max := range []int{1000, 10_000} {
		r := runFlood(t, file, max)
		checkFlood(t, r, src, max)
		bound := uint64(floodBase + max*floodBytesPerConn)
		t.Logf("--max-conns %d: %d listed, %d evicted, %d kept; peak heap %.1f MiB, resident %.1f MiB above the start (bound %.1f MiB); %v",
			max, r.sink.lines, r.sink.evicted, len(r.sink.kept), float64(r.peak)/(1<<20), float64(r.peakRSS)/(1<<20), float64(bound)/(1<<20), r.duration.Round(time.Millisecond))
		if r.peak > bound || r.peakRSS > bound {
			t.Errorf("--max-conns %d: peak heap %d bytes, resident %d bytes above the start, more than %d", max, r.peak, r.peakRSS, bound)
		}
	}
}

// TestFloodViews runs the commands that keep every segment of the
// connections they follow (explain, diagram, read --annotate) over a
// flood of never-closed handshakes, more than their default --max-conns,
// as the built binary under /usr/bin/time: peak resident memory stays
// under 100 MB (without the bound they took gigabytes), the evictions are
// said on standard error, and the output shows them.
func TestFloodViews(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 300,000 SYNs, run by five commands")
	}
	timeBin := testenv.NeedTool(t, "time")
	gobin := testenv.NeedTool(t, "go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "synfin")
	if out, err := exec.Command(gobin, "build", "-o", bin, "synfin/cmd/synfin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const n = 300_000
	file := filepath.Join(dir, "flood.pcap")
	writeFlood(t, file, n, 3)
	evicted := fmt.Sprintf("%d connections evicted before their end to stay within --max-conns %d", n-track.DefaultMaxConns, track.DefaultMaxConns)
	leftOut := fmt.Sprintf("the report holds the first %d connections; %d more were left out", track.DefaultMaxReport, n-track.DefaultMaxReport)
	for _, tc := range []struct {
		args    []string
		inOut   string // what the output shows of an evicted connection
		leftOut bool
	}{
		{[]string{"explain", "--json"}, `"end":"evicted"`, false},
		{[]string{"read", "--annotate", "-n"}, "", false},
		{[]string{"diagram"}, "", false},
		{[]string{"diagram", "--format", "svg"}, "", true},
		{[]string{"diagram", "--format", "html"}, "", false},
	} {
		out := filepath.Join(dir, "out")
		cmd := exec.Command(timeBin, append([]string{"-f", "peak %M", bin}, append(tc.args, "-r", file)...)...)
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = f, &stderr
		err = cmd.Run()
		f.Close()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		last := lines[len(lines)-1]
		kb, err := strconv.Atoi(strings.TrimPrefix(last, "peak "))
		if err != nil {
			t.Fatalf("%v: no peak in %q", tc.args, last)
		}
		said := strings.Join(lines[:len(lines)-1], "\n")
		t.Logf("%v: peak resident %.1f MB", tc.args, float64(kb)/1024)
		if kb > 100<<10 {
			t.Errorf("%v: peak resident memory %d KB, more than 100 MB", tc.args, kb)
		}
		if !strings.Contains(said, evicted) {
			t.Errorf("%v: stderr %q, want %q", tc.args, said, evicted)
		}
		if html := tc.args[len(tc.args)-1] == "html"; html != strings.Contains(said, "synfin diagram: wrote standard output: ") {
			t.Errorf("%v: stderr %q, the report's size said: %v", tc.args, said, !html)
		}
		if tc.leftOut != strings.Contains(said, leftOut) {
			t.Errorf("%v: stderr %q, left out said: %v", tc.args, said, !tc.leftOut)
		}
		if tc.inOut != "" {
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(b), tc.inOut); got != n-track.DefaultMaxConns {
				t.Errorf("%v: %d connections show %q, want %d", tc.args, got, tc.inOut, n-track.DefaultMaxConns)
			}
		}
	}
}
