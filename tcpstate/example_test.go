package tcpstate_test

import (
	"bufio"
	"fmt"
	"strings"
	"time"

	"synfin/tcpdumptext"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// A handshake, 100 bytes of data and a three-segment close, as tcpdump -S
// prints them.
const capture = `12:00:00.000000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [S], seq 1000, win 64240, options [mss 1460], length 0
12:00:00.010000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460], length 0
12:00:00.020000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], ack 5001, win 502, length 0
12:00:00.030000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [P.], seq 1001:1101, ack 5001, win 502, length 100
12:00:00.040000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [.], ack 1101, win 509, length 0
12:00:00.050000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [F.], seq 1101, ack 5001, win 502, length 0
12:00:00.060000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [F.], seq 5001, ack 1102, win 509, length 0
12:00:00.070000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], ack 5002, win 502, length 0
`

// Example tracks one connection through its handshake and teardown and
// prints each end's states, with the frame that moved it there.
func Example() {
	in := tcpdumptext.NewReader(bufio.NewReader(strings.NewReader(capture)),
		tcpdumptext.Options{Location: time.UTC, Seq: tcpdumptext.SeqAbsolute})
	tr := track.New(track.Config{Done: func(c *tcpstate.Conn) {
		fmt.Printf("%v > %v: %d bytes, %v close\n", c.Client.AddrPort(), c.Server.AddrPort(),
			c.Client.Bytes, c.Teardown.Pattern)
		for _, ep := range []*tcpstate.Endpoint{&c.Client, &c.Server} {
			fmt.Print(ep.Initial)
			for _, t := range ep.Transitions {
				fmt.Printf(" -%d-> %v", t.Seg, t.To)
			}
			fmt.Println()
		}
	}})
	var f wire.Frame
	for in.Next(&f) == nil {
		tr.Frame(&f)
	}
	tr.Flush() // hands out the connections still held
	// Output:
	// 192.0.2.1:40000 > 198.51.100.2:80: 100 bytes, three-segment close
	// CLOSED -1-> SYN-SENT -2-> ESTABLISHED -6-> FIN-WAIT-1 -7-> FIN-WAIT-2 -7-> TIME-WAIT
	// LISTEN -1-> SYN-RECEIVED -3-> ESTABLISHED -6-> CLOSE-WAIT -7-> LAST-ACK -8-> CLOSED
}
