package explain_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"strings"
	"testing"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// FuzzExplain tracks arbitrary segments between two endpoints (each 8
// bytes of input: direction and flags, seq and ack deltas, payload length,
// time step) and renders every connection in both languages with its
// ladder, and every segment's step as read --annotate prints it. Nothing
// may panic, and no message may be missing from the catalogue.
func FuzzExplain(f *testing.F) {
	// The seed's handshake and client close, then a reset.
	f.Add([]byte{0x02, 0, 0, 0, 1, 0, 0, 1, 0x92, 0, 1, 0, 1, 0, 0, 1, 0x10, 1, 1, 0, 1, 0, 0, 1,
		0x11, 0, 0, 0, 0, 0, 0, 9, 0x90, 0, 1, 0, 0, 0, 0, 6, 0x84, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 0, 0, 200, 0x94, 0, 1, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		var conns []*tcpstate.Conn
		var steps explain.Stepper
		var out []byte
		tr := track.New(track.Config{Segments: true, IdleTimeout: -1,
			OnSegment: func(c *tcpstate.Conn, s *tcpstate.Segment) {
				out = steps.Append(out[:0], c, s)
				if bytes.Contains(out, []byte("%!")) || !bytes.HasPrefix(out, []byte("[")) {
					t.Fatalf("step %q", out)
				}
			},
			Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
		a := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), 40000)
		b := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), 80)
		seq := [2]uint32{1000, 5000}
		ts := int64(1e18)
		for i := 0; i+8 <= len(data) && i < 8*64; i += 8 {
			d := data[i : i+8]
			dir := int(d[0] >> 7)
			var p wire.Packet
			p.HasTCP, p.IPVersion, p.Proto = true, 4, wire.ProtoTCP
			src, dst := a, b
			if dir == 1 {
				src, dst = b, a
			}
			p.Src, p.SrcPort, p.Dst, p.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
			p.Flags = wire.Flags(d[0] & 0x3f)
			seq[dir] += uint32(int8(d[1]))
			p.Seq = seq[dir]
			p.Ack = seq[1-dir] + uint32(int8(d[2]))
			p.Window = 512
			p.PayloadLen = int(d[3]) * int(d[4]&3)
			ts += int64(binary.BigEndian.Uint16(d[6:])) * 1000
			tr.Packet(i/8+1, ts, &p)
			seq[dir] += uint32(p.PayloadLen)
		}
		tr.Flush()
		for _, lang := range []string{"en", "zh"} {
			var w bytes.Buffer
			for _, c := range conns {
				err := explain.Write(&w, c, explain.Options{Lang: lang, Ladder: func(w io.Writer, c *tcpstate.Conn) error {
					return ladder.WriteText(w, c, ladder.Options{Lang: lang, Bare: true})
				}})
				if err != nil {
					t.Fatal(err)
				}
			}
			if s := w.String(); strings.Contains(s, "[note.") || strings.Contains(s, "[x.") || strings.Contains(s, "[v.") || strings.Contains(s, "{") {
				t.Fatalf("unformatted message in:\n%s", s)
			}
		}
	})
}
