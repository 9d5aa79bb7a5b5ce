package track

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/tcpstate"
	"synfin/wire"
)

// TestShardsAbsorb tracks a workload on one tracker, and on two that
// each take the connections of one half of the 4-tuples and Tick with
// the others' segments until one absorbs the other. Before that the two
// hand out what the one does, in their own orders; after it, the same
// in the same order, with the clock going back and forth.
func TestShardsAbsorb(t *testing.T) {
	for _, segs := range []bool{false, true} {
		t.Run(fmt.Sprintf("segments=%v", segs), func(t *testing.T) { testShardsAbsorb(t, segs) })
	}
}

// testShardsAbsorb runs TestShardsAbsorb with snapshots (live
// connections only while busy) or without (closed and open ones in the
// tracker's lists).
func testShardsAbsorb(t *testing.T, segments bool) {
	// A third of the FINs are lost, so that connections go idle too.
	var frames []wire.Frame
	var p wire.Packet
	for _, f := range workload(800) {
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Fatal(err)
		}
		if p.Flags&wire.FIN == 0 || p.Seq%3 != 0 {
			f.Index = len(frames) + 1
			frames = append(frames, f)
		}
	}
	for i := range frames {
		frames[i].Time = int64(i) * 40e6 // 40 ms apart: some go idle and cold
	}
	// After k the clock goes back and forth.
	k := len(frames) / 2
	for i := k; i < len(frames); i += 7 {
		frames[i].Time -= 3e9
	}
	type out struct {
		ID   uint64
		End  tcpstate.End
		Last int
		Pkts uint64
	}
	record := func(dst *[]out) func(*tcpstate.Conn) {
		return func(c *tcpstate.Conn) { *dst = append(*dst, out{c.ID, c.End, c.Last.Seg, c.Pkts}) }
	}
	cfg := Config{IndexIDs: true, IdleTimeout: 2e9, Segments: segments}

	var one []out
	c1 := cfg
	c1.Done = record(&one)
	t1 := New(c1)
	var oneBefore int
	for i := range frames {
		if i == k {
			oneBefore = len(one)
		}
		t1.Frame(&frames[i])
	}
	t1.Flush()

	var shard [2][]out
	var tr [2]*Tracker
	for s := range tr {
		c := cfg
		c.Done = record(&shard[s])
		tr[s] = New(c)
	}
	owner := func(f *wire.Frame) int {
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Fatal(err)
		}
		k := makeKey(netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))
		return int(hashKey(k) >> 7 & 1)
	}
	for i := range frames[:k] {
		o := owner(&frames[i])
		tr[o].Frame(&frames[i])
		tr[1-o].Tick(frames[i].Time)
	}
	idle := 0
	for _, o := range one[oneBefore:] {
		if o.End == tcpstate.EndIdle {
			idle++
		}
	}
	if idle == 0 {
		t.Fatal("no connection went idle after the merge")
	}
	if len(shard[0]) == 0 || len(shard[1]) == 0 {
		t.Fatal("a shard handed out nothing before the merge")
	}
	before := append(append([]out(nil), shard[0]...), shard[1]...)
	slices.SortFunc(before, func(a, b out) int { return int(a.ID) - int(b.ID) })
	want := append([]out(nil), one[:oneBefore]...)
	slices.SortFunc(want, func(a, b out) int { return int(a.ID) - int(b.ID) })
	if d := cmp.Diff(want, before); d != "" {
		t.Fatalf("before the merge (-one +two):\n%s", d)
	}

	n := len(shard[0])
	tr[0].Absorb(tr[1])
	for i := k; i < len(frames); i++ {
		tr[0].Frame(&frames[i])
	}
	tr[0].Flush()
	if d := cmp.Diff(one[oneBefore:], shard[0][n:]); d != "" {
		t.Errorf("after the merge (-one +merged):\n%s", d)
	}
	if s := tr[1].Stats(); s.Open != 0 {
		t.Errorf("absorbed tracker still holds %d connections", s.Open)
	}
}
