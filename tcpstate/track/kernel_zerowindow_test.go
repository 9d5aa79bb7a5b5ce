package track

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"synfin/internal/testenv"
)

// stalledReceiver is a connection whose server stops reading: the
// client's writes fill the server's receive buffer, the server advertises
// a zero window, and the client's kernel probes it until the server
// drains the buffer. A server that shrinks its buffer below the window
// it already offered drops what it acknowledged no room for, and the
// client retransmits into the zero window instead.
func stalledReceiver(drain chan struct{}, shrink bool) kernelScenario {
	return kernelScenario{
		listen: true,
		server: func(c *net.TCPConn) {
			if shrink {
				c.SetReadBuffer(4096)
			}
			<-drain
			io.Copy(io.Discard, c)
			c.Close()
		},
		client: func(c *net.TCPConn) {
			c.SetWriteBuffer(4096)
			// Writing blocks once both buffers are full; the deadline
			// leaves the connection stalled for 2 s, time for the
			// probes' backed-off timer (200 ms, 400 ms, 800 ms) to fire.
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			chunk := make([]byte, 16384)
			for {
				if _, err := c.Write(chunk); err != nil {
					break
				}
			}
			close(drain)
			time.Sleep(100 * time.Millisecond)
			c.Close()
		},
	}
}

// TestKernelZeroWindowAgreesWithTshark records a real zero-window stall
// in a network namespace and requires synfin's anomalies to equal
// tshark's flags on every segment. Linux probes a zero window with a
// segment one byte below the next sequence number and no data
// (tcp_xmit_probe_skb), which Wireshark's definitions call a keep-alive,
// not a zero-window probe (those carry one new byte).
func TestKernelZeroWindowAgreesWithTshark(t *testing.T) {
	ipTool, tcpdump, ns := loopbackNetns(t, "zerowin")
	tshark := testenv.NeedTool(t, "tshark")
	for i, tc := range []struct {
		name   string
		shrink bool
		want   []string
	}{
		{"probes", false, []string{"tcp.analysis.zero_window", "tcp.analysis.window_full", "tcp.analysis.keep_alive", "tcp.analysis.window_update"}},
		{"shrunk buffer", true, []string{"tcp.analysis.zero_window", "tcp.analysis.retransmission"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := testPort(100 + i)
			capture := filepath.Join(t.TempDir(), "zerowindow.pcap")
			stop := startTcpdump(t, ipTool, tcpdump, ns, capture, port)
			runInNetns(t, ns, port, stalledReceiver(make(chan struct{}), tc.shrink))
			time.Sleep(100 * time.Millisecond)
			stop()

			total := agreeWithTshark(t, tshark, capture, tc.want)
			t.Logf("anomalies in the kernel's zero-window stall:\n%s", agreementTable(total))
		})
	}
}
