package track

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/tcpstate"
)

// TestGiveUpOnTheClock checks that a client whose SYNs nothing answered
// is inferred CLOSED only once the capture's clock, here another
// connection's segment, is past the time its next SYN was due at the
// latest (2.5 times the last interval after the last SYN: the rule
// TestGiveUpAgainstKernel checks against the kernel), and the same
// whether the tracker hands it out live or from a snapshot's brief (as
// conns' table does).
func TestGiveUpOnTheClock(t *testing.T) {
	syns := []synSeg{
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: "S", seq: 7},
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: "S", seq: 7, us: 1e6},
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: "S", seq: 7, us: 2e6},
	}
	tests := []struct {
		later int64 // µs of the other connection's segment
		want  tcpstate.State
	}{
		{4.5e6 - 1, tcpstate.SynSent},
		{4.5e6 + 1, tcpstate.Closed},
		{60e6, tcpstate.Closed}, // the attempt waits as a snapshot by then
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.later), func(t *testing.T) {
			segs := append(syns[:3:3], synSeg{src: "10.0.0.3:2000", dst: "10.0.0.2:80", flags: "S", seq: 1, us: tt.later})
			conns := runSegments(Config{}, segs)
			c := conns[0]
			if c.Client.State != tt.want {
				t.Fatalf("client %v, want %v (transitions %+v)", c.Client.State, tt.want, c.Client.Transitions)
			}
			if n := len(c.Client.Transitions); tt.want == tcpstate.Closed {
				if last := c.Client.Transitions[n-1]; !last.Inferred || last.Seg != 0 || last.Time != seedBase+4.5e9 {
					t.Errorf("last transition %+v: want inferred, by 2.5 s after the last SYN", last)
				}
				if c.Teardown.Missing&tcpstate.GapEnd != 0 {
					t.Error("the end is said to be missing, though the client's end is inferred")
				}
			}
			var briefs []tcpstate.Brief
			tr := New(Config{Brief: func(b *tcpstate.Brief) { briefs = append(briefs, *b) }})
			for i, s := range segs {
				tr.Frame(frameOf(i+1, s))
			}
			tr.Flush()
			if len(briefs) != 2 || briefs[0].ClientState != tt.want {
				t.Errorf("briefs %+v: want the first with client %v", briefs, tt.want)
			}
		})
	}
}

// tsOpts is a time stamp option: nop, nop, TS val, ecr.
func tsOpts(val, ecr uint32) []byte {
	return []byte{1, 1, 8, 10, byte(val >> 24), byte(val >> 16), byte(val >> 8), byte(val), byte(ecr >> 24), byte(ecr >> 16), byte(ecr >> 8), byte(ecr)}
}

// TestReadingsOfTheSeed tracks the seed's second connection with its
// time stamps (capture.txt's #4 and #5) and checks the readings: the
// server's FIN echoes the client's time stamp 45970 ticks before the
// client's answer, which ranks first the reading in which the client
// had closed before the capture (what the same experiment shows on the
// kernel, see lab's seed-as-posted); the same when the connection waits
// as a snapshot before it is handed out.
func TestReadingsOfTheSeed(t *testing.T) {
	segs := []synSeg{
		{src: "127.0.0.1:9988", dst: "127.0.0.1:41474", flags: "F.", seq: 507613731, ack: 3023763844, win: 256, opts: tsOpts(514254463, 514208493), us: 131},
		{src: "127.0.0.1:41474", dst: "127.0.0.1:9988", flags: ".", seq: 3023763844, ack: 507613732, win: 257, opts: tsOpts(514254463, 514254463), us: 144},
	}
	later := synSeg{src: "127.0.0.1:41631", dst: "127.0.0.1:9988", flags: "S", seq: 1, us: 10e6}
	for _, tt := range []struct {
		name string
		segs []synSeg
	}{{"live", segs}, {"snapshot", append(segs[:2:2], later)}} {
		t.Run(tt.name, func(t *testing.T) {
			c := runSegments(Config{Segments: true}, tt.segs)[0]
			r := c.Teardown.Readings
			want := view{
				Client: "127.0.0.1:41474", Server: "127.0.0.1:9988",
				ClientTr: []string{"1 FIN-WAIT-2>TIME-WAIT"}, ServerTr: []string{"1 CLOSE-WAIT>LAST-ACK", "2 LAST-ACK>CLOSED"},
				ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "incomplete", Initiator: "client",
				Missing: []string{"syn", "syn-ack", "handshake-ack", "client-fin"}, TimeWait: "client",
			}
			if d := cmp.Diff(want, viewOf(c)); d != "" || r == nil {
				t.Fatalf("readings %+v; the connection (-want +got):\n%s", r, d)
			}
			if r.Other.Initiator != tcpstate.SideServer || r.Other.Client.Final != tcpstate.CloseWait || r.Other.Server.Final != tcpstate.FinWait2 {
				t.Errorf("the other reading: %+v", r.Other)
			}
			if len(r.Clues) != 1 || r.Clues[0].Kind != tcpstate.ClueEcho || r.Clues[0].Ticks() != 45970 || r.Clues[0].Favours != tcpstate.SideClient {
				t.Errorf("clues %+v: want the time stamp echo, 45970 ticks, for the client", r.Clues)
			}
			if s := c.Segments; s[0].Note != tcpstate.NoteSecondFIN || s[1].Note != tcpstate.NoteLastACK || s[1].Client != tcpstate.TimeWait || s[1].Server != tcpstate.Closed {
				t.Errorf("segments %+v: want the second FIN and the last ACK, leaving TIME-WAIT and CLOSED", s)
			}
			// A table of connections (conns) hands it out from its brief.
			var briefs []tcpstate.Brief
			tr := New(Config{Brief: func(b *tcpstate.Brief) { briefs = append(briefs, *b) }})
			for i, s := range tt.segs {
				tr.Frame(frameOf(i+1, s))
			}
			tr.Flush()
			if b := briefs[0]; b.ClientState != tcpstate.TimeWait || b.ServerState != tcpstate.Closed {
				t.Errorf("brief: client %v, server %v; want TIME-WAIT, CLOSED", b.ClientState, b.ServerState)
			}
		})
	}
}

// TestReadingsDecided checks when a capture that starts mid-connection
// with one end's FIN leaves who closed first undecided, against RFC
// 9293's rules worked out by hand: no data follows an end's own FIN, a
// FIN takes one sequence number, and an end acknowledges what it has.
func TestReadingsDecided(t *testing.T) {
	tests := []struct {
		name      string
		segs      []synSeg
		undecided bool
		initiator string // who closed first in the (first) reading
		client    string // final states
		server    string
	}{
		{"server's FIN, nothing before", []synSeg{s2c("F.", 5000, 100, 0, 0), c2s(".", 100, 5001, 0, 10)},
			true, "server", "CLOSE-WAIT", "FIN-WAIT-2"},
		{"the FIN acknowledges the client's data exactly", []synSeg{c2s("P.", 100, 5000, 10, 0), s2c("F.", 5000, 110, 0, 10), c2s(".", 110, 5001, 0, 20)},
			false, "server", "CLOSE-WAIT", "FIN-WAIT-2"},
		{"the FIN acknowledges one more than the client's data", []synSeg{c2s("P.", 100, 5000, 10, 0), s2c("F.", 5000, 111, 0, 10), c2s(".", 111, 5001, 0, 20)},
			true, "client", "TIME-WAIT", "CLOSED"},
		{"data from the client after the FIN", []synSeg{s2c("F.", 5000, 100, 0, 0), c2s("P.", 100, 5001, 5, 10)},
			false, "server", "CLOSE-WAIT", "FIN-WAIT-2"},
		{"the client's own FIN after", []synSeg{s2c("F.", 5000, 100, 0, 0), c2s(".", 100, 5001, 0, 10), c2s("F.", 100, 5001, 0, 20)},
			false, "server", "LAST-ACK", "TIME-WAIT"},
		{"a reset after", []synSeg{s2c("F.", 5000, 100, 0, 0), c2s("R", 100, 0, 0, 10)},
			false, "client", "CLOSED", "CLOSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := runSegments(Config{}, tt.segs)[0]
			td := &c.Teardown
			if got := td.Readings != nil; got != tt.undecided {
				t.Errorf("undecided %v, want %v", got, tt.undecided)
			}
			if td.Initiator.String() != tt.initiator || c.Client.State.String() != tt.client || c.Server.State.String() != tt.server {
				t.Errorf("initiator %v, final states %v/%v; want %s, %s/%s", td.Initiator, c.Client.State, c.Server.State, tt.initiator, tt.client, tt.server)
			}
		})
	}
}
