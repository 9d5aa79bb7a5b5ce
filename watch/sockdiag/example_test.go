package sockdiag_test

import (
	"fmt"

	"synfin/watch/sockdiag"
)

// Example counts this namespace's sockets by state, as ss -tan would
// list them, one at a time.
func Example() {
	counts := map[string]int{}
	c, err := sockdiag.Open("")
	if err == nil {
		err = c.Each(func(s *sockdiag.Socket) { counts[s.State.SS()]++ })
		c.Close()
	}
	fmt.Println(counts, err)
}
