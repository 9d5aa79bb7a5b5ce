package sockdiag_test

import (
	"fmt"

	"synfin/watch/sockdiag"
)

// Example counts this namespace's sockets by state, as ss -tan would
// list them, one at a time.
func Example() {
	c, err := sockdiag.Open("")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	counts := map[string]int{}
	err = c.Each(func(s *sockdiag.Socket) { counts[s.State.SS()]++ })
	fmt.Println(counts, err)
}
