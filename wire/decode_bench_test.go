package wire

import (
	"encoding/hex"
	"testing"
)

// benchSegment is an Ethernet/IPv4/TCP data segment with timestamps.
var benchSegment = func() []byte {
	b, _ := hex.DecodeString("00000000000000000000000008004500" +
		"00fe1b6c40004006207c7f0000017f00" +
		"0001da7000503758897f377a8df28018" +
		"2000fef200000101080a4ddc92174ddc" +
		"9216")
	return append(b, make([]byte, 202)...)
}()

func TestDecodeAllocs(t *testing.T) {
	var p Packet
	n := testing.AllocsPerRun(1000, func() {
		if err := p.Decode(LinkEthernet, benchSegment); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Decode: %v allocations, want 0", n)
	}
	if p.PayloadLen != 202 || p.SrcPort != 55920 || p.Flags != PSH|ACK {
		t.Errorf("decoded %+v", p)
	}
}

func BenchmarkDecode(b *testing.B) {
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSegment)))
	for b.Loop() {
		if err := p.Decode(LinkEthernet, benchSegment); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
