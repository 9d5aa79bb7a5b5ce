package watch_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"synfin/internal/cli"
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
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:7002"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
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
	waitFor(t, "the populations", func() bool {
		s := ssStates(t, ns)
		return s["CLOSE-WAIT"] == n && s["TIME-WAIT"] == m && s["SYN-SENT"] > 0 && nstat(t, ns)["TcpExtListenOverflows"] > 0
	})
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
