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
	"slices"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/progress/ptytest"
	"synfin/internal/testenv"
)

// tool runs a program no one here wrote and returns its standard output.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.NeedTool(t, name), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v: %s", name, args, err, stderr.String())
	}
	return string(out)
}

// pieces cuts file into k pieces with editcap -c, in a directory of
// their own, and returns their names in order.
func pieces(t *testing.T, file string, k int) []string {
	t.Helper()
	n := strings.Count(tool(t, "tcpdump", "-r", file), "\n")
	dir := t.TempDir()
	tool(t, "editcap", "-c", fmt.Sprint((n+k-1)/k), file, filepath.Join(dir, "part"+filepath.Ext(file)))
	parts, _ := filepath.Glob(filepath.Join(dir, "part*"))
	if len(parts) != k {
		t.Fatalf("editcap cut %s into %d pieces, want %d", file, len(parts), k)
	}
	return parts
}

// spanCorpus names captures whose tcpdump lines read prints byte for
// byte with -q, whose connections span the pieces they are cut into.
func spanCorpus(t *testing.T) []string {
	return []string{
		corpus.Dir(t, "zeek", "scripts.base.protocols.irc.basic", "irc-dcc-send.pcapng"),
		corpus.Dir(t, "zeek", "core.tcp.tcp-dups", "ssh-dups.pcap"),
		corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap"),
		corpus.Dir(t, "tcpdump", "mptcp-v0.pcap"),
	}
}

// rArgs repeats -r before each name.
func rArgs(names []string) []string {
	var a []string
	for _, n := range names {
		a = append(a, "-r", n)
	}
	return a
}

// TestReadPiecesAsTcpdump: read over the pieces of a capture (two, three
// and ten, named one by one, by a glob and by their directory) prints
// what tcpdump prints for mergecap's merge of them, and, for a capture in
// time order, for the whole capture, byte for byte. Where two pieces hold
// frames of one time stamp, mergecap puts the later piece's first (see
// input.OpenAll): then the lines are the same, in the whole capture's
// order.
func TestReadPiecesAsTcpdump(t *testing.T) {
	for _, file := range spanCorpus(t) {
		whole := tool(t, "tcpdump", "-#", "-q", "-n", "-r", file)
		for _, k := range []int{2, 3, 10} {
			parts := pieces(t, file, k)
			merged := filepath.Join(t.TempDir(), "merged.pcapng")
			tool(t, "mergecap", append([]string{"-w", merged}, parts...)...)
			want := tool(t, "tcpdump", "-#", "-q", "-n", "-r", merged)
			for _, how := range [][]string{rArgs(parts), {"-r", filepath.Join(filepath.Dir(parts[0]), "part*")}, {"-r", filepath.Dir(parts[0])}} {
				got, stderr, code := execRead(t, append([]string{"-#", "-q", "-n"}, how...)...)
				if code != 0 {
					t.Fatalf("read %q: exit %d: %s", how, code, stderr)
				}
				name := fmt.Sprintf("%s in %d pieces", filepath.Base(file), k)
				switch {
				case got == want:
				case want != whole && got == whole && sameLines(got, want):
				default:
					t.Errorf("%s, read %q: output differs from tcpdump's of mergecap's merge", name, how[:2])
				}
				if file != spanCorpus(t)[3] && got != whole { // mptcp-v0 is not in time order
					t.Errorf("%s: output differs from tcpdump's of the whole capture", name)
				}
			}
		}
	}
}

// sameLines reports whether a and b hold the same lines, numbers aside.
func sameLines(a, b string) bool {
	strip := func(s string) []string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if _, rest, ok := strings.Cut(strings.TrimLeft(l, " "), "  "); ok {
				lines[i] = rest
			}
		}
		slices.Sort(lines)
		return lines
	}
	return slices.Equal(strip(a), strip(b))
}

// TestConnsPiecesAsWhole: a capture cut at packet boundaries into two,
// three and ten pieces gives the same conns --json and explain --json as
// the whole capture (whose connections Zeek's baselines and tshark check
// elsewhere).
func TestConnsPiecesAsWhole(t *testing.T) {
	for _, file := range spanCorpus(t) {
		for _, cmd := range [][]string{{"conns", "--json"}, {"explain", "--json"}} {
			_, want, _ := runMain(t, append(cmd, "-r", file)...)
			for _, k := range []int{2, 3, 10} {
				parts := pieces(t, file, k)
				code, got, stderr := runMain(t, append(cmd, rArgs(parts)...)...)
				if code != 0 || got != want {
					t.Errorf("%s over %s in %d pieces: exit %d (%s), output differs from the whole capture's: %v",
						cmd[0], filepath.Base(file), k, code, stderr, got != want)
				}
			}
		}
	}
}

// TestReadInputErrors: a missing file or one that is not a capture among
// many is one error line naming it; the same file named twice is read
// once, and said.
func TestReadInputErrors(t *testing.T) {
	p := genCapture(t, 8)
	junk := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(junk, []byte("\x00\x01 not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	for _, cmd := range []string{"read", "conns", "explain", "diagram"} {
		for _, bad := range []string{junk, missing} {
			code, stdout, stderr := runMain(t, cmd, "-r", p, "-r", bad)
			if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, bad) {
				t.Errorf("%s -r CAPTURE -r %s: exit %d, stdout %q, stderr %q; want exit 1, one line naming it", cmd, filepath.Base(bad), code, stdout, stderr)
			}
		}
		_, once, _ := runMain(t, cmd, "-r", p)
		code, twice, stderr := runMain(t, cmd, "-r", p, "--read="+p)
		if cmd == "read" {
			code, twice, stderr = runMain(t, cmd, "-r", p, "-r"+p)
		}
		if code != 0 || twice != once || !strings.Contains(stderr, "read once") {
			t.Errorf("%s with one capture named twice: exit %d, stderr %q, output same as once: %v", cmd, code, stderr, twice == once)
		}
	}
}

// TestReadWriteAsTcpdump: read -w writes the packets tcpdump -w writes
// for the same filter, as tcpdump reads them back (time stamps, link
// type, lengths and bytes), in pcap, pcapng and to standard output.
func TestReadWriteAsTcpdump(t *testing.T) {
	dir := t.TempDir()
	for _, file := range spanCorpus(t)[:3] {
		for _, expr := range []string{"", "port 22", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0"} {
			theirs := filepath.Join(dir, "theirs.pcap")
			args := []string{"-r", file, "-w", theirs}
			if expr != "" {
				args = append(args, expr)
			}
			tool(t, "tcpdump", args...)
			want := tool(t, "tcpdump", "-#", "-tt", "-n", "-xx", "-r", theirs)
			for _, out := range []string{"ours.pcap", "ours.pcapng", "-"} {
				args := []string{"-r", file, "-w", filepath.Join(dir, out)}
				if out == "-" {
					args[3] = "-"
				}
				stdout, stderr, code := execRead(t, append(args, expr)...)
				path := filepath.Join(dir, out)
				if out == "-" {
					path = filepath.Join(dir, "stdout.pcap")
					os.WriteFile(path, []byte(stdout), 0o644)
				}
				if code != 0 {
					t.Fatalf("read -w %s: exit %d: %s", out, code, stderr)
				}
				if got := tool(t, "tcpdump", "-#", "-tt", "-n", "-xx", "-r", path); got != want {
					t.Errorf("%s [%s] -w %s: tcpdump reads other packets than from its own -w", filepath.Base(file), expr, out)
				}
			}
		}
	}
	// Nanosecond time stamps are kept, from pcap and from pcapng (whose
	// resolution is known once its first packet is read).
	ns, nsng := filepath.Join(dir, "ns.pcap"), filepath.Join(dir, "ns.pcapng")
	tool(t, "editcap", "-F", "nsecpcap", "-t", "0.000000001", spanCorpus(t)[1], ns) // 1 ns later: fractions a µs file cannot hold
	tool(t, "editcap", "-F", "pcapng", ns, nsng)
	for _, in := range []string{ns, nsng} {
		nsOut := filepath.Join(dir, "ns-out.pcap")
		if _, stderr, code := execRead(t, "-r", in, "-w", nsOut); code != 0 {
			t.Fatal(stderr)
		}
		want := tool(t, "tcpdump", "--nano", "-tt", "-n", "-r", ns)
		if got := tool(t, "tcpdump", "--nano", "-tt", "-n", "-r", nsOut); got != want || !strings.Contains(want, "001 IP") {
			t.Errorf("read -r %s -w: other time stamps than tcpdump --nano reads in it", filepath.Base(in))
		}
	}
}

// TestReadWriteConn: read --conn ID -w writes exactly the packets of the
// connections conns numbers ID, as tcpdump's filter on their addresses and
// ports selects them (the capture reuses no 4-tuple).
func TestReadWriteConn(t *testing.T) {
	file := spanCorpus(t)[0]
	_, js, _ := runMain(t, "conns", "--json", "-r", file)
	// Each connection's tcpdump filter, and its endpoints as the table
	// prints them.
	var filters, tuples []string
	for _, line := range strings.Split(strings.TrimSpace(js), "\n") {
		var c struct {
			OH string `json:"id.orig_h"`
			OP int    `json:"id.orig_p"`
			RH string `json:"id.resp_h"`
			RP int    `json:"id.resp_p"`
		}
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatal(err)
		}
		filters = append(filters, fmt.Sprintf("(tcp and host %s and port %d and host %s and port %d)", c.OH, c.OP, c.RH, c.RP))
		tuples = append(tuples, fmt.Sprintf("%s:%d %s:%d", c.OH, c.OP, c.RH, c.RP))
	}
	// conns lists connections as they end: find each one's ID.
	_, table, _ := runMain(t, "conns", "-r", file)
	ids := map[string]string{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if f := strings.Fields(line); len(f) > 3 {
			ids[f[2]+" "+f[3]] = f[0] // id, start, client, server
		}
	}
	dir := t.TempDir()
	check := func(conns []string, expr string) {
		theirs, ours := filepath.Join(dir, "theirs.pcap"), filepath.Join(dir, "ours.pcap")
		tool(t, "tcpdump", "-r", file, "-w", theirs, expr)
		args := []string{"-r", file, "-w", ours}
		for _, id := range conns {
			args = append(args, "--conn", id)
		}
		if _, stderr, code := execRead(t, args...); code != 0 {
			t.Fatal(stderr)
		}
		want := tool(t, "tcpdump", "-#", "-tt", "-n", "-r", theirs)
		if got := tool(t, "tcpdump", "-#", "-tt", "-n", "-r", ours); got != want || want == "" {
			t.Errorf("--conn %v: %d packets, want tcpdump's %q: %d", conns, strings.Count(got, "\n"), expr, strings.Count(want, "\n"))
		}
	}
	var all []string
	for i, tuple := range tuples {
		id := ids[tuple]
		if id == "" {
			t.Fatalf("no row in the conns table for %s", tuple)
		}
		check([]string{id}, filters[i])
		all = append(all, id)
	}
	check(all[:2], filters[0]+" or "+filters[1])

	if _, stderr, code := execRead(t, "-r", file, "--conn", "99"); code != 1 || !strings.Contains(stderr, "no connection 99") {
		t.Errorf("--conn 99: exit %d, %q; want 1 and no connection 99", code, stderr)
	}
	if _, stderr, code := execRead(t, "-r", file, "--conn", "0"); code != 2 {
		t.Errorf("--conn 0: exit %d, %q; want a usage error", code, stderr)
	}
}

// TestManyInputsExamples runs the examples of reading many files and of
// read -w that the help texts and the README give, on files cut from a
// generated capture, and checks each against tcpdump or tshark.
func TestManyInputsExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	docs := string(readme) + usage("read") + usage("conns") + usage("explain")
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace.pcap")
	if err := os.Rename(genCapture(t, 40), trace); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"ring", "rotated"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
		tool(t, "editcap", "-F", "pcap", "-c", "50", trace, filepath.Join(dir, sub, "trace.pcap"))
	}
	for i, r := range []string{"1-150", "151-300", "301-1000"} {
		tool(t, "editcap", "-F", "pcap", "-r", trace, filepath.Join(dir, fmt.Sprintf("part%d.pcap", i+1)), r)
	}
	tool(t, "editcap", "-F", "pcap", "-r", trace, filepath.Join(dir, "a.pcap"), "1-200")
	tool(t, "editcap", "-F", "pcapng", "-r", trace, filepath.Join(dir, "b.pcapng"), "201-1000")
	tool(t, "editcap", "-F", "pcapng", "-r", trace, filepath.Join(dir, "b.pcap"), "201-1000")
	t.Chdir(dir)
	_, table, _ := runMain(t, "conns", "-r", "trace.pcap")
	for _, tt := range []struct {
		example string
		check   func(stdout string) bool
	}{
		{`synfin conns -r 'ring/trace*.pcap'`, func(out string) bool { return out == table }},
		{`synfin conns -r part1.pcap -r part2.pcap -r part3.pcap`, func(out string) bool { return out == table }},
		{`synfin read -n -# -r a.pcap -r b.pcapng port 9988`, func(out string) bool {
			return out == tool(t, "tcpdump", "-n", "-#", "-r", "trace.pcap", "port", "9988")
		}},
		{`synfin read -r 'rotated/trace*.pcap' -n -w whole.pcapng`, func(string) bool {
			return tool(t, "tcpdump", "-n", "-r", "whole.pcapng") == tool(t, "tcpdump", "-n", "-r", "trace.pcap")
		}},
		{`synfin read -r a.pcap -r b.pcap --conn 2 --conn 5 -w two.pcap`, func(string) bool {
			_, c25, _ := runMain(t, "read", "-n", "-r", "trace.pcap", "--conn", "2", "--conn", "5")
			return c25 != "" && tool(t, "tcpdump", "-n", "-r", "two.pcap") == c25
		}},
		{`synfin read -r 'ring/trace*.pcap' --conn 7 -w conn7.pcap`, func(string) bool {
			_, c7, _ := runMain(t, "explain", "--json", "-r", "trace.pcap", "--conn", "7")
			var e struct{ Segments []struct{ Seg int } }
			json.Unmarshal([]byte(c7), &e)
			return len(e.Segments) > 0 && strings.Count(tool(t, "tcpdump", "-n", "-r", "conn7.pcap"), "\n") == len(e.Segments)
		}},
		{`synfin explain -r 'ring/*.pcap' --conn 7`, func(out string) bool {
			_, want, _ := runMain(t, "explain", "-r", "trace.pcap", "--conn", "7")
			return out == want && out != ""
		}},
		{`synfin read -r trace.pcap -w - port 9988 | tcpdump -n -r -`, func(out string) bool {
			return out == tool(t, "tcpdump", "-n", "-r", "trace.pcap", "port", "9988")
		}},
		{`synfin read -r trace.pcap -w - 'tcp[tcpflags] & tcp-rst != 0' | tshark -r -`, func(out string) bool {
			tool(t, "tcpdump", "-r", "trace.pcap", "-w", "rst.pcap", "tcp[tcpflags] & tcp-rst != 0")
			return strings.Contains(out, "RST") && out == tool(t, "tshark", "-r", "rst.pcap")
		}},
	} {
		if !strings.Contains(docs, tt.example) {
			t.Errorf("example %q is in no help text nor the README", tt.example)
			continue
		}
		cmd, pipe, _ := strings.Cut(tt.example, " | ")
		code, stdout, stderr := runMain(t, shellWords(strings.TrimPrefix(cmd, "synfin "))...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", tt.example, code, stderr)
			continue
		}
		if pipe != "" {
			w := shellWords(pipe)
			c := exec.Command(testenv.NeedTool(t, w[0]), w[1:]...)
			c.Stdin = strings.NewReader(stdout)
			out, err := c.Output()
			if err != nil {
				t.Errorf("%s: %v", tt.example, err)
				continue
			}
			stdout = string(out)
		}
		if !tt.check(stdout) {
			t.Errorf("%s: not what tcpdump, tshark or the whole capture give", tt.example)
		}
	}
}

// shellWords splits a command line as sh does, for the quoting the
// examples use: single quotes.
func shellWords(s string) []string {
	var (
		words []string
		cur   strings.Builder
		in    bool
		quote bool
	)
	for _, r := range s {
		switch {
		case r == '\'':
			quote, in = !quote, true
		case r == ' ' && !quote:
			if in {
				words = append(words, cur.String())
				cur.Reset()
			}
			in = false
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// TestInputRefused: every command that reads a capture refuses, with one
// error line and a non-zero status, what it cannot read anything from: a
// file that is not a capture, and a capture of a link type synfin cannot
// decode (which tcpdump refuses too).
func TestInputRefused(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	le := binary.LittleEndian
	link65535 := le.AppendUint32(nil, 0xa1b2c3d4)
	link65535 = le.AppendUint16(link65535, 2)
	link65535 = le.AppendUint16(link65535, 4)
	link65535 = append(link65535, make([]byte, 8)...)
	link65535 = le.AppendUint32(link65535, 65535)
	link65535 = le.AppendUint32(link65535, 65535)
	link65535 = append(link65535, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4)
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.pcap")
	if err := os.WriteFile(unknown, link65535, 0o644); err != nil {
		t.Fatal(err)
	}
	if exec.Command("tcpdump", "-n", "-r", unknown).Run() == nil {
		t.Fatal("tcpdump reads the file: the test is wrong")
	}
	text := filepath.Join(dir, "passwd")
	if err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		says  string
	}{
		{[]string{"read", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"conns", "-r", "-"}, "hi\n", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"conns", "--json", "-r", "-"}, "hi\n", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"explain", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"diagram", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"read", "-r", unknown}, "", "link type 65535 is not supported"},
		{[]string{"explain", "-r", unknown}, "", "link type 65535 is not supported"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var o, e bytes.Buffer
			code := Main(context.Background(), tc.args, strings.NewReader(tc.stdin), &o, &e)
			lines := strings.Split(strings.TrimSuffix(e.String(), "\n"), "\n")
			if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "synfin "+tc.args[0]+": ") || !strings.Contains(lines[0], tc.says) {
				t.Errorf("exit %d, stderr %q; want a non-zero exit and one line saying %q", code, e.String(), tc.says)
			}
		})
	}
}

// TestCompareBadInput: one clear line on standard error and a non-zero
// exit, or, for a damaged capture, the report of what was readable
// before the damage, then the damage.
func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join("..", "..", "vantage", "testdata", "data.pcap"), filepath.Join("..", "..", "vantage", "testdata", "data.server.pcap")
	cut := cutShort(t, b, 30)
	notCapture := filepath.Join(dir, "x.pcap")
	if err := os.WriteFile(notCapture, []byte("\x00\x01 not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args       []string
		code       int
		out, errln string
	}{
		{[]string{"-r", a}, 2, "", "two captures"},
		{[]string{"-r", a, "-r", filepath.Join(dir, "missing.pcap")}, 1, "", "missing.pcap"},
		{[]string{"-r", a, "-r", notCapture}, 1, "", "x.pcap"},
		{[]string{"-r", a, "-r", b, "--conn", "2"}, 1, "", "no connection 2"},
		{[]string{"-r", a, "-r", b, "--lang", "fr"}, 2, "", "--lang"},
		{[]string{"-r", a, "-r", b, "port ="}, 2, "", "synfin compare"},
		{[]string{"-r", a, "-r", cut}, 1, "Connection 1:", "cut.pcap"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"compare"}, c.args...), nil, &out, &errb)
			if code != c.code || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), c.errln) || !strings.Contains(out.String(), c.out) {
				t.Errorf("exit %d, stderr %q, stdout %.300q; want exit %d, one line with %q, stdout with %q", code, errb.String(), out.String(), c.code, c.errln, c.out)
			}
		})
	}
}

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

// cutShort writes the capture src without its last n bytes, cut inside
// its last record, to cut.pcap in a temporary directory and returns the
// path.
func cutShort(t *testing.T, src string, n int) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-n], 0o644); err != nil {
		t.Fatal(err)
	}
	return cut
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

// TestCompareReadsAsOthers: compare opens its inputs as every command
// does. What explain refuses (each refusal checked against tcpdump in
// TestInputRefused), compare refuses with the same line and prints
// nothing; a long read draws the progress bar, as read's does.
func TestCompareReadsAsOthers(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join("..", "..", "vantage", "testdata", "data.pcap")
	text := filepath.Join(dir, "passwd")
	if err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{text, filepath.Join(dir, "missing.pcap"), filepath.Join(dir, "*.none"), dir} {
		t.Run(filepath.Base(bad), func(t *testing.T) {
			var out, errb, eout, eerr bytes.Buffer
			ecode := Main(context.Background(), []string{"explain", "-r", a, "-r", bad}, nil, &eout, &eerr)
			code := Main(context.Background(), []string{"compare", "-r", a, "-r", bad}, nil, &out, &errb)
			want := strings.Replace(eerr.String(), "synfin explain: ", "synfin compare: ", 1)
			if ecode != 1 || code != ecode || out.Len() != 0 || errb.String() != want {
				t.Errorf("exit %d, stdout %.100q, stderr %q; explain exits %d and says %q", code, out.String(), errb.String(), ecode, eerr.String())
			}
		})
	}

	terminalEnv(t)
	path := generated("--conns", "2000", "--seed", "5")(t)
	ctl, tty := ptytest.Open(t)
	stop := ptytest.Collect(ctl, tty)
	var out bytes.Buffer
	if code := runEnv(&Env{Ctx: context.Background(), Stdout: &out, Stderr: tty, progressDelay: -1}, []string{"compare", "-r", path, "-r", path}); code != 0 {
		t.Fatalf("compare exited %d", code)
	}
	if drawn := string(stop()); !strings.Contains(drawn, "% [") || !strings.HasSuffix(drawn, "\r\x1b[K") {
		t.Errorf("no bar drawn and erased on the terminal: %q", drawn)
	}
}
