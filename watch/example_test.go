package watch_test

import (
	"fmt"
	"net/netip"

	"synfin/watch"
)

// ExampleMatcher keeps sockets by tcpdump's filter language: src is the
// socket's local end.
func ExampleMatcher() {
	m, err := watch.CompileMatcher("src port 9988 and dst net 10.0.0.0/8")
	ap := netip.MustParseAddrPort
	fmt.Println(err)
	fmt.Println(m.Match(ap("10.1.1.1:9988"), ap("10.2.2.2:41631")), m.Match(ap("10.2.2.2:41631"), ap("10.1.1.1:9988")))
	fmt.Println(m.Match(ap("[::1]:9988"), ap("[::1]:41631")))
	// Output:
	// <nil>
	// true false
	// false
}
