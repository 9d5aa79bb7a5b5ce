package zeekconn_test

import (
	"fmt"
	"slices"
	"strings"

	"synfin/input"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
	"synfin/zeekconn"
)

// reusedAfterReset is the tuple of ExampleEarlier, as tcpdump -S prints it.
const reusedAfterReset = `12:00:00.000000 IP 198.51.100.135.60293 > 192.0.2.111.502: Flags [S], seq 0, win 65535, length 0
12:00:00.000058 IP 192.0.2.111.502 > 198.51.100.135.60293: Flags [S.], seq 3565456408, ack 1, win 64240, length 0
12:00:00.117322 IP 198.51.100.135.60293 > 192.0.2.111.502: Flags [R], seq 1, win 0, length 0
12:00:15.708457 IP 198.51.100.135.60293 > 192.0.2.111.502: Flags [.], seq 1:110, ack 3565456409, win 64240, length 109
12:00:15.708511 IP 192.0.2.111.502 > 198.51.100.135.60293: Flags [R], seq 3565456409, win 0, length 0
`

// ExampleEarlier follows a tuple as the corpus's modbus trace shows it: a
// client resets the SYN-ACK of a listener on port 502, then 16 s later
// sends data on the same ports, which the listener resets. The tracker
// keeps one connection; Zeek deleted the first tcp_close_delay (5 s)
// after its RST and logged the data as a row of its own, which an
// Observer with SplitRows gives as Earlier and Fields.
func ExampleEarlier() {
	cfg := &zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts(), SplitRows: true}
	tr := track.New(track.Config{Observer: zeekconn.Observer(cfg), Done: func(c *tcpstate.Conn) {
		last, _ := zeekconn.Fields(c)
		for _, r := range slices.Concat(zeekconn.Earlier(c), []zeekconn.Record{last}) {
			fmt.Printf("connection %d: %s %s, %d+%d packets, %d bytes from %v\n",
				c.ID, r.ConnState, r.History, r.OrigPkts, r.RespPkts, r.OrigBytes, r.Orig)
		}
	}})
	in, err := input.FromReader(strings.NewReader(reusedAfterReset), input.Options{}) // tcpdump -S text, known by its content
	if err != nil {
		panic(err)
	}
	for f := new(wire.Frame); in.Next(f) == nil; {
		tr.Frame(f)
	}
	tr.Flush()
	// Output:
	// connection 1: RSTO ShR, 2+1 packets, 0 bytes from 198.51.100.135:60293
	// connection 1: RSTRH Dr, 1+1 packets, 109 bytes from 198.51.100.135:60293
}
