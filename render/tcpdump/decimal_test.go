package tcpdump

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// decimalCases are the edges of every digit count and of the 32-bit
// fast path.
func decimalCases() []uint64 {
	vs := []uint64{0, 1, 9, 10, 11, 99, 100, 101, 255, 999, 1000, 65535,
		1<<32 - 1, 1 << 32, 1<<32 + 1, 1<<63 - 1, 1 << 63, 1<<64 - 1, 4294967295, 1234567890123}
	p := uint64(1)
	for range 19 {
		p *= 10
		vs = append(vs, p-1, p, p+1)
	}
	// And random numbers of every length, most of them 32-bit.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		bits := rng.IntN(64) + 1
		vs = append(vs, rng.Uint64()>>(64-bits), uint64(rng.Uint32()))
	}
	return vs
}

func TestAppendUint(t *testing.T) {
	for _, v := range decimalCases() {
		want := "x" + strconv.FormatUint(v, 10)
		// With and without room: appendUint must grow b itself.
		for _, c := range []int{1, 64} {
			b := make([]byte, 1, c)
			b[0] = 'x'
			if got := string(appendUint(b, v)); got != want {
				t.Errorf("appendUint(%d) with cap %d = %q, want %q", v, c, got, want)
			}
		}
		if got, want := decimalLen(v), len(strconv.FormatUint(v, 10)); got != want {
			t.Errorf("decimalLen(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestAppendPadded(t *testing.T) {
	for _, v := range decimalCases() {
		for _, w := range []int{0, 2, 4, 5, 6, 9} {
			want := fmt.Sprintf("%0*d", w, v)
			if w == 5 {
				want = fmt.Sprintf("%5d", v)
			}
			if got := string(appendPadded([]byte{}, v, w)); got != want {
				t.Errorf("appendPadded(%d, %d) = %q, want %q", v, w, got, want)
			}
		}
	}
}

func TestAppendByte(t *testing.T) {
	for v := range 256 {
		if got, want := string(appendByte(nil, byte(v))), strconv.Itoa(v); got != want {
			t.Errorf("appendByte(%d) = %q, want %q", v, got, want)
		}
	}
}

// TestClockCache checks that the per-second clock text follows the
// second: packets within one second share it, the next second does not.
func TestClockCache(t *testing.T) {
	for _, o := range []Options{{}, {Time: TimeDate}} {
		o.Location = time.UTC
		pr := New(o)
		for _, c := range []struct {
			ns   int64
			want string
		}{
			{1120622255939423000, "03:57:35.939423 "},
			{1120622255999999000, "03:57:35.999999 "},
			{1120622256000001000, "03:57:36.000001 "},
			{1120622255000000000, "03:57:35.000000 "},
			{1120708655000000000, "03:57:35.000000 "},
		} {
			want := c.want
			if o.Time == TimeDate {
				day := "2005-07-06 "
				if c.ns >= 1120708655000000000 {
					day = "2005-07-07 "
				}
				want = day + want
			}
			fr := realisticFrame()
			fr.Time = c.ns
			if got := string(pr.appendTime(nil, fr)); got != want {
				t.Errorf("time %d with %+v: %q, want %q", c.ns, o.Time, got, want)
			}
		}
	}
}
