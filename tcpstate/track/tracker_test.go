package track

import (
	"fmt"
	"synfin/tcpstate"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// view is the part of a Conn these tests check.
type view struct {
	Client, Server   string
	ClientTr         []string // "SEG FROM>TO"
	ServerTr         []string
	ClientFinal      string
	ServerFinal      string
	Pattern          string
	Initiator        string
	Missing          []string
	TimeWait         string
	Anomalies        []string // "name xCOUNT"
	HandshakeChecked bool     // SYN-ACK ack = client ISN+1 and ACK ack = server ISN+1
}

func trs(e *tcpstate.Endpoint) []string {
	var out []string
	for _, t := range e.Transitions {
		out = append(out, fmt.Sprintf("%d %s>%s", t.Seg, t.From, t.To))
	}
	return out
}

func viewOf(c *tcpstate.Conn) view {
	v := view{
		Client: c.Client.AddrPort().String(), Server: c.Server.AddrPort().String(),
		ClientTr: trs(&c.Client), ServerTr: trs(&c.Server),
		ClientFinal: c.Client.State.String(), ServerFinal: c.Server.State.String(),
		Pattern: c.Teardown.Pattern.String(), Initiator: c.Teardown.Initiator.String(),
		Missing: c.Teardown.Missing.Names(), TimeWait: c.Teardown.TimeWait.Side.String(),
		HandshakeChecked: c.Handshake.SYNACKAckOK && c.Handshake.ACKAckOK,
	}
	for _, a := range c.Anomalies.List() {
		v.Anomalies = append(v.Anomalies, fmt.Sprintf("%s x%d", a.Anomaly, a.Count))
	}
	return v
}

// TestSeed checks the seed capture's two connections against the blog
// post's capture read by hand with RFC 9293 (not against synfin's output).
// Port 41631 opens and its client closes; port 41474 is seen only at the
// server's FIN and the client's ACK of it. Neither teardown completes.
func TestSeed(t *testing.T) {
	got := runSegments(Config{Segments: true}, seedSegments)
	want := []view{{
		Client: "127.0.0.1:41631", Server: "127.0.0.1:9988",
		ClientTr:    []string{"1 CLOSED>SYN-SENT", "2 SYN-SENT>ESTABLISHED", "6 ESTABLISHED>FIN-WAIT-1", "7 FIN-WAIT-1>FIN-WAIT-2"},
		ServerTr:    []string{"1 LISTEN>SYN-RECEIVED", "3 SYN-RECEIVED>ESTABLISHED", "6 ESTABLISHED>CLOSE-WAIT"},
		ClientFinal: "FIN-WAIT-2", ServerFinal: "CLOSE-WAIT",
		Pattern: "incomplete", Initiator: "client",
		Missing:          []string{"server-fin", "end"},
		HandshakeChecked: true,
	}, {
		Client: "127.0.0.1:41474", Server: "127.0.0.1:9988",
		ClientTr:    []string{"4 UNKNOWN>CLOSE-WAIT"},
		ServerTr:    []string{"4 UNKNOWN>FIN-WAIT-1", "5 FIN-WAIT-1>FIN-WAIT-2"},
		ClientFinal: "CLOSE-WAIT", ServerFinal: "FIN-WAIT-2",
		Pattern: "incomplete", Initiator: "server",
		Missing: []string{"syn", "syn-ack", "handshake-ack", "client-fin", "end"},
	}}
	var views []view
	for _, c := range got {
		views = append(views, viewOf(c))
	}
	if d := cmp.Diff(want, views); d != "" {
		t.Errorf("seed connections (-want +got):\n%s", d)
	}
	if len(got) != 2 {
		t.Fatalf("got %d connections", len(got))
	}
	c := got[0]
	h := c.Handshake
	// The blog: ack 2970024579 = client ISN 2970024578 + 1; the final ACK
	// acknowledges 2032818398 = server ISN 2032818397 + 1.
	if c.Client.ISN != 2970024578 || c.Server.ISN != 2032818397 || h.SYNACKAck != 2970024579 || h.ACKAck != 2032818398 || !h.Complete {
		t.Errorf("handshake arithmetic: %+v", h)
	}
	if h.ServerRTT != 16*time.Microsecond || h.ClientRTT != 10*time.Microsecond {
		t.Errorf("RTT halves %v %v, want 16µs 10µs", h.ServerRTT, h.ClientRTT)
	}
	if !h.WindowScaling || !h.SACK || !h.Timestamps || h.MSS != 16396 || c.Client.Shift != 7 {
		t.Errorf("options: %+v shift %d", h, c.Client.Shift)
	}
	if f := c.Teardown.ClientFIN; f.Seq != 2970024579 || f.Ack.Seg != 7 || !f.AckOK {
		t.Errorf("client FIN %+v, want seq 2970024579 acked by #7 with 2970024580", f)
	}
	if f := got[1].Teardown.ServerFIN; f.Seq != 507613731 || f.Ack.Seg != 5 || !f.AckOK {
		t.Errorf("server FIN %+v, want seq 507613731 acked by #5", f)
	}
}

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"

	labCli = "127.0.0.1:28405"
	labSrv = "127.0.0.1:9301"
)

func c2s(flags string, seq, ack uint32, n int, us int64) synSeg {
	return synSeg{src: cli, dst: srv, flags: flags, seq: seq, ack: ack, len: n, us: us}
}

func s2c(flags string, seq, ack uint32, n int, us int64) synSeg {
	return synSeg{src: srv, dst: cli, flags: flags, seq: seq, ack: ack, len: n, us: us}
}

// handshake is a complete three-way handshake: client ISN 1000, server ISN 5000.
var handshake = []synSeg{c2s("S", 1000, 0, 0, 0), s2c("S.", 5000, 1001, 0, 100), c2s(".", 1001, 5001, 0, 200)}

func with(segs ...synSeg) []synSeg { return append(append([]synSeg(nil), handshake...), segs...) }

var (
	openC = []string{"1 CLOSED>SYN-SENT", "2 SYN-SENT>ESTABLISHED"}
	openS = []string{"1 LISTEN>SYN-RECEIVED", "3 SYN-RECEIVED>ESTABLISHED"}
)

func plus(a []string, b ...string) []string { return append(append([]string(nil), a...), b...) }

// TestLifecycles checks each lifecycle against RFC 9293's state diagram,
// worked out by hand for each segment sequence.
func TestLifecycles(t *testing.T) {
	tests := []struct {
		name string
		segs []synSeg
		want []view
	}{{
		name: "four-segment, client first",
		segs: with(c2s("P.", 1001, 5001, 10, 300), s2c(".", 5001, 1011, 0, 400),
			c2s("F.", 1011, 5001, 0, 500), s2c(".", 5001, 1012, 0, 600),
			s2c("F.", 5001, 1012, 0, 700), c2s(".", 1012, 5002, 0, 800)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "6 ESTABLISHED>FIN-WAIT-1", "7 FIN-WAIT-1>FIN-WAIT-2", "8 FIN-WAIT-2>TIME-WAIT"),
			ServerTr:    plus(openS, "6 ESTABLISHED>CLOSE-WAIT", "8 CLOSE-WAIT>LAST-ACK", "9 LAST-ACK>CLOSED"),
			ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "four-segment", Initiator: "client",
			TimeWait: "client", HandshakeChecked: true}},
	}, {
		name: "three-segment, server first",
		segs: with(s2c("F.", 5001, 1001, 0, 300), c2s("F.", 1001, 5002, 0, 400), s2c(".", 5002, 1002, 0, 500)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>CLOSE-WAIT", "5 CLOSE-WAIT>LAST-ACK", "6 LAST-ACK>CLOSED"),
			ServerTr:    plus(openS, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>FIN-WAIT-2", "5 FIN-WAIT-2>TIME-WAIT"),
			ClientFinal: "CLOSED", ServerFinal: "TIME-WAIT", Pattern: "three-segment", Initiator: "server",
			TimeWait: "server", HandshakeChecked: true}},
	}, {
		name: "simultaneous close",
		segs: with(c2s("F.", 1001, 5001, 0, 300), s2c("F.", 5001, 1001, 0, 310),
			c2s(".", 1002, 5002, 0, 400), s2c(".", 5002, 1002, 0, 410)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>CLOSING", "7 CLOSING>TIME-WAIT"),
			ServerTr:    plus(openS, "5 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>CLOSING", "6 CLOSING>TIME-WAIT"),
			ClientFinal: "TIME-WAIT", ServerFinal: "TIME-WAIT", Pattern: "simultaneous-close", Initiator: "both",
			TimeWait: "both", HandshakeChecked: true}},
	}, {
		name: "half-close",
		segs: with(c2s("F.", 1001, 5001, 0, 300), s2c(".", 5001, 1002, 0, 400),
			s2c("P.", 5001, 1002, 100, 500), c2s(".", 1002, 5101, 0, 600),
			s2c("F.", 5101, 1002, 0, 700), c2s(".", 1002, 5102, 0, 800)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>FIN-WAIT-2", "8 FIN-WAIT-2>TIME-WAIT"),
			ServerTr:    plus(openS, "4 ESTABLISHED>CLOSE-WAIT", "8 CLOSE-WAIT>LAST-ACK", "9 LAST-ACK>CLOSED"),
			ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "half-close", Initiator: "client",
			TimeWait: "client", HandshakeChecked: true}},
	}, {
		name: "abort with RST",
		segs: with(c2s("P.", 1001, 5001, 5, 300), s2c(".", 5001, 1006, 0, 400), c2s("R.", 1006, 5001, 0, 500)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "6 ESTABLISHED>CLOSED"),
			ServerTr:    plus(openS, "6 ESTABLISHED>CLOSED"),
			ClientFinal: "CLOSED", ServerFinal: "CLOSED", Pattern: "abort-rst", Initiator: "client",
			HandshakeChecked: true}},
	}, {
		name: "refused",
		segs: []synSeg{c2s("S", 1000, 0, 0, 0), s2c("R.", 0, 1001, 0, 50)},
		want: []view{{Client: cli, Server: srv,
			ClientTr:    []string{"1 CLOSED>SYN-SENT", "2 SYN-SENT>CLOSED"},
			ClientFinal: "CLOSED", ServerFinal: "CLOSED", Pattern: "refused", Initiator: "server"}},
	}, {
		name: "unanswered SYN retransmitted",
		segs: []synSeg{c2s("S", 1000, 0, 0, 0), c2s("S", 1000, 0, 0, 1000000), c2s("S", 1000, 0, 0, 3000000)},
		want: []view{{Client: cli, Server: srv,
			ClientTr:    []string{"1 CLOSED>SYN-SENT"},
			ClientFinal: "SYN-SENT", ServerFinal: "UNKNOWN", Pattern: "none",
			Missing:   []string{"syn-ack", "end"},
			Anomalies: []string{"retransmission x2", "syn-retransmit x2"}}},
	}, {
		name: "lost last ACK answered by a retransmitted FIN",
		segs: with(c2s("F.", 1001, 5001, 0, 300), s2c(".", 5001, 1002, 0, 400),
			s2c("F.", 5001, 1002, 0, 500), c2s(".", 1002, 5002, 0, 600),
			s2c("F.", 5001, 1002, 0, 200600), c2s(".", 1002, 5002, 0, 200700)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>FIN-WAIT-2", "6 FIN-WAIT-2>TIME-WAIT"),
			ServerTr:    plus(openS, "4 ESTABLISHED>CLOSE-WAIT", "6 CLOSE-WAIT>LAST-ACK", "9 LAST-ACK>CLOSED"),
			ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "four-segment", Initiator: "client",
			TimeWait:         "client",
			Anomalies:        []string{"retransmission x1", "duplicate-ack x1", "fin-retransmit x1", "lost-last-ack x1"},
			HandshakeChecked: true}},
	}, {
		// Captured on lo by the lab's simultaneous-close scenario, which
		// drops the client's first FIN (#4) after the capture point. The
		// server's FIN (#5) acks the client's FIN sequence number, not
		// past it: the server had not received that FIN. The retransmitted
		// FIN (#7) is the one it receives, in FIN-WAIT-2. Expected states:
		// the kernel's tracepoint and sock_diag for the same run.
		name: "simultaneous close, first FIN lost (kernel)",
		segs: []synSeg{
			{src: labCli, dst: labSrv, flags: "S", seq: 1164614351, us: 254264},
			{src: labSrv, dst: labCli, flags: "S.", seq: 1573160378, ack: 1164614352, us: 254281},
			{src: labCli, dst: labSrv, flags: ".", seq: 1164614352, ack: 1573160379, us: 254297},
			{src: labCli, dst: labSrv, flags: "F.", seq: 1164614352, ack: 1573160379, us: 254783},
			{src: labSrv, dst: labCli, flags: "F.", seq: 1573160379, ack: 1164614352, us: 304839},
			{src: labCli, dst: labSrv, flags: ".", seq: 1164614353, ack: 1573160380, us: 304861},
			{src: labCli, dst: labSrv, flags: "F.", seq: 1164614352, ack: 1573160380, us: 461758},
			{src: labSrv, dst: labCli, flags: ".", seq: 1573160380, ack: 1164614353, us: 461792},
		},
		want: []view{{Client: labCli, Server: labSrv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>CLOSING", "8 CLOSING>TIME-WAIT"),
			ServerTr:    plus(openS, "5 ESTABLISHED>FIN-WAIT-1", "6 FIN-WAIT-1>FIN-WAIT-2", "7 FIN-WAIT-2>TIME-WAIT"),
			ClientFinal: "TIME-WAIT", ServerFinal: "TIME-WAIT", Pattern: "simultaneous-close", Initiator: "both",
			TimeWait: "both", Anomalies: []string{"retransmission x1", "fin-retransmit x1"}, HandshakeChecked: true}},
	}, {
		// The server's data (#5) acks only up to the client's FIN: it had
		// not received it, and the FIN comes again (#7) before any ack
		// covers it. The server receives the copy at #7, not the one at #4.
		name: "lost FIN retransmitted after data from the peer",
		segs: with(c2s("F.", 1001, 5001, 0, 300), s2c("P.", 5001, 1001, 10, 310),
			c2s(".", 1002, 5011, 0, 320), c2s("F.", 1001, 5011, 0, 500000),
			s2c(".", 5011, 1002, 0, 500010), s2c("F.", 5011, 1002, 0, 500020), c2s(".", 1002, 5012, 0, 500030)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "8 FIN-WAIT-1>FIN-WAIT-2", "9 FIN-WAIT-2>TIME-WAIT"),
			ServerTr:    plus(openS, "7 ESTABLISHED>CLOSE-WAIT", "9 CLOSE-WAIT>LAST-ACK", "10 LAST-ACK>CLOSED"),
			ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "half-close", Initiator: "client",
			TimeWait: "client", Anomalies: []string{"retransmission x1", "fin-retransmit x1"}, HandshakeChecked: true}},
	}, {
		name: "first seen at the SYN-ACK",
		segs: []synSeg{s2c("S.", 5000, 1001, 0, 0), c2s(".", 1001, 5001, 0, 100)},
		want: []view{{Client: cli, Server: srv,
			ClientTr:    []string{"1 SYN-SENT>ESTABLISHED"},
			ServerTr:    []string{"1 LISTEN>SYN-RECEIVED", "2 SYN-RECEIVED>ESTABLISHED"},
			ClientFinal: "ESTABLISHED", ServerFinal: "ESTABLISHED", Pattern: "incomplete",
			Missing: []string{"syn", "client-fin", "server-fin", "end"}}},
	}, {
		name: "mid-stream data",
		segs: []synSeg{s2c("P.", 7000, 3000, 100, 0), c2s(".", 3000, 7100, 0, 100)},
		want: []view{{Client: cli, Server: srv,
			ClientFinal: "UNKNOWN", ServerFinal: "UNKNOWN", Pattern: "incomplete",
			Missing: []string{"syn", "syn-ack", "handshake-ack", "client-fin", "server-fin", "end"}}},
	}, {
		name: "port reused within 2MSL",
		segs: append(with(c2s("F.", 1001, 5001, 0, 300), s2c("F.", 5001, 1002, 0, 400), c2s(".", 1002, 5002, 0, 500)),
			c2s("S", 90000, 0, 0, 10e6), s2c("R.", 0, 90001, 0, 10e6+50)),
		want: []view{{Client: cli, Server: srv,
			ClientTr:    plus(openC, "4 ESTABLISHED>FIN-WAIT-1", "5 FIN-WAIT-1>FIN-WAIT-2", "5 FIN-WAIT-2>TIME-WAIT"),
			ServerTr:    plus(openS, "4 ESTABLISHED>CLOSE-WAIT", "5 CLOSE-WAIT>LAST-ACK", "6 LAST-ACK>CLOSED"),
			ClientFinal: "TIME-WAIT", ServerFinal: "CLOSED", Pattern: "three-segment", Initiator: "client",
			TimeWait: "client", HandshakeChecked: true,
		}, {Client: cli, Server: srv,
			ClientTr:    []string{"7 CLOSED>SYN-SENT", "8 SYN-SENT>CLOSED"},
			ClientFinal: "CLOSED", ServerFinal: "CLOSED", Pattern: "refused", Initiator: "server",
			Anomalies: []string{"port-reuse x1"}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, keep := range []bool{false, true} {
				var got []view
				for _, c := range runSegments(Config{Segments: keep}, tt.segs) {
					got = append(got, viewOf(c))
				}
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("Segments=%v (-want +got):\n%s", keep, d)
				}
			}
		})
	}
}

func TestPortReuseWithin2MSL(t *testing.T) {
	segs := append(with(c2s("R.", 1001, 5001, 0, 300)), c2s("S", 90000, 0, 0, 10e6))
	got := runSegments(Config{}, segs)
	if len(got) != 2 {
		t.Fatalf("got %d connections, want 2", len(got))
	}
	want := tcpstate.Reuse{Prev: 1, Gap: 10*time.Second - 300*time.Microsecond, Within2MSL: false}
	if d := cmp.Diff(want, got[1].Reuse); d != "" {
		t.Errorf("reuse after RST (-want +got):\n%s", d)
	}
}

// TestWraparoundConnection runs a connection whose sequence numbers wrap.
func TestWraparoundConnection(t *testing.T) {
	isn := uint32(0xfffffff0)
	segs := []synSeg{c2s("S", isn, 0, 0, 0), s2c("S.", 5000, isn+1, 0, 100), c2s(".", isn+1, 5001, 0, 200),
		c2s("P.", isn+1, 5001, 100, 300), s2c(".", 5001, isn+101, 0, 400),
		c2s("F.", isn+101, 5001, 0, 500), s2c("F.", 5001, isn+102, 0, 600), c2s(".", isn+102, 5002, 0, 700)}
	got := runSegments(Config{}, segs)
	if len(got) != 1 {
		t.Fatalf("%d connections", len(got))
	}
	c := got[0]
	if c.Client.Bytes != 100 || c.Teardown.Pattern != tcpstate.PatternThreeSegment || len(c.Anomalies.List()) != 0 {
		t.Errorf("bytes %d pattern %v anomalies %v", c.Client.Bytes, c.Teardown.Pattern, c.Anomalies.List())
	}
}

func TestMaxConnsEvicts(t *testing.T) {
	var segs []synSeg
	for i := 0; i < 5; i++ {
		segs = append(segs, synSeg{src: fmt.Sprintf("10.0.0.1:%d", 40000+i), dst: srv, flags: "S", seq: 1, us: int64(i)})
	}
	var ends []tcpstate.End
	tr := New(Config{MaxConns: 2, Done: func(c *tcpstate.Conn) { ends = append(ends, c.End) }})
	for i, s := range segs {
		tr.Frame(frameOf(i+1, s))
	}
	if st := tr.Stats(); st.Evicted != 3 || st.Open != 2 || st.PeakOpen != 2 {
		t.Errorf("stats %+v", st)
	}
	tr.Flush()
	want := []tcpstate.End{tcpstate.EndEvicted, tcpstate.EndEvicted, tcpstate.EndEvicted, tcpstate.EndCaptureEnd, tcpstate.EndCaptureEnd}
	if d := cmp.Diff(want, ends); d != "" {
		t.Errorf("ends (-want +got):\n%s", d)
	}
}

func TestClosedConnectionsLeaveAfter2MSL(t *testing.T) {
	segs := with(c2s("F.", 1001, 5001, 0, 300), s2c("F.", 5001, 1002, 0, 400), c2s(".", 1002, 5002, 0, 500))
	// Another connection, 61 s later, moves the capture's clock on.
	segs = append(segs, synSeg{src: "10.0.0.9:1234", dst: srv, flags: "S", seq: 1, us: 61e6})
	var ids []uint64
	var expired bool
	tr := New(Config{Done: func(c *tcpstate.Conn) {
		ids = append(ids, c.ID)
		if c.ID == 1 {
			expired = c.Teardown.TimeWait.Expired
		}
	}})
	for i, s := range segs {
		tr.Frame(frameOf(i+1, s))
	}
	if d := cmp.Diff([]uint64{1}, ids); d != "" || !expired {
		t.Errorf("before flush (-want +got):\n%s expired=%v", d, expired)
	}
	if st := tr.Stats(); st.Open != 1 {
		t.Errorf("open %d, want 1", st.Open)
	}
}

// TestHold: with Config.Hold a closed connection is handed out that long
// after its last segment (Tick moving the clock, as a quiet live capture
// does), marked Held while 2MSL is not over; a hold as long as 2MSL, the
// default, never marks it; and Flush, at the end of a capture, never does.
func TestHold(t *testing.T) {
	last := int64(500) // µs of the close's last segment
	close := with(c2s("F.", 1001, 5001, 0, 300), s2c("F.", 5001, 1002, 0, 400), c2s(".", 1002, 5002, 0, last))
	for _, tc := range []struct {
		name      string
		hold      time.Duration
		tick      time.Duration // after the last segment
		out, held bool          // handed out before Flush; marked held
		expired   bool
	}{
		{"within a 1s hold", time.Second, 900 * time.Millisecond, false, false, false},
		{"past a 1s hold", time.Second, 1100 * time.Millisecond, true, true, false},
		{"default hold, within 2MSL", 0, 59 * time.Second, false, false, false},
		{"default hold, past 2MSL", 0, 61 * time.Second, true, false, true},
		{"hold longer than 2MSL, past 2MSL", 90 * time.Second, 61 * time.Second, false, false, true},
		{"hold longer than 2MSL, past it", 90 * time.Second, 91 * time.Second, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*tcpstate.Conn
			tr := New(Config{Hold: tc.hold, Done: func(c *tcpstate.Conn) { got = append(got, c.Clone()) }})
			for i, s := range close {
				tr.Frame(frameOf(i+1, s))
			}
			tr.Tick(seedBase + last*1000 + int64(tc.tick))
			if out := len(got) == 1; out != tc.out {
				t.Fatalf("handed out before Flush: %v, want %v", out, tc.out)
			}
			tr.Flush()
			if len(got) != 1 {
				t.Fatalf("%d connections handed out", len(got))
			}
			tw := got[0].Teardown.TimeWait
			if got[0].End != tcpstate.EndClosed || tw.Side != tcpstate.SideClient || tw.Held != tc.held || tw.Expired != tc.expired {
				t.Errorf("end %v, TIME-WAIT %+v; want closed, held %v, expired %v", got[0].End, tw, tc.held, tc.expired)
			}
			if tw.Duration != tcpstate.DefaultTimeWait {
				t.Errorf("TIME-WAIT lasts %v, want 2MSL %v whatever the hold", tw.Duration, tcpstate.DefaultTimeWait)
			}
		})
	}
}
