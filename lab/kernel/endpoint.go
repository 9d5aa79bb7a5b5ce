package kernel

import (
	"net/netip"
	"slices"
	"time"
)

// Transition is one state change of a socket.
type Transition struct {
	Time     time.Time
	From, To State
	// Diag marks a change seen by polling sock_diag (a timewait
	// minisock's state) rather than reported by the tracepoint.
	Diag bool
}

// Endpoint is the life of one socket: the tracepoint's transitions, then
// the states sock_diag showed for its timewait minisock, if any.
type Endpoint struct {
	Local, Remote netip.AddrPort
	Transitions   []Transition
}

// Listener reports whether the endpoint is a listening socket.
func (e Endpoint) Listener() bool { return e.Remote.Port() == 0 }

// RFC returns the endpoint's RFC 9293 states in order, starting with the
// state before the first transition. A socket the kernel created for an
// accepted connection starts in LISTEN (it is cloned from the listener).
// The tracepoint's FIN-WAIT-2 or CLOSING to CLOSE means the socket became
// a timewait minisock, not CLOSED: its states come from sock_diag, and
// from CLOSING the kernel always enters TIME-WAIT.
func (e Endpoint) RFC() []string {
	if len(e.Transitions) == 0 {
		return nil
	}
	out := []string{e.Transitions[0].From.RFC()}
	add := func(s string) {
		if out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	for i, t := range e.Transitions {
		if !t.Diag && t.To == Close && (t.From == FinWait2 || t.From == Closing) {
			hasDiag := i+1 < len(e.Transitions) && e.Transitions[i+1].Diag
			switch {
			case hasDiag:
				continue
			case t.From == Closing:
				add(TimeWait.RFC())
				continue
			}
		}
		add(t.To.RFC())
	}
	return out
}

// Endpoints groups events by socket (its local and remote address) and
// attaches to each socket the timewait states that obs show for it. A new
// socket with the same addresses (a reused port) starts a new endpoint.
// Endpoints are in the order of their first event.
func Endpoints(events []Event, obs []Observation) []Endpoint {
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	type key [2]netip.AddrPort
	var eps []Endpoint
	cur := map[key]int{}
	for _, ev := range events {
		k := key{ev.Src, ev.Dst}
		i, ok := cur[k]
		birth := ev.Old == Close || (ev.Old == Listen && ev.New == SynRecv)
		if !ok || (birth && ended(eps[i])) {
			eps = append(eps, Endpoint{Local: ev.Src, Remote: ev.Dst})
			i = len(eps) - 1
			cur[k] = i
		}
		eps[i].Transitions = append(eps[i].Transitions, Transition{Time: ev.Time, From: ev.Old, To: ev.New})
	}
	for _, o := range obs {
		s := o.Socket.State
		if o.Gone || (s != TimeWait && s != FinWait2) {
			continue
		}
		// The endpoint with these addresses that became a minisock
		// most recently before the observation.
		best := -1
		for i, ep := range eps {
			if ep.Local != o.Socket.Local || ep.Remote != o.Socket.Remote || len(ep.Transitions) == 0 {
				continue
			}
			var closedAt time.Time
			for _, t := range ep.Transitions {
				if !t.Diag && t.To == Close && (t.From == FinWait2 || t.From == Closing) {
					closedAt = t.Time
				}
			}
			// The poll's timestamp is taken after the dump, so it is
			// never earlier than the event it follows.
			if closedAt.IsZero() || o.Time.Before(closedAt) {
				continue
			}
			best = i
		}
		if best < 0 {
			continue
		}
		ep := &eps[best]
		last := ep.Transitions[len(ep.Transitions)-1]
		from := last.To
		if !last.Diag {
			from = last.From // the state the minisock took over
		}
		if from == s && last.Diag {
			continue
		}
		ep.Transitions = append(ep.Transitions, Transition{Time: o.Time, From: from, To: s, Diag: true})
	}
	return eps
}

// ended reports whether the endpoint's last transition went to CLOSE.
func ended(ep Endpoint) bool {
	n := len(ep.Transitions)
	return n > 0 && ep.Transitions[n-1].To == Close
}
