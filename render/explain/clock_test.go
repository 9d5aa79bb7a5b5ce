package explain

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClockAgreesWithTime checks the times of day and clocks written
// without a time.Time against the time package's formatting of the same
// instants: the edges of a day, a capture without a date, before 1970, and
// random ones.
func TestClockAgreesWithTime(t *testing.T) {
	day := int64(24 * time.Hour)
	stamps := []int64{0, 1, 999, 1000, day - 1, day, day + 1, -1, -1000, -day, 1717243200005576000, 1<<63 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		stamps = append(stamps, r.Int64(), r.Int64N(2*day), -r.Int64N(2*day))
	}
	for _, ns := range stamps {
		tm := time.Unix(0, ns).UTC()
		clock := tm.Format("2006-01-02 15:04:05.000000")
		if tm.Year() == 1970 && tm.YearDay() == 1 {
			clock = tm.Format("15:04:05.000000")
		}
		if got, want := TimeOfDay(ns), tm.Format("15:04:05.000000"); got != want {
			t.Errorf("TimeOfDay(%d) = %s, want %s", ns, got, want)
		}
		if got := Clock(ns); got != clock {
			t.Errorf("Clock(%d) = %s, want %s", ns, got, clock)
		}
	}
}

// TestDurAgreesWithFloat checks the durations written in integers
// against strconv's formatting of the float of each in its unit (3
// decimals in ms and in s below a minute, 1 above, trailing zeros cut):
// halves of the last digit shown, the edges of each unit, and random ones.
func TestDurAgreesWithFloat(t *testing.T) {
	want := func(d time.Duration) string {
		sign := ""
		if d < 0 {
			sign, d = "-", -d
		}
		trim := func(f float64, prec int, unit string) string {
			s := strconv.FormatFloat(f, 'f', prec, 64)
			return sign + strings.TrimRight(strings.TrimRight(s, "0"), ".") + unit
		}
		switch {
		case d < time.Millisecond:
			return sign + strconv.FormatInt(int64(d/time.Microsecond), 10) + " µs"
		case d < time.Second:
			return trim(float64(d)/1e6, 3, " ms")
		case d < time.Minute:
			return trim(float64(d)/1e9, 3, " s")
		}
		return trim(float64(d)/1e9, 1, " s")
	}
	durs := []time.Duration{0, 1, 999, 1000, 999_999, 1e6, 1e6 + 500, 1_062_500, 1_000_500, 1e9 - 1, 1e9, 1e9 + 5e5,
		6e10 - 1, 6e10, 6e10 + 5e7, 1 << 45, 1<<45 + 1, math.MaxInt64, math.MinInt64, -1, -1e9}
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		durs = append(durs, time.Duration(r.Int64N(2e6)), time.Duration(r.Int64N(2e9)), time.Duration(r.Int64N(2e11)),
			time.Duration(r.Int64()), time.Duration(r.Int64N(1e5)*500), -time.Duration(r.Int64N(2e9)))
	}
	for _, d := range durs {
		if got, want := Dur(d), want(d); got != want {
			t.Fatalf("Dur(%d) = %s, want %s", int64(d), got, want)
		}
	}
}

// TestLineEndOneColumn checks the break lineEnd finds in text of
// one-column runes against the rules for text of any width
// (wideLineEnd), on random text of ASCII, spaces and the symbols English
// explanations use, with wide characters now and then.
func TestLineEndOneColumn(t *testing.T) {
	alphabet := []string{"a", "b", " ", " ", "→", "µ", "✓", "—", "•", "中", "，", "（", "\x00", "\xff"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		var b []byte
		narrow := r.IntN(4) > 0
		for range r.IntN(120) {
			k := r.IntN(len(alphabet))
			if narrow {
				k = r.IntN(9)
			}
			b = append(b, alphabet[k]...)
		}
		width := 20 + r.IntN(70)
		if len(b) <= width {
			continue
		}
		cut, whole := lineEnd(b, width)
		wantCut, wantWhole := wideLineEnd(b, width)
		if cut != wantCut || whole != wantWhole {
			t.Fatalf("lineEnd(%q, %d) = %d, %v; want %d, %v", b, width, cut, whole, wantCut, wantWhole)
		}
	}
}
