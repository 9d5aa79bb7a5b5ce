package track

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/tcpstate"
)

// The kernel is the oracle here: real connections run in a network
// namespace while the tracepoint sock/inet_sock_set_state records every
// state change of every socket, ss lists the sockets left in TIME-WAIT
// (which the tracepoint never reports: a TIME-WAIT socket is a separate
// object and the full socket goes to CLOSE), and tcpdump captures the
// segments. The states synfin infers from the capture alone must equal
// the kernel's, endpoint by endpoint.

// kernelScenario drives one connection from the client (inside the
// namespace) against a server goroutine.
type kernelScenario struct {
	name   string
	listen bool
	server func(c *net.TCPConn) // runs on the accepted connection
	client func(c *net.TCPConn) // runs on the connected socket
}

var kernelScenarios = []kernelScenario{{
	name:   "client closes first",
	listen: true,
	server: func(c *net.TCPConn) { io.Copy(io.Discard, c); c.Close() },
	client: func(c *net.TCPConn) { c.Write([]byte("hello")); c.Close() },
}, {
	name:   "server closes first",
	listen: true,
	server: func(c *net.TCPConn) { c.Write([]byte("bye")); c.Close() },
	client: func(c *net.TCPConn) { io.Copy(io.Discard, c); c.Close() },
}, {
	name:   "half-close",
	listen: true,
	server: func(c *net.TCPConn) {
		io.Copy(io.Discard, c)
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("answer after your FIN"))
		time.Sleep(20 * time.Millisecond)
		c.Close()
	},
	client: func(c *net.TCPConn) { c.Write([]byte("question")); c.CloseWrite(); io.Copy(io.Discard, c); c.Close() },
}, {
	name:   "abort with RST (SO_LINGER 0)",
	listen: true,
	server: func(c *net.TCPConn) { io.Copy(io.Discard, c); c.Close() },
	client: func(c *net.TCPConn) {
		c.Write([]byte("x"))
		time.Sleep(20 * time.Millisecond)
		c.SetLinger(0)
		c.Close()
	},
}, {
	name:   "refused",
	listen: false,
}}

// testPort picks the n-th server port of a kernel test, from 11000 to
// 19999: above the lab's server ports (9988 on), below its client ports
// (20000 on) and the ephemeral range, so that no other test's socket
// shares it in the tracepoint, which sees every namespace.
func testPort(n int) int { return 11000 + (os.Getpid()*7+n*131)%9000 }

// loopbackNetns requires what every kernel test needs (the capabilities
// to make a namespace and capture in it, ip and tcpdump), creates a
// network namespace named synfin-PID-what with only lo, up, removed when
// the test ends, and returns the programs and the namespace. The name is
// the labs': a lab's sweep running meanwhile sees that its owner is alive.
func loopbackNetns(t *testing.T, what string) (ipTool, tcpdump, ns string) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	ipTool = testenv.NeedTool(t, "ip")
	tcpdump = testenv.NeedTool(t, "tcpdump")
	ns = fmt.Sprintf("synfin-%d-%s", os.Getpid(), what)
	if out, err := exec.Command(ipTool, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ipTool, "netns", "del", ns).Run() })
	if out, err := exec.Command(ipTool, "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	return ipTool, tcpdump, ns
}

func TestKernelOracle(t *testing.T) {
	ipTool, tcpdump, ns := loopbackNetns(t, "tcpstate")
	ss := testenv.NeedTool(t, "ss")
	trace := traceFS(t)

	for i, sc := range kernelScenarios {
		t.Run(sc.name, func(t *testing.T) {
			port := testPort(i)
			inst := traceInstance(t, trace, port)
			capture := filepath.Join(t.TempDir(), "lo.pcap")
			stop := startTcpdump(t, ipTool, tcpdump, ns, capture, port)

			runInNetns(t, ns, port, sc)
			time.Sleep(100 * time.Millisecond)
			tw := timeWaitSockets(t, ipTool, ss, ns, port)
			stop()
			kernel := readTrace(t, inst, port, tw)

			got := inferred(t, capture)
			if d := cmp.Diff(kernel, got); d != "" {
				t.Errorf("state changes per endpoint (-kernel +synfin):\n%s", d)
			}
			t.Logf("kernel: %v", kernel)
		})
	}
}

// traceFS finds tracefs, mounting it if it is mounted nowhere.
func traceFS(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && strings.HasPrefix(post, "tracefs ") {
			return f[4]
		}
	}
	const dir = "/sys/kernel/tracing"
	if err := unix.Mount("nodev", dir, "tracefs", 0, ""); err != nil {
		testenv.Unavailable(t, "cannot mount tracefs: "+err.Error())
	}
	return dir
}

// traceInstance makes a private tracing instance recording
// inet_sock_set_state for one port, removed when the test ends.
func traceInstance(t *testing.T, trace string, port int) string {
	// Named as the labs' instances are, for the same reason as loopbackNetns.
	inst := filepath.Join(trace, "instances", fmt.Sprintf("synfin-%d-tcpstate-%d", os.Getpid(), port))
	if err := os.Mkdir(inst, 0o755); err != nil {
		testenv.Unavailable(t, "cannot create a tracing instance: "+err.Error())
	}
	t.Cleanup(func() {
		os.WriteFile(filepath.Join(inst, "events/sock/inet_sock_set_state/enable"), []byte("0"), 0)
		os.Remove(inst)
	})
	ev := filepath.Join(inst, "events/sock/inet_sock_set_state")
	filter := fmt.Sprintf("protocol == 6 && (sport == %d || dport == %d)", port, port)
	if err := os.WriteFile(filepath.Join(ev, "filter"), []byte(filter), 0); err != nil {
		t.Fatalf("tracepoint filter: %v", err)
	}
	if err := os.WriteFile(filepath.Join(ev, "enable"), []byte("1"), 0); err != nil {
		t.Fatalf("enable tracepoint: %v", err)
	}
	return inst
}

// startTcpdump captures port on the namespace's loopback until stop.
func startTcpdump(t *testing.T, ipTool, tcpdump, ns, file string, port int) (stop func() string) {
	return pcaptest.StartTcpdump(t, exec.Command(ipTool, "netns", "exec", ns, tcpdump, "-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w", file, "tcp port "+strconv.Itoa(port)))
}

// runInNetns runs the scenario with sockets created inside namespace ns.
func runInNetns(t *testing.T, ns string, port int, sc kernelScenario) {
	errc := onNetnsThread(ns, func() error { return scenario(port, sc) })
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("scenario timed out")
	}
}

func scenario(port int, sc kernelScenario) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !sc.listen {
		_, err := net.Dial("tcp4", addr)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("dial without listener: %v, want connection refused", err)
		}
		return nil
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		sc.server(c.(*net.TCPConn))
	}()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return err
	}
	sc.client(c.(*net.TCPConn))
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		return errors.New("server did not finish")
	}
	time.Sleep(50 * time.Millisecond)
	return nil
}

// timeWaitSockets lists "local-port>peer-port" of the TIME-WAIT sockets
// involving port, from ss in the namespace.
func timeWaitSockets(t *testing.T, ipTool, ss, ns string, port int) map[string]bool {
	out, err := exec.Command(ipTool, "netns", "exec", ns, ss, "-tanH", "state", "time-wait").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	tw := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		lp, pp := portOf(f[len(f)-2]), portOf(f[len(f)-1])
		if lp == port || pp == port {
			tw[fmt.Sprintf("%d>%d", lp, pp)] = true
		}
	}
	return tw
}

func portOf(s string) int {
	i := strings.LastIndexByte(s, ':')
	n, _ := strconv.Atoi(s[i+1:])
	return n
}

var kernelStateNames = map[string]tcpstate.State{
	"TCP_ESTABLISHED": tcpstate.Established, "TCP_SYN_SENT": tcpstate.SynSent, "TCP_SYN_RECV": tcpstate.SynReceived,
	"TCP_FIN_WAIT1": tcpstate.FinWait1, "TCP_FIN_WAIT2": tcpstate.FinWait2, "TCP_TIME_WAIT": tcpstate.TimeWait,
	"TCP_CLOSE": tcpstate.Closed, "TCP_CLOSE_WAIT": tcpstate.CloseWait, "TCP_LAST_ACK": tcpstate.LastAck,
	"TCP_LISTEN": tcpstate.Listen, "TCP_CLOSING": tcpstate.Closing, "TCP_NEW_SYN_RECV": tcpstate.SynReceived,
}

// readTrace returns each connected socket's state changes, keyed
// "client"/"server", in RFC names. The listening socket is left out: it
// is a separate socket (CLOSED -> LISTEN -> CLOSED); a passive opener's
// own changes are those of the child socket. A final change to CLOSED of
// a socket ss lists in TIME-WAIT is its entry into TIME-WAIT.
func readTrace(t *testing.T, inst string, port int, tw map[string]bool) map[string][]string {
	evs := traceEvents(t, inst)
	out := map[string][]string{}
	for i, e := range evs {
		if e.peer == 0 {
			continue // the listening socket
		}
		side := "client"
		if e.local == port {
			side = "server"
		}
		to := e.to
		last := true
		for _, f := range evs[i+1:] {
			if f.local == e.local && f.peer == e.peer {
				last = false
			}
		}
		if last && to == tcpstate.Closed && tw[fmt.Sprintf("%d>%d", e.local, e.peer)] {
			to = tcpstate.TimeWait
		}
		out[side] = append(out[side], e.from.String()+">"+to.String())
	}
	return out
}

// traceEvent is one inet_sock_set_state record: a socket's local and
// peer ports and its change of state.
type traceEvent struct {
	local, peer int
	from, to    tcpstate.State
}

// traceEvents reads the tracing instance's records.
func traceEvents(t *testing.T, inst string) []traceEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(inst, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []traceEvent
	for _, line := range strings.Split(string(b), "\n") {
		i := strings.Index(line, "inet_sock_set_state:")
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(line[i+len("inet_sock_set_state:"):]) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		from, ok1 := kernelStateNames[kv["oldstate"]]
		to, ok2 := kernelStateNames[kv["newstate"]]
		if !ok1 || !ok2 {
			t.Fatalf("unknown kernel state in %q", line)
		}
		sp, _ := strconv.Atoi(kv["sport"])
		dp, _ := strconv.Atoi(kv["dport"])
		evs = append(evs, traceEvent{sp, dp, from, to})
	}
	return evs
}

// inferred runs the capture through the tracker and returns both
// endpoints' transitions, in the shape readTrace gives.
func inferred(t *testing.T, file string) map[string][]string {
	conns, err := trackFile(file, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 1 {
		var b bytes.Buffer
		for _, c := range conns {
			fmt.Fprintf(&b, " %s>%s", c.Client.AddrPort(), c.Server.AddrPort())
		}
		t.Fatalf("capture holds %d connections, want 1:%s", len(conns), b.String())
	}
	out := map[string][]string{}
	for side, ep := range map[string]*tcpstate.Endpoint{"client": &conns[0].Client, "server": &conns[0].Server} {
		for _, tr := range ep.Transitions {
			out[side] = append(out[side], tr.From.String()+">"+tr.To.String())
		}
	}
	return out
}

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
	var probeISN uint32 // set before probed is closed
	probed, checked := make(chan struct{}), make(chan struct{})
	done := onNetnsThread(ns, func() error {
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return err
		}
		defer ln.Close()
		lo := netip.MustParseAddr("127.0.0.1")
		if probeISN, err = lab.SendOldSYN(netip.AddrPortFrom(lo, uint16(probe)), netip.AddrPortFrom(lo, uint16(port))); err != nil {
			return err
		}
		// The SYN-ACK and the RST take microseconds on loopback.
		time.Sleep(200 * time.Millisecond)
		close(probed)
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
			return err
		}
		time.Sleep(50 * time.Millisecond)
		c.Close()
		time.Sleep(100 * time.Millisecond)
		return nil
	})
	select {
	case err := <-done:
		t.Fatalf("probe: %v", err)
	case <-probed:
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

// onNetnsThread runs fn on a thread of its own inside namespace ns and
// sends its result on the channel. The thread is left in the namespace
// and dies with the goroutine (no UnlockOSThread), so no other goroutine
// runs there.
func onNetnsThread(ns string, fn func() error) <-chan error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := enterNetns(ns); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return errc
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
