package explain

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestScratchTOD(t *testing.T) {
	for i := 0; i < 2000000; i++ {
		ns := rand.Int64N(1 << 62)
		if i%3 == 0 {
			ns = rand.Int64N(int64(48 * time.Hour))
		}
		if i%5 == 0 {
			ns = -ns
		}
		tm := time.Unix(0, ns).UTC()
		want := tm.Format("15:04:05.000000")
		if got := TimeOfDay(ns); got != want {
			t.Fatalf("%d: %s want %s", ns, got, want)
		}
		wantC := tm.Format("2006-01-02 15:04:05.000000")
		if tm.Year() == 1970 && tm.YearDay() == 1 {
			wantC = want
		}
		if got := Clock(ns); got != wantC {
			t.Fatalf("clock %d: %s want %s", ns, got, wantC)
		}
	}
}

func TestScratchLineEnd(t *testing.T) {
	alpha := []string{"a", "b", " ", " ", "→", "µ", "✓", "—", "•", "中", "，", "\x00", "\xff", "（", "x"}
	for i := 0; i < 3000000; i++ {
		var b []byte
		n := rand.IntN(120)
		narrow := rand.IntN(2) == 0
		for j := 0; j < n; j++ {
			k := rand.IntN(len(alpha))
			if narrow && k >= 9 {
				k = rand.IntN(9)
			}
			b = append(b, alpha[k]...)
		}
		w := 20 + rand.IntN(70)
		c1, w1 := lineEnd(b, w)
		c2, w2 := wideLineEnd(b, w)
		if len(b) <= w {
			continue
		}
		if c1 != c2 || w1 != w2 {
			t.Fatalf("%q %d: %d %v vs %d %v", b, w, c1, w1, c2, w2)
		}
	}
}
