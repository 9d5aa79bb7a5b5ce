package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synfin/render/tcpdump"
)

// writeACKs writes a capture of one ACK from each of n conversations
// (10.x.y.z:1024 to 192.0.2.1:80), then a second ACK of the first one:
// tcpdump numbers that one relative to the first.
func writeACKs(t testing.TB, file string, n int) {
	t.Helper()
	sw := newSegWriter(t, file)
	ip, tcp := sw.ip, sw.tcp
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	put := func(i, conv int, seq uint32) {
		clear(ip)
		ip[0], ip[3], ip[8], ip[9] = 0x45, 40, 64, 6
		copy(ip[12:16], []byte{10, byte(conv >> 16), byte(conv >> 8), byte(conv)})
		copy(ip[16:20], []byte{192, 0, 2, 1})
		clear(tcp)
		binary.BigEndian.PutUint16(tcp[0:], 1024)
		binary.BigEndian.PutUint16(tcp[2:], 80)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], 5000)
		tcp[12], tcp[13] = 5<<4, 0x10 // ACK
		binary.BigEndian.PutUint16(tcp[14:], 64240)
		sw.write(start.Add(time.Duration(i) * time.Microsecond))
	}
	for i := range n {
		put(i, i, 1000)
	}
	put(n, 0, 1100)
	sw.close()
}

// TestReadSeqTableBound: read -n remembers at most tcpdump.SeqTableSize
// conversations' initial numbers; past that it prints absolute numbers
// where tcpdump (which never forgets) prints relative ones, and says so
// in one line on standard error. Within the bound it says nothing.
func TestReadSeqTableBound(t *testing.T) {
	if testing.Short() {
		t.Skip("a million conversations")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		n    int
		warn bool
	}{{1000, false}, {tcpdump.SeqTableSize + 1, true}} {
		file := filepath.Join(dir, "acks.pcap")
		writeACKs(t, file, tc.n)
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), []string{"read", "-n", "-r", file, "--jobs", "1"}, nil, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%d conversations: exit %d, stderr %q", tc.n, code, stderr.String())
		}
		out := stdout.String()
		last := out[strings.LastIndexByte(out[:len(out)-1], '\n')+1:]
		// tcpdump prints the first conversation's second ACK as "ack 1"
		// while it remembers the first.
		relative := strings.Contains(last, ", ack 1, win")
		if relative == tc.warn {
			t.Errorf("%d conversations: last line %q", tc.n, last)
		}
		const want = "synfin read: more than 1048576 conversations at once: the oldest are forgotten, and print absolute sequence numbers if seen again (tcpdump prints relative ones)\n"
		if got := stderr.String(); (got == want) != tc.warn || (!tc.warn && got != "") {
			t.Errorf("%d conversations: stderr %q", tc.n, got)
		}
	}
}
