package track

import (
	"synfin/tcpstate"
	"testing"
)

// TestRejectedSYNACK draws the line RFC 9293 draws: a client that answers
// a SYN-ACK with <SEQ=SEG.ACK><CTL=RST> (3.10.7.1 with no connection,
// 3.10.7.3 with an unacceptable ACK) never took it, while a reset after
// anything else the client sent, or one carrying ACK, aborts a connection
// the client had (3.10.7.4 in ESTABLISHED). TestKernelRejectedSYNACK
// checks the rejected case against the kernel.
func TestRejectedSYNACK(t *testing.T) {
	const c, s = "10.0.0.1:40000", "10.0.0.2:80"
	syn := synSeg{src: c, dst: s, flags: "S", seq: 1000, us: 0}
	synRtx := synSeg{src: c, dst: s, flags: "S", seq: 1000, us: 1000000}
	synAck := synSeg{src: s, dst: c, flags: "S.", seq: 5000, ack: 1001, us: 1000100}
	for _, tc := range []struct {
		name     string
		segs     []synSeg
		rejected bool
		client   tcpstate.State // final
		server   tcpstate.State
	}{
		{"bare RST at the SYN-ACK's ack", []synSeg{syn, synAck, {src: c, dst: s, flags: "R", seq: 1001, us: 1000200}},
			true, tcpstate.Closed, tcpstate.Listen},
		{"after a retransmitted SYN", []synSeg{syn, synRtx, synAck, {src: c, dst: s, flags: "R", seq: 1001, us: 1000200}},
			true, tcpstate.Closed, tcpstate.Listen},
		// The server, still in SYN-RECEIVED from a passive open, goes back
		// to LISTEN on any acceptable reset (3.10.7.4).
		{"RST with ACK: the client had taken it", []synSeg{syn, synAck, {src: c, dst: s, flags: "R.", seq: 1001, ack: 5001, us: 1000200}},
			false, tcpstate.Closed, tcpstate.Listen},
		{"RST at another sequence number", []synSeg{syn, synAck, {src: c, dst: s, flags: "R", seq: 1005, us: 1000200}},
			false, tcpstate.Closed, tcpstate.Listen},
		{"RST after the client's ACK", []synSeg{syn, synAck, {src: c, dst: s, flags: ".", seq: 1001, ack: 5001, us: 1000150},
			{src: c, dst: s, flags: "R", seq: 1001, us: 1000200}},
			false, tcpstate.Closed, tcpstate.Closed},
		{"RST after a bad ACK", []synSeg{syn, synAck, {src: c, dst: s, flags: ".", seq: 1001, ack: 9999, us: 1000150},
			{src: c, dst: s, flags: "R", seq: 1001, us: 1000200}},
			false, tcpstate.Closed, tcpstate.Listen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conns := runSegments(Config{}, tc.segs)
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			x := conns[0]
			if x.Handshake.Rejected != tc.rejected {
				t.Errorf("Rejected = %v, want %v", x.Handshake.Rejected, tc.rejected)
			}
			if x.Client.State != tc.client || x.Server.State != tc.server {
				t.Errorf("final states %s/%s, want %s/%s", x.Client.State, x.Server.State, tc.client, tc.server)
			}
			established := false
			for _, tr := range x.Client.Transitions {
				established = established || tr.To == tcpstate.Established
			}
			if established == tc.rejected {
				t.Errorf("client transitions %v: ESTABLISHED %v, want %v", x.Client.Transitions, established, !tc.rejected)
			}
		})
	}
}
