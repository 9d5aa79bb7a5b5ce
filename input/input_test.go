package input

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/pcapfile"
	"synfin/wire"
)

// syn is an IPv4 TCP SYN, for raw-IP link types.
var syn = []byte{
	0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x04, 0xd2, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
}

var le = binary.LittleEndian

// pcapOf is a pcap file of link type link holding one SYN.
func pcapOf(link uint32) []byte {
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, link)
	b = le.AppendUint32(b, 1000)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, uint32(len(syn)))
	b = le.AppendUint32(b, uint32(len(syn)))
	return append(b, syn...)
}

// block is a little-endian pcapng block.
func block(typ uint32, body []byte) []byte {
	body = append(body, make([]byte, (4-len(body)%4)%4)...)
	b := le.AppendUint32(nil, typ)
	b = le.AppendUint32(b, uint32(12+len(body)))
	b = append(b, body...)
	return le.AppendUint32(b, uint32(12+len(body)))
}

// pcapngOf is a pcapng file with one interface per link type and, for
// each packet, a SYN on interface packets[i].
func pcapngOf(links []uint16, packets ...uint32) []byte {
	shb := le.AppendUint32(nil, 0x1a2b3c4d)
	shb = le.AppendUint16(shb, 1)
	shb = le.AppendUint16(shb, 0)
	shb = le.AppendUint64(shb, 0xffffffffffffffff)
	b := block(0x0a0d0d0a, shb)
	for _, l := range links {
		b = append(b, block(1, le.AppendUint32(le.AppendUint32(nil, uint32(l)), 0))...)
	}
	for i, ifc := range packets {
		epb := le.AppendUint32(nil, ifc)
		epb = le.AppendUint32(epb, 0)
		epb = le.AppendUint32(epb, 1000000+uint32(i))
		epb = le.AppendUint32(epb, uint32(len(syn)))
		epb = le.AppendUint32(epb, uint32(len(syn)))
		b = append(b, block(6, append(epb, syn...))...)
	}
	return b
}

// readAll reads b through FromReader and returns the frames read, the
// warnings given and the error that ended them (nil at a clean end).
func readAll(b []byte) (int, []string, error) {
	var warns []string
	src, err := FromReader(bytes.NewReader(b), Options{Warn: func(m string) { warns = append(warns, m) }})
	if err != nil {
		return 0, warns, err
	}
	n := 0
	var f wire.Frame
	for {
		if err := src.Next(&f); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return n, warns, err
		}
		n++
	}
}

// tcpdumpRefuses reports whether tcpdump exits non-zero reading b.
func tcpdumpRefuses(t *testing.T, b []byte) bool {
	file := filepath.Join(t.TempDir(), "x.pcap")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return exec.Command("tcpdump", "-n", "-r", file).Run() != nil
}

// TestUnsupportedLinkTypes: packets of a link type synfin cannot decode
// are named, with their interface, not counted as non-TCP; when nothing
// else is read, that is an error, as tcpdump refuses such files.
func TestUnsupportedLinkTypes(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	for _, tc := range []struct {
		name   string
		b      []byte
		frames int
		err    string   // what the error says; "" for none
		warns  []string // what each warning says
	}{
		{"pcap link type 300", pcapOf(300), 0, "link type 300 is not supported", nil},
		{"pcap link type 65535", pcapOf(65535), 0, "link type 65535 is not supported", nil},
		{"pcapng interface of type 65535", pcapngOf([]uint16{65535}, 0), 0, "interface 0 has link type 65535", nil},
		{"pcapng interfaces of two unknown types", pcapngOf([]uint16{65535, 300}, 0, 1, 1), 0, "interface 0 has link type 65535, interface 1 has link type 300", nil},
		{"pcapng mixed", pcapngOf([]uint16{101, 65535}, 0, 1, 1, 0), 2, "", []string{"interface 1 has link type 65535, which is not supported: skipped its 2 packets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tcpdumpRefuses(t, tc.b) {
				t.Fatal("tcpdump reads the file: the test is wrong")
			}
			checkRead(t, tc.b, tc.frames, tc.err, tc.warns)
		})
	}
}

// TestNotACapture: text that is not tcpdump's output, or yields no TCP
// segment, is refused with the number of lines read; text that is mostly
// unreadable is read with a warning saying how many lines were skipped.
func TestNotACapture(t *testing.T) {
	seed := "16:34:33.611019 IP 127.0.0.1.41631 > 127.0.0.1.9988: Flags [S], seq 2970024578, win 32792, length 0\n"
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		passwd = []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
	}
	for _, tc := range []struct {
		name   string
		in     string
		frames int
		err    string
		warns  []string
	}{
		{"passwd", string(passwd), 0, "not a pcap, pcapng or tcpdump text capture: no packet line in its", nil},
		{"one word", "hi\n", 0, "no packet line in its 1 line", nil},
		{"one word without a line end", "hi", 0, "no packet line in its 1 line", nil},
		{"only UDP", "16:34:33.611019 IP 10.0.0.1.53 > 10.0.0.2.5353: UDP, length 10\n16:34:33.611020 IP 10.0.0.2.5353 > 10.0.0.1.53: UDP, length 12\n",
			0, "no TCP segment in 2 lines of tcpdump text: 2 packets not TCP", nil},
		{"only unreadable TCP", "16:34:33.611019 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq abc, win 1, length 0\n",
			0, "1 line unreadable (line 1:", nil},
		{"a bad line among good ones", seed + "16:34:33.611019 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq abc, win 1, length 0\n" + seed,
			2, "", []string{"skipped 1 line that looked like TCP but could not be read (line 2:"}},
		{"mostly not tcpdump's text", seed + string(passwd), 1, "", []string{"most of the text is not tcpdump's packet lines"}},
		{"the seed", seed + seed, 2, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRead(t, []byte(tc.in), tc.frames, tc.err, tc.warns)
		})
	}
}

// checkRead reads b and wants frames frames, an error saying wantErr (or
// none), and warnings saying each of wantWarns in order.
func checkRead(t *testing.T, b []byte, frames int, wantErr string, wantWarns []string) {
	t.Helper()
	n, warns, err := readAll(b)
	if n != frames {
		t.Errorf("%d frames, want %d", n, frames)
	}
	if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
		t.Errorf("error %v, want one saying %q", err, wantErr)
	}
	if len(warns) != len(wantWarns) {
		t.Fatalf("warnings %q, want %q", warns, wantWarns)
	}
	for i, w := range wantWarns {
		if !strings.Contains(warns[i], w) {
			t.Errorf("warning %q, want one saying %q", warns[i], w)
		}
	}
}

// TestOpenStdinCancelled: a read of stdin that waits for its first byte
// ends when the context is done, and bytes that do come pass unchanged.
func TestOpenStdinCancelled(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Open("-", pr, Options{Ctx: ctx})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open after cancel: %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Open still waiting for stdin 5 s after its context was cancelled")
	}

	want := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	r := cancellable(context.Background(), bytes.NewReader(want))
	if _, ok := r.(*cancelReader); ok {
		t.Fatal("a context that is never done should leave the reader as it is")
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r = cancellable(ctx, bytes.NewReader(want))
	got, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, %v; want the %d bytes written", len(got), err, len(want))
	}
}

// damagedFrames hands out frames, then err.
type damagedFrames struct {
	Frames
	err error
}

func (d damagedFrames) Next(f *wire.Frame) error {
	if err := d.Frames.Next(f); err != nil {
		return d.err
	}
	return nil
}

// TestEach runs the read loop over five frames, the third of another
// link type, in every way it can end: what fn saw, whether end ran and
// the error.
func TestEach(t *testing.T) {
	// Ethernet frames too short to be IP, and one raw IPv4 header: a
	// filter on "ether" does not compile for raw IP.
	frames := func() []wire.Frame {
		var fs []wire.Frame
		for i := 1; i <= 5; i++ {
			f := wire.Frame{Index: i, Link: wire.LinkEthernet, Data: make([]byte, 14), WireLen: 14}
			if i == 3 {
				f.Link, f.Data, f.WireLen = wire.LinkRaw, []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, 20
			}
			fs = append(fs, f)
		}
		return fs
	}
	damage := errors.New("damaged")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name    string
		ctx     context.Context
		expr    string
		damaged bool
		stopAt  int // fn returns ErrStop at this frame
		failAt  int // fn fails at this frame
		seen    string
		end     bool
		err     error
	}{
		{name: "clean", seen: "1 2 3 4 5", end: true},
		{name: "nil ctx", ctx: nil, seen: "1 2 3 4 5", end: true},
		{name: "damaged", damaged: true, seen: "1 2 3 4 5", end: true, err: damage},
		{name: "stop", stopAt: 2, seen: "1 2", end: true},
		{name: "fn fails", failAt: 4, seen: "1 2 3 4", err: errFn},
		{name: "cancelled", ctx: cancelled, seen: "", end: true, err: context.Canceled},
		// Only the raw IPv4 frame is IP: it is the first to pass.
		{name: "filter renumbers", expr: "ip", seen: "1", end: true},
		{name: "filter error", expr: "ether broadcast", seen: "", err: &FilterError{}},
	} {
		ctx := c.ctx
		if ctx == nil && c.name != "nil ctx" {
			ctx = context.Background()
		}
		var src Frames = FromFrames(frames())
		if c.damaged {
			src = damagedFrames{src, damage}
		}
		seen, end := "", false
		err := Each(ctx, src, NewFilter(c.expr), func(f *wire.Frame) error {
			seen += fmt.Sprintf(" %d", f.Index)
			switch f.Index {
			case c.stopAt:
				return ErrStop
			case c.failAt:
				return errFn
			}
			return nil
		}, func() { end = true })
		if len(seen) > 0 {
			seen = seen[1:]
		}
		var fe *FilterError
		if _, want := c.err.(*FilterError); want && !errors.As(err, &fe) || !want && !errors.Is(err, c.err) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
		}
		if seen != c.seen || end != c.end {
			t.Errorf("%s: fn saw %q, end ran %v; want %q, %v", c.name, seen, end, c.seen, c.end)
		}
	}
}

var errFn = errors.New("fn failed")

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
