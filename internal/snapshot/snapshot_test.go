package snapshot

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// TestRoundTrip writes long random runs of every kind of value, with
// magnitudes from one byte to ten and repeats that take the short codes,
// and reads them back; then cuts the bytes short and checks that reading
// reports it without panicking.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	num := func() uint64 {
		switch r.IntN(4) {
		case 0:
			return r.Uint64N(0x80)
		case 1:
			return r.Uint64N(1 << 14)
		case 2:
			return r.Uint64N(1 << uint(r.IntN(64)))
		}
		return math.MaxUint64 - r.Uint64N(3)
	}
	type op struct {
		kind int
		u    uint64
		i    int64
		bs   [5]bool
		a    netip.Addr
		ref  int64
		s    string
	}
	for run := range 200 {
		var w Writer
		base := int64(r.Uint64N(1 << 62))
		var ops []op
		var times []int64
		var seqs []uint32
		for range 300 {
			o := op{kind: r.IntN(9)}
			switch o.kind {
			case 0:
				o.u = num()
				w.Uint(o.u)
			case 1:
				o.i = int64(num())
				w.Int(o.i)
			case 2:
				for j := range o.bs {
					o.bs[j] = r.IntN(2) == 0
				}
				w.Bools(o.bs[:]...)
			case 3:
				switch {
				case r.IntN(3) == 0 && len(times) > 0:
					o.i = times[r.IntN(len(times))]
				case r.IntN(5) == 0:
					o.i = 0
				default:
					// Up to 2^62 ns either side of base, in ns or whole µs.
					d := int64(num() >> 14)
					if r.IntN(2) == 0 {
						d *= 1000
					}
					o.i = base + d*int64(1-2*r.IntN(2))
				}
				times = append(times, o.i)
				w.Time(o.i, base)
			case 4:
				o.ref = int64(uint32(num()))
				if r.IntN(3) == 0 && len(seqs) > 0 {
					o.u = uint64(seqs[r.IntN(len(seqs))])
				} else {
					o.u = uint64(uint32(o.ref) + uint32(num()))
				}
				seqs = append(seqs, uint32(o.u))
				w.Seq(uint32(o.u), uint32(o.ref))
			case 5:
				o.i = int64(r.IntN(1 << 20))
				o.ref = int64(r.IntN(1 << 20))
				w.Ref(int(o.i), int(o.ref))
			case 6:
				o.i = int64(num()>>2) * int64(1-2*r.IntN(2))
				w.Dur(o.i)
			case 7:
				switch r.IntN(3) {
				case 0:
					o.a = netip.AddrFrom4([4]byte{byte(r.Uint32()), 1, 2, 3})
				case 1:
					o.a = netip.AddrFrom16([16]byte{0x20, 1, byte(r.Uint32())})
				}
				w.Addr(o.a)
			case 8:
				o.s = strings.Repeat("syn-ack ", r.IntN(40))
				w.String(o.s)
			}
			ops = append(ops, o)
		}
		rd := Reader{B: w.B}
		for n, o := range ops {
			ok := true
			switch o.kind {
			case 0:
				ok = rd.Uint() == o.u
			case 1:
				ok = rd.Int() == o.i
			case 2:
				var got [5]bool
				rd.Bools(&got[0], &got[1], &got[2], &got[3], &got[4])
				ok = got == o.bs
			case 3:
				ok = rd.Time(base) == o.i
			case 4:
				ok = rd.Seq(uint32(o.ref)) == uint32(o.u)
			case 5:
				ok = rd.Ref(int(o.ref)) == int(o.i)
			case 6:
				ok = rd.Dur() == o.i
			case 7:
				ok = rd.Addr() == o.a
			case 8:
				ok = rd.String() == o.s
			}
			if !ok || rd.Err != nil {
				t.Fatalf("run %d: value %d (kind %d, %+v) read back wrong (err %v)", run, n, o.kind, o, rd.Err)
			}
		}
		if len(rd.B) != 0 {
			t.Fatalf("run %d: %d bytes left over", run, len(rd.B))
		}
		// Cut short: reads end in ErrShort, never a panic.
		cut := Reader{B: w.B[:r.IntN(len(w.B))]}
		for range ops {
			cut.Uint()
			cut.Time(base)
			cut.Seq(0)
			cut.Addr()
		}
		if cut.Err != ErrShort {
			t.Fatalf("run %d: reading a cut snapshot: err %v, want ErrShort", run, cut.Err)
		}
	}
}
