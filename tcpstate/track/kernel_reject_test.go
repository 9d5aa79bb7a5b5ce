package track

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/tcpstate"
)

// TestKernelRejectedSYNACK sends a SYN from a port where nothing has a
// socket, as a half-open port probe or a duplicate of an old SYN would, to
// a listener in a network namespace. The server's kernel answers with a
// SYN-ACK; the client's, which has no such connection, with a bare RST. A
// normal connection follows from another port, so that the tracepoint is
// seen to work.
//
// The kernel is the oracle for what synfin infers from the capture: no
// socket on the probe's tuple ever changes state (tracepoint), so neither
// end was ever ESTABLISHED; the listener is still in LISTEN and keeps no
// half-open request (ss), so the server went back to LISTEN; nothing holds
// the probe's port (ss), so the client end is CLOSED.
func TestKernelRejectedSYNACK(t *testing.T) {
	ipTool, tcpdump, ns := loopbackNetns(t, "reject")
	ss := testenv.NeedTool(t, "ss")
	trace := traceFS(t)
	port, probe := testPort(200), testPort(201)
	inst := traceInstance(t, trace, port)
	capture := filepath.Join(t.TempDir(), "lo.pcap")
	stop := startTcpdump(t, ipTool, tcpdump, ns, capture, port)

	// The namespace's sockets live on a thread of their own, which stays
	// there and ends with its goroutine.
	var probeISN uint32 // set before probed is sent on
	probed, checked := make(chan error, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := enterNetns(ns); err != nil {
			probed <- err
			return
		}
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			probed <- err
			return
		}
		defer ln.Close()
		lo := netip.MustParseAddr("127.0.0.1")
		if probeISN, err = lab.SendOldSYN(netip.AddrPortFrom(lo, uint16(probe)), netip.AddrPortFrom(lo, uint16(port))); err != nil {
			probed <- err
			return
		}
		// The SYN-ACK and the RST take microseconds on loopback.
		time.Sleep(200 * time.Millisecond)
		probed <- nil
		<-checked
		// The control: a connection the kernel reports.
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Close()
			}
		}()
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			done <- err
			return
		}
		time.Sleep(50 * time.Millisecond)
		c.Close()
		time.Sleep(100 * time.Millisecond)
		done <- nil
	}()
	if err := <-probed; err != nil {
		t.Fatal(err)
	}
	inNetns := func(filter ...string) []string {
		t.Helper()
		args := append([]string{"netns", "exec", ns, ss, "-Htan"}, filter...)
		out, err := exec.Command(ipTool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ss %s: %v: %s", strings.Join(filter, " "), err, out)
		}
		return strings.Fields(strings.TrimSpace(string(out)))
	}
	listening := inNetns("state", "listening", fmt.Sprintf("sport = :%d", port))
	halfOpen := inNetns("state", "syn-recv", fmt.Sprintf("sport = :%d", port))
	probeSockets := inNetns(fmt.Sprintf("sport = :%d or dport = :%d", probe, probe))
	close(checked)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stop()

	// What tcpdump shows: the SYN, the SYN-ACK and a bare RST whose
	// sequence number is the SYN-ACK's acknowledgment.
	lines := tcpdumpLines(t, tcpdump, capture, fmt.Sprintf("port %d", probe))
	next := fmt.Sprint(probeISN + 1)
	if len(lines) != 3 || !strings.Contains(lines[0], "Flags [S],") || !strings.Contains(lines[1], "Flags [S.],") ||
		!strings.Contains(lines[1], "ack "+next+",") || !strings.Contains(lines[2], "Flags [R], seq "+next+",") {
		t.Fatalf("tcpdump shows:\n%s\nwant SYN, SYN-ACK (ack %s), RST (seq %s)", strings.Join(lines, "\n"), next, next)
	}
	kernel := readTraceTuples(t, inst, port)
	if len(kernel[probe]) != 0 {
		t.Errorf("the kernel reports state changes on the probe's tuple: %v", kernel[probe])
	}
	if len(kernel) == 0 {
		t.Fatal("the tracepoint reported no socket, not even the control connection's")
	}
	if len(listening) == 0 || len(halfOpen) != 0 {
		t.Errorf("ss: listener %q, half-open requests %q; want the listener and none", listening, halfOpen)
	}
	if len(probeSockets) != 0 {
		t.Errorf("ss: sockets on the probe's port %d: %q, want none", probe, probeSockets)
	}

	conns, err := trackFile(capture, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var c *tcpstate.Conn
	for _, x := range conns {
		if x.Client.Port == uint16(probe) {
			c = x
		}
	}
	if c == nil {
		t.Fatalf("no connection from port %d among %d", probe, len(conns))
	}
	if !c.Handshake.Rejected {
		t.Error("Handshake.Rejected is false")
	}
	for _, ep := range []*tcpstate.Endpoint{&c.Client, &c.Server} {
		for _, tr := range ep.Transitions {
			// RFC 9293's synchronized states: ESTABLISHED and later.
			if tr.To >= tcpstate.Established {
				t.Errorf("%s:%d enters %s at #%d; the kernel never had that connection", ep.Addr, ep.Port, tr.To, tr.Seg)
			}
		}
	}
	wantFinal := map[string]tcpstate.State{"client": tcpstate.Closed, "server": tcpstate.Listen}
	for side, ep := range map[string]*tcpstate.Endpoint{"client": &c.Client, "server": &c.Server} {
		if ep.State != wantFinal[side] {
			t.Errorf("%s ends in %s; ss says %s", side, ep.State, wantFinal[side])
		}
	}
}

func enterNetns(ns string) error {
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	return nil
}

// tcpdumpLines reads file with tcpdump -n -S and filter expr.
func tcpdumpLines(t *testing.T, tcpdump, file, expr string) []string {
	t.Helper()
	out, err := exec.Command(tcpdump, "-n", "-S", "-r", file, expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -r: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// readTraceTuples returns the state changes the tracepoint reported for
// each connected socket on port, keyed by the client's port.
func readTraceTuples(t *testing.T, inst string, port int) map[int][]string {
	out := map[int][]string{}
	for _, e := range traceEvents(t, inst) {
		if e.peer == 0 {
			continue // the listening socket
		}
		client := e.local
		if e.local == port {
			client = e.peer
		}
		out[client] = append(out[client], e.from.String()+">"+e.to.String())
	}
	return out
}
