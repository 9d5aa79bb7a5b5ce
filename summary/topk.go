package summary

import (
	"cmp"
	"slices"
)

// topk finds the keys counted most often in bounded memory: the
// Space-Saving algorithm (Metwally, Agrawal and El Abbadi, 2005). It
// keeps cap counters; a key not kept takes the smallest counter over and
// inherits its count as its possible overcount. With at most cap distinct
// keys every count is exact; otherwise a key counted more than n/cap
// times is always kept, its count at most over by Over.
type topk[K comparable] struct {
	cap  int
	at   map[K]int // index in heap
	heap []slot[K] // min-heap by count
}

type slot[K comparable] struct {
	key         K
	count, over int
}

func newTopk[K comparable](capacity int) *topk[K] {
	return &topk[K]{cap: capacity, at: make(map[K]int)}
}

func (t *topk[K]) add(k K) {
	i, ok := t.at[k]
	switch {
	case ok:
		t.heap[i].count++
	case len(t.heap) < t.cap:
		t.heap = append(t.heap, slot[K]{key: k, count: 1})
		i = len(t.heap) - 1
		t.at[k] = i
		t.up(i)
		return
	default:
		i = 0
		delete(t.at, t.heap[0].key)
		t.heap[0] = slot[K]{key: k, count: t.heap[0].count + 1, over: t.heap[0].count}
		t.at[k] = 0
	}
	t.down(i)
}

func (t *topk[K]) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.at[t.heap[i].key], t.at[t.heap[j].key] = i, j
}

func (t *topk[K]) up(i int) {
	for i > 0 && t.heap[i].count < t.heap[(i-1)/2].count {
		t.swap(i, (i-1)/2)
		i = (i - 1) / 2
	}
}

func (t *topk[K]) down(i int) {
	for {
		m, l := i, 2*i+1
		if l < len(t.heap) && t.heap[l].count < t.heap[m].count {
			m = l
		}
		if r := l + 1; r < len(t.heap) && t.heap[r].count < t.heap[m].count {
			m = r
		}
		if m == i {
			return
		}
		t.swap(i, m)
		i = m
	}
}

// top returns the n largest counts, ties in the order of name.
func (t *topk[K]) top(n int, name func(K) string) []Host {
	all := make([]Host, len(t.heap))
	for i, s := range t.heap {
		all[i] = Host{Addr: name(s.key), Conns: s.count, Over: s.over}
	}
	slices.SortFunc(all, byCount)
	return all[:min(n, len(all))]
}

// byCount orders hosts by count, the largest first, then by name.
func byCount(a, b Host) int {
	return cmp.Or(-cmp.Compare(a.Conns, b.Conns), cmp.Compare(a.Addr, b.Addr))
}
