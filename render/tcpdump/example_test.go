package tcpdump_test

import (
	"encoding/hex"
	"os"
	"time"

	"synfin/render/tcpdump"
	"synfin/wire"
)

// Example prints a handshake as "tcpdump -n -tt" does (the lines below
// are tcpdump 4.99's): the SYN-ACK, the conversation's first segment with
// an ACK, is printed absolute and sets the base of the relative numbers
// that follow.
func Example() {
	start := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	frames := []string{
		"4500002c0000400040064e95c0000201c63364029c400050000003e8000000006002faf010860000020405b4",
		"4500002c0000400040064e95c6336402c000020100509c4000001388000003e96012fe88f9540000020405b4",
		"450000280000400040064e99c0000201c63364029c400050000003e900001389501001f60da50000",
	}
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Time: tcpdump.TimeUnix})
	var line []byte
	for i, h := range frames {
		data, _ := hex.DecodeString(h)
		f := wire.Frame{Index: i + 1, Time: start + int64(i)*10e6, Link: wire.LinkRaw,
			CapLen: len(data), WireLen: len(data), Data: data}
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil {
			continue
		}
		line = pr.Append(line[:0], &f, &p)
		os.Stdout.Write(line)
	}
	// Output:
	// 1717243200.000000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [S], seq 1000, win 64240, options [mss 1460], length 0
	// 1717243200.010000 IP 198.51.100.2.80 > 192.0.2.1.40000: Flags [S.], seq 5000, ack 1001, win 65160, options [mss 1460], length 0
	// 1717243200.020000 IP 192.0.2.1.40000 > 198.51.100.2.80: Flags [.], ack 1, win 502, length 0
}
