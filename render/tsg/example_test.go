package tsg_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"synfin/render/tsg"
	"synfin/tcpdumptext"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// An upload of three segments whose second is lost: the receiver
// acknowledges the first, then acknowledges it again with the third in a
// SACK block, and the sender sends the second again.
const capture = `12:00:00.000000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK], length 0
12:00:00.010000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460,sackOK], length 0
12:00:00.020000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], ack 5001, win 502, length 0
12:00:00.030000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], seq 1001:2001, ack 5001, win 502, length 1000
12:00:00.031000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], seq 2001:3001, ack 5001, win 502, length 1000
12:00:00.032000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [P.], seq 3001:4001, ack 5001, win 502, length 1000
12:00:00.041000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [.], ack 2001, win 509, length 0
12:00:00.042000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [.], ack 2001, win 509, options [nop,nop,sack 1 {3001:4001}], length 0
12:00:00.050000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], seq 2001:3001, ack 5001, win 502, length 1000
12:00:00.060000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [.], ack 4001, win 0, length 0
`

// Example computes the graph of the upload and prints the client's flow:
// its segments, the server's acknowledgments and windows, its SACK block,
// the RTT samples Karn's rule allows, and the start of its JSON.
// (The segments, marks, ACK, window, SACK and zero-window points and the
// RTT samples are those tcptrace -G draws for the same capture, written as
// pcap by synfin read -w.)
func Example() {
	in := tcpdumptext.NewReader(bufio.NewReader(strings.NewReader(capture)),
		tcpdumptext.Options{Location: time.UTC, Seq: tcpdumptext.SeqAbsolute})
	var g *tsg.Graph
	tr := track.New(track.Config{Segments: true, Done: func(c *tcpstate.Conn) { g = tsg.Compute(c) }})
	var f wire.Frame
	for in.Next(&f) == nil {
		tr.Frame(&f)
	}
	tr.Flush()
	up := &g.Flows[0]
	fmt.Printf("%s > %s, base %d\n", up.From, up.To, up.Base)
	for _, s := range up.Segs {
		fmt.Printf("segment %.3f %d-%d %s retransmitted=%v\n", s.T, s.Lo, s.Hi, s.Flags, s.Retrans)
	}
	for i, a := range up.ACKs {
		fmt.Printf("ack %.3f %d window to %d\n", a.T, a.Seq, up.Windows[i].Seq)
	}
	for _, b := range up.SACKs {
		fmt.Printf("sack %.3f %d-%d\n", b.T, b.Lo, b.Hi)
	}
	for _, z := range up.Zero {
		fmt.Printf("zero window %.3f at %d\n", z.T, z.Seq)
	}
	for _, r := range up.RTT {
		fmt.Printf("rtt %.3f %.3f s\n", r.T, r.V)
	}
	b, _ := json.Marshal(up.Segs[3])
	fmt.Println(string(b))
	// Output:
	// 192.0.2.1:40000 > 198.51.100.2:80, base 1000
	// segment 0.000 0-1 S retransmitted=false
	// segment 0.020 1-1 A retransmitted=false
	// segment 0.030 1-1001 A retransmitted=false
	// segment 0.031 1001-2001 A retransmitted=false
	// segment 0.032 2001-3001 PA retransmitted=false
	// segment 0.050 1001-2001 A retransmitted=true
	// ack 0.010 1 window to 65161
	// ack 0.041 1001 window to 1510
	// ack 0.042 1001 window to 1510
	// ack 0.060 3001 window to 3001
	// sack 0.042 2001-3001
	// zero window 0.060 at 3001
	// rtt 0.010 0.010 s
	// rtt 0.041 0.011 s
	// {"t":0.031,"seg":5,"lo":1001,"hi":2001,"len":1000,"flags":"A"}
}
