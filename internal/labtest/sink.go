package labtest

import (
	"io"
	"net"
	"testing"
	"time"

	"synfin/lab/netns"
)

// Sink listens on addr (IPv4) in ns and reads each connection to its
// end, waits wait (longer than the client's delayed ACK gives each FIN an
// ACK of its own) and closes it: a client that closes first leaves its
// end in TIME-WAIT.
func Sink(t testing.TB, ns *netns.NS, addr string, wait time.Duration) {
	t.Helper()
	var l net.Listener
	if err := ns.Do(func() (err error) { l, err = net.Listen("tcp4", addr); return }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				time.Sleep(wait)
				c.Close()
			}()
		}
	}()
}
