package vantage_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/pcaptest"
	"synfin/vantage"
	"synfin/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The captures in testdata were made by lab --vantage both (-w), on
// each side of the router: data-exchange with nothing dropped, and
// syn-retransmit, whose router dropped the first SYN-ACK, masqueraded
// the client and clamped the MSS to 1200.
func load(t *testing.T, name string) []wire.Frame {
	t.Helper()
	frames, err := pcaptest.File(t, filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func compare(a, b []wire.Frame) *vantage.Report {
	return vantage.Compare(vantage.FromFrames("a", a), vantage.FromFrames("b", b))
}

// TestClockOffset shifts the server's side's clock by known amounts: the
// offset estimated is the shift within the spread it says, and the
// delays corrected by it are the unshifted capture's, less the estimate
// there (the two captures share a clock).
func TestClockOffset(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	base := compare(a, b)
	if base.Clock.Applied || !base.Clock.Known {
		t.Fatalf("one clock: %+v", base.Clock)
	}
	for _, shift := range []int64{5e9, -3_200_000_123, 40_000} {
		shifted := slices.Clone(b)
		for i := range shifted {
			shifted[i].Time += shift
		}
		r := compare(a, shifted)
		c := r.Clock
		if !c.Known || !c.Applied || abs(c.Offset*1e9-float64(shift)) > c.Spread*1e9+1 {
			t.Errorf("shift %d ns: clock %+v", shift, c)
			continue
		}
		for i, s := range r.Connections[0].Segments {
			want := base.Connections[0].Segments[i]
			if s.Status != want.Status || abs(s.Delay-(want.Delay-sign(s.Dir)*base.Clock.Offset*1e3)) > 2e-6 { // 1 ns: halving rounds
				t.Errorf("shift %d ns: segment %d %+v, unshifted %+v", shift, i, s, want)
			}
		}
	}
}

func sign(dir string) float64 {
	if dir == "s2c" {
		return -1
	}
	return 1
}

func abs(v float64) float64 { return max(v, -v) }

// tcpAt returns the offsets of the IPv4 header and the TCP header of an
// Ethernet frame.
func tcpAt(t *testing.T, f *wire.Frame) (ip, tcp int) {
	var p wire.Packet
	if err := p.Decode(f.Link, f.Data); err != nil {
		t.Fatal(err)
	}
	return p.NetOff, p.TransOff
}

// TestSplit splits the client's 100-byte segment in two on the server's
// side, as GSO or a middlebox would: its bytes crossed, so it is not
// lost, and the split is named.
func TestSplit(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	const data = 5 // B#6, the client's P. 1:101(100) (tcpdump -#)
	f := b[data]
	ip, tcp := tcpAt(t, &f)
	hdr := tcp + int(f.Data[tcp+12]>>4)*4
	if len(f.Data)-hdr != 100 {
		t.Fatalf("frame %d: %d bytes of payload", f.Index, len(f.Data)-hdr)
	}
	half := func(first bool) wire.Frame {
		g := f
		g.Data = append(slices.Clone(f.Data[:hdr]), f.Data[hdr:hdr+50]...)
		binary.BigEndian.PutUint16(g.Data[ip+2:], uint16(hdr-ip+50))
		if !first {
			seq := binary.BigEndian.Uint32(g.Data[tcp+4:])
			binary.BigEndian.PutUint32(g.Data[tcp+4:], seq+50)
			g.Time++
		}
		g.CapLen, g.WireLen = len(g.Data), len(g.Data)
		return g
	}
	b = slices.Concat(b[:data], []wire.Frame{half(true), half(false)}, b[data+1:])
	c := compare(a, b).Connections[0]
	if c.Counts[vantage.Lost] != 0 || c.Counts[vantage.Resegmented] != 3 || c.Counts[vantage.FarOnly] != 0 {
		t.Errorf("counts %v, want the segment and its two halves resegmented, nothing lost", c.Counts)
	}
	if !slices.ContainsFunc(c.Changes, func(ch vantage.Change) bool { return ch.What == "resegmented" && ch.Dir == "c2s" }) {
		t.Errorf("changes %+v name no split", c.Changes)
	}
}

// TestSeqRewrite shifts both ends' sequence numbers on the server's
// side, as a firewall that randomises ISNs does: the connection is
// matched by its timestamps, the offsets are said, and nothing is lost.
func TestSeqRewrite(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	off := [2]uint32{1_000_000, 0xfffff000} // client's, server's
	for i := range b {
		f := &b[i]
		f.Data = slices.Clone(f.Data)
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil || !p.HasTCP {
			continue
		}
		d := 0
		if p.SrcPort == 9988 {
			d = 1
		}
		binary.BigEndian.PutUint32(f.Data[p.TransOff+4:], p.Seq+off[d])
		if p.Flags.Has(wire.ACK) {
			binary.BigEndian.PutUint32(f.Data[p.TransOff+8:], p.Ack+off[1-d])
		}
	}
	r := compare(a, b)
	if len(r.Connections) != 1 {
		t.Fatalf("%d connections matched", len(r.Connections))
	}
	c := r.Connections[0]
	want := [2]int64{int64(int32(off[0])), int64(int32(off[1]))}
	if c.SeqOffset != want || slices.Contains(c.MatchedBy, "isn") || !slices.Contains(c.MatchedBy, "timestamps") {
		t.Errorf("offsets %v matched by %v, want %v by timestamps", c.SeqOffset, c.MatchedBy, want)
	}
	if c.Counts[vantage.Both] != len(c.Segments) {
		t.Errorf("counts %v", c.Counts)
	}
}

// TestBound: a capture holds at most Max segments, and the report says
// what was left out.
func TestBound(t *testing.T) {
	a := vantage.NewCapture("a", 4)
	for _, f := range load(t, "data.pcap") {
		a.Add(&f)
	}
	r := vantage.Compare(a, vantage.FromFrames("b", load(t, "data.server.pcap")))
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "more than 4 TCP segments: the 7 after them") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

// TestText checks the text in both languages against golden files. The
// English one was checked against tcpdump -# -n -S -v on the two
// captures: frames, flags, relative numbers, the client's address and
// MSS on each side, the SYN-ACK B#4 missing at A, and the delays as the
// differences of tcpdump's time stamps.
func TestText(t *testing.T) {
	a, b := load(t, "syn-retransmit.pcap"), load(t, "syn-retransmit.server.pcap")
	r := vantage.Compare(vantage.FromFrames("client.pcap", a), vantage.FromFrames("server.pcap", b))
	for _, lang := range []string{"en", "zh"} {
		var got bytes.Buffer
		if err := r.WriteText(&got, lang, 0); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join("testdata", "syn-retransmit."+lang+".out")
		if *update {
			if err := os.WriteFile(name, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestTOSAndOptions marks the client's segments CE with DSCP 10 and
// strips the SYN's window scale option on the server's side (it stays a
// NOP-padded option list of the same length): each change is named,
// with the segments it was seen on.
func TestTOSAndOptions(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	n := 0
	for i := range b {
		f := &b[i]
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil || !p.HasTCP || p.SrcPort == 9988 {
			continue
		}
		f.Data = slices.Clone(f.Data)
		f.Data[p.NetOff+1] = 10<<2 | 3
		n++
		if p.Flags.Has(wire.SYN) {
			opts := f.Data[p.TransOff+20 : p.TransOff+p.HeaderLen]
			for j := 0; j+2 < len(opts); {
				if opts[j] == wire.OptNOP {
					j++
					continue
				}
				l := int(opts[j+1])
				if opts[j] == wire.OptWScale {
					copy(opts[j:j+l], []byte{1, 1, 1})
				}
				j += l
			}
		}
	}
	c := compare(a, b).Connections[0]
	var got []vantage.Change
	for _, ch := range c.Changes {
		if ch.What != "ttl" {
			got = append(got, ch)
		}
	}
	want := []vantage.Change{
		{What: "wscale-removed", Dir: "c2s", N: 1},
		{What: "dscp", Dir: "c2s", From: "0", To: "10", N: n},
		{What: "ecn", Dir: "c2s", From: "Not-ECT", To: "CE", N: n},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}
