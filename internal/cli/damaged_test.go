package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
)

// A damaged capture, run through read and conns, must print what could be
// read before the damage (tcpdump, reading the same bytes, is the oracle
// for which packets those are and how they print), then exactly one error
// line naming the byte offset where the damage starts, and exit non-zero;
// it must never panic, and never allocate more than the file justifies.

// damageAllocBase is what a run may allocate whatever its input: the input
// and output buffers (64 KiB each), pcapgo's packet buffer, sized by the
// file's snap length up to libpcap's 256 KiB maximum before any packet is
// read, and the tracker's tables. Beyond it a run may allocate
// damageAllocPerByte for each byte of input.
const (
	damageAllocBase    = 1 << 20
	damageAllocPerByte = 64
)

func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// damageRun is one in-process run of the CLI.
type damageRun struct {
	out, errOut string
	code        int
	alloc       uint64
}

func runDamaged(t *testing.T, args ...string) damageRun {
	t.Helper()
	var o, e bytes.Buffer
	o.Grow(64 << 10)
	e.Grow(1 << 10)
	before := heapAllocs()
	code := Main(context.Background(), args, nil, &o, &e)
	alloc := heapAllocs() - before
	return damageRun{o.String(), e.String(), code, alloc}
}

// sample is a sample capture and what its structure and tcpdump say.
type sample struct {
	name  string
	data  []byte
	text  bool
	flags []string // read flags that print as the oracle printed
	// Where each packet's record, block or line ends (for text: where its
	// content ends, before the line end), and where every record, block
	// or line starts.
	ends, starts []int
	lines        []string // the oracle's lines for the intact capture
	// headerEnd is where the first record or block after the file
	// header(s) starts; a cut before it leaves no readable file.
	headerEnd int
}

// pcapStructure walks pcap records or pcapng blocks.
func pcapStructure(t *testing.T, b []byte) (ends, starts []int, headerEnd int) {
	t.Helper()
	switch binary.LittleEndian.Uint32(b) {
	case 0x0a0d0d0a:
		bo := binary.ByteOrder(binary.LittleEndian)
		if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
			bo = binary.BigEndian
		}
		for off := 0; off+12 <= len(b); {
			typ, n := bo.Uint32(b[off:]), int(bo.Uint32(b[off+4:]))
			if n < 12 || off+n > len(b) {
				t.Fatalf("bad block at %d", off)
			}
			starts = append(starts, off)
			switch typ {
			case 2, 3, 6:
				ends = append(ends, off+n)
			case 1:
				headerEnd = off + n
			}
			off += n
		}
	default:
		bo := binary.ByteOrder(binary.LittleEndian)
		if m := binary.BigEndian.Uint32(b); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
			bo = binary.BigEndian
		}
		starts, headerEnd = []int{0}, 24
		for off := 24; off+16 <= len(b); {
			n := int(bo.Uint32(b[off+8:]))
			starts = append(starts, off)
			ends = append(ends, off+16+n)
			off += 16 + n
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(b) {
		t.Fatalf("structure does not end at the end of the file")
	}
	return ends, starts, headerEnd
}

// swapPcap rewrites a little-endian pcap file in big-endian byte order.
func swapPcap(b []byte) []byte {
	out := append([]byte(nil), b...)
	s32 := func(o int) { binary.BigEndian.PutUint32(out[o:], binary.LittleEndian.Uint32(b[o:])) }
	s16 := func(o int) { binary.BigEndian.PutUint16(out[o:], binary.LittleEndian.Uint16(b[o:])) }
	s32(0)
	s16(4)
	s16(6)
	for o := 8; o < 24; o += 4 {
		s32(o)
	}
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		for o := off; o < off+16; o += 4 {
			s32(o)
		}
		off += 16 + n
	}
	return out
}

// tcpdumpRead runs tcpdump on data and returns the lines it printed and
// whether it failed.
func tcpdumpRead(t *testing.T, tcpdump string, data []byte) ([]string, bool) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tcpdump, "-n", "-S", "-tt", "-r", file, "tcp")
	cmd.Env = append(os.Environ(), "TZ=GMT0")
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return splitLines(out.String()), err != nil
}

func splitLines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// damageCaptures loads the samples: small pcap files (both byte orders,
// µs and ns), pcapng (a prefix of a corpus file cut on a block boundary,
// and one written by editcap), and the seed's tcpdump text.
func damageCaptures(t *testing.T, tcpdump string) []*sample {
	dir := corpus.Dir(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var caps []*sample
	add := func(name string, b []byte) {
		c := &sample{name: name, data: b, flags: []string{"-n", "-S", "-tt"}}
		c.ends, c.starts, c.headerEnd = pcapStructure(t, b)
		var failed bool
		c.lines, failed = tcpdumpRead(t, tcpdump, b)
		if failed || len(c.lines) != len(c.ends) {
			t.Fatalf("%s: tcpdump printed %d TCP lines (failed: %v) for %d packets", name, len(c.lines), failed, len(c.ends))
		}
		caps = append(caps, c)
	}
	add("handshake-nano.pcap", read("tcpdump/tcp-handshake-nano.pcap"))
	add("syn-then-stuff-then-rst.pcap", read("zeek/conn_state-RST-behavior.syn-then-stuff-then-rst/syn-then-stuff-then-rst.pcap"))
	rae := read("zeek/core.tcp.rst-after-syn/rst-inject-rae.pcap")
	add("rst-inject-rae.pcap", rae)
	add("one-sided-big-endian.pcap", swapPcap(read("zeek/core.conn-size-flip.one-sided/one-sided-2745.pcap")))

	ng := read("zeek/scripts.base.protocols.redis.django-cloud/django-cloud.pcapng")
	ends, _, _ := pcapStructure(t, ng)
	add("django-cloud-8.pcapng", ng[:ends[7]])
	if editcap, err := exec.LookPath("editcap"); err == nil {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcapng")
		if err := os.WriteFile(in, rae, 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command(editcap, "-F", "pcapng", in, out).CombinedOutput(); err != nil {
			t.Fatalf("editcap: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		add("rst-inject-rae-editcap.pcapng", b)
	} else if testenv.InCI() {
		t.Fatal("editcap is not installed")
	}

	// The seed is tcpdump's own output (-S, names resolved): read -n -S
	// prints it again with numbers for names.
	seed, err := os.ReadFile(corpus.Seed(t, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	txt := &sample{name: "capture.txt", data: seed, text: true, flags: []string{"-n", "-S"}}
	numeric := strings.NewReplacer("localhost", "127.0.0.1", "nsesrvr", "9988").Replace(string(seed))
	txt.lines = splitLines(numeric)
	for off := 0; off < len(seed); {
		i := bytes.IndexByte(seed[off:], '\n')
		if i < 0 {
			t.Fatal("seed does not end with a line end")
		}
		txt.starts = append(txt.starts, off)
		txt.ends = append(txt.ends, off+i)
		off += i + 1
	}
	caps = append(caps, txt)
	return caps
}

// expectCut says what a capture cut after n bytes must give: the number of
// packets read, and the offset of the damage (-1 for a clean end).
func (c *sample) expectCut(n int) (packets, damage int) {
	for _, e := range c.ends {
		if e <= n {
			packets++
		}
	}
	if c.text {
		for i, s := range c.starts {
			if s < n && n < c.ends[i] {
				return packets, s
			}
		}
		return packets, -1
	}
	if n < c.headerEnd {
		// The file header, or for pcapng the section header and the
		// first interface block, is cut or missing.
		for _, s := range c.starts {
			if s <= n {
				damage = s
			}
		}
		return 0, damage
	}
	// A cut between records or blocks leaves a shorter, intact file.
	for _, s := range c.starts {
		if s == n {
			return packets, -1
		}
	}
	for _, s := range c.starts {
		if s < n {
			damage = s
		}
	}
	return packets, damage
}

// checkDamaged runs read and conns on data and checks the output against
// want (the oracle's lines for the packets before the damage) and the
// error against damage (-1: none; -2: either none, with nothing printed,
// or an error without an offset, for inputs too short to tell their
// format: one byte of a pcap file may be text).
func checkDamaged(t *testing.T, c *sample, data []byte, want []string, damage int) (maxAlloc uint64) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "cut")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bound := uint64(damageAllocBase + damageAllocPerByte*len(data))
	checkErr := func(cmd string, r damageRun) {
		t.Helper()
		switch {
		case damage == -2 && r.code == 0:
			if r.errOut != "" || len(want) > 0 {
				t.Errorf("%s: %d bytes: exit 0 with stderr %q", cmd, len(data), r.errOut)
			}
		case damage == -1:
			if r.code != 0 || r.errOut != "" {
				t.Errorf("%s: %d bytes, no damage: exit %d, stderr %q", cmd, len(data), r.code, r.errOut)
			}
		case r.code == 0 || strings.Count(r.errOut, "\n") != 1 || !strings.HasPrefix(r.errOut, "synfin "+cmd+": "):
			t.Errorf("%s: %d bytes, damaged: exit %d, stderr %q; want non-zero and one error line", cmd, len(data), r.code, r.errOut)
		case damage >= 0 && !strings.Contains(r.errOut, fmt.Sprintf("byte offset %d ", damage)):
			t.Errorf("%s: %d bytes: stderr %q does not name byte offset %d", cmd, len(data), r.errOut, damage)
		}
		maxAlloc = max(maxAlloc, r.alloc)
		if r.alloc > bound {
			t.Errorf("%s: %d bytes: allocated %d bytes, more than %d", cmd, len(data), r.alloc, bound)
		}
	}

	args := append(append([]string{"read"}, c.flags...), "-r", file)
	if !c.text {
		args = append(args, "tcp")
	}
	r := runDamaged(t, args...)
	if got := strings.Join(want, ""); r.out != got {
		t.Errorf("read: %d bytes: printed\n%s\nwant (the oracle's first %d lines)\n%s", len(data), r.out, len(want), got)
	}
	checkErr("read", r)

	r = runDamaged(t, "conns", "--json", "-r", file)
	pkts := 0
	for _, l := range splitLines(r.out) {
		var v struct {
			OrigPkts int `json:"orig_pkts"`
			RespPkts int `json:"resp_pkts"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("conns: %d bytes: %v in %q", len(data), err, l)
		}
		pkts += v.OrigPkts + v.RespPkts
	}
	// A segment cut inside its TCP header (tcpdump: "[|tcp]") is no
	// segment for the tracker.
	wantPkts := 0
	for _, l := range want {
		if !strings.Contains(l, "[|tcp]") {
			wantPkts++
		}
	}
	if pkts != wantPkts {
		t.Errorf("conns: %d bytes: connections hold %d packets, want the %d before the damage", len(data), pkts, wantPkts)
	}
	checkErr("conns", r)
	return maxAlloc
}

// TestDamagedTruncated cuts each sample at every byte offset. tcpdump,
// run on a sample of the cut files, confirms which packets survive.
func TestDamagedTruncated(t *testing.T) {
	withGMT(t)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for _, c := range damageCaptures(t, tcpdump) {
		t.Run(c.name, func(t *testing.T) {
			// The intact capture prints as the oracle did, without error.
			checkDamaged(t, c, c.data, c.lines, -1)
			step := 1
			if testing.Short() {
				step = 5
			}
			cuts, oracle := 0, 0
			var maxAlloc uint64
			for n := 0; n < len(c.data); n += step {
				k, damage := c.expectCut(n)
				if n < 4 && (!c.text || n == 0) {
					damage = -2 // too short to tell pcap from text
				}
				if !c.text && (n%53 == 0 || k < len(c.ends) && c.ends[k]-n <= 1) {
					// tcpdump reads the same cut file.
					lines, failed := tcpdumpRead(t, tcpdump, c.data[:n])
					if n >= c.headerEnd && strings.Join(lines, "") != strings.Join(c.lines[:k], "") {
						t.Fatalf("cut %d: tcpdump printed %d lines, want the first %d of the intact file's", n, len(lines), k)
					}
					if failed != (damage != -1) {
						t.Fatalf("cut %d: tcpdump failed: %v; expected damage at %d", n, failed, damage)
					}
					oracle++
				}
				maxAlloc = max(maxAlloc, checkDamaged(t, c, c.data[:n], c.lines[:k], damage))
				cuts++
				if t.Failed() {
					t.Fatalf("cut %d of %d bytes", n, len(c.data))
				}
			}
			t.Logf("%d bytes: %d cuts (each through read and conns), %d of them also read by tcpdump; at most %d bytes allocated by a run",
				len(c.data), cuts, oracle, maxAlloc)
		})
	}
}

// TestDamagedLengths corrupts length fields: caplen larger than the snap
// length, record and block lengths that lie, 4 GB lengths. tcpdump reading
// the same bytes gives the lines to print and says whether they are
// damaged; the offset is that of the corrupted record or block.
func TestDamagedLengths(t *testing.T) {
	withGMT(t)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	var pcap, rae, ng *sample
	for _, c := range damageCaptures(t, tcpdump) {
		switch c.name {
		case "syn-then-stuff-then-rst.pcap":
			pcap = c
		case "rst-inject-rae.pcap":
			rae = c
		case "django-cloud-8.pcapng":
			ng = c
		}
	}
	le := binary.LittleEndian
	rec := pcap.starts[1:] // pcap records
	var epb []int          // pcapng packet blocks
	for _, s := range ng.starts {
		if le.Uint32(ng.data[s:]) == 6 {
			epb = append(epb, s)
		}
	}
	idb := ng.starts[1]
	if le.Uint32(ng.data[idb:]) != 1 || len(rec) != 4 || len(epb) != 8 {
		t.Fatalf("samples changed: idb at %d, %d records, %d packet blocks", idb, len(rec), len(epb))
	}
	type put struct{ off, v int }
	tests := []struct {
		name   string
		c      *sample
		puts   []put
		damage int // -1: readable (as libpcap judges it)
		// altered: the corruption changes a packet before the damage.
		altered bool
	}{
		// Records of 91 and 216 bytes, cut to 78 as libpcap does.
		{"pcap caplen larger than snaplen", rae, []put{{16, 78}}, -1, false},
		{"pcap caplen beyond libpcap's maximum", pcap, []put{{rec[1] + 8, 300000}}, rec[1], false},
		{"pcap 4 GB record length", pcap, []put{{rec[1] + 8, 0xfffffff0}}, rec[1], false},
		{"pcap 4 GB record and snap length", pcap, []put{{16, 0xffffffff}, {rec[1] + 8, 0xfffffff0}}, rec[1], false},
		{"pcap record length past the end", pcap, []put{{rec[2] + 8, 200000}}, rec[2], false},
		{"pcap record length 10 short", pcap, []put{{rec[1] + 8, 44}}, rec[1] + 16 + 44, true},
		{"pcapng caplen larger than snaplen", ng, []put{{idb + 12, 40}}, epb[0], false},
		{"pcapng block length not a multiple of 4", ng, []put{{epb[3] + 4, 13}}, epb[3], false},
		{"pcapng block length below 12", ng, []put{{epb[3] + 4, 8}}, epb[3], false},
		{"pcapng block length 4 too long", ng, []put{{epb[3] + 4, epb[4] - epb[3] + 4}}, epb[3], false},
		{"pcapng block length 4 too short", ng, []put{{epb[3] + 4, epb[4] - epb[3] - 4}}, epb[3], false},
		{"pcapng block length 32", ng, []put{{epb[3] + 4, 32}}, epb[3], false},
		{"pcapng trailing block length differs", ng, []put{{epb[4] - 4, 0}}, epb[3], false},
		{"pcapng 4 GB block length", ng, []put{{epb[3] + 4, 0xfffffff0}}, epb[3], false},
		{"pcapng 4 GB capture length", ng, []put{{epb[3] + 20, 0xfffffff0}}, epb[3], false},
		{"pcapng capture length past the block", ng, []put{{epb[3] + 20, int(le.Uint32(ng.data[epb[3]+20:])) + 8}}, epb[3], false},
		{"pcapng 4 GB interface block length", ng, []put{{idb + 4, 0xfffffff0}}, idb, false},
		{"pcapng 4 GB section header length", ng, []put{{4, 0xfffffff0}}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), tt.c.data...)
			for _, p := range tt.puts {
				le.PutUint32(b[p.off:], uint32(p.v))
			}
			lines, failed := tcpdumpRead(t, tcpdump, b)
			if failed != (tt.damage != -1) {
				t.Fatalf("tcpdump failed: %v; expected damage at %d", failed, tt.damage)
			}
			// Damage leaves the oracle's lines a prefix of the intact file's.
			if tt.damage >= 0 && !tt.altered && strings.Join(lines, "") != strings.Join(tt.c.lines[:len(lines)], "") {
				t.Fatalf("tcpdump's lines before the damage differ from the intact file's")
			}
			alloc := checkDamaged(t, tt.c, b, lines, tt.damage)
			t.Logf("%d lines, then damage at %d; at most %d bytes allocated by a run", len(lines), tt.damage, alloc)
		})
	}
}
