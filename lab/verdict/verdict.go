package verdict

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"synfin/lab"
	"synfin/lab/userstack"
	"synfin/tcpstate"
)

// Row is one endpoint's inferred and reported state sequences.
type Row struct {
	Conn     int      `json:"conn"`
	Role     string   `json:"role"`
	Addr     string   `json:"addr"`
	Inferred []string `json:"inferred"`
	Reported []string `json:"reported"`
	Agree    bool     `json:"agree"`
	// Unseen says why the stack had no socket for a NoSocket row.
	Unseen string `json:"unseen,omitempty"`
	// Unsampled lists inferred states missing from a sampling stack's
	// report, which do not count as a difference.
	Unsampled []string `json:"unsampled,omitempty"`
	// NoSocket: the stack had no socket for this end of a handshake the
	// client rejected, and the packets agree that it never opened.
	NoSocket bool `json:"no_socket,omitempty"`
	// Before counts the stack's first states, which came before a
	// capture that began mid-connection: the inferred states (but an
	// UNKNOWN first) are the reported ones after them.
	Before int `json:"before_capture,omitempty"`
}

// Report compares what the packets say with what the stack reports.
type Report struct {
	Source           string   `json:"source"` // "kernel" or "netstack"
	Sampled          bool     `json:"sampled,omitempty"`
	Rows             []Row    `json:"endpoints"`
	TimeWaitInferred []string `json:"time_wait_inferred"`
	TimeWaitReported []string `json:"time_wait_reported"`
	TimeWaitAgree    bool     `json:"time_wait_agree"`
	Patterns         []string `json:"teardown"`
	PatternsExpected []string `json:"teardown_expected"`
	PatternsAgree    bool     `json:"teardown_agree"`
	Agree            bool     `json:"agree"`
	// CaptureEnd is when the capture stopped (Unix ns), past its last
	// frame: the packets show what had not happened by then.
	CaptureEnd int64 `json:"capture_end,omitempty"`
}

// View is what a stack reports about a run's endpoints.
type View struct {
	Source  string           // "kernel" or "netstack"
	Clients []netip.AddrPort // the local address of each connection attempt
	// States returns an endpoint's reported RFC 9293 states and its
	// address, or nil if the stack had no such endpoint.
	States   func(conn int, role lab.Role) (states []string, addr string)
	TimeWait []string // holders at the end, "n/role"
	// Sampled: the states were sampled, so a brief one may be missing
	// from them (netstack has no hook on state changes).
	Sampled bool
	// Until is when the capture stopped (Unix ns), 0 if unknown.
	Until int64
}

// unixNano is t in Unix ns, 0 for the zero time (a run that failed
// before its capture stopped).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// Kernel is the kernel's view of a lab run.
func Kernel(res *lab.Result) View {
	v := View{Source: "kernel", Clients: res.Clients, Until: unixNano(res.Until)}
	v.States = func(n int, role lab.Role) ([]string, string) {
		if k := res.Endpoint(n, role); k != nil {
			return k.RFC(), k.Local.String()
		}
		return nil, ""
	}
	for _, h := range res.TimeWait {
		v.TimeWait = append(v.TimeWait, fmt.Sprintf("%d/%s", h.Conn, h.Role))
	}
	return v
}

// Netstack is gVisor netstack's view of a run on it: sampled states.
func Netstack(res *userstack.Result) View {
	v := View{Source: userstack.Source, Clients: res.Clients, Sampled: true, Until: unixNano(res.Until)}
	v.States = func(n int, role lab.Role) ([]string, string) {
		if e := res.Endpoint(n, role); e != nil {
			return e.StateNames(), e.Local.String()
		}
		return nil, ""
	}
	for _, e := range res.Endpoints {
		if e.Conn > 0 && e.Final() == "TIME-WAIT" {
			v.TimeWait = append(v.TimeWait, fmt.Sprintf("%d/%s", e.Conn, e.Role))
		}
	}
	return v
}

// Compare sets the states inferred from the packets (conns, as the
// tracker handed them out, in order) beside the stack's, endpoint by
// endpoint, and compares TIME-WAIT holders and teardown patterns with
// the stack's and the scenario's.
func Compare(sc *lab.Scenario, v View, conns []*tcpstate.Conn) Report {
	rep := Report{Source: v.Source, Sampled: v.Sampled, Agree: true, CaptureEnd: v.Until}
	for n := 1; n <= len(v.Clients); n++ {
		c := connFor(conns, v.Clients, n)
		for _, role := range []lab.Role{lab.Client, lab.Server} {
			row := compareRow(c, n, role, v)
			rep.Agree = rep.Agree && row.Agree
			rep.Rows = append(rep.Rows, row)
		}
		if c == nil {
			rep.Patterns = append(rep.Patterns, "not captured")
			continue
		}
		rep.Patterns = append(rep.Patterns, c.Teardown.Pattern.String())
		// A TIME-WAIT whose tuple a new connection took over is gone:
		// only holders still waiting at the end are compared.
		switch tw := c.Teardown.TimeWait.Side; {
		case c.End == tcpstate.EndReused:
		case tw == tcpstate.SideBoth:
			rep.TimeWaitInferred = append(rep.TimeWaitInferred, fmt.Sprintf("%d/client", n), fmt.Sprintf("%d/server", n))
		case tw == tcpstate.SideClient || tw == tcpstate.SideServer:
			rep.TimeWaitInferred = append(rep.TimeWaitInferred, fmt.Sprintf("%d/%s", n, tw))
		}
	}
	rep.TimeWaitReported = append(rep.TimeWaitReported, v.TimeWait...)
	slices.Sort(rep.TimeWaitInferred)
	slices.Sort(rep.TimeWaitReported)
	rep.TimeWaitAgree = slices.Equal(rep.TimeWaitInferred, rep.TimeWaitReported)
	for _, p := range sc.Expect.Teardown {
		rep.PatternsExpected = append(rep.PatternsExpected, string(p))
	}
	rep.PatternsAgree = len(rep.PatternsExpected) == 0 || slices.Equal(rep.Patterns, rep.PatternsExpected)
	rep.Agree = rep.Agree && rep.TimeWaitAgree && rep.PatternsAgree
	return rep
}

// compareRow compares one endpoint: c is its connection, nil when the
// packets show none.
func compareRow(c *tcpstate.Conn, n int, role lab.Role, v View) Row {
	row := Row{Conn: n, Role: string(role)}
	if c != nil {
		e := &c.Client
		if role == lab.Server {
			e = &c.Server
		}
		row.Addr = e.AddrPort().String()
		row.Inferred = inferred(e)
	}
	var addr string
	row.Reported, addr = v.States(n, role)
	if row.Addr == "" {
		row.Addr = addr
	}
	row.Agree = slices.Equal(row.Inferred, row.Reported)
	if !row.Agree && v.Sampled {
		row.Agree, row.Unsampled = sampledAgree(row.Inferred, row.Reported)
	}
	if row.Agree || c == nil {
		return row
	}
	switch {
	case rejectedWithoutSocket(c, role, row):
		row.Agree, row.NoSocket = true, true
		row.Unseen = noSocketText(role).En
	case c.Role == tcpstate.RolePort:
		// The capture began mid-connection: the packets show the
		// stack's last states, the longest tail that fits them.
		seen := seenStates(row.Inferred)
		for b := 1; b < len(row.Reported) && len(seen) > 0; b++ {
			tail := row.Reported[b:]
			if v.Sampled {
				row.Agree, row.Unsampled = sampledAgree(seen, tail)
			} else {
				row.Agree = slices.Equal(seen, tail)
			}
			if row.Agree {
				row.Before = b
				break
			}
		}
	}
	return row
}

// inferred is an endpoint's state sequence as the tracker saw it,
// starting with the state before its first transition.
func inferred(e *tcpstate.Endpoint) []string {
	if len(e.Transitions) == 0 {
		return nil
	}
	out := []string{e.Transitions[0].From.String()}
	for _, t := range e.Transitions {
		out = append(out, t.To.String())
	}
	return out
}

// seenStates are the inferred states of an endpoint first seen
// mid-stream that say something: all but an UNKNOWN first.
func seenStates(inferred []string) []string {
	if len(inferred) > 0 && inferred[0] == tcpstate.Unknown.String() {
		return inferred[1:]
	}
	return inferred
}

// connFor finds the tracked connection of the lab's n-th client: the n-th
// connection whose client address is that client's.
func connFor(conns []*tcpstate.Conn, clients []netip.AddrPort, n int) *tcpstate.Conn {
	if n < 1 || n > len(clients) {
		return nil
	}
	want := clients[n-1]
	seen := 0
	for i := 0; i < n-1; i++ {
		if clients[i] == want {
			seen++
		}
	}
	for _, c := range conns {
		if c.Client.AddrPort() == want {
			if seen == 0 {
				return c
			}
			seen--
		}
	}
	return nil
}

// sampledAgree compares inferred states with sampled ones: the samples
// must be the inferred states in order with some perhaps missing (a state
// shorter than the sampling interval, or a passive open's LISTEN, which
// is the listener's and never the new endpoint's), and end in the same
// state. It returns the inferred states the samples miss.
func sampledAgree(inferred, sampled []string) (bool, []string) {
	var missing []string
	for _, p := range align(inferred, sampled) {
		switch {
		case p[1] == "":
			missing = append(missing, p[0])
		case p[0] == "":
			return false, nil
		}
	}
	if len(inferred) == 0 || len(sampled) == 0 || inferred[len(inferred)-1] != sampled[len(sampled)-1] {
		return false, nil
	}
	return true, missing
}

// align pairs two state sequences along their longest common
// subsequence; "" marks a state the other side lacks. Sequences are a
// dozen states at most, so the quadratic table is nothing.
func align(a, b []string) [][2]string {
	l := make([][]int, len(a)+1)
	for i := range l {
		l[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out [][2]string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, [2]string{a[i], b[j]})
			i, j = i+1, j+1
		case j == len(b) || (i < len(a) && l[i+1][j] >= l[i][j+1]):
			out = append(out, [2]string{a[i], ""})
			i++
		default:
			out = append(out, [2]string{"", b[j]})
			j++
		}
	}
	return out
}

// rejectedWithoutSocket says whether a row whose stack reports no socket
// is a handshake the client rejected (an old duplicate SYN): no socket
// held it at the client, and the server kept only a request until the
// reset. The packets must agree that neither end ever synchronized, and
// that the client ended CLOSED and the server back in LISTEN.
func rejectedWithoutSocket(c *tcpstate.Conn, role lab.Role, r Row) bool {
	if !c.Handshake.Rejected || len(r.Reported) != 0 || len(r.Inferred) == 0 {
		return false
	}
	for _, s := range r.Inferred {
		switch s {
		case "CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED":
		default:
			return false
		}
	}
	want := "CLOSED"
	if role == lab.Server {
		want = "LISTEN"
	}
	return r.Inferred[len(r.Inferred)-1] == want
}

// orDash joins s with commas, or is "-" when s has nothing to join.
func orDash(s []string) string {
	if len(s) == 0 || len(s) == 1 && s[0] == "" {
		return "-"
	}
	return strings.Join(s, ", ")
}
