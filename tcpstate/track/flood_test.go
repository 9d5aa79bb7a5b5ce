package track

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"synfin/tcpstate"
	"synfin/wire"
)

// synFlood is n never-answered IPv6 SYNs to one server, 100 µs apart
// (about what a host sends live). With collide, they all come from one
// /64 and their interface identifier is a constant XOR the source port,
// which anyone may choose without spoofing: a tuple hash of the address
// XOR the port maps them all to one value. Otherwise the identifiers are
// random-looking.
func synFlood(n int, collide bool) []wire.Frame {
	const k = 0x5bd1e9955bd1e995
	frames := make([]wire.Frame, n)
	for i := range frames {
		port := uint16(1024 + i%60000)
		id := uint64(i+1) * 0x9e3779b97f4a7c15
		if collide {
			id = k ^ uint64(port) ^ uint64(i/60000)<<16
		}
		b := make([]byte, 60)
		b[0] = 0x60
		binary.BigEndian.PutUint16(b[4:], 20)
		b[6] = 6 // TCP
		b[7] = 64
		binary.BigEndian.PutUint64(b[8:], 0x20010db800000001) // the /64
		binary.BigEndian.PutUint64(b[16:], id)
		binary.BigEndian.PutUint64(b[24:], 0x20010db8ffff0000)
		binary.BigEndian.PutUint64(b[32:], 1)
		t := b[40:]
		binary.BigEndian.PutUint16(t[0:], port)
		binary.BigEndian.PutUint16(t[2:], 443)
		binary.BigEndian.PutUint32(t[4:], uint32(i)*7919)
		t[12] = 5 << 4
		t[13] = byte(wire.SYN)
		binary.BigEndian.PutUint16(t[14:], 64240)
		frames[i] = wire.Frame{Index: i + 1, Time: seedBase + int64(i)*100e3, Link: wire.LinkRaw, Data: b}
	}
	return frames
}

// floodCfgs are the ways the commands track: conns' table of briefs,
// explain's and read --annotate's segments, and a bounded live table.
var floodCfgs = []struct {
	name string
	cfg  Config
}{
	{"briefs", Config{Brief: func(*tcpstate.Brief) {}}},
	{"segments", Config{Segments: true, Done: func(*tcpstate.Conn) {}}},
	{"bounded", Config{MaxConns: 10000, Done: func(*tcpstate.Conn) {}}},
}

// TestSYNFloodCollidingTuples tracks 40,000 SYNs whose tuples collide
// under a hash of the address XOR the port: with such a hash each took a
// walk along all the others (14 s for conns); tracking them must take
// about as long as tracking random tuples. The bound is generous for a
// busy machine, and far below what quadratic work takes.
func TestSYNFloodCollidingTuples(t *testing.T) {
	const n = 40000
	random, colliding := synFlood(n, false), synFlood(n, true)
	for _, tc := range floodCfgs {
		t.Run(tc.name, func(t *testing.T) {
			run := func(frames []wire.Frame) (time.Duration, uint64) {
				start := time.Now()
				tr := New(tc.cfg)
				for i := range frames {
					tr.Frame(&frames[i])
				}
				conns := tr.Stats().Conns
				tr.Flush()
				return time.Since(start), conns
			}
			base, nb := run(random)
			d, nc := run(colliding)
			if nb != n || nc != n {
				t.Fatalf("%d and %d connections, want %d", nb, nc, n)
			}
			if limit := 20*base + time.Second; d > limit {
				t.Errorf("colliding tuples took %v, random ones %v: want under %v", d, base, limit)
			}
			t.Logf("random %v, colliding %v", base, d)
		})
	}
}

// BenchmarkSYNFlood compares colliding tuples with random ones.
func BenchmarkSYNFlood(b *testing.B) {
	const n = 40000
	for _, collide := range []bool{false, true} {
		frames := synFlood(n, collide)
		b.Run(fmt.Sprintf("colliding=%v", collide), func(b *testing.B) {
			for b.Loop() {
				tr := New(Config{Brief: func(*tcpstate.Brief) {}})
				for i := range frames {
					tr.Frame(&frames[i])
				}
				tr.Flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/SYN")
		})
	}
}

// TestSYNFloodTuplesHashApart checks, without a clock, what
// TestSYNFloodCollidingTuples times: the 40,000 tuples that a hash of the
// address XOR the port maps to one value have 40,000 hashes, so that every
// connection is found under a hash of its own and none waits in the index's
// by-key overflow.
func TestSYNFloodTuplesHashApart(t *testing.T) {
	const n = 40000
	frames := synFlood(n, true)
	seen := make(map[uint64]bool, n)
	var p wire.Packet
	for i := range frames {
		if err := p.Decode(frames[i].Link, frames[i].Data); err != nil || !p.HasTCP {
			t.Fatalf("frame %d: not a TCP segment (%v)", i+1, err)
		}
		seen[PacketHash(&p)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d tuples have %d hashes, want %d", n, len(seen), n)
	}
	tr := New(Config{Done: func(*tcpstate.Conn) {}, IdleTimeout: -1})
	for i := range frames {
		tr.Frame(&frames[i])
	}
	if live, extra := tr.table.len(), len(tr.table.extra)+len(tr.cold.index.extra); live+tr.cold.len() != n || extra != 0 {
		t.Fatalf("%d connections held, %d of them by key: want %d, none by key", live+tr.cold.len(), extra, n)
	}
	tr.Flush()
}
