package track_test

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

// Example follows three connections of one capture, as tcpdump -S printed
// it: a port that refuses, an attempt whose SYN is never answered, and a
// connection that is established and still open when the capture ends.
// With only Config.Brief set, each is handed out as a Brief, the summary
// that one row of a table needs, when the tracker is done with it.
func Example() {
	const capture = `12:00:00.000000 IP 192.0.2.1.40000 > 198.51.100.2.81: Flags [S], seq 1000, win 64240, length 0
12:00:00.001000 IP 198.51.100.2.81 > 192.0.2.1.40000: Flags [R.], seq 0, ack 1001, win 0, length 0
12:00:00.002000 IP 192.0.2.1.40001 > 198.51.100.3.80: Flags [S], seq 2000, win 64240, length 0
12:00:00.010000 IP 192.0.2.1.40002 > 198.51.100.2.80: Flags [S], seq 3000, win 64240, length 0
12:00:00.020000 IP 198.51.100.2.80 > 192.0.2.1.40002: Flags [S.], seq 7000, ack 3001, win 65160, length 0
12:00:00.030000 IP 192.0.2.1.40002 > 198.51.100.2.80: Flags [.], ack 7001, win 502, length 0
`
	in := tcpdumptext.NewReader(bufio.NewReader(strings.NewReader(capture)),
		tcpdumptext.Options{Location: time.UTC, Seq: tcpdumptext.SeqAbsolute})
	tr := track.New(track.Config{Brief: func(b *tcpstate.Brief) {
		fmt.Printf("%d %v > %v: %v/%v, %v, ended %v\n", b.ID, b.Client, b.Server,
			b.ClientState, b.ServerState, b.Pattern, b.End)
	}})
	var f wire.Frame
	for in.Next(&f) == nil {
		tr.Frame(&f)
	}
	tr.Flush() // the capture has ended: hand out what is still held, in ID order
	// Output:
	// 1 192.0.2.1:40000 > 198.51.100.2:81: CLOSED/CLOSED, refused, ended closed
	// 2 192.0.2.1:40001 > 198.51.100.3:80: SYN-SENT/UNKNOWN, none, ended capture-end
	// 3 192.0.2.1:40002 > 198.51.100.2:80: ESTABLISHED/ESTABLISHED, incomplete, ended capture-end
}
