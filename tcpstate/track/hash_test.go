package track

import (
	"net/netip"
	"os"
	"testing"

	"synfin/input"
	"synfin/internal/corpus"
	"synfin/wire"
)

// TestPacketHash checks PacketHash, which reads addresses and ports from
// a segment's bytes, against TupleHash of the endpoints Decode found, both
// ways round, on every TCP segment of the corpus: pcap, pcapng (tunnels,
// VLANs, IPv4 and IPv6, cooked links) and tcpdump's text, which input
// turns into frames of its own making.
func TestPacketHash(t *testing.T) {
	files := append(corpus.Captures(t, ".pcap", ".pcapng"), corpus.Seed(t, "capture.txt"))
	var segs, v6 int
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		src, err := input.FromReader(fh, input.Options{})
		if err != nil {
			fh.Close()
			continue // not a capture input reads; other tests say so
		}
		var (
			f wire.Frame
			p wire.Packet
		)
		for src.Next(&f) == nil {
			if p.Decode(f.Link, f.Data) != nil || !p.HasTCP {
				continue
			}
			a, b := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
			want := TupleHash(a, b)
			if got := PacketHash(&p); got != want || TupleHash(b, a) != want {
				t.Fatalf("%s frame %d (%v > %v): PacketHash %#x, TupleHash %#x, reversed %#x", file, f.Index, a, b, got, want, TupleHash(b, a))
			}
			segs++
			if p.IPVersion == 6 {
				v6++
			}
		}
		fh.Close()
	}
	if segs == 0 || v6 == 0 {
		t.Fatalf("%d segments, %d IPv6: the corpus should have both", segs, v6)
	}
	t.Logf("%d segments (%d IPv6) in %d files", segs, v6, len(files))
}
