package summary

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"math/rand/v2"
)

// TestHistQuantiles compares the histogram's quantiles with the exact
// nearest-rank ones of the sorted values.
func TestHistQuantiles(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for _, tc := range []struct {
		name string
		draw func() int64
	}{
		{"small", func() int64 { return rng.Int64N(300) }},
		{"microseconds", func() int64 { return 1000 + rng.Int64N(1e6) }},
		{"heavy tail", func() int64 { return int64(math.Exp(rng.Float64()*30)) + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h hist
			v := make([]int64, 5001)
			for i := range v {
				v[i] = tc.draw()
				h.add(v[i])
			}
			slices.Sort(v)
			for _, p := range []float64{0.001, 0.5, 0.9, 0.99, 1} {
				exact := v[int(math.Ceil(p*float64(len(v))))-1]
				if got := h.quantile(p); math.Abs(float64(got-exact)) > float64(exact)/256 {
					t.Errorf("p%v = %d, exact %d", p*100, got, exact)
				}
			}
			if h.max != v[len(v)-1] {
				t.Errorf("max %d, want %d", h.max, v[len(v)-1])
			}
		})
	}
}

// TestTopk compares the top lists with exact counts: exact while the
// keys fit, and a key counted more than n/cap times kept past that,
// its count over by at most what it says.
func TestTopk(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ keys, capacity int }{{50, 64}, {5000, 64}} {
		tk := newTopk[int](tc.capacity)
		exact := map[int]int{}
		for range 20000 {
			k := rng.IntN(tc.keys)
			if rng.IntN(4) == 0 {
				k = rng.IntN(3) // three heavy hitters
			}
			tk.add(k)
			exact[k]++
		}
		got := tk.top(TopN, strconv.Itoa)
		var want []Host
		for k, n := range exact {
			want = append(want, Host{Addr: strconv.Itoa(k), Conns: n})
		}
		slices.SortFunc(want, byCount)
		for i, h := range got {
			n, _ := strconv.Atoi(h.Addr)
			if tc.keys <= tc.capacity && h != want[i] {
				t.Errorf("%d keys: #%d is %+v, want %+v", tc.keys, i, h, want[i])
			}
			if h.Conns < exact[n] || h.Conns-h.Over > exact[n] {
				t.Errorf("%d keys: %s counted %d (over %d), exactly %d", tc.keys, h.Addr, h.Conns, h.Over, exact[n])
			}
		}
		for i := range 3 {
			if got[i] != want[i] && tc.keys > tc.capacity && got[i].Addr != want[i].Addr {
				t.Errorf("%d keys: heavy hitter #%d is %s, want %s", tc.keys, i, got[i].Addr, want[i].Addr)
			}
		}
	}
}
