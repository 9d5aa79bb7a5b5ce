package userstack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"synfin/lab/client"
	"synfin/lab/server"
)

// stackConn is one connection on the stack: the endpoint, for socket
// options and states, and a net.Conn over it for reads and writes.
type stackConn struct {
	ep     tcpip.Endpoint
	c      *gonet.TCPConn
	local  netip.AddrPort
	peer   netip.AddrPort
	mu     sync.Mutex
	closed bool
}

// close closes the connection once.
func (c *stackConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.c.Close()
	}
}

// abort closes with SO_LINGER 0, which makes netstack send RST.
func (c *stackConn) abort() {
	c.SetLinger(0)
	c.close()
}

// The calls of client.Conn, so that client.RunSteps runs a scenario's
// steps here as on a kernel socket.

func (c *stackConn) Read(b []byte) (int, error)  { return c.c.Read(b) }
func (c *stackConn) Write(b []byte) (int, error) { return c.c.Write(b) }
func (c *stackConn) CloseWrite() error           { return c.c.CloseWrite() }
func (c *stackConn) LocalAddr() net.Addr         { return net.TCPAddrFromAddrPort(c.local) }
func (c *stackConn) RemoteAddr() net.Addr        { return net.TCPAddrFromAddrPort(c.peer) }

// Close closes the connection once; closing it again does nothing.
func (c *stackConn) Close() error {
	c.close()
	return nil
}

// SetLinger sets SO_LINGER as net.TCPConn's does: negative for the
// default, else a linger of sec seconds (0: Close sends RST).
func (c *stackConn) SetLinger(sec int) error {
	c.ep.SocketOptions().SetLinger(tcpip.LingerOption{Enabled: sec >= 0, Timeout: time.Duration(max(sec, 0)) * time.Second})
	return nil
}

// dial connects from local (zero: an ephemeral port) to remote.
func dial(ctx context.Context, s *stack.Stack, w *watcher, local, remote netip.AddrPort, synRetries int) (*stackConn, netip.AddrPort, error) {
	raddr, proto := fullAddr(remote)
	var wq waiter.Queue
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, proto, &wq)
	if terr != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("userstack: endpoint: %s", terr)
	}
	w.add(ep)
	fail := func(err error) (*stackConn, netip.AddrPort, error) {
		addr := boundAddr(ep, remote)
		w.name(ep, addr, remote)
		ep.Close()
		return nil, addr, err
	}
	if local.IsValid() {
		// The previous connection may hold the port in TIME-WAIT.
		ep.SocketOptions().SetReuseAddress(true)
		laddr, _ := fullAddr(local)
		if terr := ep.Bind(laddr); terr != nil {
			return fail(fmt.Errorf("userstack: bind %s: %s", local, terr))
		}
	}
	entry, ready := waiter.NewChannelEntry(waiter.WritableEvents | waiter.EventHUp | waiter.EventErr)
	wq.EventRegister(&entry)
	defer wq.EventUnregister(&entry)
	terr = ep.Connect(raddr)
	if _, ok := terr.(*tcpip.ErrConnectStarted); ok {
		giveUp := time.NewTimer(synDeadline(synRetries))
		defer giveUp.Stop()
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-giveUp.C:
			return fail(fmt.Errorf("userstack: connect %s: timed out after %d SYN retransmissions", remote, max(synRetries, 0)))
		case <-ready:
		}
		terr = ep.LastError()
	}
	if terr != nil {
		return fail(fmt.Errorf("userstack: connect %s: %s", remote, terr))
	}
	addr := boundAddr(ep, remote)
	w.name(ep, addr, remote)
	return &stackConn{ep: ep, c: gonet.NewTCPConn(&wq, ep), local: addr, peer: remote}, addr, nil
}

// connectTimeout bounds a connect without SYN retries, as lab's client does.
const connectTimeout = 10 * time.Second

// synDeadline is when a connect with n SYN retransmissions gives up.
// Netstack stores TCP_SYNCNT but its handshake backs off until its
// 60-second maximum RTO whatever the count, so the run enforces the
// count itself: SYNs go out at 0, 1, 3, 7 … seconds (RFC 6298 initial
// RTO, doubled), and the connect is abandoned just before the
// retransmission the count forbids.
func synDeadline(n int) time.Duration {
	if n <= 0 {
		return connectTimeout
	}
	return tcp.InitialRTO*time.Duration(1<<(n+1)-1) - 50*time.Millisecond
}

// boundAddr is the endpoint's local address, or the loopback address
// of remote's family with port 0 when it has none yet.
func boundAddr(ep tcpip.Endpoint, remote netip.AddrPort) netip.AddrPort {
	if a, err := ep.GetLocalAddress(); err == nil {
		if ap := addrPort(a.Addr, a.Port); ap.IsValid() {
			return ap
		}
	}
	return netip.AddrPortFrom(remote.Addr(), 0)
}

// stackServer accepts connections and treats each as lab/server does in
// its mode.
type stackServer struct {
	opts   server.Options
	addr   netip.AddrPort
	ep     tcpip.Endpoint
	wq     *waiter.Queue
	cancel context.CancelFunc
	log    func(server.Event)
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   map[int]*stackConn
	release chan struct{}
	active  int // handlers not finished
}

func listen(ctx context.Context, s *stack.Stack, w *watcher, addr netip.AddrPort, opts server.Options, logf func(string)) (*stackServer, error) {
	if _, err := server.ParseMode(string(opts.Mode)); err != nil {
		return nil, fmt.Errorf("userstack: %w", err)
	}
	full, proto := fullAddr(addr)
	wq := new(waiter.Queue)
	ep, terr := s.NewEndpoint(tcp.ProtocolNumber, proto, wq)
	if terr != nil {
		return nil, fmt.Errorf("userstack: listener: %s", terr)
	}
	w.add(ep)
	if terr := ep.Bind(full); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("userstack: bind %s: %s", addr, terr)
	}
	if terr := ep.Listen(opts.Backlog); terr != nil {
		ep.Close()
		return nil, fmt.Errorf("userstack: listen %s: %s", addr, terr)
	}
	w.name(ep, addr, netip.AddrPort{})
	ctx, cancel := context.WithCancel(ctx)
	srv := &stackServer{opts: opts, addr: addr, ep: ep, wq: wq, cancel: cancel, conns: map[int]*stackConn{}}
	srv.log = func(e server.Event) {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		logf("server: " + e.String())
	}
	srv.log(server.Event{What: "listening", Local: addr, Detail: fmt.Sprintf("backlog %d, mode %s", opts.Backlog, opts.Mode)})
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		srv.serve(ctx, w)
	}()
	return srv, nil
}

// idle reports whether no connection waits in the accept queue and every
// accepted connection's handler has finished (a holding handler counts as
// finished: it waits by design). serve accepts and counts under the same
// lock, so a connection is always in one place or the other.
func (s *stackServer) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active == 0 && s.ep.Readiness(waiter.ReadableEvents) == 0
}

// stop closes the listener and every connection, and waits for the
// handlers.
func (s *stackServer) stop() {
	s.cancel()
	s.ep.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *stackServer) serve(ctx context.Context, w *watcher) {
	entry, ready := waiter.NewChannelEntry(waiter.ReadableEvents)
	s.wq.EventRegister(&entry)
	defer s.wq.EventUnregister(&entry)
	n := 0
	for {
		var peerAddr tcpip.FullAddress
		s.mu.Lock()
		ep, wq, terr := s.ep.Accept(&peerAddr)
		if terr == nil {
			s.active++ // until it is handed to its handler (a holding one stops counting then)
		}
		s.mu.Unlock()
		if _, ok := terr.(*tcpip.ErrWouldBlock); ok {
			select {
			case <-ctx.Done():
				return
			case <-ready:
			}
			continue
		}
		if terr != nil {
			if ctx.Err() == nil {
				s.log(server.Event{What: "error", Local: s.addr, Err: errString(terr), Detail: "accept"})
			}
			return
		}
		w.add(ep)
		n++
		peer := addrPort(peerAddr.Addr, peerAddr.Port)
		c := &stackConn{ep: ep, c: gonet.NewTCPConn(wq, ep), local: s.addr, peer: peer}
		w.name(ep, s.addr, peer)
		s.log(server.Event{Conn: n, What: "accepted", Local: s.addr, Peer: peer})
		release := make(chan struct{})
		s.mu.Lock()
		s.conns[n] = c
		prev := s.release
		s.release = release
		if s.opts.Mode == server.Hold {
			s.active--
		}
		s.mu.Unlock()
		if s.opts.ClosePrevious && prev != nil {
			close(prev)
		}
		s.wg.Add(1)
		go func(n int) {
			defer s.wg.Done()
			s.handle(ctx, n, c, release)
			s.mu.Lock()
			delete(s.conns, n)
			if s.opts.Mode != server.Hold {
				s.active--
			}
			s.mu.Unlock()
		}(n)
	}
}

// handle mirrors lab/server's modes on a netstack connection.
func (s *stackServer) handle(ctx context.Context, n int, c *stackConn, release <-chan struct{}) {
	ev := func(what string, bytes int, err error, detail string) {
		s.log(server.Event{Conn: n, What: what, Local: s.addr, Peer: c.peer, Bytes: bytes, Err: err, Detail: detail})
	}
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	pause := func() bool { return client.Sleep(ctx, s.opts.Wait) == nil }
	closeConn := func() {
		c.close()
		ev("closed", 0, nil, "")
	}
	switch s.opts.Mode {
	case server.Hold:
		// Read nothing, like the seed: a FIN from the peer leaves this
		// side in CLOSE-WAIT until it is released.
		select {
		case <-ctx.Done():
			c.close()
		case <-release:
			c.close()
			ev("closed", 0, nil, "next connection accepted")
		}
	case server.Close:
		if pause() {
			closeConn()
		}
	case server.Echo, server.Sink:
		if !server.ReadToEnd(c.c, s.opts.Mode == server.Echo, ev) {
			c.close()
			return
		}
		if pause() {
			closeConn()
		}
	case server.Send, server.ShutdownWrite:
		if !pause() {
			return
		}
		if s.opts.Bytes > 0 {
			nw, err := c.c.Write(make([]byte, s.opts.Bytes))
			if err != nil {
				ev("error", nw, err, "write")
				c.close()
				return
			}
			ev("wrote", nw, nil, "")
		}
		if s.opts.Mode == server.Send {
			closeConn()
			return
		}
		if err := c.c.CloseWrite(); err != nil {
			ev("error", 0, err, "shutdown")
			c.close()
			return
		}
		ev("shutdown", 0, nil, "sent FIN, still reading")
		nr, err := io.Copy(io.Discard, c.c)
		if err != nil {
			ev("error", int(nr), err, "read")
		} else {
			ev("eof", int(nr), nil, "peer sent FIN")
		}
		closeConn()
	case server.RST:
		if pause() {
			c.abort()
			ev("reset", 0, nil, "SO_LINGER 0, RST sent")
		}
	case server.CloseUnread:
		// Wait for data without reading it, then close: netstack, like
		// Linux, answers unread data with RST.
		if !waitReadable(ctx, c) {
			return
		}
		c.close()
		ev("closed", 0, nil, "unread data: RST")
	}
}

// waitReadable waits until the connection has data (or an end) to read.
func waitReadable(ctx context.Context, c *stackConn) bool {
	for {
		if c.ep.Readiness(waiter.ReadableEvents) != 0 {
			return true
		}
		if err := client.Sleep(ctx, time.Millisecond); err != nil {
			return false
		}
	}
}
