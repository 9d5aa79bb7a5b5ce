package userstack

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/server"
	"synfin/wire"
)

// Source labels everything a run reports: the frames and the states
// come from gVisor's netstack, not from the kernel.
const Source = "netstack"

// StackName says which TCP produced a run, for a one-line label.
const StackName = "gVisor netstack (userspace TCP, in process; not the kernel)"

// Options tune a run.
type Options struct {
	// Port is the server port; 0 means 9988, the seed's.
	Port uint16
	// TimeWait is netstack's TIME-WAIT duration; 0 means 2s. A run does
	// not wait for it to end, so it only needs to outlast a retransmitted
	// FIN.
	TimeWait time.Duration
	// Settle bounds the wait for the endpoints to come to rest; 0 means 5s.
	Settle time.Duration
	// Log receives server and client events as lines.
	Log func(string)
}

// Result is what a run observed. Everything in it is netstack's.
type Result struct {
	Source   string // Source
	Stack    string // StackName
	Scenario string
	Server   netip.AddrPort
	Clients  []netip.AddrPort // local address of each connection attempt

	Link   wire.LinkType // wire.LinkRaw
	Frames []wire.Frame  // copies, Index from 1
	Faults []fault.Counter

	// Endpoints are netstack's states of every endpoint, listener first.
	Endpoints []Endpoint

	Log        []string
	ClientErrs []error // per connection attempt, nil when the steps succeeded
	Start, End time.Time
	Until      time.Time // when the capture stopped
}

// Endpoint returns the endpoint of a connection and role, or nil.
func (r *Result) Endpoint(conn int, role lab.Role) *Endpoint {
	for i := range r.Endpoints {
		if r.Endpoints[i].Conn == conn && r.Endpoints[i].Role == role {
			return &r.Endpoints[i]
		}
	}
	return nil
}

const nicID = 1

// newStack builds a stack whose NIC loops packets back through l, with
// 127.0.0.1 and ::1 on it.
func newStack(l *link, timeWait time.Duration) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		NetworkProtocols: []stack.NetworkProtocolFactory{
			// The NIC is not flagged as loopback (see link), so loopback
			// addresses arriving on it must be allowed explicitly.
			ipv4.NewProtocolWithOptions(ipv4.Options{AllowExternalLoopbackTraffic: true}),
			ipv6.NewProtocolWithOptions(ipv6.Options{AllowExternalLoopbackTraffic: true}),
		},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
		// Packets to the stack's own addresses go out through the link,
		// where they are recorded, instead of being looped inside.
		HandleLocal: false,
	})
	fail := func(what string, err tcpip.Error) (*stack.Stack, error) {
		s.Close()
		s.Wait()
		return nil, fmt.Errorf("userstack: %s: %s", what, err)
	}
	if err := s.CreateNIC(nicID, l); err != nil {
		return fail("create NIC", err)
	}
	for _, a := range []tcpip.AddressWithPrefix{
		{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8},
		{Address: tcpip.AddrFrom16(netip.IPv6Loopback().As16()), PrefixLen: 128},
	} {
		proto := ipv4.ProtocolNumber
		if a.Address.Len() == 16 {
			proto = ipv6.ProtocolNumber
		}
		if err := s.AddProtocolAddress(nicID, tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a}, stack.AddressProperties{}); err != nil {
			return fail("add address "+a.String(), err)
		}
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 0}), PrefixLen: 8}.Subnet(), NIC: nicID},
		{Destination: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(netip.IPv6Loopback().As16()), PrefixLen: 128}.Subnet(), NIC: nicID},
	})
	tw := tcpip.TCPTimeWaitTimeoutOption(timeWait)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &tw); err != nil {
		return fail("TIME-WAIT timeout", err)
	}
	// Linux's default; netstack's is on too, but say it: the SACK
	// option is part of what the handshake shows.
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fail("SACK", err)
	}
	return s, nil
}

func fullAddr(ap netip.AddrPort) (tcpip.FullAddress, tcpip.NetworkProtocolNumber) {
	a := ap.Addr()
	if a.Is4() {
		return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(a.As4()), Port: ap.Port()}, ipv4.ProtocolNumber
	}
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(a.As16()), Port: ap.Port()}, ipv6.ProtocolNumber
}

// Run runs the scenario on a netstack of its own and tears it down before
// returning, also when ctx is cancelled. No packet leaves the process.
// What the scenario expects is not checked. A scenario netstack cannot
// show (see Unsupported) is refused with an *UnsupportedError.
func Run(ctx context.Context, sc *lab.Scenario, opt Options) (res *Result, err error) {
	if err := check(sc); err != nil {
		return nil, err
	}
	if opt.Port == 0 {
		opt.Port = 9988
	}
	if opt.TimeWait == 0 {
		opt.TimeWait = 2 * time.Second
	}
	if opt.Settle == 0 {
		opt.Settle = 5 * time.Second
	}
	loop := sc.Loopback()
	res = &Result{
		Source: Source, Stack: StackName, Scenario: sc.Name,
		Server: netip.AddrPortFrom(loop, opt.Port), Link: wire.LinkRaw, Start: time.Now(),
	}
	defer func() { res.End = time.Now() }()
	logf := lab.Logger(&res.Log, opt.Log)

	var rules []fault.Rule
	for i, f := range sc.Faults {
		r := f.RuleFor(opt.Port)
		if r.Nth < 0 {
			return res, fmt.Errorf("userstack: fault %d: Nth %d is negative", i+1, r.Nth)
		}
		if r.Flags&^r.Mask != 0 {
			return res, fmt.Errorf("userstack: fault %d: flags %s outside mask %s", i+1, r.Flags, r.Mask)
		}
		rules = append(rules, r)
	}
	l := newLink(rules)
	s, err := newStack(l, opt.TimeWait)
	if err != nil {
		return res, err
	}
	w := newWatcher(s)
	l.sample = w.sample
	var (
		srv     *stackServer
		watched []*watched
		cls     []*stackConn
	)
	// Teardown: stop recording first, so what closing everything sends
	// is not part of the experiment.
	defer func() {
		if watched == nil {
			res.Frames, res.Faults = l.stop()
			watched = w.finish()
		}
		for _, c := range cls {
			c.close()
		}
		if srv != nil {
			srv.stop()
		}
		s.Close()
		s.Wait()
	}()

	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	if sc.Server != nil {
		so := *sc.Server
		if so.Mode == "" {
			so.Mode = server.Hold
		}
		if so.Backlog == 0 {
			so.Backlog = 10
		}
		srv, err = listen(srvCtx, s, w, res.Server, so, logf)
		if err != nil {
			return res, err
		}
	}

	var prev netip.AddrPort
	res.ClientErrs, err = lab.RunClients(ctx, sc, logf, func(i int, cr lab.ClientRun) (client.Conn, error, error) {
		var local netip.AddrPort
		if i > 0 && cr.SamePort {
			local = prev
		}
		c, addr, cerr := dial(ctx, s, w, local, res.Server, cr.SynRetries)
		res.Clients = append(res.Clients, addr)
		prev = addr
		if cerr != nil {
			return nil, cerr, nil
		}
		cls = append(cls, c)
		return c, nil, nil
	})
	if err != nil {
		return res, err
	}

	// Let the endpoints come to rest: the server's handlers done, no
	// handshake or close in flight. A holding server's connections rest
	// in ESTABLISHED or CLOSE-WAIT by design.
	deadline := time.Now().Add(opt.Settle)
	var restless []tcp.EndpointState
	if srv != nil && srv.opts.Mode != server.Hold {
		restless = []tcp.EndpointState{tcp.StateEstablished, tcp.StateCloseWait}
	}
	for time.Now().Before(deadline) {
		// Look for new endpoints here rather than trust the watcher's
		// loop to have run: on a loaded machine it may not have since
		// the last handshake completed.
		w.discover()
		if (srv == nil || srv.idle()) && !w.busy(restless...) {
			break
		}
		if err := client.Sleep(ctx, 2*time.Millisecond); err != nil {
			return res, err
		}
	}
	if err := client.Sleep(ctx, 50*time.Millisecond+sc.Tail); err != nil {
		return res, err
	}
	res.Until = time.Now()
	res.Frames, res.Faults = l.stop()
	res.Frames = sc.Captured(res.Frames)
	watched = w.finish()
	res.Endpoints = label(watched, res.Server, res.Clients)
	return res, nil
}

// label numbers connections by their client's attempt and gives each
// endpoint its role.
func label(ws []*watched, srv netip.AddrPort, clients []netip.AddrPort) []Endpoint {
	var out []Endpoint
	used := map[int]bool{}
	for _, x := range ws {
		ep := Endpoint{Source: Source, Local: x.local, Remote: x.remote, States: x.states}
		switch {
		case x.local == srv && !x.remote.IsValid():
			ep.Role = lab.Listener
		case x.local == srv:
			ep.Role = lab.Server
			ep.Conn = connOf(clients, x.remote, used, false)
		default:
			ep.Role = lab.Client
			ep.Conn = connOf(clients, x.local, used, true)
		}
		out = append(out, ep)
	}
	// Listener first, then by connection, client before server.
	rank := func(e Endpoint) int {
		if e.Role == lab.Listener {
			return 0
		}
		r := e.Conn * 2
		if e.Role == lab.Server {
			r++
		}
		return r
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && rank(out[j]) < rank(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// connOf finds the attempt that used addr. Clients are watched in the
// order they connect, so with a reused port the first unclaimed attempt
// is the right one; a server endpoint takes its client's number.
func connOf(clients []netip.AddrPort, addr netip.AddrPort, used map[int]bool, claim bool) int {
	last := 0
	for i, c := range clients {
		if c != addr {
			continue
		}
		if claim && !used[i+1] {
			used[i+1] = true
			return i + 1
		}
		if !claim && used[i+1] {
			last = i + 1
		}
	}
	if claim {
		return 0
	}
	return last
}

// errString turns a netstack error into a Go error.
func errString(err tcpip.Error) error {
	if err == nil {
		return nil
	}
	return errors.New(err.String())
}
