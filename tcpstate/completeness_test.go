package tcpstate

import (
	"testing"

	"synfin/wire"
)

func TestCompletenessOf(t *testing.T) {
	seg := func(flags string, n int) Segment {
		f, _ := wire.ParseTcpdumpFlags(flags)
		return Segment{Flags: f, Len: n}
	}
	// Each case applies Wireshark's rule (packet-tcp.c) by hand.
	tests := []struct {
		name string
		segs []Segment
		want uint8
	}{
		{"whole conversation", []Segment{seg("S", 0), seg("S.", 0), seg(".", 0), seg("P.", 5), seg("F.", 0), seg("F.", 0), seg(".", 0)}, 31},
		{"refused", []Segment{seg("S", 0), seg("R.", 0)}, 1 | 4 | 32},
		{"bare RST answer", []Segment{seg("S", 0), seg("R", 0)}, 1 | 32},
		{"SYN with data (TFO)", []Segment{seg("S", 10), seg("S.", 0)}, 1 | 2 | 8},
		{"first seen at SYN-ACK", []Segment{seg("S.", 0), seg(".", 0)}, 2 | 4},
		{"lone SYN-ACK", []Segment{seg("S.", 0)}, 0},
		{"mid-stream data", []Segment{seg("P.", 100), seg(".", 0)}, 4 | 8},
		{"FIN without ACK", []Segment{seg("S", 0), seg("F", 0)}, 1},
		{"FIN with data", []Segment{seg("S", 0), seg("FP.", 3)}, 1 | 8 | 16},
		{"first segment RST", []Segment{seg("R", 0)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := completenessOf(tc.segs); got != tc.want {
				t.Errorf("completeness %d, want %d", got, tc.want)
			}
		})
	}
}
