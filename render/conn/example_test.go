package conn_test

import (
	"bytes"
	"fmt"
	"os"

	"synfin/gen"
	"synfin/input"
	"synfin/render/conn"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// Tracks a generated capture of three connections and prints the conns
// table, one row as the tracker hands each connection out, into a buffer
// reused from row to row.
func Example() {
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 3, Seed: 1}); err != nil {
		fmt.Println(err)
		return
	}
	src, err := input.FromReader(&capture, input.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.WriteString(conn.Header)
	var line []byte
	t := track.New(track.Config{Brief: func(c *tcpstate.Brief) {
		line = conn.AppendRow(line[:0], c)
		os.Stdout.Write(line)
	}})
	var f wire.Frame
	for src.Next(&f) == nil {
		t.Frame(&f)
	}
	t.Flush()
	// Output:
	// id               start client                                          server                                          states (client/server)    teardown               duration         bytes c>s/s>c anomalies
	// 1    1717243200.000000 10.158.71.121:32899                             192.168.0.11:9988                               TIME-WAIT/CLOSED          four-segment           1.471423               351/489 retransmission,syn-retransmit
	// 2    1717243200.000106 10.245.227.34:47358                             192.168.0.11:9988                               TIME-WAIT/CLOSED          four-segment           0.989278               349/349 -
	// 3    1717243200.001679 10.213.238.203:33417                            192.168.0.10:9988                               TIME-WAIT/CLOSED          four-segment           1.415574               294/438 -
}
