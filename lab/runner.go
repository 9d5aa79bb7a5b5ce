package lab

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/kernel"
	"synfin/lab/server"
	"synfin/wire"
)

// Options tune a run.
type Options struct {
	// Port is the server port; 0 means 9988, the seed's.
	Port uint16
	// ClientPort is the first client's local port; 0 picks a random one
	// below the ephemeral range, so two labs at once can be told apart
	// in the (global) tracepoint.
	ClientPort uint16
	// Recorder captures frames; nil means an AFPacket.
	Recorder Recorder
	// Settle bounds the wait for the sockets to reach a resting state
	// (no handshake or close in progress, TIME-WAIT visible); 0 means 5s.
	Settle time.Duration
	// Log receives server and client events as lines.
	Log func(string)
	// Kernel receives tracepoint events as they are read.
	Kernel func(kernel.Event)
	// Path, if not nil, runs the scenario between two namespaces joined
	// through a third, a router, instead of on one namespace's loopback,
	// and captures on both sides of the router (see Path).
	Path *Path
}

// Endpoint is one socket's kernel truth in a run.
type Endpoint struct {
	Conn int // 1-based connection number, 0 for the listener
	Role Role
	kernel.Endpoint
}

// TimeWaitHolder is a socket sock_diag showed in TIME-WAIT at the end.
type TimeWaitHolder struct {
	Conn   int
	Role   Role
	Socket kernel.Socket
}

// Result is what a run observed.
type Result struct {
	Scenario  string
	Namespace string
	Server    netip.AddrPort
	Clients   []netip.AddrPort // local address of each connection attempt

	Link   wire.LinkType
	Frames []wire.Frame // copies, owned by the result; with a Path, the client's side
	// Far is what the capture on the server's side of a Path's router
	// held (Ethernet frames); nil without a Path.
	Far    []wire.Frame
	Router string // the router's namespace, with a Path
	Iface  string // the interface Frames were captured on

	Events       []kernel.Event       // tracepoint, this lab's sockets only
	Observations []kernel.Observation // sock_diag changes
	Endpoints    []Endpoint
	Sockets      []kernel.Socket // sock_diag at the end, like ss -tan
	TimeWait     []TimeWaitHolder
	Faults       []fault.Counter

	Log        []string
	ClientErrs []error // per connection, nil when the client's steps succeeded
	Start, End time.Time
	// Until is when the capture stopped: nothing came after its last
	// frame until then.
	Until time.Time
}

// Endpoint returns the endpoint of a connection and role, or nil.
func (r *Result) Endpoint(conn int, role Role) *Endpoint {
	for i := range r.Endpoints {
		if r.Endpoints[i].Conn == conn && r.Endpoints[i].Role == role {
			return &r.Endpoints[i]
		}
	}
	return nil
}

// Run runs the scenario in a new network namespace and removes
// everything it created before returning, also when ctx is cancelled.
func Run(ctx context.Context, sc *Scenario, opt Options) (res *Result, err error) {
	if opt.Port == 0 {
		opt.Port = 9988
	}
	if opt.ClientPort == 0 {
		var b [2]byte
		rand.Read(b[:])
		opt.ClientPort = 20000 + binary.BigEndian.Uint16(b[:])%10000
	}
	if opt.Settle == 0 {
		opt.Settle = 5 * time.Second
	}
	if opt.Recorder == nil {
		opt.Recorder = &AFPacket{}
	}
	res = &Result{Scenario: sc.Name, Start: time.Now()}
	logf := Logger(&res.Log, opt.Log)
	// cleanups run in reverse order on every return path.
	var cleanups []func() error
	defer func() {
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			errs = append(errs, cleanups[i]())
		}
		if cerr := errors.Join(errs...); cerr != nil {
			err = errors.Join(err, cerr)
		}
		res.End = time.Now()
	}()

	top, err := newTopology(sc, opt.Path, &cleanups)
	if err != nil {
		return res, err
	}
	loop := top.clientAddr
	res.Namespace, res.Server = top.client.Name, netip.AddrPortFrom(top.serverAddr, opt.Port)
	if top.router != nil {
		res.Router = top.router.Name
	}
	res.Iface = top.capture[0].iface

	// Faults, with the scenario's roles turned into ports.
	var rules []fault.Rule
	for _, f := range sc.Faults {
		rules = append(rules, f.RuleFor(opt.Port))
	}
	faults, err := top.faults(rules, opt.Path)
	if err != nil {
		return res, err
	}
	if faults != nil {
		cleanups = append(cleanups, faults.Close)
	}

	// Kernel truth: the tracepoint, filtered on the server port in the
	// kernel and on this lab's ports here.
	clientPorts := map[uint16]bool{}
	ours := func(src, dst netip.AddrPort) bool {
		s := res.Server
		return (src == s && (dst.Port() == 0 || clientPorts[dst.Port()])) ||
			(dst == s && clientPorts[src.Port()])
	}
	for i, c := range sc.Clients {
		if i == 0 || !c.SamePort {
			clientPorts[opt.ClientPort+uint16(i)] = true
		}
	}
	kv, err := StartKernel(opt.Port, func(e kernel.Event) {
		if opt.Kernel != nil && ours(e.Src, e.Dst) {
			opt.Kernel(e)
		}
	}, top.ends()...)
	if err != nil {
		return res, err
	}
	cleanups = append(cleanups, kv.Close)
	var watches []*kernel.Watcher
	for _, diag := range kv.Diags {
		watch := kernel.Watch(diag, 2*time.Millisecond, func(s kernel.Socket) bool { return ours(s.Local, s.Remote) })
		cleanups = append(cleanups, func() error { _, err := watch.Stop(); return err })
		watches = append(watches, watch)
	}

	recs := []Recorder{opt.Recorder}
	if top.router != nil {
		recs = append(recs, &AFPacket{})
	}
	var stops []func() ([]wire.Frame, wire.LinkType, error)
	for i, r := range recs {
		stop, err := StartRecording(r, top.capture[i].ns, top.capture[i].iface)
		if err != nil {
			return res, err
		}
		cleanups = append(cleanups, func() error { _, _, err := stop(); return err })
		stops = append(stops, stop)
	}

	// The server.
	holdMode := false
	if sc.Server != nil {
		so := *sc.Server
		so.Addr = res.Server.String()
		holdMode = so.Mode == server.Hold
		so.Log = func(e server.Event) {
			logf("server: " + e.String())
		}
		stopServer, err := StartServer(ctx, top.server, so)
		if err != nil {
			return res, err
		}
		cleanups = append(cleanups, stopServer)
	}

	// The clients, one after another.
	var conns []*net.TCPConn
	cleanups = append(cleanups, func() error {
		for _, c := range conns {
			c.Close()
		}
		return nil
	})
	port := opt.ClientPort
	noSocket := map[int]bool{} // connections with no socket at either end
	res.ClientErrs, err = RunClients(ctx, sc, logf, func(i int, cr ClientRun) (client.Conn, error, error) {
		if i > 0 && !cr.SamePort {
			port = opt.ClientPort + uint16(i)
		}
		from := netip.AddrPortFrom(loop, port)
		res.Clients = append(res.Clients, from)
		if cr.OldSYN {
			noSocket[i+1] = true
			var isn uint32
			if err := top.client.Do(func() (err error) { isn, err = SendOldSYN(from, res.Server); return }); err != nil {
				return nil, nil, err
			}
			logf(fmt.Sprintf("client: #%d old duplicate SYN from %s, seq %d, through a raw socket", i+1, from, isn))
			return nil, nil, nil
		}
		co := client.Options{Addr: res.Server.String(), LocalPort: int(port), SynRetries: cr.SynRetries, Timeout: 10 * time.Second}
		var c *net.TCPConn
		if cerr := top.client.Do(func() (err error) { c, err = client.Connect(ctx, co); return }); cerr != nil {
			return nil, cerr, nil
		}
		conns = append(conns, c)
		return c, nil, nil
	})
	if err != nil {
		return res, err
	}

	// Let the closes finish and TIME-WAIT show.
	mine := func() ([]kernel.Socket, error) { return kv.Sockets(ours) }
	if err := settle(ctx, mine, opt.Settle, len(sc.Expect.TimeWait), holdMode, sc.Server != nil); err != nil {
		return res, err
	}
	res.Sockets, err = kv.Sockets(nil)
	if err != nil {
		return res, err
	}
	if err := client.Sleep(ctx, sc.Tail); err != nil {
		return res, err
	}
	res.Until = time.Now()
	var ferrs []error
	for i, stop := range stops {
		frames, link, ferr := stop()
		ferrs = append(ferrs, ferr)
		if i == 0 {
			res.Frames, res.Link = sc.Captured(frames), link
		} else {
			res.Far = sc.Captured(frames)
		}
	}
	if ferr := errors.Join(ferrs...); ferr != nil {
		return res, ferr
	}
	if res.Events, err = kv.Events(ours); err != nil {
		return res, err
	}
	for _, watch := range watches {
		obs, _ := watch.Stop()
		res.Observations = append(res.Observations, obs...)
	}
	slices.SortStableFunc(res.Observations, func(a, b kernel.Observation) int { return a.Time.Compare(b.Time) })
	if faults != nil {
		if res.Faults, err = faults.Counters(); err != nil {
			return res, err
		}
	}
	res.Endpoints = label(kernel.Endpoints(res.Events, res.Observations), res.Server, noSocket)
	for _, s := range res.Sockets {
		if s.State != kernel.TimeWait || !ours(s.Local, s.Remote) {
			continue
		}
		h := TimeWaitHolder{Socket: s}
		for _, ep := range slices.Backward(res.Endpoints) {
			if ep.Local == s.Local && ep.Remote == s.Remote {
				h.Conn, h.Role = ep.Conn, ep.Role
				break
			}
		}
		res.TimeWait = append(res.TimeWait, h)
	}
	return res, nil
}

// settle waits, up to max, until no socket of the lab is opening or
// closing and at least wantTW are in TIME-WAIT, then a little longer so
// the last segments are captured. Hold servers leave CLOSE-WAIT, which
// is a resting state.
// Loopback is the address the scenario runs on: ::1 or 127.0.0.1.
func (sc *Scenario) Loopback() netip.Addr {
	if sc.IPv6 {
		return netip.IPv6Loopback()
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// RunClients runs the scenario's clients one after another, each after
// its pause. dial connects client i (from 0) and returns its connection;
// or the error of a connect that failed, which is logged and does not
// stop the run; or neither, when the client has nothing more to do; or,
// as its third result, an error that stops the run. RunClients returns
// each client's error (of its connect or its steps); it stops early only
// when ctx ends or dial says so.
func RunClients(ctx context.Context, sc *Scenario, logf func(string), dial func(i int, cr ClientRun) (c client.Conn, connectErr, err error)) ([]error, error) {
	var errs []error
	for i, cr := range sc.Clients {
		if err := client.Sleep(ctx, cr.Pause); err != nil {
			return errs, err
		}
		c, cerr, err := dial(i, cr)
		switch {
		case err != nil:
			return errs, err
		case cerr != nil && ctx.Err() != nil:
			return errs, ctx.Err()
		case cerr != nil:
			logf(fmt.Sprintf("client: #%d %s", i+1, cerr))
		case c != nil:
			cerr = client.RunSteps(ctx, c, i+1, cr.Steps, func(e client.Event) { logf("client: " + e.String()) })
			if ctx.Err() != nil {
				return errs, ctx.Err()
			}
		}
		errs = append(errs, cerr)
	}
	return errs, nil
}

func settle(ctx context.Context, sockets func() ([]kernel.Socket, error), max time.Duration, wantTW int, hold, haveServer bool) error {
	deadline := time.Now().Add(max)
	// A server pausing before its close is invisible to sock_diag, so
	// ESTABLISHED and CLOSE-WAIT count as busy unless the server holds.
	for time.Now().Before(deadline) {
		socks, err := sockets()
		if err != nil {
			return err
		}
		busy, tw := 0, 0
		for _, s := range socks {
			switch s.State {
			case kernel.SynSent, kernel.SynRecv, kernel.NewSynRecv, kernel.FinWait1, kernel.Closing, kernel.LastAck:
				busy++
			case kernel.Established, kernel.CloseWait:
				if haveServer && !hold {
					busy++
				}
			case kernel.TimeWait:
				tw++
			}
		}
		if busy == 0 && tw >= wantTW {
			break
		}
		if err := client.Sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return client.Sleep(ctx, 50*time.Millisecond)
}

// label gives each kernel endpoint its role and connection number:
// client sockets are numbered in the order they were born, skipping the
// connections that have no socket, and a server socket takes the number
// of the client socket it faces.
func label(eps []kernel.Endpoint, srv netip.AddrPort, noSocket map[int]bool) []Endpoint {
	out := make([]Endpoint, len(eps))
	conn := 0
	for i, ep := range eps {
		out[i].Endpoint = ep
		switch {
		case ep.Local == srv && ep.Listener():
			out[i].Role = Listener
		case ep.Local == srv:
			out[i].Role = Server
		default:
			conn++
			for noSocket[conn] {
				conn++
			}
			out[i].Role, out[i].Conn = Client, conn
		}
	}
	for i := range out {
		if out[i].Role != Server {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			// The ports alone: a router on the path may have
			// translated the client's address.
			if out[j].Role == Client && out[j].Local.Port() == out[i].Remote.Port() && out[j].Remote == out[i].Local {
				out[i].Conn = out[j].Conn
				break
			}
		}
	}
	return out
}
