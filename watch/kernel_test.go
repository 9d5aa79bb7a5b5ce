package watch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"synfin/internal/cli"
	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab/netns"
	"synfin/watch/procfs"
)

// populations makes, in ns, n sockets in CLOSE-WAIT held by a child
// process (whose pid it returns), m in TIME-WAIT, and a listener on
// 127.0.0.1:7003 with backlog 10 that never accepts, with 15 clients.
func populations(t *testing.T, ns *netns.NS, n, m int) (holder int) {
	t.Helper()
	cmd, out, _ := helper(t, ns, "hold", []string{"SYNFIN_HOLD_ADDR=127.0.0.1:7001", "SYNFIN_HOLD_N=" + strconv.Itoa(n)})
	expectLine(t, out, "ready")
	var clients []net.Conn
	for range n {
		clients = append(clients, dial(t, ns, "127.0.0.1:7001"))
	}
	expectLine(t, out, "held")
	for _, c := range clients {
		c.Close() // the holder reads nothing: its ends stay in CLOSE-WAIT
	}

	// TIME-WAIT: the client closes first, the server answers its FIN.
	labtest.Sink(t, ns, "127.0.0.1:7002", 0)
	for range m {
		dial(t, ns, "127.0.0.1:7002").Close()
	}

	// A listener that never accepts: backlog 10, 15 clients.
	var fd int
	if err := ns.Do(func() (err error) {
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrInet4{Port: 7003, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			return err
		}
		return unix.Listen(fd, 10)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); unix.Close(fd) })
	for range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns.Do(func() error {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", "127.0.0.1:7003")
				if err == nil {
					<-ctx.Done()
					c.Close()
				}
				return nil
			})
		}()
	}
	// The clients past the backlog either wait in SYN-SENT (their SYN
	// came when the queue was full) or have their handshake held
	// unfinished by the listener in SYN-RECEIVED (their SYN came first,
	// their ACK when it was full): which, depends on how the SYNs raced.
	var last string
	waitFor(t, "the populations", func() bool {
		s, o := ssStates(t, ns), nstat(t, ns)["TcpExtListenOverflows"]
		last = fmt.Sprintf("ss -tan %v, ListenOverflows %d", s, o)
		return s["CLOSE-WAIT"] == n && s["TIME-WAIT"] == m && s["SYN-SENT"]+s["SYN-RECEIVED"] > 0 && o > 0
	}, &last)
	return cmd.Process.Pid
}

// TestPopulations: with known populations of sockets in a namespace,
// watch's state counts equal ss -tan's, its counters nstat's, the leak
// finding names the holding process and the queue finding the
// listener's port and backlog as ss shows them.
func TestPopulations(t *testing.T) {
	ns := newNS(t)
	const n, m = 5, 20
	pid := populations(t, ns, n, m)
	time.Sleep(1100 * time.Millisecond) // older than --close-wait-age

	ssBefore, nsBefore := ssStates(t, ns), nstat(t, ns)
	evs := runWatch(t, nil, "--netns", ns.Name, "--interval", "1s", "--for", "2500ms", "--close-wait-age", "1s")
	ssAfter, nsAfter := ssStates(t, ns), nstat(t, ns)
	if d := cmp.Diff(ssBefore, ssAfter); d != "" {
		t.Fatalf("the populations changed while watch ran (-before +after):\n%s", d)
	}
	var snaps int
	leak, queue := false, false
	for _, e := range evs {
		switch e.Type {
		case "snapshot":
			snaps++
			got := maps.Clone(e.States)
			maps.DeleteFunc(got, func(_ string, v int) bool { return v == 0 })
			if d := cmp.Diff(ssBefore, got); d != "" {
				t.Errorf("snapshot %d: states differ from ss -tan (-ss +watch):\n%s", snaps, d)
			}
			for _, name := range procfs.Watched {
				v, lo, hi := e.Counters[name], nsBefore[name], nsAfter[name]
				if v < lo || v > hi {
					t.Errorf("snapshot %d: %s = %d, nstat read %d before and %d after", snaps, name, v, lo, hi)
				}
			}
		case "finding":
			switch e.Kind {
			case "close-wait-leak":
				leak = true
				if e.Pid != pid || e.Count != n || e.OldestS < 1 {
					t.Errorf("leak finding %+v: want pid %d, %d sockets, older than 1 s", e, pid, n)
				}
				if !strings.Contains(e.Text, "(pid "+strconv.Itoa(pid)+") holds 5 sockets in CLOSE-WAIT") {
					t.Errorf("leak text %q", e.Text)
				}
			case "accept-queue-full":
				queue = true
				want := ssListener(t, ns, "127.0.0.1:7003")
				if e.Lport != 7003 || e.Backlog != 10 || [2]int{e.Queue, e.Backlog} != want {
					t.Errorf("queue finding %+v: want port 7003, queue/backlog %v as ss -tln", e, want)
				}
				if !strings.Contains(e.Text, ":7003 is not calling accept() fast enough; its backlog is 10") {
					t.Errorf("queue text %q", e.Text)
				}
			default:
				t.Errorf("unexpected finding %+v", e)
			}
		}
	}
	if snaps < 3 || !leak || !queue {
		t.Errorf("%d snapshots, leak finding %v, queue finding %v", snaps, leak, queue)
	}

	// The screen (printed once per interval when not on a terminal)
	// shows the counts and the listener's queue as ss does.
	var out, errb strings.Builder
	if code := cli.Main(context.Background(), []string{"watch", "--netns", ns.Name, "--for", "100ms", "--close-wait-age", "1s"},
		strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("watch: exit %d: %s", code, errb.String())
	}
	q := ssListener(t, ns, "127.0.0.1:7003")
	for _, want := range []string{
		"  CLOSE-WAIT " + strconv.Itoa(ssBefore["CLOSE-WAIT"]) + "\n", "  TIME-WAIT " + strconv.Itoa(ssBefore["TIME-WAIT"]) + "  ",
		fmt.Sprintf("127.0.0.1:7003 %13d / %-5d [####################]", q[0], q[1]),
		fmt.Sprintf("watch.test (%d)", pid),
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the screen lacks %q:\n%s", want, out.String())
		}
	}

	// EXPR keeps the sockets that ss's own filter language picks.
	evs = runWatch(t, nil, "--netns", ns.Name, "--for", "100ms", "src port 7001 or dst port 7002")
	want := ssStates(t, ns, "( sport = :7001 or dport = :7002 )")
	got := maps.Clone(evs[0].States)
	maps.DeleteFunc(got, func(_ string, v int) bool { return v == 0 })
	if d := cmp.Diff(want, got); d != "" || len(want) < 2 {
		t.Errorf("with EXPR: states differ from ss's filter (-ss +watch):\n%s", d)
	}
}

// ssListener returns a listener's Recv-Q and Send-Q by ss -tln.
func ssListener(t *testing.T, ns *netns.NS, addr string) [2]int {
	for _, l := range strings.Split(inNS(t, ns, nil, "ss", "-tln"), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[3] == addr {
			q, _ := strconv.Atoi(f[1])
			b, _ := strconv.Atoi(f[2])
			return [2]int{q, b}
		}
	}
	t.Fatalf("ss -tln shows no %s", addr)
	return [2]int{}
}

// TestTransitions: connections made while watch runs, closed by the
// client first, are reported by the tracepoint through every state
// RFC 9293 takes each end through, for exactly the client ports ss
// shows in TIME-WAIT afterwards; the connect is credited to this
// process, and each later state change says how long the state lasted;
// through eBPF, and through tracefs.
func TestTransitions(t *testing.T) {
	for _, flags := range [][]string{nil, {"--tracefs"}} {
		t.Run(fmt.Sprint(flags), func(t *testing.T) { testTransitions(t, flags) })
	}
}

func testTransitions(t *testing.T, flags []string) {
	ns := newNS(t)
	labtest.Sink(t, ns, "127.0.0.1:7005", 0)
	const conns = 3
	evs := runWatch(t, func() {
		for range conns {
			dial(t, ns, "127.0.0.1:7005").Close()
		}
		waitFor(t, "TIME-WAIT", func() bool { return ssStates(t, ns)["TIME-WAIT"] == conns })
	}, append(flags, "--netns", ns.Name, "--interval", "1s", "--for", "2s", "port 7005")...)
	var tw []string
	for _, l := range strings.Split(inNS(t, ns, nil, "ss", "-tan", "state", "time-wait"), "\n")[1:] {
		if f := strings.Fields(l); len(f) >= 4 {
			_, port, _ := net.SplitHostPort(f[2])
			tw = append(tw, port)
		}
	}
	if len(tw) != conns {
		t.Fatalf("ss shows TIME-WAIT for %q", tw)
	}
	client := map[string][]string{}
	server := map[string][]string{}
	for _, e := range evs {
		if e.Type != "transition" {
			continue
		}
		step := e.From + ">" + e.To
		if e.MsInFrom != nil {
			step += " timed"
		}
		switch {
		case e.Lport == 0 && e.Rport == 7005:
			if e.Pid != os.Getpid() || step != "CLOSED>SYN-SENT" {
				t.Errorf("connect: %s by pid %d, want CLOSED>SYN-SENT by %d", step, e.Pid, os.Getpid())
			}
		case e.Rport == 7005:
			p := strconv.Itoa(e.Lport)
			client[p] = append(client[p], step)
		case e.Lport == 7005:
			p := strconv.Itoa(e.Rport)
			server[p] = append(server[p], step)
		}
	}
	for _, p := range tw {
		want := []string{"SYN-SENT>ESTABLISHED", "ESTABLISHED>FIN-WAIT-1 timed", "FIN-WAIT-1>FIN-WAIT-2 timed", "FIN-WAIT-2>CLOSED timed"}
		if d := cmp.Diff(want, client[p]); d != "" {
			t.Errorf("client port %s (-want +got):\n%s", p, d)
		}
		want = []string{"LISTEN>SYN-RECEIVED", "SYN-RECEIVED>ESTABLISHED timed", "ESTABLISHED>CLOSE-WAIT timed", "CLOSE-WAIT>LAST-ACK timed", "LAST-ACK>CLOSED timed"}
		if d := cmp.Diff(want, server[p]); d != "" {
			t.Errorf("server side of port %s (-want +got):\n%s", p, d)
		}
	}
	if len(client) != conns {
		t.Errorf("transitions of %d client ports, ss shows %d in TIME-WAIT", len(client), conns)
	}
}

// TestPrometheus: a Prometheus server (Debian's) scrapes watch --metrics
// in a namespace, and a query through its HTTP API returns the
// CLOSE-WAIT gauge: the n sockets a child process holds.
func TestPrometheus(t *testing.T) {
	ns := newNS(t)
	prom := testenv.NeedTool(t, "prometheus")
	const n = 3
	populations(t, ns, n, 1)
	_, out, _ := helper(t, ns, "synfin", nil, "watch", "--json", "--interval", "1s", "--for", "60s", "--metrics", "127.0.0.1:9464")
	if _, err := out.ReadString('\n'); err != nil { // the first snapshot: metrics are served
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: synfin\n    static_configs:\n      - targets: ['127.0.0.1:9464']\n"), 0o644)
	cmd := exec.Command("ip", "netns", "exec", ns.Name, prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9090", "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = ns.Do(func() (err error) { c, err = (&net.Dialer{}).DialContext(ctx, network, addr); return err })
			return c, err
		},
	}}
	q := "http://127.0.0.1:9090/api/v1/query?query=" + url.QueryEscape(`synfin_watch_sockets{state="CLOSE-WAIT"}`)
	var got string
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && got != strconv.Itoa(n); time.Sleep(500 * time.Millisecond) {
		got = query(client, q)
	}
	if got != strconv.Itoa(n) {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("Prometheus answered %s for the CLOSE-WAIT gauge, want %d\n%s", got, n, log)
	}

	// The README's query for each finding is one Prometheus accepts, and
	// that is all it says.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```promql\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no promql block")
	}
	for _, pq := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		resp, err := client.Get("http://127.0.0.1:9090/api/v1/query?query=" + url.QueryEscape(pq))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("README's %q: %s", pq, body)
		}
	}
}

// query returns the value of an instant query's single sample, or what
// went wrong.
func query(c *http.Client, q string) string {
	resp, err := c.Get(q)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var v struct {
		Data struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return err.Error()
	}
	if len(v.Data.Result) != 1 {
		return fmt.Sprintf("%d samples", len(v.Data.Result))
	}
	s, _ := v.Data.Result[0].Value[1].(string)
	return s
}

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
func waitFor(t *testing.T, what string, cond func() bool, state ...*string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(end) {
			if len(state) > 0 {
				what += " (" + *state[0] + ")"
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUnprivileged: run as nobody with no capability, watch says in one
// line that it cannot follow transitions and polls sock_diag, whose
// counts are still ss's; the leak is found, its process unnamed (another
// user's file descriptors cannot be read).
func TestUnprivileged(t *testing.T) {
	ns := newNS(t)
	setpriv := testenv.NeedTool(t, "setpriv")
	const n = 2
	populations(t, ns, n, 3)
	// The test binary, where nobody may run it.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "watch.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	want := ssStates(t, ns)
	cmd := exec.Command("ip", "netns", "exec", ns.Name, setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", bin, "watch", "--json", "--for", "1500ms", "--interval", "1s", "--close-wait-age", "1s")
	cmd.Env = append(os.Environ(), "SYNFIN_WATCH_HELPER=synfin")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	if l := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(l) != 1 || !strings.HasPrefix(l[0], "synfin watch: no transitions (") {
		t.Errorf("standard error: %q, want one line saying there are no transitions", stderr.String())
	}
	var leak bool
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		switch e.Type {
		case "snapshot":
			maps.DeleteFunc(e.States, func(_ string, v int) bool { return v == 0 })
			if d := cmp.Diff(want, e.States); d != "" || !strings.Contains(l, `"source":"sock_diag"`) {
				t.Errorf("snapshot differs from ss -tan (-ss +watch):\n%s%s", d, l)
			}
		case "finding":
			leak = leak || e.Kind == "close-wait-leak" && e.Pid == 0 && e.Count == n && strings.Contains(e.Text, "run it as root")
		}
	}
	if !leak {
		t.Errorf("no unowned leak finding:\n%s", stdout.String())
	}
}

// failOn is standard output that fails, as a pipe whose reader has gone
// does, from the first write that holds what; wrote is closed at the
// first write that succeeds.
type failOn struct {
	mu     sync.Mutex
	what   string
	failed bool
	wrote  chan struct{}
}

func (w *failOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed = w.failed || strings.Contains(string(p), w.what); w.failed {
		return 0, &os.PathError{Op: "write", Path: "|1", Err: syscall.EPIPE}
	}
	select {
	case <-w.wrote:
	default:
		close(w.wrote)
	}
	return len(p), nil
}

// TestWriteError: watch ends at the first write to standard output that
// fails, as read does (its behaviour on the same pipe is the oracle):
// exit 1 and one line naming the error, rather than watching on into
// nothing, as `synfin watch --json | head -1` would once head is gone.
// (The binary gets SIGPIPE from such a write on descriptor 1 first; in
// process, as for any other descriptor, the write returns EPIPE.) The
// snapshot's write fails first; then, with an hour between snapshots,
// the write of a transition the namespace's connections make.
func TestWriteError(t *testing.T) {
	ns := newNS(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	defer pw.Close()
	var rerr strings.Builder
	rcode := cli.Main(context.Background(), []string{"read", "-r", "../lab/verdict/testdata/k-time-wait-reuse.pcap"}, nil, pw, &rerr)
	if rcode != 1 || strings.Count(rerr.String(), "\n") != 1 || !strings.HasSuffix(rerr.String(), ": broken pipe\n") {
		t.Fatalf("read into a closed pipe: exit %d, %q", rcode, rerr.String())
	}
	labtest.Sink(t, ns, "127.0.0.1:7004", 0)
	// The transition's write fails once the first snapshot is written:
	// only the transition can end the run then.
	transition := &failOn{what: `"type":"transition"`, wrote: make(chan struct{})}
	go func() {
		<-transition.wrote
		for range 20 {
			ns.Do(func() error {
				c, err := net.DialTimeout("tcp", "127.0.0.1:7004", time.Second)
				if err == nil {
					c.Close()
				}
				return err
			})
		}
	}()
	for _, c := range []struct {
		name   string
		stdout io.Writer
		args   []string
	}{
		{"json, closed pipe", pw, []string{"--json"}},
		{"screen, closed pipe", pw, nil},
		{"json, a transition", transition, []string{"--json", "--interval", "1h", "port 7004"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var errb strings.Builder
			code := cli.Main(ctx, append([]string{"watch", "--netns", ns.Name}, c.args...), nil, c.stdout, &errb)
			if code != rcode || strings.Count(errb.String(), "\n") != 1 || !strings.HasPrefix(errb.String(), "synfin watch: ") ||
				!strings.HasSuffix(errb.String(), ": broken pipe\n") || ctx.Err() != nil {
				t.Errorf("exit %d, %q (context: %v); read exits %d with %q", code, errb.String(), ctx.Err(), rcode, rerr.String())
			}
		})
	}
}
