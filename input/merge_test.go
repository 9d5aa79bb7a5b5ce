package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/pcapfile"
	"synfin/wire"
)

// frameOf is one frame as a merge hands it out.
type frameOf struct {
	Index int
	Time  int64
	Link  wire.LinkType
	Wire  int
	Data  string
}

// readAll reads src to its end, and returns its frames and how it ended.
func readFrames(t *testing.T, src Source) ([]frameOf, error) {
	t.Helper()
	var (
		out []frameOf
		f   wire.Frame
	)
	for {
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, frameOf{f.Index, f.Time, f.Link, f.WireLen, string(f.Data)})
	}
}

// openAll reads names with OpenAll and returns its frames and warnings.
func openAll(t *testing.T, names ...string) ([]frameOf, []string, error) {
	t.Helper()
	var warns []string
	src, err := OpenAll(names, nil, Options{Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		return nil, warns, err
	}
	defer src.Close()
	frames, err := readFrames(t, src)
	return frames, warns, err
}

// mergecap merges files with mergecap into a pcapng file and reads it.
func mergecap(t *testing.T, files ...string) []frameOf {
	t.Helper()
	out := filepath.Join(t.TempDir(), "merged.pcapng")
	run(t, testenv.NeedTool(t, "mergecap"), append([]string{"-w", out}, files...)...)
	src, err := Open(out, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	frames, err := readFrames(t, src)
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func run(t *testing.T, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v: %s", filepath.Base(tool), args, err, out)
	}
}

// split cuts file into pieces of n packets with editcap -c and returns
// their names, in order.
func split(t *testing.T, file string, n int) []string {
	t.Helper()
	dir := t.TempDir()
	run(t, testenv.NeedTool(t, "editcap"), "-c", fmt.Sprint(n), file, filepath.Join(dir, "part"+filepath.Ext(file)))
	parts, err := filepath.Glob(filepath.Join(dir, "part*"))
	if err != nil || len(parts) < 2 {
		t.Fatalf("editcap -c %d %s: %d pieces (%v)", n, file, len(parts), err)
	}
	return parts
}

// mergeCorpus names captures of the corpus that are read here and by
// tcpdump alike, with connections spanning the pieces they are cut into.
func mergeCorpus(t *testing.T) []string {
	t.Helper()
	return []string{
		corpus.Dir(t, "zeek", "scripts.base.protocols.irc.basic", "irc-dcc-send.pcapng"),
		corpus.Dir(t, "zeek", "core.tcp.tcp-dups", "ssh-dups.pcap"),
		corpus.Dir(t, "tcpdump", "mptcp-v0.pcap"),
		corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap"),
	}
}

// TestMergeMatchesMergecap: the pieces of a capture, merged, are the
// frames of mergecap's merge of them, numbered alike, with their link
// types and lengths, but for the order of frames of one time stamp in two
// pieces (see TestMergeEqualTimes); and, for a capture in time order, the
// frames of the whole capture, in its order.
func TestMergeMatchesMergecap(t *testing.T) {
	for _, file := range mergeCorpus(t) {
		whole, _, err := openAll(t, file)
		if err != nil {
			t.Fatal(err)
		}
		inOrder := slices.IsSortedFunc(whole, func(a, b frameOf) int { return cmpAt(a.Time, b.Time) })
		for _, n := range []int{1, 7, 100} {
			if n == 1 && len(whole) > 300 {
				continue // a file per packet: for the smaller ones
			}
			parts := split(t, file, n)
			frames, _, err := openAll(t, parts...)
			if err != nil {
				t.Fatalf("%s in pieces of %d: %v", file, n, err)
			}
			if want := mergecap(t, parts...); !slices.Equal(byTimeThenData(frames), byTimeThenData(want)) {
				t.Errorf("%s in %d pieces of %d: the merge differs from mergecap's (%d frames, want %d)", filepath.Base(file), len(parts), n, len(frames), len(want))
			}
			if inOrder && !slices.Equal(frames, whole) {
				t.Errorf("%s in %d pieces of %d: the merge differs from the whole capture", filepath.Base(file), len(parts), n)
			}
		}
	}
}

// TestMergeInterleaved: two captures of other times and link types are
// interleaved by time stamp as mergecap interleaves them, each frame with
// its own link type (mergecap gives each an interface of its own).
func TestMergeInterleaved(t *testing.T) {
	a := corpus.Dir(t, "zeek", "scripts.base.protocols.pop3.basic", "pop3.pcap")
	// Shift b's times into a's, so that the two interleave.
	var frames []wire.Frame
	for _, f := range fileFrames(t, a) {
		frames = append(frames, wire.Frame{Time: f.Time + 1500, Link: wire.LinkRaw, Data: syn, CapLen: len(syn), WireLen: len(syn)})
	}
	b := filepath.Join(t.TempDir(), "raw.pcap")
	pcaptest.WriteFile(t, b, wire.LinkRaw, frames)
	got, _, err := openAll(t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := mergecap(t, a, b)
	if !slices.Equal(got, want) {
		t.Fatalf("merge of an Ethernet and a raw-IP capture differs from mergecap's (%d frames, want %d)", len(got), len(want))
	}
	links := map[wire.LinkType]int{}
	for _, f := range got {
		links[f.Link]++
	}
	if links[wire.LinkEthernet] == 0 || links[wire.LinkRaw] != len(frames) {
		t.Errorf("link types %v: want both kept", links)
	}
}

// byTimeThenData puts frames of one time stamp in the order of their
// bytes, and numbers them again.
func byTimeThenData(frames []frameOf) []frameOf {
	out := slices.Clone(frames)
	slices.SortStableFunc(out, func(a, b frameOf) int {
		if c := cmpAt(a.Time, b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Data, b.Data)
	})
	for i := range out {
		out[i].Index = i + 1
	}
	return out
}

// fileFrames reads a capture file.
func fileFrames(t *testing.T, path string) []wire.Frame {
	t.Helper()
	fr, err := pcaptest.File(t, path)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// TestMergeEqualTimes: frames with the same time stamp in two inputs come
// in the order the inputs are named, so that a capture cut between two
// such frames merges back into itself; mergecap 4.0 takes the last named
// first, which this test also checks, so that the difference is known.
func TestMergeEqualTimes(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, tag byte, times ...int64) string {
		var fr []wire.Frame
		for _, ts := range times {
			d := append(slices.Clone(syn), tag)
			fr = append(fr, wire.Frame{Time: ts, Link: wire.LinkRaw, Data: d, CapLen: len(d), WireLen: len(d)})
		}
		p := filepath.Join(dir, name)
		pcaptest.WriteFile(t, p, wire.LinkRaw, fr)
		return p
	}
	whole := mk("whole.pcap", 'x', 1e9, 2e9, 2e9, 3e9)
	a, b := mk("a.pcap", 'x', 1e9, 2e9), mk("b.pcap", 'x', 2e9, 3e9)
	want, _, _ := openAll(t, whole)
	got, _, err := openAll(t, a, b)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("pieces cut between frames of one time stamp: %v (%v), want the whole capture %v", got, err, want)
	}
	a, b = mk("a2.pcap", 'a', 1e9, 2e9), mk("b2.pcap", 'b', 2e9, 3e9)
	got, _, _ = openAll(t, a, b)
	mc := mergecap(t, a, b)
	if tail := func(fr []frameOf) string { return fr[1].Data[len(fr[1].Data)-1:] }; tail(got) != "a" || tail(mc) != "b" {
		t.Errorf("second frame from %s here, from %s by mergecap: want a here, b by mergecap", tail(got), tail(mc))
	}
}

// TestMergeOverlap: two cuts of a capture that share packets are read
// with each shared packet twice, as mergecap keeps them, and the overlap
// is said once with its count, which editcap's ranges give.
func TestMergeOverlap(t *testing.T) {
	file := corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	editcap := testenv.NeedTool(t, "editcap")
	run(t, editcap, "-r", file, a, "1-300")
	run(t, editcap, "-r", file, b, "201-500")
	got, warns, err := openAll(t, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := mergecap(t, a, b); !slices.Equal(got, want) {
		t.Errorf("overlapping cuts: %d frames, want mergecap's %d", len(got), len(want))
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "100 packets in two inputs") {
		t.Errorf("warnings %q: want one saying 100 packets are in two inputs", warns)
	}
	// The same file named twice is read once.
	got, warns, err = openAll(t, a, filepath.Join(dir, ".", "a.pcap"))
	if err != nil || len(got) != 300 || len(warns) != 1 || !strings.Contains(warns[0], "read once") {
		t.Errorf("a file named twice: %d frames (%v), warnings %q; want 300 and one saying it is read once", len(got), err, warns)
	}
}

// TestMergeErrors: an input that cannot be read is an error naming it,
// before anything is read; a damaged one ends there, the others are read
// to their ends, and its damage is the error at the end.
func TestMergeErrors(t *testing.T) {
	file := corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap")
	parts := split(t, file, 100)
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.pcap")
	if err := os.WriteFile(junk, []byte("\x00\x01\x02\x03 not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")
	for _, bad := range []string{junk, missing} {
		_, _, err := openAll(t, parts[0], bad, parts[1])
		if err == nil || !strings.Contains(err.Error(), bad) || strings.Count(err.Error(), bad) != 1 {
			t.Errorf("OpenAll with %s among them: %v; want an error naming it once", filepath.Base(bad), err)
		}
	}

	// Cut the third piece short.
	data, err := os.ReadFile(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	piece, _, _ := openAll(t, parts[2])
	if err := os.WriteFile(parts[2], data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := openAll(t, parts...)
	var dmg *pcapfile.DamageError
	if !errors.As(err, &dmg) || !strings.Contains(err.Error(), parts[2]+": pcapfile: damaged at byte offset") {
		t.Fatalf("a piece cut short: %v; want the damage, naming the piece and where", err)
	}
	all, _, _ := openAll(t, file)
	if want := len(all) - len(piece) + dmg.Frame - 1; len(got) != want {
		t.Errorf("a piece cut short before its packet %d: %d frames read, want the other pieces' and those before it: %d", dmg.Frame, len(got), want)
	}
}

// TestMergeOpensLazily: a capture cut into a file per packet is read with
// a few files open at once, not one per piece.
func TestMergeOpensLazily(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count open files")
	}
	file := corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap")
	parts := split(t, file, 1)
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	before := fds()
	src, err := OpenAll([]string{filepath.Dir(parts[0])}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	most, n := 0, 0
	var f wire.Frame
	for src.Next(&f) == nil {
		n++
		most = max(most, fds()-before)
	}
	if n != len(parts) || most > 3 {
		t.Errorf("%d files of one packet: %d frames read with up to %d files open at once; want all, with at most 3", len(parts), n, most)
	}
}

// TestExpand: directories give their pcap and pcapng files by name, globs
// their matches; standard input may be named once.
func TestExpand(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b := write("b.pcap", pcapOf(1))
	a := write("a.cap", pcapOf(1))
	write("README", []byte("not a capture"))
	write(".a.pcap.tmp1", pcapOf(1))
	ng := write("c.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a})
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		names []string
		want  []string
		err   string
	}{
		{[]string{dir}, []string{a, b, ng}, ""},
		{[]string{filepath.Join(dir, "*.pcap*")}, []string{b, ng}, ""},
		{[]string{b, filepath.Join(dir, "[ab].*")}, []string{b, a}, ""},
		{[]string{"-", b}, []string{"-", b}, ""},
		{[]string{"-", "-"}, nil, "named twice"},
		{[]string{filepath.Join(dir, "*.txt")}, nil, "no file matches"},
		{[]string{filepath.Join(dir, "sub")}, nil, "no pcap or pcapng file"},
		{[]string{filepath.Join(dir, "missing")}, []string{filepath.Join(dir, "missing")}, ""},
	} {
		got, err := Expand(tt.names, nil)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Expand(%q): %v, want an error saying %q", tt.names, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.names, got, err, tt.want)
		}
	}
}

// TestMergeProgress: one bar for all the inputs, which reaches their
// total size once.
func TestMergeProgress(t *testing.T) {
	file := corpus.Dir(t, "zeek", "scripts.base.protocols.ssh.half-duplex-client", "ssh.client-side-half-duplex.pcap")
	parts := split(t, file, 100)
	var total int64
	for _, p := range parts {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		total += st.Size()
	}
	var (
		size, read int64
		finished   int
	)
	src, err := OpenAll(parts, nil, Options{Progress: func(n int64) (func(int), func()) {
		size = n
		return func(n int) { read += int64(n) }, func() { finished++ }
	}})
	if err != nil {
		t.Fatal(err)
	}
	readFrames(t, src)
	src.Close()
	if size != total || read != total || finished == 0 {
		t.Errorf("progress of %d bytes, %d counted, finished %d times; want %d, all counted, finished", size, read, finished, total)
	}
}
