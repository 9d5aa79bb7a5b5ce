package tcpdumptext

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"synfin/wire"
)

var fuzzSeeds = []string{
	"16:34:33.611019 IP localhost.41631 > localhost.nsesrvr: Flags [S], seq 2970024578, win 32792, options [mss 16396,sackOK,TS val 514254463 ecr 0,nop,wscale 7], length 0\n",
	"16:34:33.611045 IP localhost.41631 > localhost.nsesrvr: Flags [.], ack 2032818398, win 257, options [nop,nop,TS val 514254463 ecr 514254463], length 0\n",
	"    1  2020-01-02 03:04:05.123456789 IP (tos 0x0, ttl 61, id 7, offset 0, flags [DF], proto TCP (6), length 40)\n    192.0.2.1.22 > 192.0.2.2.5000: Flags [R], cksum 0x1234 (incorrect -> 0x5678), seq 7, win 0, length 0\n",
	"1.000001 IP6 2001:db8::d > 2001:db8::b: HBH 41851 > 43913: Flags [P.], seq 1:80001, ack 2, win 2128, length 80000\n",
	" 00:00:00.000000 IP 10.1.1.1.5555 > 10.1.1.2.4789: VXLAN, flags [I] (0x08), vni 5001\nIP 10.9.9.1.1 > 10.9.9.2.2: Flags [S], seq 9, win 1, options [exp-tfo cookiereq,sack 1 {1:2},mptcp 12 capable v1 {0x1}], length 0\n",
	"1.0 8c:85:90:3f:77:dd > d4:ca:6d:2e:7f:67, ethertype 802.1Q (0x8100), length 78: vlan 10, p 0, ethertype IPv4 (0x0800), 1.2.3.4.5 > 6.7.8.9.10: Flags [S], seq 1, win 1, length 0\n",
	"10:00:00.000001 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [R], seq 2, win 0, length 2\n\t0x0000:  4500 002a 0000 4000 4006 26cc 0a00 0001\n\t0x0010:  0a00 0002 0001 0002 0000 0002 0000 0000\n\t0x0020:  5004 0000 0000 0000 abcd\n",
	"3.000003 IP example.com.ssh > localhost.http: tcp 48\n",
	"1.0 IP 10.2.1.2.35961 > 10.1.1.2.22: Flags [.], ack 1, win 229, options [nop,nop,TS val 4 ecr 4,mptcp 20 capable v0 csum {0x9c9eabd1e46a33b2,0x967d2770b6960552}], length 0\n",
	"1.0 IP 10.1.1.2.22 > 10.2.1.2.35961: Flags [P.], seq 1:42, ack 1, win 447, options [mptcp 8 add-addr v0-ip4 id 1 10.1.2.2,mptcp 20 dss ack 3576348362 seq 3518592144 subseq 1 len 41 csum 0x82f], length 41\n",
	"1.0 IP 20.0.0.1.22540 > 20.0.0.2.6081: Geneve, Flags [C], vni 0xa, options [8 bytes]: IP 30.0.0.1.22 > 30.0.0.2.51225: Flags [S.], seq 2, ack 1, win 1, options [mptcp 3 dss[bad opt]]\n",
}

// FuzzReader checks that no input makes the reader panic, and that every
// frame it hands out decodes as a TCP segment.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bufio.NewReader(bytes.NewReader(in)), Options{Warn: func(int, string, error) {}})
		for n := 0; ; n++ {
			var fr wire.Frame
			err := r.Next(&fr)
			if errors.Is(err, io.EOF) {
				return
			}
			var ce *CutError
			if errors.As(err, &ce) {
				// Only text that ends without a line end is cut, and
				// the damage starts at a line inside it.
				if len(in) == 0 || in[len(in)-1] == '\n' || ce.Offset < 0 || ce.Offset >= int64(len(in)) ||
					(ce.Offset > 0 && in[ce.Offset-1] != '\n') {
					t.Fatalf("cut error %v for input ending %q", err, in[max(0, len(in)-20):])
				}
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if n > len(in) {
				t.Fatalf("more frames (%d) than input bytes", n)
			}
			var p wire.Packet
			if err := p.Decode(fr.Link, fr.Data); err != nil || !p.HasTCP {
				t.Fatalf("frame %d does not decode as TCP: %v\n%q", fr.Index, err, in)
			}
			if fr.CapLen != len(fr.Data) || fr.WireLen < fr.CapLen {
				t.Fatalf("frame %d lengths cap %d wire %d data %d", fr.Index, fr.CapLen, fr.WireLen, len(fr.Data))
			}
		}
	})
}

// BenchmarkReader reads a default-format listing (relative sequence
// numbers, options on every line).
func BenchmarkReader(b *testing.B) {
	var sb strings.Builder
	lines := []string{
		"IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 3000000000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
		"IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 1000000000, ack 3000000001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 7], length 0",
		"IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 1, win 502, options [nop,nop,TS val 3 ecr 2], length 0",
		"IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 1:101, ack 1, win 502, options [nop,nop,TS val 3 ecr 2], length 100: HTTP: GET / HTTP/1.1",
		"IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 101, win 509, options [nop,nop,TS val 4 ecr 3], length 0",
		"IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [P.], seq 1:1449, ack 101, win 509, options [nop,nop,TS val 4 ecr 3], length 1448: HTTP: HTTP/1.1 200 OK",
		"IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [F.], seq 101, ack 1449, win 502, options [nop,nop,TS val 5 ecr 4], length 0",
		"IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [F.], seq 1449, ack 102, win 509, options [nop,nop,TS val 6 ecr 5], length 0",
	}
	for i := 0; i < 1000; i++ {
		for _, l := range lines {
			sb.WriteString("10:00:00.123456 ")
			sb.WriteString(strings.Replace(l, "40000", itoa(10000+i), -1))
			sb.WriteByte('\n')
		}
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := NewReader(bufio.NewReader(strings.NewReader(text)), Options{})
		var f wire.Frame
		n := 0
		for r.Next(&f) == nil {
			n++
		}
		if n != 8000 {
			b.Fatalf("%d frames", n)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
