package track_test

import (
	"math/rand/v2"
	"testing"

	"synfin/tcpstate"
	"synfin/tcpstate/track"
)

// TestKept: Kept holds the first Max connections by ID, in order, however
// they come, and counts the rest.
func TestKept(t *testing.T) {
	for _, max := range []int{0, 1, 7, 100, 1000} {
		rng := rand.New(rand.NewPCG(uint64(max), 3))
		ids := rng.Perm(500)
		k := track.Kept{Max: max}
		for _, id := range ids {
			k.Add(&tcpstate.Conn{ID: uint64(id + 1)})
		}
		want := min(500, max)
		if max == 0 {
			want = 500
		}
		got := k.Conns()
		if len(got) != want || k.Left() != 500-want {
			t.Fatalf("Max %d: kept %d, left %d; want %d and %d", max, len(got), k.Left(), want, 500-want)
		}
		for i, c := range got {
			if c.ID != uint64(i+1) {
				t.Fatalf("Max %d: kept[%d] is %d, want %d", max, i, c.ID, i+1)
			}
		}
	}
}
