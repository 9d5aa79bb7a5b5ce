package watch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"synfin/internal/cli"
	"synfin/internal/testenv"
	"synfin/lab/netns"
)

// TestMain lets the test binary be the programs the tests start in a
// namespace: "hold", a process that accepts N connections and keeps
// them open without reading, and "synfin", the command line itself.
func TestMain(m *testing.M) {
	switch os.Getenv("SYNFIN_WATCH_HELPER") {
	case "hold":
		hold(os.Getenv("SYNFIN_HOLD_ADDR"), os.Getenv("SYNFIN_HOLD_N"))
		os.Exit(0)
	case "synfin":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// hold listens on addr, says "ready", accepts n connections, says
// "held" and keeps them until its standard input closes.
func hold(addr, n string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("ready")
	cnt, _ := strconv.Atoi(n)
	var conns []net.Conn
	for range cnt {
		c, err := ln.Accept()
		if err != nil {
			fmt.Println(err)
			return
		}
		conns = append(conns, c)
	}
	fmt.Println("held")
	io.Copy(io.Discard, os.Stdin)
	_ = conns
}

func newNS(t *testing.T) *netns.NS {
	t.Helper()
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	testenv.NeedTool(t, "ip")
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// helper starts the test binary as helper kind in ns with args.
func helper(t *testing.T, ns *netns.NS, kind string, env []string, args ...string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, os.Args[0]}, args...)...)
	cmd.Env = append(append(os.Environ(), "SYNFIN_WATCH_HELPER="+kind), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out), in
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	l, err := r.ReadString('\n')
	if strings.TrimSpace(l) != want {
		t.Fatalf("helper said %q (%v), want %q", l, err, want)
	}
}

// dial connects from inside ns.
func dial(t *testing.T, ns *netns.NS, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// inNS runs a program in ns and returns its standard output.
func inNS(t *testing.T, ns *netns.NS, env []string, name string, args ...string) string {
	t.Helper()
	testenv.NeedTool(t, name)
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return string(out)
}

// ssStates counts the sockets of ss -tan by RFC 9293 name.
func ssStates(t *testing.T, ns *netns.NS, filter ...string) map[string]int {
	names := map[string]string{"ESTAB": "ESTABLISHED", "SYN-RECV": "SYN-RECEIVED", "UNCONN": "CLOSED"}
	m := map[string]int{}
	for _, l := range strings.Split(inNS(t, ns, nil, "ss", append([]string{"-tan"}, filter...)...), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		st := f[0]
		if n, ok := names[st]; ok {
			st = n
		}
		m[st]++
	}
	return m
}

// nstat reads every counter with nstat -az, its history kept apart.
func nstat(t *testing.T, ns *netns.NS) map[string]uint64 {
	hist := "NSTAT_HISTORY=" + t.TempDir() + "/hist"
	m := map[string]uint64{}
	for _, l := range strings.Split(inNS(t, ns, []string{hist}, "nstat", "-az"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil {
				m[f[0]] = v
			}
		}
	}
	return m
}

// event is one line of watch --json.
type event struct {
	Type      string
	States    map[string]int
	Listeners []struct {
		Laddr                 string
		Lport, Queue, Backlog int
		SynRecv               int `json:"syn_recv"`
		Pid                   int
	}
	Counters map[string]uint64
	// transitions
	Laddr, Raddr, From, To, Comm string
	Lport, Rport, Pid            int
	MsInFrom                     *float64 `json:"ms_in_from"`
	// findings
	Kind, Text            string
	Count, Backlog, Queue int
	OldestS               float64 `json:"oldest_s"`
}

// runWatch runs synfin watch with args in process and returns its
// events; started (if not nil) is called once the first snapshot is out.
func runWatch(t *testing.T, started func(), args ...string) []event {
	t.Helper()
	r, w := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(context.Background(), append([]string{"watch", "--json"}, args...), strings.NewReader(""), w, &stderr)
		w.Close()
	}()
	var evs []event
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("watch printed %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
		if e.Type == "snapshot" && started != nil {
			started()
			started = nil
		}
	}
	if code := <-done; code != 0 {
		t.Fatalf("watch %q: exit %d: %s", args, code, stderr.String())
	}
	return evs
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
