package ladder

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestNth checks the median selection against sorting, and counts its
// comparisons: at most a few per value whatever the order, at every size,
// where the selection sort it replaced made n²/8 (a capture of 400,000
// segments took 44 s to draw). The pivots come from a fixed seed here,
// so the counts are the same at every run.
func TestNth(t *testing.T) {
	orders := []struct {
		name string
		make func(n int) []time.Duration
	}{
		{"ascending", func(n int) []time.Duration {
			v := make([]time.Duration, n)
			for i := range v {
				v[i] = time.Duration(i)
			}
			return v
		}},
		{"descending", func(n int) []time.Duration {
			v := make([]time.Duration, n)
			for i := range v {
				v[i] = time.Duration(n - i)
			}
			return v
		}},
		{"all equal", func(n int) []time.Duration { return make([]time.Duration, n) }},
		{"two values", func(n int) []time.Duration {
			v := make([]time.Duration, n)
			for i := range v {
				v[i] = time.Duration(i % 2 * 40)
			}
			return v
		}},
		{"random", func(n int) []time.Duration {
			r := rand.New(rand.NewPCG(1, 2))
			v := make([]time.Duration, n)
			for i := range v {
				v[i] = time.Duration(r.IntN(1000))
			}
			return v
		}},
	}
	for _, o := range orders {
		for _, n := range []int{1, 2, 3, 10, 1000, 100_000, 400_000} {
			v := o.make(n)
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			compares := 0
			r := rand.New(rand.NewPCG(3, 4))
			for _, k := range []int{0, n / 2, n - 1} {
				got := nth(slices.Clone(v), k, r, func(a, b time.Duration) bool { compares++; return a < b })
				if got != sorted[k] {
					t.Errorf("%s, %d values: nth %d = %v, want %v", o.name, n, k, got, sorted[k])
				}
			}
			if per := float64(compares) / float64(3*n); per > 8 {
				t.Errorf("%s, %d values: %.1f comparisons per value, want a few", o.name, n, per)
			}
		}
	}
}
