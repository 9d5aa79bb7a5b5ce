package crowd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/kernel"
	"synfin/lab/netns"
	"synfin/lab/server"
	"synfin/wire"
)

// Options tune a crowd's run.
type Options struct {
	// Observe, when set, is called once the namespace exists, before the
	// population (ip netns exec takes its name); atRest is called once
	// the population is at rest, after the kernel's view was read and
	// before anything is torn down, and done when the run ends, whether
	// it got there or not. What atRest returns is kept as the result's
	// Findings, beside the packets and the kernel's view: this is where
	// synfin watch looks.
	Observe func(ctx context.Context, ns *netns.NS) (atRest func() ([]string, error), done func(), err error)
	// Log receives the run's log lines as they come.
	Log func(string)
	// The server listens on 127.0.0.1:Port, 9988 (the seed's) for 0.
	// The tracepoint is global: labs run at once need ports of their own.
	Port uint16
	// Recorder captures frames; nil means a lab.AFPacket.
	Recorder lab.Recorder
}

// Result is what a run observed.
type Result struct {
	Scenario  string
	Namespace string
	Server    netip.AddrPort
	Link      wire.LinkType
	Frames    []wire.Frame   // copies, owned by the result
	Events    []kernel.Event // tracepoint, this lab's sockets only
	// Sockets is sock_diag at rest (what ss -tan shows), this lab's only.
	Sockets []kernel.Socket
	// Before and After are the namespace's counters at the start and at
	// rest; the namespace is new, so Before is mostly zeros.
	Before, After Counters
	Findings      []string // from Options.Observe
	Log           []string
	Connected     int // clients whose connect succeeded
	Start, End    time.Time
}

// floodNet holds the flood's source addresses: RFC 2544's benchmarking
// range, routed out of lo so that the SYN-ACKs to them are sent (and
// captured) but reach no socket and draw no reset, as from a spoofed
// source that does not exist.
var floodNet = netip.MustParsePrefix("198.18.0.0/15")

// Run runs the scenario in a new network namespace and removes
// everything it created before returning, also when ctx is cancelled.
func Run(ctx context.Context, sc *Scenario, opt Options) (res *Result, err error) {
	if opt.Port == 0 {
		opt.Port = 9988
	}
	if opt.Recorder == nil {
		opt.Recorder = &lab.AFPacket{}
	}
	srvAddr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), opt.Port)
	res = &Result{Scenario: sc.Name, Server: srvAddr, Start: time.Now()}
	logf := lab.Logger(&res.Log, opt.Log)
	defer func() { res.End = time.Now() }()
	ns, err := netns.New()
	if err != nil {
		return res, err
	}
	res.Namespace = ns.Name
	defer join(&err, ns.Close)
	for _, s := range sc.Sysctls {
		if err := ns.Sysctl(s[0], s[1]); err != nil {
			return res, err
		}
		logf(fmt.Sprintf("sysctl %s = %s", s[0], s[1]))
	}
	var atRest func() ([]string, error)
	if opt.Observe != nil {
		var done func()
		if atRest, done, err = opt.Observe(ctx, ns); err != nil {
			return res, err
		}
		defer done()
	}
	var rules []fault.Rule
	for _, f := range sc.Faults {
		rules = append(rules, f.RuleFor(opt.Port))
		logf("fault: " + rules[len(rules)-1].String())
	}
	if len(rules) > 0 {
		faults, ferr := fault.Install(ns.Fd(), rules)
		if ferr != nil {
			return res, ferr
		}
		defer join(&err, faults.Close)
	}
	if sc.Flood > 0 {
		if err := routeFlood(ns); err != nil {
			return res, err
		}
	}
	if res.Before, err = ReadCounters(ns); err != nil {
		return res, err
	}
	ours := func(a, b netip.AddrPort) bool { return a == srvAddr || b == srvAddr }
	kv, err := lab.StartKernel(opt.Port, nil, ns)
	if err != nil {
		return res, err
	}
	defer join(&err, kv.Close)
	stopRecording, err := lab.StartRecording(opt.Recorder, ns, "lo")
	if err != nil {
		return res, err
	}
	defer join(&err, func() error { _, _, err := stopRecording(); return err })

	// The server.
	so := sc.Server
	so.Addr = srvAddr.String()
	so.Log = func(e server.Event) {
		if e.What != "accepted" && e.What != "closed" && e.What != "eof" || sc.Clients <= logAll {
			logf("server: " + e.String())
		}
	}
	stopServer, err := lab.StartServer(ctx, ns, so)
	if err != nil {
		return res, err
	}
	defer join(&err, stopServer)

	if sc.Flood > 0 {
		if err := ns.Do(func() error { return flood(sc.Flood, srvAddr) }); err != nil {
			return res, err
		}
		logf(fmt.Sprintf("flood: %d SYNs from %d addresses of %s through a raw socket, none of which answers", sc.Flood, sc.Flood, floodNet))
	}

	// The clients; those still connecting when the run is over are
	// cancelled at the end.
	clientCtx, stopClients := context.WithCancel(ctx)
	var (
		mu    sync.Mutex
		conns []*net.TCPConn
		wg    sync.WaitGroup
	)
	defer join(&err, func() error {
		stopClients()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
		return nil
	})
	dial := func(i int) {
		var c *net.TCPConn
		err := ns.Do(func() (err error) {
			c, err = client.Connect(clientCtx, client.Options{Addr: srvAddr.String(), Timeout: time.Minute})
			return
		})
		if err != nil {
			if clientCtx.Err() == nil {
				logf(fmt.Sprintf("client: #%d %v", i, err))
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		res.Connected++
		if sc.Clients <= logAll {
			logf(fmt.Sprintf("client: #%d connected from %s", i, c.LocalAddr()))
		}
		if sc.Close {
			c.Close()
		} else {
			conns = append(conns, c)
		}
	}
	for i := 1; i <= sc.Clients; i++ {
		if sc.Every == 0 {
			dial(i)
			continue
		}
		if i > 1 && client.Sleep(ctx, sc.Every) != nil {
			return res, ctx.Err()
		}
		wg.Add(1)
		go func() { defer wg.Done(); dial(i) }()
	}
	if sc.Clients > logAll {
		// Clients started Every apart may still be connecting.
		mu.Lock()
		connected := res.Connected
		mu.Unlock()
		logf(fmt.Sprintf("client: %d connections made one after another, %d connected, each closed at once", sc.Clients, connected))
	}
	if err := client.Sleep(ctx, sc.Tail); err != nil {
		return res, err
	}
	mine := func() ([]kernel.Socket, error) { return kv.Sockets(ours) }
	if err := settle(ctx, mine); err != nil {
		return res, err
	}

	// At rest: the kernel's view, then whoever else looks.
	if res.Sockets, err = mine(); err != nil {
		return res, err
	}
	if res.After, err = ReadCounters(ns); err != nil {
		return res, err
	}
	if atRest != nil {
		if res.Findings, err = atRest(); err != nil {
			return res, err
		}
	}
	frames, link, ferr := stopRecording()
	if ferr != nil {
		return res, ferr
	}
	res.Frames, res.Link = frames, link
	res.Events, err = kv.Events(ours)
	return res, err
}

// join adds what undo returns to *err; deferred, it undoes a step of Run
// on every way out, the last step first.
func join(err *error, undo func() error) { *err = errors.Join(*err, undo()) }

// logAll is the most clients whose every step is logged.
const logAll = 20

// settle waits, up to 5 s, until no socket is closing (FIN-WAIT-1,
// CLOSING, LAST-ACK), then a little longer so the last segments are
// captured. Handshakes are left as they are: a full queue keeps some
// waiting for good.
func settle(ctx context.Context, sockets func() ([]kernel.Socket, error)) error {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		socks, err := sockets()
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(socks, func(s kernel.Socket) bool {
			return s.State == kernel.FinWait1 || s.State == kernel.Closing || s.State == kernel.LastAck
		}) {
			break
		}
		if err := client.Sleep(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	return client.Sleep(ctx, 50*time.Millisecond)
}

// routeFlood routes the flood's addresses out of lo, as a link route:
// not local, so no socket of the namespace answers for them.
func routeFlood(ns *netns.NS) error {
	h, err := ns.Netlink()
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		p := floodNet
		err = h.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Scope: netlink.SCOPE_LINK,
			Dst: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}})
	}
	if err != nil {
		return fmt.Errorf("crowd: route %s out of lo: %w", floodNet, err)
	}
	return nil
}

// flood sends n SYNs to srv through a raw socket, each from an address
// of its own in floodNet.
func flood(n int, srv netip.AddrPort) error {
	a := floodNet.Addr().As4()
	for i := 1; i <= n; i++ {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{a[0], a[1] + byte(i>>16), byte(i >> 8), byte(i)}), 40000)
		if _, err := lab.SendOldSYN(from, srv); err != nil {
			return err
		}
	}
	return nil
}
