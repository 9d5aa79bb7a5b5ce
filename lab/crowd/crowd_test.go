package crowd_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/crowd"
	"synfin/lab/netns"
	"synfin/lab/server"
	"synfin/render/explain/explaintest"
)

// atRest is what the oracles said while the population was at rest.
type atRest struct {
	ss       map[string]int // "role STATE" → count, from ss -tan
	queue    string         // the listener's Recv-Q and Send-Q, from ss
	nstat    map[string]uint64
	counters crowd.Counters // read just before and just after nstat, equal
}

// ssNames are ss's state names that differ from RFC 9293's.
var ssNames = map[string]string{"ESTAB": "ESTABLISHED", "SYN-RECV": "SYN-RECEIVED"}

// look runs ss and nstat in the namespace, and reads the counters
// around nstat until they hold still, so all three are of one moment.
func look(t *testing.T, ns *netns.NS, server string, into *atRest) {
	t.Helper()
	ss := testenv.NeedTool(t, "ss")
	nstat := testenv.NeedTool(t, "nstat")
	out, err := exec.Command("ip", "netns", "exec", ns.Name, ss, "-tanH").Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	into.ss = map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 || f[3] != server && f[4] != server {
			continue
		}
		role := "client"
		switch {
		case f[0] == "LISTEN":
			role, into.queue = "listener", f[1]+" "+f[2]
		case f[3] == server:
			role = "server"
		}
		state := f[0]
		if n, ok := ssNames[state]; ok {
			state = n
		}
		into.ss[role+" "+state]++
	}
	for range 20 {
		before, err := crowd.ReadCounters(ns)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("ip", "netns", "exec", ns.Name, nstat, "-asz")
		cmd.Env = append(os.Environ(), "NSTAT_HISTORY="+filepath.Join(t.TempDir(), "nstat"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nstat: %v", err)
		}
		after, err := crowd.ReadCounters(ns)
		if err != nil {
			t.Fatal(err)
		}
		into.nstat = map[string]uint64{}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
				if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					into.nstat[f[0]] = v
				}
			}
		}
		if fmt.Sprint(before) == fmt.Sprint(after) {
			into.counters = after
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the counters never held still for nstat")
}

// TestScenarios runs every scenario in a namespace and checks the
// kernel's view the run recorded against oracles no one here wrote: the
// socket counts against ss -tan at the same moment, the counters against
// nstat, and both against what Linux's documented rules expect (written
// in the scenario) and against tcpdump's reading of the capture.
func TestScenarios(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for i, sc := range crowd.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			// Ports of this test's own: the tracepoint is global.
			port := uint16(9700 + i)
			server := fmt.Sprintf("127.0.0.1:%d", port)
			var seen atRest
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := crowd.Run(ctx, &sc, crowd.Options{Port: port, Observe: func(_ context.Context, ns *netns.NS) (func() ([]string, error), func(), error) {
				return func() ([]string, error) {
					look(t, ns, server, &seen)
					return []string{"looked"}, nil
				}, func() {}, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range res.Log {
				t.Log(l)
			}
			rep := crowd.Analyze(res)
			kernel := map[string]int{}
			for _, s := range rep.States {
				if s.Kernel > 0 {
					kernel[s.Role+" "+s.State] = s.Kernel
				}
			}
			if fmt.Sprint(kernel) != fmt.Sprint(seen.ss) {
				t.Errorf("sock_diag %v, ss -tan %v", kernel, seen.ss)
			}
			name := filepath.Join(t.TempDir(), sc.Name+".pcap")
			pcaptest.WriteFile(t, name, res.Link, res.Frames)
			lines := labtest.Tcpdump(t, tcpdump, name)
			want := maps.Clone(sc.Expect.Sockets)
			if k := assassinated(port, lines); k > 0 {
				// RFC 1337's hazard, which Linux leaves open
				// (net.ipv4.tcp_rfc1337 = 0): a reset kills a TIME-WAIT.
				// Over loopback the server's pure ACK of a FIN can race
				// its own FIN out; the client's TIME-WAIT answers it, the
				// closed server resets, and that TIME-WAIT is gone.
				t.Logf("tcpdump: %d resets to clients in TIME-WAIT", k)
				want["client TIME-WAIT"] -= k
			}
			if fmt.Sprint(kernel) != fmt.Sprint(want) {
				t.Errorf("sockets %v, Linux's rules say %v", kernel, want)
			}
			if rep.Listener == nil || seen.queue != fmt.Sprintf("%d %d", rep.Listener.Queue, rep.Listener.Backlog) ||
				rep.Listener.Queue != uint32(sc.Expect.Queue) {
				t.Errorf("listener %+v, ss says queue and backlog %q, want queue %d", rep.Listener, seen.queue, sc.Expect.Queue)
			}
			for k, v := range seen.nstat {
				if got, ok := seen.counters[k]; (ok || strings.HasPrefix(k, "Tcp")) && got != v {
					t.Errorf("%s: %d, nstat says %d", k, got, v)
				}
			}
			for k, v := range sc.Expect.AtLeast {
				if rep.Counters[k] < v {
					t.Errorf("%s rose by %d, want at least %d", k, rep.Counters[k], v)
				}
			}
			if len(rep.Findings) != 1 {
				t.Errorf("findings %q, want what Observe returned", rep.Findings)
			}
			if len(lines) != rep.Segments || strings.Join(lines[:len(rep.Tcpdump)], "\n") != strings.Join(rep.Tcpdump, "\n") {
				t.Errorf("%d segments, tcpdump reads %d; its first lines:\n%s\nthe report's:\n%s", rep.Segments, len(lines),
					strings.Join(lines[:min(len(lines), 5)], "\n"), strings.Join(rep.Tcpdump[:min(len(rep.Tcpdump), 5)], "\n"))
			}
			checkPackets(t, sc.Name, port, lines, rep, seen, want)
		})
	}
}

// assassinated counts the resets the server sent to a client that had
// already exchanged FINs with it: each ends that client's TIME-WAIT.
func assassinated(port uint16, lines []string) int {
	srv := strconv.Itoa(int(port))
	fins := map[string]int{}
	n := 0
	for _, l := range lines {
		m := segRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		switch {
		case m[2] == srv && strings.Contains(m[5], "R") && fins[m[3]+"."+m[4]] == 2:
			n++
		case strings.Contains(m[5], "F"):
			peer := m[1] + "." + m[2]
			if m[2] == srv {
				peer = m[3] + "." + m[4]
			}
			fins[peer]++
		}
	}
	return n
}

var segRE = regexp.MustCompile(`IP (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\]`)

// checkPackets reads tcpdump's lines of a run: per connection (the
// client's address and port), what it sent and got, and compares the
// counts with the kernel's (ss, nstat) and the report's.
func checkPackets(t *testing.T, name string, port uint16, lines []string, rep crowd.Report, seen atRest, want map[string]int) {
	t.Helper()
	type conn struct{ syn, synack, cfin, sfin int }
	var conns []*conn
	last := map[string]*conn{} // each client port's latest connection
	srv := strconv.Itoa(int(port))
	for _, l := range lines {
		m := segRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("tcpdump: %q", l)
		}
		fromServer := m[2] == srv
		peer := m[1] + "." + m[2]
		if fromServer {
			peer = m[3] + "." + m[4]
		}
		c := last[peer]
		// A SYN after FINs is the port's next connection: a reset that
		// ended its TIME-WAIT (see assassinated) freed it for reuse.
		if c == nil || m[5] == "S" && !fromServer && c.cfin+c.sfin > 0 {
			c = &conn{}
			conns = append(conns, c)
			last[peer] = c
		}
		switch f := m[5]; {
		case f == "S" && !fromServer:
			c.syn++
		case f == "S." && fromServer:
			c.synack++
		case strings.Contains(f, "F") && fromServer:
			c.sfin++
		case strings.Contains(f, "F"):
			c.cfin++
		}
	}
	var answered, unansweredSYNs, retransmittedSYNACK, onceSYNACK, repeatedSYNACKs, cfin, sfin int
	for _, c := range conns {
		repeatedSYNACKs += max(c.synack-1, 0)
		if c.synack > 0 {
			answered++
		} else {
			unansweredSYNs += c.syn
		}
		if c.synack > 1 {
			retransmittedSYNACK++
		} else if c.synack == 1 {
			onceSYNACK++
		}
		cfin += min(c.cfin, 1)
		sfin += min(c.sfin, 1)
	}
	if rep.Packets.Connections != len(conns) || rep.Packets.DroppedSYNs != unansweredSYNs {
		t.Errorf("report: %+v; tcpdump shows %d connections, %d SYNs never answered", rep.Packets, len(conns), unansweredSYNs)
	}
	n := seen.nstat
	switch name {
	case "backlog-full":
		// Every SYN dropped, and every ACK of a SYN-ACK sent again, was
		// dropped for a full accept queue.
		if answered != 12 || uint64(unansweredSYNs+repeatedSYNACKs) != n["TcpExtListenOverflows"] || rep.Packets.LostFinalACK != 1 {
			t.Errorf("tcpdump: %d handshakes answered, %d SYNs not, %d SYN-ACKs sent again; nstat: ListenOverflows %d; report: %+v",
				answered, unansweredSYNs, repeatedSYNACKs, n["TcpExtListenOverflows"], rep.Packets)
		}
	case "close-wait-leak":
		if cfin != 5 || sfin != 0 || seen.ss["server CLOSE-WAIT"] != 5 {
			t.Errorf("tcpdump: FINs from %d clients and %d server ends; ss: %v", cfin, sfin, seen.ss)
		}
	case "time-wait-pileup":
		if cfin != 1000 || seen.ss["client TIME-WAIT"] != want["client TIME-WAIT"] {
			t.Errorf("tcpdump: FINs from %d clients; ss: %v", cfin, seen.ss)
		}
	case "syn-flood":
		// A request kept is retransmitted; a cookie is sent once.
		if retransmittedSYNACK != seen.ss["server SYN-RECEIVED"] || uint64(onceSYNACK) != n["TcpExtSyncookiesSent"] {
			t.Errorf("tcpdump: %d SYN-ACKs retransmitted, %d sent once; ss %v, nstat SyncookiesSent %d",
				retransmittedSYNACK, onceSYNACK, seen.ss, n["TcpExtSyncookiesSent"])
		}
	case "syn-flood-no-cookies":
		if uint64(unansweredSYNs) != n["TcpExtTCPReqQFullDrop"] || retransmittedSYNACK != seen.ss["server SYN-RECEIVED"] {
			t.Errorf("tcpdump: %d SYNs never answered, %d SYN-ACKs retransmitted; nstat TCPReqQFullDrop %d, ss %v",
				unansweredSYNs, retransmittedSYNACK, n["TcpExtTCPReqQFullDrop"], seen.ss)
		}
	default:
		t.Errorf("no packet check for %s", name)
	}
}

// TestChinese checks that every scenario has Chinese, and that the
// English words left in it (system calls, counters, sysctls, state
// names) are ones its English uses too.
func TestChinese(t *testing.T) {
	for _, sc := range crowd.Scenarios() {
		for _, tx := range []lab.Text{sc.Summary, sc.Description} {
			if tx.Zh == "" {
				t.Errorf("%s: no Chinese for %q", sc.Name, tx.En)
				continue
			}
			for _, w := range explaintest.EnglishWords(tx.Zh) {
				if !strings.Contains(tx.En, w) {
					t.Errorf("%s: %q in the Chinese is not in the English", sc.Name, w)
				}
			}
		}
	}
}

// TestConnectedCount runs more clients than are logged one by one, each
// started without waiting for the one before, as no scenario of the list
// does: the count of connected clients is read while they connect, which
// go test -race checks is done under the lock (GORACE=history_size=7
// keeps enough history for the detector to report it every time). The count at the end is
// the number of handshakes tcpdump shows the server completing (its
// SYN-ACK, then the client's ACK).
func TestConnectedCount(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	const port, clients = 9690, 30
	sc := crowd.Scenario{Name: "connected-count", Server: server.Options{Mode: server.Close},
		Clients: clients, Every: time.Millisecond, Close: true, Tail: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := crowd.Run(ctx, &sc, crowd.Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "count.pcap")
	pcaptest.WriteFile(t, name, res.Link, res.Frames)
	synack := map[string]bool{}
	completed := 0
	for _, l := range labtest.Tcpdump(t, tcpdump, name) {
		m := segRE.FindStringSubmatch(l)
		switch {
		case m == nil:
			t.Fatalf("tcpdump: %q", l)
		case m[2] == strconv.Itoa(port) && m[5] == "S.":
			synack[m[3]+"."+m[4]] = true
		case m[4] == strconv.Itoa(port) && m[5] == "." && synack[m[1]+"."+m[2]]:
			delete(synack, m[1]+"."+m[2])
			completed++
		}
	}
	// A SYN the full backlog dropped waits a second for its
	// retransmission, past the run's end: not every client connects.
	if res.Connected != completed || completed == 0 {
		t.Errorf("%d clients connected; tcpdump shows %d handshakes completed, of %d clients", res.Connected, completed, clients)
	}
}
