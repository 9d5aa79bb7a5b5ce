package track

import (
	"fmt"
	"testing"

	"synfin/tcpstate"
	"synfin/wire"
)

// workload is n complete connections (handshake, data both ways, client
// closes first), interleaved four at a time, as prebuilt frames.
func workload(n int) []wire.Frame {
	var frames []wire.Frame
	for i := 0; i < n; i += 4 {
		var group [][]synSeg
		for j := i; j < i+4 && j < n; j++ {
			c := fmt.Sprintf("10.0.%d.%d:%d", j/250%250, j%250+1, 1024+j%60000)
			s := "10.1.0.1:443"
			isn := uint32(j * 7919)
			group = append(group, []synSeg{
				{src: c, dst: s, flags: "S", seq: isn, opts: synOpts},
				{src: s, dst: c, flags: "S.", seq: 5000, ack: isn + 1, opts: synOpts},
				{src: c, dst: s, flags: ".", seq: isn + 1, ack: 5001},
				{src: c, dst: s, flags: "P.", seq: isn + 1, ack: 5001, len: 100},
				{src: s, dst: c, flags: "P.", seq: 5001, ack: isn + 101, len: 1000},
				{src: c, dst: s, flags: ".", seq: isn + 101, ack: 6001},
				{src: c, dst: s, flags: "F.", seq: isn + 101, ack: 6001},
				{src: s, dst: c, flags: "F.", seq: 6001, ack: isn + 102},
				{src: c, dst: s, flags: ".", seq: isn + 102, ack: 6002},
			})
		}
		for k := 0; k < 9; k++ {
			for _, g := range group {
				frames = append(frames, wire.Frame{Index: len(frames) + 1, Link: wire.LinkRaw, Data: g[k].rawIPv4()})
			}
		}
	}
	for i := range frames {
		frames[i].Time = int64(i) * 1000 // 1 µs apart
	}
	return frames
}

// runRound replays frames shifted to start at base.
func runRound(tr *Tracker, frames []wire.Frame, base int64) {
	for i := range frames {
		f := frames[i]
		f.Time += base
		tr.Frame(&f)
	}
}

// TestZeroAllocsPerPacket checks that conns-mode tracking does not
// allocate once the table and the connection pool have warmed up.
func TestZeroAllocsPerPacket(t *testing.T) {
	frames := workload(400)
	var done int
	tr := New(Config{Done: func(*tcpstate.Conn) { done++ }})
	round := int64(0)
	next := func() int64 { round++; return round * 120e9 } // past 2MSL each round
	runRound(tr, frames, next())
	runRound(tr, frames, next())
	allocs := testing.AllocsPerRun(5, func() { runRound(tr, frames, next()) })
	if perPkt := allocs / float64(len(frames)); perPkt != 0 {
		t.Errorf("%.0f allocations per round of %d packets (%.4f per packet), want 0", allocs, len(frames), perPkt)
	}
	if done == 0 {
		t.Error("no connection finished")
	}
}

func BenchmarkTracker(b *testing.B) {
	for _, segs := range []bool{false, true} {
		b.Run(fmt.Sprintf("segments=%v", segs), func(b *testing.B) {
			frames := workload(2000)
			tr := New(Config{Segments: segs, Done: func(*tcpstate.Conn) {}})
			b.ReportAllocs()
			b.SetBytes(0)
			b.ResetTimer()
			n := 0
			for round := int64(1); n < b.N; round++ {
				for i := range frames {
					if n == b.N {
						break
					}
					f := frames[i]
					f.Time += round * 120e9
					tr.Frame(&f)
					n++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
		})
	}
}
