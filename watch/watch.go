package watch

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"synfin/lab/kernel"
	"synfin/lab/netns"
	"synfin/watch/bpf"
	"synfin/watch/finding"
	"synfin/watch/procfs"
	"synfin/watch/sockdiag"
	"synfin/watch/tracefs"
)

// Options configure a Watcher.
type Options struct {
	// Netns is the network namespace to watch: a name under /run/netns
	// or a path such as /proc/PID/ns/net; "" is the caller's.
	Netns      string
	Interval   time.Duration // between snapshots (default 5 s)
	Thresholds finding.Thresholds
	// Match keeps the sockets it matches (nil: all).
	Match *Matcher
	// Poll, when set, does not try the tracepoint; Tracefs reads it
	// through tracefs without trying eBPF first.
	Poll, Tracefs bool
	// MaxSockets bounds the table of sockets followed (default 200,000).
	MaxSockets int
	// BufferKB is the tracepoint's buffer (default 8192): eBPF's ring
	// buffer, or tracefs's per-CPU buffers together (1024 KB each at
	// least).
	BufferKB int
}

// MaxEndpoints bounds the remote endpoints TIME-WAIT is counted for;
// sockets toward others are counted in the total only.
const MaxEndpoints = 4096

// MaxListeners bounds the listeners a snapshot reports.
const MaxListeners = 256

// key is a socket's tuple in 36 bytes.
type key struct {
	l, r   [16]byte
	lp, rp uint16
}

func keyOf(l, r netip.AddrPort) key {
	return key{l.Addr().As16(), r.Addr().As16(), l.Port(), r.Port()}
}

// entry is what the table keeps of a socket.
type entry struct {
	since   int64 // Unix ns it entered state
	inode   uint32
	seen    uint32 // the poll that last saw it
	state   kernel.State
	atLeast bool // since is when watch first saw it, not when it entered state
}

// Watcher watches one namespace. Open it, then Run.
type Watcher struct {
	opts   Options
	diag   *sockdiag.Conn
	host   *procfs.Host
	src    source
	nl     *netlink.Handle
	start  time.Time
	reason string // why there are no transitions, if there are none

	mu        sync.Mutex
	table     map[key]entry
	gen       uint32
	local     []netip.Prefix
	owners    map[uint32]procfs.Owner
	threads   map[int]procfs.Owner
	trans     [kernel.NewSynRecv + 1][kernel.NewSynRecv + 1]uint64
	seen      uint64
	untracked uint64
	outside   uint64
	resets    []Transition // the last recentResets
	base      procfs.Counters
	prev      procfs.Counters
	prevTime  time.Time
}

const recentResets = 10

// Open opens every source. Transitions need the right to trace; without
// it Reason says why and Run polls sock_diag only. Open needs its
// privileges only until it returns: the caller may give them up then.
func Open(opts Options) (*Watcher, error) {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.MaxSockets <= 0 {
		opts.MaxSockets = 200_000
	}
	if opts.BufferKB <= 0 {
		opts.BufferKB = 8192
	}
	opts.Thresholds = opts.Thresholds.Defaults()
	path := sockdiag.NetnsPath(opts.Netns)
	w := &Watcher{opts: opts, table: map[key]entry{}, owners: map[uint32]procfs.Owner{}, threads: map[int]procfs.Owner{}, start: time.Now()}
	var err error
	if w.diag, err = sockdiag.Open(path); err != nil {
		return nil, err
	}
	err = sockdiag.InNetns(path, func() (err error) {
		if w.host, err = procfs.Open(); err != nil {
			return err
		}
		w.nl, err = netlink.NewHandle(netlink.FAMILY_ALL)
		return err
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	w.refreshLocal()
	if opts.Poll {
		w.reason = "polling sock_diag as asked"
	} else if err := w.openSource(); err != nil {
		w.reason = err.Error()
	}
	return w, nil
}

// source is where transitions come from: bpf.Source or tracefs.Source.
type source interface {
	Read(stop <-chan struct{}, fn func(*tracefs.Event)) error
	Lost() uint64
	Close() error
}

// openSource opens the eBPF source or, when BPF is refused (or
// Options.Tracefs asks), the tracefs one.
func (w *Watcher) openSource() (err error) {
	kb := w.opts.BufferKB
	if !w.opts.Tracefs {
		var b *bpf.Source
		if b, err = bpf.Open(kb); err == nil {
			w.src = b
			return nil
		}
	}
	t, err2 := tracefs.Open(max(kb/runtime.NumCPU(), 1024))
	if err2 != nil && err != nil {
		return fmt.Errorf("%w; %w", err, err2)
	} else if err2 != nil {
		return err2
	}
	w.src = t
	return nil
}

// Transitions reports whether the tracepoint is read; Reason says why
// not.
func (w *Watcher) Transitions() bool { return w.src != nil }

// Reason says why transitions are not followed ("" when they are).
func (w *Watcher) Reason() string { return w.reason }

// Close closes every source.
func (w *Watcher) Close() error {
	var errs []error
	if w.src != nil {
		errs = append(errs, w.src.Close())
	}
	if w.diag != nil {
		errs = append(errs, w.diag.Close())
	}
	if w.host != nil {
		w.host.Close()
	}
	if w.nl != nil {
		w.nl.Close()
	}
	return errors.Join(errs...)
}

// refreshLocal reads the namespace's own addresses.
func (w *Watcher) refreshLocal() {
	addrs, err := w.nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return
	}
	var local []netip.Prefix
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ones, _ := a.Mask.Size()
		if ip.IsLoopback() {
			local = append(local, netip.PrefixFrom(ip.Unmap(), ones).Masked())
		} else {
			local = append(local, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	w.mu.Lock()
	w.local = local
	w.mu.Unlock()
}

// isLocal reports whether a is one of the namespace's addresses (or
// unspecified: a socket not yet bound to one).
func (w *Watcher) isLocal(a netip.Addr) bool {
	if a.IsUnspecified() {
		return true
	}
	for _, p := range w.local {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Handler receives what Run sees; either may be nil. Transition is
// called on one goroutine, Snapshot on another. An error from either
// (the output could not be written) ends Run with that error.
type Handler struct {
	Transition func(*Transition) error
	Snapshot   func(*Snapshot) error
}

// Run watches until ctx ends or h returns an error: it hands each
// transition to h as it comes and a snapshot every interval, the first
// at once and the last when ctx ends.
func (w *Watcher) Run(ctx context.Context, h Handler) error {
	var wg sync.WaitGroup
	var readErr error
	stop := make(chan struct{})
	failed := make(chan error, 1) // the error h.Transition returned
	if w.src != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t Transition
			var terr error
			readErr = w.src.Read(stop, func(e *tracefs.Event) {
				if w.apply(e, &t) && h.Transition != nil && terr == nil {
					if terr = h.Transition(&t); terr != nil {
						failed <- terr
					}
				}
			})
		}()
	}
	snapshot := func() error {
		s, err := w.Snapshot()
		if err == nil && h.Snapshot != nil {
			err = h.Snapshot(s)
		}
		return err
	}
	tick := time.NewTicker(w.opts.Interval)
	defer tick.Stop()
	var err error
	for err == nil {
		if err = snapshot(); err != nil {
			break
		}
		select {
		case err = <-failed:
		case <-ctx.Done():
			close(stop)
			wg.Wait()
			return errors.Join(snapshot(), readErr)
		case <-tick.C:
		}
	}
	close(stop)
	wg.Wait()
	return err
}

// Transition is one state change of a socket.
type Transition struct {
	Time          time.Time
	Local, Remote netip.AddrPort
	From, To      kernel.State
	// InFrom is how long the socket was in From, or -1 when unknown (it
	// was there when watch started, or was not followed).
	InFrom time.Duration
	// Pid and Comm are the process, when known: the one that made the
	// change by a system call, or the socket's owner as last seen.
	Pid  int
	Comm string
}

// Reset reports whether the transition ends a connection without a
// close: by a reset sent or received (or, from SYN-SENT, a connect that
// failed).
func (t *Transition) Reset() bool {
	if t.To != kernel.Close {
		return false
	}
	switch t.From {
	case kernel.Established, kernel.CloseWait, kernel.SynSent, kernel.SynRecv, kernel.FinWait1:
		return true
	}
	return false
}

// apply records an event in the table and fills t; it returns false
// for an event of a socket watch does not watch.
func (w *Watcher) apply(e *tracefs.Event, t *Transition) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.isLocal(e.Local.Addr()) {
		w.outside++
		return false
	}
	if !w.opts.Match.Match(e.Local, e.Remote) {
		return false
	}
	w.seen++
	w.trans[min(e.Old, kernel.NewSynRecv)][min(e.New, kernel.NewSynRecv)]++
	*t = Transition{Time: e.Time, Local: e.Local, Remote: e.Remote, From: e.Old, To: e.New, InFrom: -1}
	if e.Task {
		t.Pid, t.Comm = w.process(e.Pid)
	}
	ns := e.Time.UnixNano()
	k := keyOf(e.Local, e.Remote)
	old, ok := w.table[k]
	if ok && old.state == e.Old && !old.atLeast {
		t.InFrom = time.Duration(ns - old.since)
	}
	if ok && t.Pid == 0 {
		if o, found := w.owners[old.inode]; found {
			t.Pid, t.Comm = o.Pid, o.Comm
		}
	}
	switch {
	case e.New == kernel.Close:
		delete(w.table, k)
	case ok || len(w.table) < w.opts.MaxSockets:
		w.table[k] = entry{since: ns, inode: old.inode, seen: old.seen, state: e.New}
	default:
		w.untracked++
	}
	if t.Reset() {
		if len(w.resets) == recentResets {
			w.resets = append(w.resets[:0], w.resets[1:]...)
		}
		w.resets = append(w.resets, *t)
	}
	return true
}

// process returns the process a thread belongs to, from a cache that is
// emptied when it holds maxThreads threads (a thread id can be reused).
func (w *Watcher) process(tid int) (int, string) {
	if o, ok := w.threads[tid]; ok {
		return o.Pid, o.Comm
	}
	o, ok := procfs.Process(tid)
	if !ok { // gone already: its process is not known for sure
		return 0, ""
	}
	if len(w.threads) >= maxThreads {
		clear(w.threads)
	}
	w.threads[tid] = o
	return o.Pid, o.Comm
}

const maxThreads = 4096

// Listener is a listening socket in a snapshot.
type Listener struct {
	finding.Listener
	Pid  int
	Comm string
}

// Aged is a socket and how long it has been in its state.
type Aged struct {
	Local, Remote netip.AddrPort
	Age           time.Duration
	AtLeast       bool // there before watch saw it: Age is a lower bound
	Pid           int
	Comm          string
}

// AgeBuckets are the upper bounds of the CLOSE-WAIT age histogram.
var AgeBuckets = []float64{1, 5, 10, 30, 60, 300, 900, 3600}

// Snapshot is the namespace at one moment.
type Snapshot struct {
	Time   time.Time
	Source string // "tracepoint" or "sock_diag"
	// States counts sockets by the kernel's state, a timewait socket by
	// its substate (TIME-WAIT or FIN-WAIT-2), as ss does.
	States    [kernel.NewSynRecv + 1]int
	Listeners []Listener
	// CloseWait are the oldest CLOSE-WAIT sockets, oldest first (at most
	// 10); CloseWaitHist counts all of them by AgeBuckets (the last
	// bucket past the end), CloseWaitSum is their ages' sum in seconds.
	CloseWait     []Aged
	CloseWaitHist []uint64
	CloseWaitSum  float64
	// TimeWait are the remote endpoints with the most TIME-WAIT sockets
	// (at most 10).
	TimeWait  []finding.Endpoint
	PortRange [2]int
	Somaxconn int
	TwReuse   int
	// Counters are the kernel's counters (procfs.Watched); Delta their
	// rise since the last snapshot.
	Counters, Delta procfs.Counters
	Resets          []Transition
	// Transitions counts the transitions seen by kernel state [from][to];
	// Seen is their sum, Lost those the kernel lost, Untracked those of
	// sockets the full table could not hold.
	Transitions [kernel.NewSynRecv + 1][kernel.NewSynRecv + 1]uint64
	Seen        uint64
	Lost        uint64
	Untracked   uint64
	Findings    []finding.Finding
}

// RFCStates returns the counts by RFC 9293 name (TCP_NEW_SYN_RECV
// requests and TCP_SYN_RECV sockets are both SYN-RECEIVED), every state
// present.
func (s *Snapshot) RFCStates() map[string]int {
	m := map[string]int{}
	for st := kernel.Established; st <= kernel.NewSynRecv; st++ {
		m[st.RFC()] += s.States[st]
	}
	return m
}

// Snapshot reads sock_diag, /proc and the counters now.
func (w *Watcher) Snapshot() (*Snapshot, error) {
	w.refreshLocal()
	now := time.Now()
	s := &Snapshot{Time: now, Source: "sock_diag", CloseWaitHist: make([]uint64, len(AgeBuckets)+1)}
	if w.src != nil {
		s.Source = "tracepoint"
	}
	if r, ok := w.host.Sysctl(procfs.PortRange); ok && len(r) == 2 {
		s.PortRange = [2]int{r[0], r[1]}
	}
	if v, ok := w.host.Sysctl(procfs.Somaxconn); ok {
		s.Somaxconn = v[0]
	}
	if v, ok := w.host.Sysctl(procfs.TwReuse); ok {
		s.TwReuse = v[0]
	}
	all := procfs.Counters{}
	if err := w.host.Counters(all); err != nil {
		return nil, err
	}
	s.Counters, s.Delta = procfs.Counters{}, procfs.Counters{}
	for _, n := range procfs.Watched {
		s.Counters[n] = all[n]
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	first := w.gen == 0
	w.gen++
	startNs, nowNs := w.start.UnixNano(), now.UnixNano()
	tw := map[netip.AddrPort]int{}
	synRecv := map[netip.AddrPort]int{}
	var listenInodes []uint32
	err := w.diag.Each(func(so *sockdiag.Socket) {
		if !w.opts.Match.Match(so.Local, so.Remote) {
			return
		}
		s.States[min(so.State, kernel.NewSynRecv)]++
		switch so.State {
		case kernel.TimeWait:
			if _, ok := tw[so.Remote]; ok || len(tw) < MaxEndpoints {
				tw[so.Remote]++
			}
			return
		case kernel.NewSynRecv:
			synRecv[so.Local]++
			return
		case kernel.Listen:
			if len(s.Listeners) < MaxListeners {
				s.Listeners = append(s.Listeners, Listener{Listener: finding.Listener{Addr: so.Local, Queue: so.RecvQ, Backlog: so.SendQ}})
				listenInodes = append(listenInodes, so.Inode)
			}
			return
		}
		k := keyOf(so.Local, so.Remote)
		e, ok := w.table[k]
		switch {
		case ok && e.state == so.State:
		case !ok && len(w.table) >= w.opts.MaxSockets:
			return
		case first:
			e = entry{since: startNs, state: so.State, atLeast: true}
		default: // a change the tracepoint did not report, or no tracepoint
			e = entry{since: nowNs, state: so.State, atLeast: true}
		}
		e.inode, e.seen = so.Inode, w.gen
		w.table[k] = e
	})
	if err != nil {
		return nil, err
	}
	// Sockets gone without a transition (lost, or polling): sweep them,
	// except those a transition added while the dump was read.
	want := map[uint32]bool{}
	for _, i := range listenInodes {
		want[i] = true
	}
	type cw struct {
		k key
		e entry
	}
	var cws []cw
	for k, e := range w.table {
		if e.seen != w.gen && e.since < nowNs {
			delete(w.table, k)
			continue
		}
		if e.state == kernel.CloseWait {
			cws = append(cws, cw{k, e})
			age := float64(nowNs-e.since) / 1e9
			s.CloseWaitSum += age
			b, _ := slices.BinarySearch(AgeBuckets, age)
			s.CloseWaitHist[b]++
			if time.Duration(nowNs-e.since) > w.opts.Thresholds.CloseWaitAge && len(want) < 100_000 {
				want[e.inode] = true
			}
		}
	}
	w.mu.Unlock()
	owners := procfs.Owners(want) // reads /proc without holding the table
	w.mu.Lock()
	w.owners = owners

	for i := range s.Listeners {
		l := &s.Listeners[i]
		l.SynRecv = synRecv[l.Addr]
		if o, ok := owners[listenInodes[i]]; ok {
			l.Pid, l.Comm = o.Pid, o.Comm
		}
	}
	// Requests to a wildcard listener carry the address they came to.
	for a, n := range synRecv {
		for i := range s.Listeners {
			l := &s.Listeners[i]
			if l.Addr.Port() == a.Port() && l.Addr.Addr().IsUnspecified() && l.Addr != a {
				l.SynRecv += n
			}
		}
	}
	slices.SortFunc(cws, func(a, b cw) int {
		switch {
		case a.e.since < b.e.since:
			return -1
		case a.e.since > b.e.since:
			return 1
		}
		return 0
	})
	holders := map[int]*finding.Holder{}
	for i, c := range cws {
		age := time.Duration(nowNs - c.e.since)
		o := owners[c.e.inode]
		if i < 10 {
			s.CloseWait = append(s.CloseWait, Aged{Local: addrPort(c.k.l, c.k.lp), Remote: addrPort(c.k.r, c.k.rp),
				Age: age, AtLeast: c.e.atLeast, Pid: o.Pid, Comm: o.Comm})
		}
		if age > w.opts.Thresholds.CloseWaitAge {
			h := holders[o.Pid]
			if h == nil {
				h = &finding.Holder{Pid: o.Pid, Comm: o.Comm, Oldest: age, AtLeast: c.e.atLeast}
				holders[o.Pid] = h
			}
			h.Count++
		}
	}
	for a, n := range tw {
		s.TimeWait = append(s.TimeWait, finding.Endpoint{Addr: a, Count: n})
	}
	slices.SortFunc(s.TimeWait, func(a, b finding.Endpoint) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return a.Addr.Compare(b.Addr)
	})
	s.TimeWait = s.TimeWait[:min(len(s.TimeWait), 10)]

	if w.base == nil {
		w.base, w.prev, w.prevTime = all, all, w.start
	}
	since := map[string]uint64{}
	for _, n := range procfs.Watched {
		s.Delta[n] = all[n] - min(w.prev[n], all[n])
		since[n] = all[n] - min(w.base[n], all[n])
	}
	in := finding.Input{Interval: now.Sub(w.prevTime), Delta: s.Delta, SinceStart: since,
		Somaxconn: s.Somaxconn, PortRange: s.PortRange, TwReuse: s.TwReuse, TimeWait: s.TimeWait}
	for _, h := range holders {
		in.Holders = append(in.Holders, *h)
	}
	slices.SortFunc(in.Holders, func(a, b finding.Holder) int { return b.Count - a.Count })
	for _, l := range s.Listeners {
		in.Listeners = append(in.Listeners, l.Listener)
	}
	s.Findings = finding.Detect(in, w.opts.Thresholds)
	w.prev, w.prevTime = all, now

	s.Transitions, s.Seen, s.Untracked = w.trans, w.seen, w.untracked
	s.Resets = slices.Clone(w.resets)
	if w.src != nil {
		s.Lost = w.src.Lost()
	}
	return s, nil
}

func addrPort(a [16]byte, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom16(a).Unmap(), port)
}

// String names where transitions come from, for a person.
func (w *Watcher) String() string {
	switch w.src.(type) {
	case *bpf.Source:
		return "tracepoint sock/inet_sock_set_state (eBPF) and sock_diag"
	case *tracefs.Source:
		return "tracepoint sock/inet_sock_set_state (tracefs) and sock_diag"
	}
	return fmt.Sprintf("sock_diag every %v", w.opts.Interval)
}

// Findings returns an observer for a lab's namespace (lab/crowd's
// Options.Observe): it reads the namespace at once, so that counters count
// from then, and at rest reads it twice, a second apart, so that sockets
// have an age; a CLOSE-WAIT socket leaks after that second, as a lab's
// sockets are young. It gives each kind's findings of the later reading
// that has any, in lang. done closes what it opened.
func Findings(lang string) func(ctx context.Context, ns *netns.NS) (atRest func() ([]string, error), done func(), err error) {
	return func(ctx context.Context, ns *netns.NS) (func() ([]string, error), func(), error) {
		w, err := Open(Options{Netns: ns.Name, Poll: true, Thresholds: finding.Thresholds{CloseWaitAge: time.Second}})
		if err != nil {
			return nil, nil, err
		}
		done := func() { w.Close() }
		if _, err := w.Snapshot(); err != nil {
			done()
			return nil, nil, err
		}
		return func() ([]string, error) {
			byKind := map[finding.Kind][]string{}
			for i := range 2 {
				if i > 0 {
					select {
					case <-ctx.Done():
						return nil, ctx.Err()
					case <-time.After(1100 * time.Millisecond):
					}
				}
				s, err := w.Snapshot()
				if err != nil {
					return nil, err
				}
				seen := map[finding.Kind]bool{}
				for _, f := range s.Findings {
					if !seen[f.Kind] {
						byKind[f.Kind], seen[f.Kind] = nil, true
					}
					byKind[f.Kind] = append(byKind[f.Kind], f.Text(lang))
				}
			}
			texts := []string{}
			for _, k := range finding.Kinds {
				texts = append(texts, byKind[k]...)
			}
			return texts, nil
		}, done, nil
	}
}
