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
	"strings"
	"testing"
	"time"

	"synfin/internal/testenv"
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
