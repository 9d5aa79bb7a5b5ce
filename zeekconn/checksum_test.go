package zeekconn

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// sum must agree with the textbook 16-bit one's complement sum.
func TestSum(t *testing.T) {
	ref := func(s uint32, b []byte) uint16 {
		for len(b) >= 2 {
			s += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			s += uint32(b[0]) << 8
		}
		return fold(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 70 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff
			}
		}
		start := uint32(r.UintN(1 << 20))
		if got, want := fold(sum(start, b)), ref(start, b); got != want {
			t.Errorf("len %d: sum %#x, want %#x", n, got, want)
		}
	}
}
