package offheap

import (
	"math/rand/v2"
	"testing"
)

// TestMap checks Map against a Go map through a long
// random run of sets, inserts and deletes, growing it and keeping it three
// quarters full, where probe runs are long and wrap round the end.
func TestMap(t *testing.T) {
	var x Map
	want := map[uint64]uint64{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200000 {
		h := r.Uint64N(3000) * 0x9e3779b97f4a7c15
		if i%50 == 0 {
			h = 0
		}
		switch r.IntN(4) {
		case 0:
			x.Set(h, uint64(i))
			want[norm(h)] = uint64(i)
		case 1:
			old, had := x.Insert(h, uint64(i))
			w, ok := want[norm(h)]
			if had != ok || had && old != w {
				t.Fatalf("step %d: insert(%x) = %d, %v, want %d, %v", i, h, old, had, w, ok)
			}
			if !ok {
				want[norm(h)] = uint64(i)
			}
		case 2:
			// Half the time the value it holds, else another.
			w, ok := want[norm(h)]
			v := w
			if r.IntN(2) == 0 {
				v = w + 1
			}
			if got := x.DelIf(h, v); got != (ok && v == w) {
				t.Fatalf("step %d: delIf(%x, %d) = %v, want %v", i, h, v, got, ok && v == w)
			}
			if ok && v == w {
				delete(want, norm(h))
			}
		default:
			x.Del(h)
			delete(want, norm(h))
		}
		if i%500 == 0 {
			if x.Len() != len(want) {
				t.Fatalf("step %d: %d entries, want %d", i, x.Len(), len(want))
			}
			for k, v := range want {
				if got, ok := x.Get(k); !ok || got != v {
					t.Fatalf("step %d: get(%x) = %d, %v, want %d", i, k, got, ok, v)
				}
			}
		}
	}
	n := 0
	x.Each(func(uint64) { n++ })
	if n != len(want) {
		t.Errorf("each saw %d, want %d", n, len(want))
	}
	x.Free()
}
