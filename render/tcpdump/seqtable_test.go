package tcpdump

import (
	"math/rand/v2"
	"testing"
)

// seqModel is what seqTable promises, kept the plain way: a Go map and
// the keys in the order they came, the oldest forgotten first.
type seqModel struct {
	m     map[seqKey]seqVal
	order []seqKey
	max   int
}

func (m *seqModel) put(k seqKey, v seqVal) {
	if _, ok := m.m[k]; !ok {
		if len(m.order) == m.max {
			delete(m.m, m.order[0])
			m.order = m.order[1:]
		}
		m.order = append(m.order, k)
	}
	m.m[k] = v
}

// TestSeqTable puts and gets conversations at random, with keys drawn
// from a small pool so that many repeat, against seqModel: the same
// bases, the same forgetting, through index growth and the backward
// shifts of eviction.
func TestSeqTable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		max, keys  int
		ops        int
		getPercent int
	}{
		{"never full", 5000, 3000, 20000, 50},
		{"one", 1, 4, 2000, 50},
		{"full, few keys", 10, 30, 20000, 50},
		{"full, index grown", 3000, 9000, 100000, 30},
		{"full, keys mostly new", 700, 1 << 20, 50000, 10},
		{"full, ring of chunks", 9000, 20000, 100000, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.max)))
			key := func() seqKey {
				n := rng.IntN(tc.keys)
				var src, dst [16]byte
				src[0], src[1], src[2] = byte(n), byte(n>>8), byte(n>>16)
				dst[15] = byte(n % 3)
				return makeSeqKey(src[:4], dst[:4], uint32(n%7)<<16|80, n%5 == 0)
			}
			tab := newSeqTable(tc.max)
			model := &seqModel{m: map[seqKey]seqVal{}, max: tc.max}
			for op := range tc.ops {
				k := key()
				if rng.IntN(100) < tc.getPercent {
					got, ok := tab.get(&k)
					want, wantOK := model.m[k]
					if ok != wantOK || got != want {
						t.Fatalf("op %d: get %x = %v %v, want %v %v", op, k[:4], got, ok, want, wantOK)
					}
					continue
				}
				v := seqVal{rng.Uint32(), rng.Uint32()}
				tab.put(&k, v.seq, v.ack)
				model.put(k, v)
				if tab.len() != len(model.m) {
					t.Fatalf("op %d: %d conversations, want %d", op, tab.len(), len(model.m))
				}
			}
			for k, want := range model.m {
				if got, ok := tab.get(&k); !ok || got != want {
					t.Fatalf("at the end: get %x = %v %v, want %v", k[:4], got, ok, want)
				}
			}
		})
	}
}
