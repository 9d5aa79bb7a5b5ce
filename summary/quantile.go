package summary

import (
	"math"
	"math/bits"
)

// subBits sets the histogram's resolution: each power of two is cut into
// 2^subBits buckets, so a value is known within 1/2^(subBits+1) of itself.
const subBits = 7

// hist is a log-linear histogram of durations in nanoseconds: fixed
// memory (about 60 KB) whatever the number of values, the same result in
// any order of adding, and quantiles within 0.4% of the exact ones (a
// bucket's middle is at most half a bucket, 1/256 of the value, away
// from any value in it). Values below 2^(subBits+1) ns are exact.
type hist struct {
	n        uint64
	min, max int64
	b        [(64 - subBits) << subBits]uint64
}

func bucketOf(v int64) int {
	u := uint64(max(v, 0))
	s := max(bits.Len64(u)-(subBits+1), 0)
	return s<<subBits + int(u>>s)
}

// middle is the middle of bucket i's values.
func middle(i int) int64 {
	if i < 2<<subBits {
		return int64(i)
	}
	s := i>>subBits - 1
	lo := uint64(i-s<<subBits) << s
	return int64(lo + (uint64(1)<<s-1)/2)
}

func (h *hist) add(v int64) {
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.b[bucketOf(v)]++
}

// quantile is the nearest-rank p quantile (the value of rank ⌈p·n⌉), as
// its bucket's middle kept within the values seen.
func (h *hist) quantile(p float64) int64 {
	rank := uint64(math.Ceil(p * float64(h.n)))
	var seen uint64
	for i, c := range h.b {
		if seen += c; c > 0 && seen >= rank {
			return min(max(middle(i), h.min), h.max)
		}
	}
	return h.max
}

// dist sums h up in seconds.
func (h *hist) dist() Dist {
	if h.n == 0 {
		return Dist{}
	}
	s := func(ns int64) float64 { return float64(ns) / 1e9 }
	return Dist{N: int(h.n), P50: s(h.quantile(0.5)), P90: s(h.quantile(0.9)), P99: s(h.quantile(0.99)), Max: s(h.max)}
}
