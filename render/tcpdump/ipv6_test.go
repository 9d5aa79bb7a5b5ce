package tcpdump

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestAppendIPv6Groups checks the zero-run compression against net/netip
// (RFC 5952 too) for every pattern of zero and non-zero groups, with
// values of every hex length.
func TestAppendIPv6Groups(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint16{1, 0xf, 0x10, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0xabcd}
	for mask := 0; mask < 256; mask++ {
		for range 4 {
			var a [16]byte
			for i := 0; i < 8; i++ {
				if mask&(1<<i) == 0 {
					continue
				}
				v := values[rng.IntN(len(values))]
				a[2*i], a[2*i+1] = byte(v>>8), byte(v)
			}
			addr := netip.AddrFrom16(a)
			if addr.Is4In6() {
				continue // netip prints those dotted; appendIPv6 handles them first
			}
			want := addr.String()
			if got := string(appendIPv6Groups([]byte("x"), a[:])); got != "x"+want {
				t.Errorf("% x: got %q, want %q", a, got[1:], want)
			}
		}
	}
	for _, s := range []string{"::", "::1", "1::", "1:0:0:2::3", "1::2:0:0:3:4", "0:1:0:1:0:1:0:1", "fe80::1:2", "2001:db8::"} {
		a := netip.MustParseAddr(s).As16()
		if got := string(appendIPv6Groups(nil, a[:])); got != s {
			t.Errorf("%s printed as %q", s, got)
		}
	}
}
