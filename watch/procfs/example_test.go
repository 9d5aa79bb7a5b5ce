package procfs_test

import (
	"fmt"

	"synfin/watch/procfs"
)

// ExampleParseCounters reads /proc/net/netstat's text into nstat's names.
func ExampleParseCounters() {
	text := "TcpExt: SyncookiesSent ListenOverflows\nTcpExt: 3 17\nIpExt: InNoRoutes\nIpExt: 0\n"
	c := procfs.Counters{}
	if err := procfs.ParseCounters([]byte(text), c); err != nil {
		fmt.Println(err)
	}
	fmt.Println(c["TcpExtListenOverflows"], c["TcpExtSyncookiesSent"], len(c))
	// Output: 17 3 2
}
