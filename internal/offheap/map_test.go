package offheap

import (
	"math/rand/v2"
	"testing"
)

// TestMap checks Map against a Go map through a long
// random run of sets and deletes, growing it and keeping it three
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
		switch r.IntN(2) {
		case 0:
			x.Set(h, uint64(i))
			want[norm(h)] = uint64(i)
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
