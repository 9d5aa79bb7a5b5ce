package watch_test

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTransitions: connections made while watch runs, closed by the
// client first, are reported by the tracepoint through every state
// RFC 9293 takes each end through, for exactly the client ports ss
// shows in TIME-WAIT afterwards; the connect is credited to this
// process, and each later state change says how long the state lasted.
func TestTransitions(t *testing.T) {
	ns := newNS(t)
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp", "127.0.0.1:7005"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	const conns = 3
	evs := runWatch(t, func() {
		for range conns {
			dial(t, ns, "127.0.0.1:7005").Close()
		}
		waitFor(t, "TIME-WAIT", func() bool { return ssStates(t, ns)["TIME-WAIT"] == conns })
	}, "--netns", ns.Name, "--interval", "1s", "--for", "2s", "port 7005")
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
