package verdict

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/kernel"
	"synfin/lab/server"
	"synfin/render/conn"
	"synfin/render/explain"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
)

// The kernel is the oracle of these tests: what synfin infers from a lab
// run's capture alone, where the packets show only part of the story,
// is set beside the tracepoint's states and times.

// tracked returns the connections of a kernel run's capture, tracked to
// the time the capture stopped, as the lab does.
func tracked(res *lab.Result) []*tcpstate.Conn {
	var conns []*tcpstate.Conn
	tr := track.New(track.Config{IdleTimeout: -1, Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	for i := range res.Frames {
		tr.Frame(&res.Frames[i])
	}
	tr.Tick(res.Until.UnixNano())
	tr.Flush()
	return conns
}

// TestGiveUpAgainstKernel lets the kernel give up on SYNs that are all
// dropped, with TCP_SYNCNT 1 and 2, and checks the CLOSED that synfin
// infers from the capture (which runs on past the last SYN) against the
// tracepoint: the same states, and the kernel's SYN-SENT -> CLOSE after
// the last SYN and no later than the time synfin gives as the latest.
// The tracepoint's time stamps, not an assumption about the kernel's
// timer, say when it gave up.
func TestGiveUpAgainstKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	base, err := lab.Lookup("syn-timeout")
	if err != nil {
		t.Fatal(err)
	}
	for i, retries := range []int{1, 2} {
		t.Run(fmt.Sprint("syncnt ", retries), func(t *testing.T) {
			t.Parallel()
			sc := *base
			sc.Clients = []lab.ClientRun{{SynRetries: retries}}
			sc.Tail = 3 * time.Second
			res := labtest.Kernel(t, &sc, uint16(9920+i))
			conns := tracked(res)
			if len(conns) != 1 {
				t.Fatalf("%d connections tracked, want 1", len(conns))
			}
			c := conns[0]
			ep := res.Endpoint(1, lab.Client)
			if ep == nil {
				t.Fatal("the kernel reported no client socket")
			}
			if got, want := inferred(&c.Client), ep.RFC(); !slices.Equal(got, want) {
				t.Fatalf("client states: packets %v, kernel %v", got, want)
			}
			var closed time.Time
			for _, tr := range ep.Transitions {
				if tr.From == kernel.SynSent && tr.To == kernel.Close {
					closed = tr.Time
				}
			}
			last := c.Handshake.SYNRetransmits[len(c.Handshake.SYNRetransmits)-1]
			gaveUp := c.Client.Transitions[len(c.Client.Transitions)-1]
			if !gaveUp.Inferred {
				t.Fatalf("the client's CLOSED is not marked inferred: %+v", gaveUp)
			}
			if k := closed.UnixNano(); k <= last.Time || k > gaveUp.Time {
				t.Errorf("kernel gave up at %v: want after the last SYN (%v) and by %v",
					closed.Format(time.StampMicro), time.Unix(0, last.Time).Format(time.StampMicro), time.Unix(0, gaveUp.Time).Format(time.StampMicro))
			}
			// The text and the JSON say it is inferred.
			for lang, want := range map[string]string{"en": "CLOSED (inferred)", "zh": "CLOSED（推断）"} {
				var b strings.Builder
				if err := explain.Write(&b, c, explain.Options{Lang: lang}); err != nil || !strings.Contains(b.String(), "final states: client "+want) && !strings.Contains(b.String(), "客户端 "+want) {
					t.Errorf("%s explanation (%v) does not say %q:\n%s", lang, err, want, b.String())
				}
			}
			if j := string(conn.AppendExplainJSON(nil, c)); !strings.Contains(j, `"from":"SYN-SENT","to":"CLOSED","inferred":true`) {
				t.Errorf("explain --json does not mark the inferred transition: %s", j)
			}
			t.Logf("%d SYNs; the kernel gave up %v after the last, which followed the one before by %v; inferred by %v after it",
				len(c.Handshake.SYNRetransmits)+1, time.Duration(closed.UnixNano()-last.Time), last.Since, time.Duration(gaveUp.Time-last.Time))
		})
	}
}

// TestReadingsAgainstKernel runs experiments whose capture starts just
// after one end's FIN (lab's LateCapture), so that the packets show the
// other end's FIN first and cannot tell who closed first, and checks
// the two readings synfin gives against the kernel's states (the
// tracepoint and sock_diag): the connection is said to be undecided, one
// reading is what the kernel did, and, where the end that closed first
// had been silent for longer than EchoSilence before the other's FIN
// (the time stamps show it), that reading ranks first. Where the other
// end closes promptly, the time stamps cannot rank them, and the
// kernel's reading may come second: both are given.
func TestReadingsAgainstKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	seed, err := lab.Lookup("seed-as-posted")
	if err != nil {
		t.Fatal(err)
	}
	steps := func(s string) []client.Step {
		st, err := client.ParseSteps(s)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	tests := []struct {
		sc    lab.Scenario
		first bool // the kernel's reading must rank first
	}{
		// The client exits, the server closes a second later.
		{*seed, true},
		// The server closes at once; the client reads the end of the
		// stream and closes half a second later.
		{lab.Scenario{Name: "server-first-slow-client", LateCapture: true,
			Server:  &server.Options{Mode: server.Close},
			Clients: []lab.ClientRun{{Steps: steps("read, wait 500ms, close")}}}, true},
		// The client closes as soon as it has read the end of the stream.
		{lab.Scenario{Name: "server-first-prompt-client", LateCapture: true,
			Server:  &server.Options{Mode: server.Close, Wait: 20 * time.Millisecond},
			Clients: []lab.ClientRun{{Steps: steps("read, close")}}}, false},
	}
	for i, tt := range tests {
		t.Run(tt.sc.Name, func(t *testing.T) {
			t.Parallel()
			res := labtest.Kernel(t, &tt.sc, uint16(9910+i))
			c := connFor(tracked(res), res.Clients, 1)
			if c == nil || c.Role != tcpstate.RolePort {
				t.Fatalf("connection 1: %+v, want one seen mid-stream", c)
			}
			r := c.Teardown.Readings
			if r == nil {
				t.Fatalf("connection 1 is not undecided: client %v, server %v", c.Client.Transitions, c.Server.Transitions)
			}
			first := tcpstate.Reading{Initiator: c.Teardown.Initiator,
				Client: tcpstate.ReadingEnd{Initial: c.Client.Initial, Final: c.Client.State, Transitions: c.Client.Transitions},
				Server: tcpstate.ReadingEnd{Initial: c.Server.Initial, Final: c.Server.State, Transitions: c.Server.Transitions}}
			fits := func(rd tcpstate.Reading) bool {
				for _, e := range [2]struct {
					role lab.Role
					end  *tcpstate.ReadingEnd
				}{{lab.Client, &rd.Client}, {lab.Server, &rd.Server}} {
					k := res.Endpoint(1, e.role)
					states := []string{e.end.Initial.String()}
					for _, tr := range e.end.Transitions {
						states = append(states, tr.To.String())
					}
					seen := seenStates(states)
					if k == nil || len(seen) > len(k.RFC()) || !slices.Equal(seen, k.RFC()[len(k.RFC())-len(seen):]) {
						return false
					}
				}
				return true
			}
			switch got1, got2 := fits(first), fits(r.Other); {
			case tt.first && !got1:
				t.Errorf("reading 1 (%v closed first) is not the kernel's; reading 2 fits: %v; clues %+v", first.Initiator, got2, r.Clues)
			case !got1 && !got2:
				t.Errorf("neither reading is the kernel's; clues %+v", r.Clues)
			}
			t.Logf("reading 1: the %v closed first; clues %+v", first.Initiator, r.Clues)
		})
	}
}
