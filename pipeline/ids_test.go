package pipeline

import (
	"math/rand/v2"
	"testing"
)

// TestIDs holds ids to a Go map under orders of writing that a capture
// can give: first in first out, last in first out, at random, and some
// connections kept for a successor.
func TestIDs(t *testing.T) {
	for _, order := range []string{"fifo", "lifo", "random"} {
		var w ids
		want := map[uint64]uint64{}
		r := rand.New(rand.NewPCG(1, 2))
		var open []uint64 // frames not written, in the order they will be
		frame, next := uint64(0), uint64(0)
		for step := range 200000 {
			if len(open) == 0 || step < 150000 && r.IntN(3) > 0 {
				frame += 1 + uint64(r.IntN(5))
				next++
				w.add(frame, next)
				want[frame] = next
				open = append(open, frame)
				continue
			}
			var i int
			switch order {
			case "lifo":
				i = len(open) - 1
			case "random":
				i = r.IntN(len(open))
			}
			f := open[i]
			open = append(open[:i], open[i+1:]...)
			keep := r.IntN(10) == 0
			if got := w.get(f, keep); got != want[f] {
				t.Fatalf("%s, step %d: frame %d has id %d, want %d", order, step, f, got, want[f])
			}
			if keep {
				if got := w.get(f, false); got != want[f] {
					t.Fatalf("%s, step %d: kept frame %d has id %d, want %d", order, step, f, got, want[f])
				}
			}
			delete(want, f)
			if got := w.get(f, false); got != 0 {
				t.Fatalf("%s, step %d: frame %d written, still has id %d", order, step, f, got)
			}
		}
		held := 0
		for _, b := range w.blocks {
			held += len(b.e)
		}
		if held > 2*len(want)+2*idBlockLen {
			t.Errorf("%s: %d entries held for %d connections", order, held, len(want))
		}
	}
}
