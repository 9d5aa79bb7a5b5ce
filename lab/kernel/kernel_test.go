package kernel

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestStates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		s         State
		rfc, ss   string
		kernelStr string
	}{
		{"TCP_ESTABLISHED", Established, "ESTABLISHED", "ESTAB", "TCP_ESTABLISHED"},
		{"TCP_SYN_RECV", SynRecv, "SYN-RECEIVED", "SYN-RECV", "TCP_SYN_RECV"},
		{"NEW_SYN_RECV", NewSynRecv, "SYN-RECEIVED", "NEW-SYN-RECV", "TCP_NEW_SYN_RECV"},
		{"TCP_FIN_WAIT1", FinWait1, "FIN-WAIT-1", "FIN-WAIT-1", "TCP_FIN_WAIT1"},
		{"tcp_close", Close, "CLOSED", "UNCONN", "TCP_CLOSE"},
		{"TCP_TIME_WAIT", TimeWait, "TIME-WAIT", "TIME-WAIT", "TCP_TIME_WAIT"},
		{"TCP_CLOSING", Closing, "CLOSING", "CLOSING", "TCP_CLOSING"},
	} {
		s, err := ParseState(tc.name)
		if err != nil || s != tc.s {
			t.Errorf("ParseState(%q) = %v, %v; want %v", tc.name, s, err, tc.s)
		}
		if s.RFC() != tc.rfc || s.SS() != tc.ss || s.String() != tc.kernelStr {
			t.Errorf("%v: RFC %q SS %q String %q", s, s.RFC(), s.SS(), s.String())
		}
	}
	if _, err := ParseState("TCP_BOGUS"); err == nil {
		t.Error("ParseState accepted TCP_BOGUS")
	}
	if s := State(0); s.RFC() != "UNKNOWN" || s.String() != "TCP_STATE(0)" {
		t.Errorf("State(0): %q %q", s.RFC(), s.String())
	}
}

func TestFilterExpr(t *testing.T) {
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "protocol == 6"},
		{Filter{Ports: []uint16{9988}}, "protocol == 6 && (sport == 9988 || dport == 9988)"},
		{Filter{Ports: []uint16{1, 2}}, "protocol == 6 && (sport == 1 || dport == 1 || sport == 2 || dport == 2)"},
	} {
		if got := tc.f.expr(); got != tc.want {
			t.Errorf("expr() = %q, want %q", got, tc.want)
		}
	}
}

func TestParseLine(t *testing.T) {
	const off = 1000 * time.Second
	for _, tc := range []struct {
		name string
		line string
		ok   bool
		bad  bool
		want Event
	}{
		{
			name: "ipv4",
			line: "      lab.test-17187   [000] b..1.  5043.123456: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=41631 dport=9988 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED",
			ok:   true,
			want: Event{Time: time.Unix(0, 5043123456000+int64(off)), Family: unix.AF_INET,
				Src: netip.MustParseAddrPort("127.0.0.1:41631"), Dst: netip.MustParseAddrPort("127.0.0.1:9988"),
				Old: SynSent, New: Established, Comm: "lab.test", Pid: 17187, CPU: 0},
		},
		{
			name: "ipv6 in softirq, comm with dash and slash",
			line: "  ksoftirqd/1-22 [001] ..s2. 12.5: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=9988 dport=0 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=:: oldstate=TCP_CLOSE newstate=TCP_LISTEN",
			ok:   true,
			want: Event{Time: time.Unix(12, 5e8).Add(off), Family: unix.AF_INET6,
				Src: netip.MustParseAddrPort("[::1]:9988"), Dst: netip.MustParseAddrPort("[::]:0"),
				Old: Close, New: Listen, Comm: "ksoftirqd/1", Pid: 22, CPU: 1},
		},
		{name: "other protocol", line: "x-1 [000] ..... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_MPTCP sport=1 dport=2 saddr=1.1.1.1 daddr=1.1.1.1 saddrv6=:: daddrv6=:: oldstate=TCP_CLOSE newstate=TCP_SYN_SENT"},
		{name: "lost events", line: "CPU:1 [LOST 3 EVENTS]"},
		{name: "bad state", bad: true, line: "x-1 [000] ..... 1.0: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=1.1.1.1 daddr=1.1.1.1 saddrv6=:: daddrv6=:: oldstate=TCP_NOPE newstate=TCP_SYN_SENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseLine(tc.line, off)
			if (err != nil) != tc.bad || ok != tc.ok {
				t.Fatalf("ok %v err %v; want ok %v bad %v", ok, err, tc.ok, tc.bad)
			}
			if !tc.ok {
				return
			}
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestEndpointsRFC checks the kernel-to-RFC reading on event sequences
// of the shape Linux produces (tcp_set_state calls in net/ipv4).
func TestEndpointsRFC(t *testing.T) {
	c := netip.MustParseAddrPort("127.0.0.1:40001")
	s := netip.MustParseAddrPort("127.0.0.1:9988")
	l := netip.MustParseAddrPort("0.0.0.0:0")
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(ms int, src, dst netip.AddrPort, o, n State) Event {
		return Event{Time: at(ms), Src: src, Dst: dst, Old: o, New: n}
	}
	ob := func(ms int, st State) Observation {
		return Observation{Time: at(ms), Socket: Socket{State: st, Local: c, Remote: s}}
	}
	events := []Event{
		ev(0, s, l, Close, Listen),
		ev(1, c, s, Close, SynSent),
		ev(2, c, s, SynSent, Established),
		ev(3, s, c, Listen, SynRecv),
		ev(4, s, c, SynRecv, Established),
		ev(5, c, s, Established, FinWait1),
		ev(6, s, c, Established, CloseWait),
		ev(7, c, s, FinWait1, FinWait2),
		ev(8, c, s, FinWait2, Close), // orphaned: a FIN-WAIT-2 minisock
		ev(300, s, c, CloseWait, LastAck),
		ev(301, s, c, LastAck, Close),
		// The port is reused for a second connection.
		ev(500, c, s, Close, SynSent),
		ev(501, c, s, SynSent, Close), // refused
	}
	obs := []Observation{
		ob(10, FinWait2),
		ob(302, TimeWait),
		{Time: at(499), Socket: Socket{State: TimeWait, Local: c, Remote: s}, Gone: true},
	}
	var got [][]string
	for _, ep := range Endpoints(events, obs) {
		got = append(got, append([]string{ep.Local.String() + ">" + ep.Remote.String()}, ep.RFC()...))
	}
	want := [][]string{
		{"127.0.0.1:9988>0.0.0.0:0", "CLOSED", "LISTEN"},
		{"127.0.0.1:40001>127.0.0.1:9988", "CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"},
		{"127.0.0.1:9988>127.0.0.1:40001", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"},
		{"127.0.0.1:40001>127.0.0.1:9988", "CLOSED", "SYN-SENT", "CLOSED"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// CLOSING to CLOSE is always a TIME-WAIT minisock, seen or not.
	closing := Endpoints([]Event{
		ev(0, c, s, Established, FinWait1),
		ev(1, c, s, FinWait1, Closing),
		ev(2, c, s, Closing, Close),
	}, nil)
	if diff := cmp.Diff([]string{"ESTABLISHED", "FIN-WAIT-1", "CLOSING", "TIME-WAIT"}, closing[0].RFC()); diff != "" {
		t.Errorf("closing (-want +got):\n%s", diff)
	}
}
