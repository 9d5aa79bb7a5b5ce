package track

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is left in the namespace and dies with the goroutine
		// (no UnlockOSThread), so no other goroutine runs there.
		if err := enterNetns(ns); err != nil {
			errc <- err
			return
		}
		errc <- scenario(port, sc)
	}()
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
