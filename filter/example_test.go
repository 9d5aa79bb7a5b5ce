package filter_test

import (
	"encoding/hex"
	"fmt"

	"synfin/filter"
	"synfin/wire"
)

// Example compiles a pcap-filter expression, as tcpdump takes it, and
// matches raw IP frames against it.
func Example() {
	f, err := filter.Compile("tcp[tcpflags] & tcp-syn != 0 and dst port 80", wire.LinkRaw)
	if err != nil {
		fmt.Println(err)
		return
	}
	frames := []struct{ name, hex string }{
		{"SYN to port 80", "4500002c0000400040064e95c0000201c63364029c400050000003e8000000006002faf010860000020405b4"},
		{"SYN-ACK from port 80", "4500002c0000400040064e95c6336402c000020100509c4000001388000003e96012fe88f9540000020405b4"},
		{"ACK to port 80", "450000280000400040064e99c0000201c63364029c400050000003e900001389501001f60da50000"},
	}
	for _, fr := range frames {
		b, _ := hex.DecodeString(fr.hex)
		fmt.Printf("%s: %v\n", fr.name, f.Match(b))
	}
	// Output:
	// SYN to port 80: true
	// SYN-ACK from port 80: false
	// ACK to port 80: false
}
