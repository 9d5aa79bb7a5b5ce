package vantage_test

import (
	"context"
	"fmt"

	"synfin/input"
	"synfin/vantage"
)

// Compare a client's side and a server's side capture of the lab's
// syn-retransmit scenario, whose router dropped the first SYN-ACK.
func ExampleCompare() {
	var caps [2]*vantage.Capture
	for i, name := range []string{"testdata/syn-retransmit.pcap", "testdata/syn-retransmit.server.pcap"} {
		src, err := input.Open(name, nil, input.Options{})
		if err != nil {
			fmt.Println(err)
			return
		}
		caps[i], err = vantage.Read(context.Background(), name, src, nil)
		src.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	r := vantage.Compare(caps[0], caps[1])
	c := r.Connections[0]
	fmt.Println("matched by", c.MatchedBy, "client side", c.ClientSide)
	fmt.Println("translated", c.Changes[0].From, "->", c.Changes[0].To)
	for _, s := range c.Segments {
		if s.Status == vantage.Lost {
			fmt.Printf("lost: %s [%s] B#%d\n", s.Dir, s.Flags, s.FrameB)
		}
	}
	// Output:
	// matched by [isn timestamps] client side A
	// translated 192.0.2.2:29681 -> 198.51.100.1:29681
	// lost: s2c [S.] B#4
}
