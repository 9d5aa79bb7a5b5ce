package track

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestLive checks live against a map by key through a random run of adds
// and deletes whose hashes come from a handful of values, so that keys
// share hashes: the ones that find theirs taken go to extra, and must be
// found there once the first has gone.
func TestLive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([]key, 64)
	for i := range keys {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), uint16(1000+i))
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, 1}), 80)
		keys[i] = makeKey(a, b)
	}
	hashOf := func(i int) uint64 { return uint64(i % 5) }
	var m live
	want := map[key]*conn{}
	for step := range 20000 {
		i := r.IntN(len(keys))
		k, h := keys[i], hashOf(i)
		if c := want[k]; c != nil && r.IntN(2) == 0 {
			m.del(c)
			delete(want, k)
		} else if c == nil {
			c = &conn{key: k, hash: h}
			m.set(c)
			want[k] = c
		}
		if step%100 == 0 || step < 200 {
			if m.len() != len(want) {
				t.Fatalf("step %d: %d connections, want %d", step, m.len(), len(want))
			}
			for j, k := range keys {
				if got := m.get(k, hashOf(j)); got != want[k] {
					t.Fatalf("step %d: get(key %d) = %p, want %p", step, j, got, want[k])
				}
			}
			n := 0
			for c := range m.all() {
				n++
				if want[c.key] != c {
					t.Fatalf("step %d: all gave a connection not held", step)
				}
			}
			if n != len(want) {
				t.Fatalf("step %d: all gave %d, want %d", step, n, len(want))
			}
		}
	}
}
