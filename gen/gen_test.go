package gen_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/wire"
)

// small is a workload big enough to reach the steady number of open
// connections and to contain every lifecycle.
var small = gen.Config{Conns: 6000, Seed: 7}

func write(t testing.TB, cfg gen.Config) ([]byte, gen.Stats) {
	t.Helper()
	var b bytes.Buffer
	st, err := gen.Write(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gen.Config
	}{
		{"pcap", small},
		{"pcapng", gen.Config{Conns: small.Conns, Seed: small.Seed, PcapNG: true}},
		{"scaled", gen.Config{Conns: 500, Scale: 4, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, sa := write(t, tc.cfg)
			b, sb := write(t, tc.cfg)
			if !bytes.Equal(a, b) {
				t.Error("same config, different bytes")
			}
			if diff := cmp.Diff(sa, sb); diff != "" {
				t.Errorf("same config, different stats (-first +second):\n%s", diff)
			}
			other := tc.cfg
			other.Seed++
			c, _ := write(t, other)
			if bytes.Equal(a, c) {
				t.Error("different seeds, same bytes")
			}
		})
	}
}

func TestScaleMultipliesConns(t *testing.T) {
	a, _ := write(t, gen.Config{Conns: 1000, Seed: 5})
	b, _ := write(t, gen.Config{Conns: 500, Scale: 2, Seed: 5})
	if !bytes.Equal(a, b) {
		t.Error("1000 connections and 500 at scale 2 differ")
	}
}

// counts is what a reading of the file finds, independent of the generator.
type counts struct {
	Packets, Bytes, Payload int64
	Conns, IPv4, IPv6       int64
	SYNs, FINs, RSTs        int64
	RefusedRSTs             int64 // RST-ACK with sequence number 0 answering a SYN
	Backwards               int64 // time stamps earlier than the previous packet's
}

func read(t testing.TB, b []byte) counts {
	t.Helper()
	frames, err := pcaptest.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		a, b   netip.Addr
		pa, pb uint16
	}
	conns := map[key]bool{}
	var (
		c    counts
		p    wire.Packet
		last int64
	)
	for _, f := range frames {
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Fatalf("packet %d: %v", f.Index, err)
		}
		c.Packets++
		c.Payload += int64(p.PayloadLen)
		if f.Time < last {
			c.Backwards++
		}
		last = f.Time
		k := key{p.Src, p.Dst, p.SrcPort, p.DstPort}
		if p.DstPort < p.SrcPort { // the client's ephemeral port is the higher one
			k = key{p.Dst, p.Src, p.DstPort, p.SrcPort}
		}
		if !conns[k] {
			conns[k] = true
			c.Conns++
			if p.IPVersion == 4 {
				c.IPv4++
			} else {
				c.IPv6++
			}
		}
		switch {
		case p.Flags == wire.SYN:
			c.SYNs++
		case p.Flags.Has(wire.FIN):
			c.FINs++
		case p.Flags.Has(wire.RST):
			c.RSTs++
			if p.Seq == 0 && p.SrcPort == 9989 {
				c.RefusedRSTs++
			}
		}
	}
	c.Bytes = int64(len(b))
	return c
}

func TestStatsMatchFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  gen.Config
	}{
		{"pcap", small},
		{"pcapng", gen.Config{Conns: 3000, Seed: 11, PcapNG: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, st := write(t, tc.cfg)
			l := st.Lifecycles
			want := counts{
				Packets:     st.Packets,
				Bytes:       st.Bytes,
				Payload:     st.PayloadBytes,
				Conns:       int64(tc.cfg.Conns),
				IPv4:        st.IPv4,
				IPv6:        st.IPv6,
				SYNs:        st.Conns + st.SYNRetransmits,
				FINs:        2 * (l[gen.FourSegment] + l[gen.ThreeSegment] + l[gen.SimultaneousClose] + l[gen.HalfClose]),
				RSTs:        l[gen.AbortRST] + l[gen.Refused],
				RefusedRSTs: l[gen.Refused],
			}
			if diff := cmp.Diff(want, read(t, b)); diff != "" {
				t.Errorf("file does not match stats (-stats +file):\n%s", diff)
			}
			var sum int64
			for _, n := range l {
				sum += n
			}
			if sum != st.Conns || st.IPv4+st.IPv6 != st.Conns {
				t.Errorf("lifecycles add up to %d, IP versions to %d, want %d", sum, st.IPv4+st.IPv6, st.Conns)
			}
			if st.ClientFirst+st.ServerFirst != st.Conns-l[gen.SimultaneousClose]-l[gen.Refused]-l[gen.Unanswered] {
				t.Errorf("initiators %d+%d do not cover the closes that have one", st.ClientFirst, st.ServerFirst)
			}
		})
	}
}

// Every lifecycle and every irregularity appears, the IP mix is about
// 80/20, and the open connections stay bounded as the file grows.
func TestMix(t *testing.T) {
	_, st := write(t, gen.Config{Conns: 20000, Seed: 1})
	for l := range gen.NumLifecycles {
		if st.Lifecycles[l] == 0 {
			t.Errorf("no %s connection", l)
		}
	}
	for name, n := range map[string]int64{"late SYN": st.LateSYN, "retransmit": st.Retransmits, "out-of-order": st.OutOfOrder} {
		if n == 0 {
			t.Errorf("no %s", name)
		}
	}
	if v6 := float64(st.IPv6) / float64(st.Conns); v6 < 0.1 || v6 > 0.3 {
		t.Errorf("IPv6 share %.2f, want about 0.2", v6)
	}
	_, big := write(t, gen.Config{Conns: 20000, Scale: 4, Seed: 1})
	if big.MaxOpen > 2*st.MaxOpen {
		t.Errorf("4× the connections opened %d at once, 1× %d: open connections should not grow with the file", big.MaxOpen, st.MaxOpen)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  gen.Config
		want string
	}{
		{gen.Config{Conns: -1}, "gen: negative number of connections"},
		{gen.Config{Scale: -2}, "gen: negative scale"},
		{gen.Config{Rate: -1}, "gen: negative rate"},
		{gen.Config{Transfer: 6}, "gen: a transfer needs at least 7 segments (handshake and close), not 6"},
		{gen.Config{Transfer: -1}, "gen: a transfer needs at least 7"},
		{gen.Config{Conns: 1 << 30, Scale: 1}, "gen: 1073741824 connections is more than"},
		// 2^32 × 2^32 is 0 in 64 bits: it must not pass as no connections.
		{gen.Config{Conns: 1 << 32, Scale: 1 << 32}, "gen: 4294967296 connections at scale 4294967296 is more than"},
		{gen.Config{Conns: 1, Scale: 1 << 40}, "gen: 1 connections at scale 1099511627776 is more than"},
	} {
		_, err := gen.Write(io.Discard, tc.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Write(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestWriteError(t *testing.T) {
	_, err := gen.Write(&failWriter{n: 3 << 20}, small)
	if err == nil || err.Error() != "gen: disk full" {
		t.Errorf("got %v, want gen: disk full", err)
	}
}

// The per-packet path does not allocate: a run with four times the
// packets allocates about as much (connections are pooled; what remains
// grows with the connections open at once, not with the packets).
func TestAllocsDoNotGrowWithPackets(t *testing.T) {
	allocs := func(cfg gen.Config) (float64, int64) {
		var st gen.Stats
		n := testing.AllocsPerRun(1, func() { st, _ = gen.Write(io.Discard, cfg) })
		return n, st.Packets
	}
	a1, p1 := allocs(gen.Config{Conns: 10000, Seed: 2})
	a4, p4 := allocs(gen.Config{Conns: 10000, Scale: 4, Seed: 2})
	if per := (a4 - a1) / float64(p4-p1); per > 0.001 {
		t.Errorf("%.0f allocations for %d packets, %.0f for %d: %.4f per extra packet", a1, p1, a4, p4, per)
	}
}
