package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"synfin/gen"
	"synfin/input"
	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

// readWith runs read with --jobs n (1: the sequential loop) and returns
// what it printed and its exit code.
func readWith(t *testing.T, n int, args ...string) (string, string, int) {
	t.Helper()
	return execRead(t, append([]string{"--jobs", strconv.Itoa(n)}, args...)...)
}

// sameParallel checks that read prints the same with 2 and 3 printers as
// with one.
func sameParallel(t *testing.T, args ...string) {
	t.Helper()
	wantOut, wantErr, wantCode := readWith(t, 1, args...)
	for _, n := range []int{2, 3} {
		out, errOut, code := readWith(t, n, args...)
		if code != wantCode || errOut != wantErr {
			t.Errorf("%v with %d printers: exit %d, stderr %q; sequentially exit %d, stderr %q",
				args, n, code, errOut, wantCode, wantErr)
		}
		if out != wantOut {
			t.Errorf("%v with %d printers: output differs from the sequential one at line %d (%d bytes, want %d)",
				args, n, firstDiffLine(out, wantOut), len(out), len(wantOut))
		}
	}
}

func firstDiffLine(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// TestReadParallelGenerated compares parallel and sequential printing on
// generated captures large enough for hundreds of batches, pcap and
// pcapng, whole and cut short inside a record.
func TestReadParallelGenerated(t *testing.T) {
	withGMT(t)
	dir := t.TempDir()
	var files []string
	for _, ng := range []bool{false, true} {
		var buf bytes.Buffer
		if _, err := gen.Write(&buf, gen.Config{Conns: 3000, Seed: 7, PcapNG: ng}); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, map[bool]string{false: "c.pcap", true: "c.pcapng"}[ng])
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cut := name + ".cut"
		if err := os.WriteFile(cut, buf.Bytes()[:buf.Len()*2/3+7], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name, cut)
	}
	for _, f := range files {
		for _, opts := range [][]string{
			{"-n", "-S"},
			{"-S", "-tttt", "-v", "-#"},
			{"-n", "-S", "-e", "-X"},
			{"-n", "-S", "-tt", "tcp[tcpflags] & tcp-syn != 0 or ip6"},
		} {
			sameParallel(t, append(opts, "-r", f)...)
		}
		// Options whose lines depend on earlier packets print on one job.
		for _, opts := range [][]string{{"-n"}, {"-n", "-S", "-ttt"}, {"-n", "-S", "-c", "5"}} {
			sameParallel(t, append(opts, "-r", f)...)
		}
	}
}

// TestReadParallelCorpus compares them on every capture of tcpdump's
// test corpus: link types, tunnels, damaged and non-TCP packets.
func TestReadParallelCorpus(t *testing.T) {
	withGMT(t)
	dir := corpus.Dir(t, "tcpdump")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pcap") && !strings.HasSuffix(e.Name(), ".pcapng") {
			continue
		}
		n++
		f := filepath.Join(dir, e.Name())
		sameParallel(t, "-n", "-S", "-v", "-r", f)
		sameParallel(t, "-S", "-e", "-xx", "-r", f)
	}
	if n < 20 {
		t.Fatalf("only %d captures in the corpus", n)
	}
}

// TestReadParallelAllocs checks that printing in parallel allocates
// nothing per packet: a capture twice as long (twice the batches) costs
// no more allocations.
func TestReadParallelAllocs(t *testing.T) {
	mallocs := func(conns int) (uint64, int) {
		var capture bytes.Buffer
		st, err := gen.Write(&capture, gen.Config{Conns: conns, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		data := capture.Bytes()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		n := ms.Mallocs
		var out, errb bytes.Buffer
		out.Grow(len(data)) // the output buffer's growth is not read's
		if code := Main(context.Background(), []string{"read", "-n", "-S", "--jobs", "2", "-r", "-"}, bytes.NewReader(data), &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		runtime.ReadMemStats(&ms)
		return ms.Mallocs - n, int(st.Packets)
	}
	mallocs(500) // warm up lazily built tables
	small, pkts1 := mallocs(3000)
	large, pkts2 := mallocs(6000)
	if per := float64(int64(large)-int64(small)) / float64(pkts2-pkts1); per > 0.001 {
		t.Errorf("%.4f allocations per packet (%d for %d packets, %d for %d)", per, small, pkts1, large, pkts2)
	}
}

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestReadParallelWriteError: a failing output stops the read with the
// error, sequentially and in parallel, without hanging.
func TestReadParallelWriteError(t *testing.T) {
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 3000, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2} {
		env := &Env{Ctx: context.Background(), Stdin: bytes.NewReader(capture.Bytes()), Stdout: &failAfter{n: 300000}, Stderr: io.Discard}
		err := runRead(env, []string{"-n", "-S", "--jobs", strconv.Itoa(n), "-r", "-"})
		if !errors.Is(err, errFull) || !strings.HasPrefix(err.Error(), "read: ") {
			t.Errorf("%d printers: error %v, want read: %v", n, err, errFull)
		}
	}
}

// runJobs runs a command as Main does with --jobs n and returns what it
// printed, on standard output and error, and its exit status.
func runJobs(t *testing.T, n int, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args[:1:1], append([]string{"--jobs", strconv.Itoa(n)}, args[1:]...)...)
	code := Main(context.Background(), args, nil, &out, &errb)
	return out.String(), errb.String(), code
}

// pcapOf writes frames as a microsecond pcap of raw IP (link type 101)
// or Ethernet (1).
func pcapOf(frames []wire.Frame, link uint32) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, 262144)
	b = binary.LittleEndian.AppendUint32(b, link)
	for _, f := range frames {
		b = binary.LittleEndian.AppendUint32(b, uint32(f.Time/1e9))
		b = binary.LittleEndian.AppendUint32(b, uint32(f.Time%1e9/1e3))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
		b = append(b, f.Data...)
	}
	return b
}

// TestJobsSameOutput checks that conns (table and --json) and read -n -S
// print the same, byte for byte, on 1, 2, 3 and 4 jobs: the first is one
// tracker (one printer) in the reading goroutine, the others share the
// work out. It runs them on a generated workload, on one whose clock goes
// back half way (where the trackers become one), and on every capture of
// the corpus.
func TestJobsSameOutput(t *testing.T) {
	withGMT(t)
	dir := t.TempDir()
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 4000, Seed: 11, Rate: 100}); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "gen.pcap")}
	if err := os.WriteFile(files[0], pcap.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same with the clock set back by 90 s at one frame half way.
	src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var frames []wire.Frame
	var link wire.LinkType
	for {
		var f wire.Frame
		if src.Next(&f) != nil {
			break
		}
		f.Data = append([]byte(nil), f.Data...)
		link = f.Link
		frames = append(frames, f)
	}
	frames[len(frames)/2].Time -= 90e9
	frames[len(frames)/2+1].Time -= 1e9
	back := filepath.Join(dir, "back.pcap")
	linkType := map[wire.LinkType]uint32{wire.LinkEthernet: 1, wire.LinkRaw: 101}[link]
	if err := os.WriteFile(back, pcapOf(frames, linkType), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, back)
	filepath.WalkDir(corpus.Dir(t), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})

	for _, file := range files {
		for _, args := range [][]string{
			{"conns", "-r", file},
			{"conns", "-r", file, "--json"},
			{"conns", "-r", file, "--json", "tcp port 9988 or tcp port 80"},
			{"read", "-r", file, "-n", "-S"},
		} {
			want, wantErr, wantCode := runJobs(t, 1, args...)
			for n := 2; n <= 4; n++ {
				got, gotErr, code := runJobs(t, n, args...)
				if code != wantCode || gotErr != wantErr {
					t.Fatalf("%v, %d jobs: exit %d, stderr %q; one job: exit %d, stderr %q", args, n, code, gotErr, wantCode, wantErr)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("%v, %d jobs (-one +%d):\n%.3000s", args, n, n, d)
				}
			}
		}
	}
}

// synFlood is a pcap of n SYNs that are never answered, each from its own
// address, a microsecond apart, made as it is read: no connection ends
// before the capture does.
type synFlood struct {
	n, i int
	buf  []byte
}

func (s *synFlood) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		if s.i == 0 {
			s.buf = pcapOf(nil, 101)
		}
		s.buf = append(s.buf, synRecord(s.i)...)
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[k:])]
	return k, nil
}

// synRecord is the pcap record of the i-th SYN: raw IPv4, 10.x.y.z:40000
// to 192.0.2.1:80.
func synRecord(i int) []byte {
	ts := int64(1e9) + int64(i)*1e3
	ip := make([]byte, 40)
	ip[0], ip[3], ip[8], ip[9] = 0x45, 40, 64, 6
	binary.BigEndian.PutUint32(ip[12:], 10<<24|uint32(i))
	copy(ip[16:], []byte{192, 0, 2, 1})
	binary.BigEndian.PutUint16(ip[20:], 40000)
	binary.BigEndian.PutUint16(ip[22:], 80)
	binary.BigEndian.PutUint32(ip[24:], uint32(i)*7919)
	ip[32], ip[33] = 5<<4, 0x02 // data offset, SYN
	binary.BigEndian.PutUint16(ip[34:], 65535)
	return pcapOf([]wire.Frame{{Time: ts, Data: ip}}, 101)[24:]
}

// TestConnsSYNFloodLinear runs conns on two trackers over SYNs that are
// never answered, all handed out at the end of the capture: once,
// merging them took time quadratic in their number (535 s for a million
// on an idle machine, against 1.5 s on one tracker). It compares the
// processor time of the process, which other processes' load hardly
// changes (one P, so that no thread spins waiting for work), on two
// trackers and on one, on the same 200,000 SYNs: two take about half of
// one's time, on an idle machine or a busy one, where the quadratic merge
// took over 10 times as much. The bound, 4 times, is far from both.
func TestConnsSYNFloodLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("400,000 connections")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 200000
	cpu := func(jobs string) time.Duration {
		lines := 0
		count := writerFunc(func(p []byte) (int, error) {
			lines += bytes.Count(p, []byte("\n"))
			return len(p), nil
		})
		var errb bytes.Buffer
		before := processorTime(t)
		code := Main(context.Background(), []string{"conns", "--jobs", jobs, "-r", "-"}, &synFlood{n: n}, count, &errb)
		took := processorTime(t) - before
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if lines != n+1 { // and the header
			t.Errorf("%d lines, want %d", lines, n+1)
		}
		return took
	}
	one, two := cpu("1"), cpu("2")
	t.Logf("processor time for %d SYNs: one tracker %v, two %v (%.2f times)", n, one, two, float64(two)/float64(one))
	if two > 4*one {
		t.Errorf("%d SYNs on two trackers took %v of processor time, on one %v: the merge is not linear", n, two, one)
	}
}

// processorTime is the processor time the process has used so far, in
// user and system mode.
func processorTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestConnsCancelInMerge cancels conns while it writes the connections
// the end of a SYN flood handed out: it stops writing and returns the
// cancellation, rather than going on to the million.
func TestConnsCancelInMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("a million connections")
	}
	const n = 1000000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		lines     int
		cancelled time.Time
	)
	out := writerFunc(func(p []byte) (int, error) {
		lines += bytes.Count(p, []byte("\n"))
		if lines > 10000 && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
		return len(p), nil
	})
	var errb bytes.Buffer
	code := Main(ctx, []string{"conns", "--jobs", "2", "-r", "-"}, &synFlood{n: n}, out, &errb)
	after := time.Since(cancelled)
	if cancelled.IsZero() {
		t.Fatal("never cancelled")
	}
	if code != 1 || !strings.Contains(errb.String(), "context canceled") {
		t.Errorf("exit %d, %q; want 1 and the cancellation", code, errb.String())
	}
	if lines > n/2 {
		t.Errorf("%d of %d lines written after the cancellation", lines, n)
	}
	t.Logf("returned %v after the cancellation, %d lines written", after, lines)
	// About a second on an idle machine; the bound is loose so that a busy
	// one passes too, and still far below the minutes a merge that goes on
	// to the end (quadratic, as it was) takes.
	if after > 60*time.Second {
		t.Errorf("returned %v after the cancellation", after)
	}
}

// TestConnsStart runs conns, conns --sort start and conns --json on a
// generated workload (a minute long: its connections finish out of their
// start order, 2MSL after their close) and corpus captures. Each row's start is the
// capture's first packet's time plus the relative start tshark's
// conversation statistics (-z conv,tcp) give its conversation (for the
// tuples only one connection used; tshark makes one conversation of a
// reused tuple). --sort start prints the same rows as the default, in
// the order of their starts and ids; conns --json's client and server
// are explain --json's, and its lines are in id order too.
func TestConnsStart(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	files := []string{
		pcaptest.GeneratedFile(t, gen.Config{Conns: 300, Rate: 5}),
		corpus.Dir(t, "zeek", "core.vlan-mpls", "mixed-vlan-mpls.pcap"),
		corpus.Dir(t, "other", "arkime", "tcp_handshake_synthetic.pcap"),
		corpus.Dir(t, "zeek", "scripts.base.protocols.http.http-connect-with-header", "connect-with-header.pcap"),
	}
	run := func(t *testing.T, args ...string) string {
		var out, errs bytes.Buffer
		code := Main(context.Background(), args, nil, &out, &errs)
		if code != 0 {
			t.Fatalf("synfin %v: exit %d: %s", args, code, errs.String())
		}
		return out.String()
	}
	for _, file := range files {
		t.Run(file[strings.LastIndex(file, "/")+1:], func(t *testing.T) {
			plain := strings.SplitAfter(run(t, "conns", "-r", file), "\n")
			sorted := strings.SplitAfter(run(t, "conns", "--sort", "start", "-r", file), "\n")
			if plain[0] != sorted[0] || !strings.Contains(sorted[0], " start ") {
				t.Fatalf("header %q, with --sort start %q", plain[0], sorted[0])
			}
			if a, b := slices.Sorted(slices.Values(plain)), slices.Sorted(slices.Values(sorted)); !slices.Equal(a, b) {
				t.Fatalf("--sort start prints other rows:\n%s\n%s", strings.Join(plain, ""), strings.Join(sorted, ""))
			}
			if strings.Contains(file, "gen.pcap") && slices.Equal(plain, sorted) {
				t.Error("the generated workload finishes in start order: the test shows nothing")
			}
			starts := map[string][]*big.Rat{} // by the tuple, its ends in order
			var last *big.Rat
			for i, row := range sorted[1 : len(sorted)-1] {
				f := strings.Fields(row)
				start, _ := new(big.Rat).SetString(f[1])
				if f[0] != strconv.Itoa(i+1) || last != nil && start.Cmp(last) < 0 {
					t.Errorf("row %d of --sort start: %s", i+1, row)
				}
				last = start
				key := tuple(f[2], f[3])
				starts[key] = append(starts[key], start)
			}
			first, err := exec.Command(tshark, "-n", "-r", file, "-c", "1", "-T", "fields", "-e", "frame.time_epoch").Output()
			if err != nil {
				t.Fatal(err)
			}
			t0, ok := new(big.Rat).SetString(strings.TrimSpace(string(first)))
			conv, err := exec.Command(tshark, "-n", "-q", "-r", file, "-z", "conv,tcp").Output()
			if err != nil || !ok {
				t.Fatalf("tshark: %v, %q", err, first)
			}
			checked := 0
			for _, l := range strings.Split(string(conv), "\n") {
				f := strings.Fields(l)
				if len(f) < 5 || f[1] != "<->" {
					continue
				}
				rel, _ := new(big.Rat).SetString(f[len(f)-2])
				want := new(big.Rat).Add(t0, rel)
				got := starts[tuple(f[0], f[2])]
				if len(got) != 1 {
					continue
				}
				checked++
				if d := new(big.Rat).Sub(got[0], want); d.Abs(d).Cmp(big.NewRat(1, 1e6)) >= 0 {
					t.Errorf("%s <-> %s starts at %s; tshark: %s", f[0], f[2], got[0].FloatString(6), want.FloatString(9))
				}
			}
			if checked == 0 || checked < len(starts)/2 {
				t.Errorf("%d of %d tuples checked against tshark:\n%s", checked, len(starts), conv)
			}

			type end map[string]any
			explain := map[float64][2]end{}
			for _, l := range strings.Split(strings.TrimSpace(run(t, "explain", "--json", "-r", file)), "\n") {
				var v struct {
					ID             float64
					Client, Server end
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				explain[v.ID] = [2]end{v.Client, v.Server}
			}
			var lastID float64
			for _, l := range strings.Split(strings.TrimSpace(run(t, "conns", "--json", "--sort", "start", "-r", file)), "\n") {
				var v struct {
					ID             float64
					Client, Server end
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				if v.ID < lastID {
					t.Errorf("conns --json --sort start: id %v after %v", v.ID, lastID)
				}
				lastID = v.ID
				if !jsonEqual(t, [2]end{v.Client, v.Server}, explain[v.ID]) {
					t.Errorf("connection %v: conns --json's client and server %v; explain --json's %v", v.ID, [2]end{v.Client, v.Server}, explain[v.ID])
				}
			}
			t.Logf("%d connections, %d starts as tshark's", len(sorted)-2, checked)
		})
	}
}

// tuple names a conversation by its two ends, in either order, as tshark
// prints them (an IPv6 address without brackets).
func tuple(a, b string) string {
	a, b = strings.NewReplacer("[", "", "]", "").Replace(a), strings.NewReplacer("[", "", "]", "").Replace(b)
	return min(a, b) + " " + max(a, b)
}

func jsonEqual(t *testing.T, a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(x) == string(y)
}
