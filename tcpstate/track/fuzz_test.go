package track_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// legal lists the state changes RFC 9293 allows (section 3.3.2, figure 5,
// and the RST rules of section 3.10.7), written from the RFC and not from
// the tracker. UNKNOWN (an endpoint first seen mid-stream) may become any
// state the segments then show.
var legal = map[[2]string]bool{}

func init() {
	edges := [][2]string{
		{"CLOSED", "SYN-SENT"}, {"CLOSED", "LISTEN"},
		{"LISTEN", "SYN-RECEIVED"}, {"LISTEN", "CLOSED"}, {"LISTEN", "SYN-SENT"},
		{"SYN-SENT", "SYN-RECEIVED"}, {"SYN-SENT", "ESTABLISHED"}, {"SYN-SENT", "CLOSED"},
		{"SYN-RECEIVED", "ESTABLISHED"}, {"SYN-RECEIVED", "FIN-WAIT-1"}, {"SYN-RECEIVED", "LISTEN"},
		{"SYN-RECEIVED", "CLOSED"}, {"SYN-RECEIVED", "CLOSE-WAIT"},
		{"ESTABLISHED", "FIN-WAIT-1"}, {"ESTABLISHED", "CLOSE-WAIT"}, {"ESTABLISHED", "CLOSED"},
		{"FIN-WAIT-1", "FIN-WAIT-2"}, {"FIN-WAIT-1", "CLOSING"}, {"FIN-WAIT-1", "TIME-WAIT"}, {"FIN-WAIT-1", "CLOSED"},
		{"FIN-WAIT-2", "TIME-WAIT"}, {"FIN-WAIT-2", "CLOSED"},
		{"CLOSE-WAIT", "LAST-ACK"}, {"CLOSE-WAIT", "CLOSED"},
		{"CLOSING", "TIME-WAIT"}, {"CLOSING", "CLOSED"},
		{"LAST-ACK", "CLOSED"},
		{"TIME-WAIT", "CLOSED"},
	}
	for _, e := range edges {
		legal[e] = true
	}
	for _, s := range []string{"LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
		"CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "CLOSED"} {
		legal[[2]string{"UNKNOWN", s}] = true
	}
}

// FuzzTracker feeds random segment sequences between two endpoints (flags,
// sequence and acknowledgment numbers near the peers' ISNs, lengths,
// directions, time gaps) to the tracker. Every state change of every
// endpoint must be a legal RFC 9293 edge, continue from the state before
// it, and belong to a segment that was fed. A second tracker, which hands
// out briefs alone (as conns' table asks), must hand out the same briefs
// in the same order as the first's connections give.
func FuzzTracker(f *testing.F) {
	// A handshake, data, and a four-segment close, six bytes a segment:
	// dir|gap, flags, seq offset, ack offset, length (2 bytes).
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 1, 0x12, 0, 1, 0, 0, 0, 0x10, 1, 1, 0, 0,
		0, 0x18, 1, 1, 0, 10, 1, 0x10, 1, 11, 0, 0, 0, 0x11, 11, 1, 0, 0, 1, 0x10, 1, 12, 0, 0,
		1, 0x11, 1, 12, 0, 0, 0, 0x10, 12, 2, 0, 0})
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 1, 0x14, 0, 1, 0, 0})                      // refused
	f.Add([]byte{0, 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0, 0x12, 0, 1, 0, 0}) // simultaneous open
	f.Add([]byte{1, 0x11, 5, 9, 0, 0, 0, 0x10, 9, 6, 0, 0})                      // mid-stream close
	f.Fuzz(func(t *testing.T, b []byte) {
		fed := map[int]bool{}
		check := func(c *tcpstate.Conn) {
			for _, e := range []*tcpstate.Endpoint{&c.Client, &c.Server} {
				prev := e.Initial
				for _, tr := range e.Transitions {
					if tr.From != prev {
						t.Fatalf("conn %d %s: transition from %s after %s", c.ID, e.AddrPort(), tr.From, prev)
					}
					if !legal[[2]string{tr.From.String(), tr.To.String()}] {
						t.Fatalf("conn %d %s: illegal transition %s -> %s at segment %d", c.ID, e.AddrPort(), tr.From, tr.To, tr.Seg)
					}
					if !fed[tr.Seg] {
						t.Fatalf("conn %d: transition at segment %d, which was not fed", c.ID, tr.Seg)
					}
					prev = tr.To
				}
				if prev != e.State {
					t.Fatalf("conn %d %s: final state %s, last transition to %s", c.ID, e.AddrPort(), e.State, prev)
				}
			}
		}
		var want, got []tcpstate.Brief
		tr := track.New(track.Config{Segments: len(b)%2 == 0, MaxConns: 4, Done: func(c *tcpstate.Conn) {
			check(c)
			var b tcpstate.Brief
			c.Brief(&b)
			want = append(want, b)
		}})
		briefs := track.New(track.Config{MaxConns: 4, Brief: func(b *tcpstate.Brief) { got = append(got, *b) }})
		a := netip.MustParseAddr("10.0.0.1")
		z := netip.MustParseAddr("10.0.0.2")
		isn := [2]uint32{0xfffffff0, 1000} // the client's wraps
		ts := int64(1e18)
		for i := 0; i+6 <= len(b) && i < 6*2000; i += 6 {
			s := b[i:]
			dir := s[0] & 1
			ts += int64(s[0]>>1) * int64(s[0]>>1) * 1e6 // up to ~16 s
			p := wire.Packet{HasTCP: true, IPVersion: 4, Proto: wire.ProtoTCP, Window: 1000,
				Flags:      wire.Flags(s[1]),
				Seq:        isn[dir] + uint32(s[2]),
				Ack:        isn[1-dir] + uint32(s[3]),
				PayloadLen: int(binary.BigEndian.Uint16(s[4:]) % 3000),
				Src:        a, Dst: z, SrcPort: 40000, DstPort: 80,
			}
			if dir == 1 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = z, a, 80, 40000
			}
			if s[0]&0x80 != 0 { // now and then another client port
				p.SrcPort++
				if dir == 1 {
					p.SrcPort, p.DstPort = 80, 40001
				}
			}
			idx := i/6 + 1
			fed[idx] = true
			tr.Packet(idx, ts, &p)
			briefs.Packet(idx, ts, &p)
		}
		tr.Flush()
		briefs.Flush()
		if len(got) != len(want) {
			t.Fatalf("%d briefs, %d connections", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("connection %d of %d: brief\n%+v\nwant (from the connection)\n%+v", i+1, len(want), got[i], want[i])
			}
		}
	})
}
