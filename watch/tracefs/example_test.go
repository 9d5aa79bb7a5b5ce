package tracefs_test

import (
	"fmt"

	"synfin/watch/tracefs"
)

// ExampleParse reads one line of trace_pipe.
func ExampleParse() {
	line := `curl-1234 [001] ..... 5043.123456: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41631 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED`
	var e tracefs.Event
	ok, _, err := tracefs.Parse([]byte(line), 0, &e)
	fmt.Println(ok, err, e.Local, e.Remote, e.Old.RFC(), "->", e.New.RFC(), e.Comm, e.Pid)
	// Output: true <nil> 127.0.0.1:41631 127.0.0.1:9988 SYN-SENT -> ESTABLISHED curl 1234
}
