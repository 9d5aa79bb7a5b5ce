package wire

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChecksum checks sums published elsewhere: RFC 1071's worked
// example, and headers and segments whose checksum fields tcpdump -vv
// reports as correct.
func TestChecksum(t *testing.T) {
	tests := []struct {
		name string
		b    string
		want uint16
	}{
		// RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
		{"rfc1071", "0001f203f4f5f6f7", 0xddf2},
		{"rfc1071-odd", "0001f203f4f5f6f7f8", 0xd5f3},
		{"empty", "", 0},
		// An IPv4 header with its (correct) checksum b861.
		{"ipv4-header", "450000730000400040 11b861c0a80001c0a800c7", 0xffff},
	}
	for _, tt := range tests {
		b := unhex(t, removeSpaces(tt.b))
		if got := Checksum(b, 0); got != tt.want {
			t.Errorf("%s: Checksum = %#04x, want %#04x", tt.name, got, tt.want)
		}
	}
}

func removeSpaces(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// TestPseudoHeaderChecksum verifies whole IP packets whose TCP checksum
// tcpdump -vv reports as "(correct)": an IPv4 SYN from the tcpdump corpus
// (tcp-handshake-nano.pcap) and an IPv6 segment of odd length.
func TestPseudoHeaderChecksum(t *testing.T) {
	tests := []struct {
		name string
		ip   string
	}{
		{"v4-syn", "4500003c29a940004006db5f839bd7458974515eb64000502f842acb00000000a0026a4050c40000020405500402080a436a03620000000001030307"},
		{"v6-odd", "60098b330077063320010db800c0082499270a1ea0f8645c20010db8000000000000000000000010c9e42704976839e7812eabbd801802b536c600000101080a9a07476cc28c08dd5cb81554aefa4a7e8afb862dd4726576289e1906583b97bdd9663c89554680b8a31abb78b57a858aad61aae30fd0e8bed327c550192d4bc59722283f0bcb5e79b81f6aa767b535619d40f24fff284f6aaefdacacf191c3"},
	}
	for _, tt := range tests {
		b := unhex(t, tt.ip)
		var src, dst, seg []byte
		if b[0]>>4 == 4 {
			src, dst, seg = b[12:16], b[16:20], b[20:]
			if got := Checksum(b[:20], 0); got != 0xffff {
				t.Errorf("%s: IPv4 header sums to %#04x", tt.name, got)
			}
		} else {
			src, dst, seg = b[8:24], b[24:40], b[40:]
		}
		if got := Checksum(seg, PseudoHeaderChecksum(ProtoTCP, src, dst, len(seg))); got != 0xffff {
			t.Errorf("%s: segment sums to %#04x", tt.name, got)
		}
		seg[len(seg)-1]++ // a damaged payload must show
		if got := Checksum(seg, PseudoHeaderChecksum(ProtoTCP, src, dst, len(seg))); got == 0xffff {
			t.Errorf("%s: damaged segment still sums to 0xffff", tt.name)
		}
	}
}

// TestChecksumTextbook compares with the textbook 16-bit loop of RFC 1071
// at every length and alignment of the tail, and with sums split into
// even-length parts.
func TestChecksumTextbook(t *testing.T) {
	ref := func(b []byte, s uint32) uint16 {
		for len(b) >= 2 {
			s += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			s += uint32(b[0]) << 8
		}
		for s > 0xffff {
			s = s&0xffff + s>>16
		}
		return uint16(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 80 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.UintN(256))
			if n%7 == 0 {
				b[i] = 0xff
			}
		}
		start := uint16(r.UintN(1 << 16))
		want := ref(b, uint32(start))
		if got := Checksum(b, start); got != want {
			t.Errorf("len %d: %#04x, want %#04x", n, got, want)
		}
		if half := n / 2 &^ 1; n > 0 {
			if got := Checksum(b[half:], Checksum(b[:half], start)); got != want {
				t.Errorf("len %d in two parts: %#04x, want %#04x", n, got, want)
			}
		}
	}
}
