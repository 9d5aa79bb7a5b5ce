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
	"slices"
	"strings"
	"testing"

	"synfin/internal/corpus"
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
	whole, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, whole[:len(whole)-30], 0o644); err != nil {
		t.Fatal(err)
	}
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
