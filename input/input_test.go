package input

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
