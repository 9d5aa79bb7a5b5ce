package userstack

import (
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"synfin/lab"
	"synfin/lab/kernel"
)

// Observation is one state netstack reported for an endpoint.
type Observation struct {
	Time time.Time
	// State is the RFC 9293 name: netstack's INITIAL, BOUND, CONNECTING
	// and ERROR are CLOSED there.
	State string
	// Netstack is netstack's own name (tcp.EndpointState.String).
	Netstack string
}

// Endpoint is netstack's view of one endpoint: the states it was seen in,
// in order. Netstack has no hook on state changes, so they are sampled
// (continuously, and before every segment is recorded): a state that
// lasts less than a sample interval may be missing.
type Endpoint struct {
	Source string // always "netstack"
	Conn   int    // 1-based connection number, 0 for the listener
	Role   lab.Role
	Local  netip.AddrPort
	Remote netip.AddrPort // zero for the listener
	States []Observation
}

// Final is the last state seen, "" if none was.
func (e *Endpoint) Final() string {
	if len(e.States) == 0 {
		return ""
	}
	return e.States[len(e.States)-1].State
}

// StateNames lists the RFC 9293 names of States.
func (e *Endpoint) StateNames() []string {
	out := make([]string, len(e.States))
	for i, o := range e.States {
		out[i] = o.State
	}
	return out
}

// rfcName maps netstack's states to RFC 9293's. Netstack numbers its TCP
// states as Linux does (include/net/tcp_states.h), so the kernel's names
// serve; its own INITIAL, BOUND, CONNECTING and ERROR are CLOSED.
func rfcName(s tcp.EndpointState) string {
	if s >= tcp.StateEstablished && s <= tcp.StateClosing {
		return kernel.State(s).RFC()
	}
	return "CLOSED"
}

type watched struct {
	ep            *tcp.Endpoint
	local, remote netip.AddrPort
	states        []Observation
	last          tcp.EndpointState
	seen          bool
}

// watcher samples the states of every TCP endpoint of a stack.
type watcher struct {
	s  *stack.Stack
	mu sync.Mutex
	// order keeps endpoints in the order they were first seen.
	order []*watched
	byEP  map[*tcp.Endpoint]*watched
	stop  chan struct{}
	done  chan struct{}
}

const pollInterval = 100 * time.Microsecond

func newWatcher(s *stack.Stack) *watcher {
	w := &watcher{s: s, byEP: map[*tcp.Endpoint]*watched{}, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		w.discover()
		w.sample()
		select {
		case <-w.stop:
			w.sample()
			return
		case <-time.After(pollInterval):
		}
	}
}

// add watches ep from now on, before netstack registers it.
func (w *watcher) add(ep tcpip.Endpoint) {
	t, ok := ep.(*tcp.Endpoint)
	if !ok {
		return
	}
	w.mu.Lock()
	if w.byEP[t] == nil {
		x := &watched{ep: t}
		w.byEP[t] = x
		w.order = append(w.order, x)
	}
	w.mu.Unlock()
	w.sample()
}

// discover adds registered endpoints (a passive open's new endpoint, say)
// and fills in addresses. Info takes the endpoint's lock, so it is never
// called from the packet path.
func (w *watcher) discover() {
	for _, te := range w.s.RegisteredEndpoints() {
		t, ok := te.(*tcp.Endpoint)
		if !ok {
			continue
		}
		w.mu.Lock()
		x := w.byEP[t]
		if x == nil {
			x = &watched{ep: t}
			w.byEP[t] = x
			w.order = append(w.order, x)
		}
		need := !x.local.IsValid() || (!x.remote.IsValid() && t.EndpointState() != tcp.StateListen)
		w.mu.Unlock()
		if !need {
			continue
		}
		id := t.Info().(*stack.TransportEndpointInfo).ID
		w.mu.Lock()
		x.local = addrPort(id.LocalAddress, id.LocalPort)
		x.remote = addrPort(id.RemoteAddress, id.RemotePort)
		w.mu.Unlock()
	}
}

func addrPort(a tcpip.Address, port uint16) netip.AddrPort {
	if a.BitLen() == 0 || port == 0 {
		return netip.AddrPort{}
	}
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return netip.AddrPortFrom(ip, port)
}

// sample reads each watched endpoint's state; it only loads atomics, so
// it is safe on the packet path.
func (w *watcher) sample() {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.order {
		st := x.ep.EndpointState()
		if x.seen && st == x.last {
			continue
		}
		name := rfcName(st)
		if !x.seen || rfcName(x.last) != name {
			x.states = append(x.states, Observation{Time: now, State: name, Netstack: st.String()})
		} else {
			// Same RFC state under another netstack name (BOUND after
			// INITIAL): keep the newest name.
			x.states[len(x.states)-1].Netstack = st.String()
		}
		x.last, x.seen = st, true
	}
}

// busy reports whether an endpoint is in a state that a segment on its
// way, or a timer, is about to change; restless adds states that wait on
// an application of this run.
func (w *watcher) busy(restless ...tcp.EndpointState) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.order {
		switch st := x.ep.EndpointState(); st {
		case tcp.StateSynSent, tcp.StateSynRecv, tcp.StateFinWait1, tcp.StateClosing, tcp.StateLastAck, tcp.StateConnecting:
			return true
		default:
			for _, r := range restless {
				if st == r {
					return true
				}
			}
		}
	}
	return false
}

// finish stops sampling and returns what was seen. A client endpoint
// that never connected is given its intended addresses by the caller.
func (w *watcher) finish() []*watched {
	close(w.stop)
	<-w.done
	w.discover()
	w.sample()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.order
}

// name sets the addresses of a watched endpoint, for one that netstack
// no longer (or never) registered, such as a refused client.
func (w *watcher) name(ep tcpip.Endpoint, local, remote netip.AddrPort) {
	t, ok := ep.(*tcp.Endpoint)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if x := w.byEP[t]; x != nil {
		if !x.local.IsValid() {
			x.local = local
		}
		if !x.remote.IsValid() {
			x.remote = remote
		}
	}
}
