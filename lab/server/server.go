package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"synfin/lab/client"
)

// Mode decides what the server does with each accepted connection.
type Mode string

// The modes. Each one produces a different teardown.
const (
	// Seed is the seed's Python server: it keeps the connection open and
	// reads nothing until the next one is accepted, then closes it (the
	// accept loop rebinds its variable, and the old socket object is
	// freed and closed). It is Hold with ClosePrevious.
	Seed Mode = "seed"
	// Hold keeps the connection open and reads nothing until the server
	// stops (or, with ClosePrevious, until the next one is accepted).
	Hold Mode = "hold"
	// Close closes the connection at once (after Wait): the server sends
	// the first FIN.
	Close Mode = "close"
	// Echo writes back what it reads until the peer's FIN, then closes.
	Echo Mode = "echo"
	// Sink reads and discards until the peer's FIN, then closes.
	Sink Mode = "sink"
	// Send writes Bytes bytes, then closes.
	Send Mode = "send"
	// ShutdownWrite writes Bytes bytes, shuts down its sending side (a
	// FIN while it can still receive), reads until the peer's FIN, then
	// closes.
	ShutdownWrite Mode = "shutdown-write"
	// RST aborts the connection with SO_LINGER 0: the kernel sends RST
	// instead of FIN.
	RST Mode = "rst"
	// CloseUnread waits until data has arrived and closes without reading
	// it: the kernel answers unread data with RST (RFC 9293 3.6.1 note,
	// RFC 2525 2.17).
	CloseUnread Mode = "close-unread"
)

// Modes lists every mode in a stable order.
var Modes = []Mode{Seed, Hold, Close, Echo, Sink, Send, ShutdownWrite, RST, CloseUnread}

// ParseMode returns the mode named s.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return "", fmt.Errorf("server: unknown mode %q (one of %s)", s, strings.Join(names, ", "))
}

// Options configure a server. The zero value is the seed's server: it
// listens on 127.0.0.1:9988 with backlog 10 in Seed mode.
type Options struct {
	Addr    string // host:port; "" means 127.0.0.1:9988
	Backlog int    // listen backlog; 0 means 10
	Mode    Mode   // "" means Seed
	Bytes   int    // bytes written by Send and ShutdownWrite
	// Wait is a pause before the closing step: after accept for Close,
	// Send, ShutdownWrite and RST, after the peer's FIN for Echo and
	// Sink. A pause longer than the peer's delayed-ACK timer makes the
	// server's FIN a segment of its own.
	Wait time.Duration
	// ClosePrevious closes the previous connection when the next one is
	// accepted, which is what the seed's Python server does by rebinding
	// its variable (the old socket object is freed and closed).
	ClosePrevious bool
	// Limit stops the server after that many connections have finished
	// (0: no limit).
	Limit int
	// AcceptDelay pauses before each accept(2), so connections wait in
	// the accept queue: a slow application.
	AcceptDelay time.Duration
	// NoAccept listens and never accepts: the kernel completes
	// handshakes into the accept queue until it holds Backlog+1, then
	// drops what comes next (ListenOverflows).
	NoAccept bool
	// Log receives one Event per step, from several goroutines in turn.
	Log func(Event)
}

// Event is one thing the server did.
type Event struct {
	Time   time.Time
	Conn   int    // 1-based connection number, 0 for the listener
	What   string // listening, accepted, retrying, read, wrote, eof, shutdown, closed, reset, error
	Local  netip.AddrPort
	Peer   netip.AddrPort
	Bytes  int
	Err    error
	Detail string
}

// String formats the event as one line, for example
// "accepted #1 from 127.0.0.1:41631 (to 127.0.0.1:9988)".
func (e Event) String() string {
	var head string
	switch e.What {
	case "listening":
		head = fmt.Sprintf("listening on %s", e.Local)
	case "accepted":
		head = fmt.Sprintf("accepted #%d from %s (to %s)", e.Conn, e.Peer, e.Local)
	case "retrying":
		// Detail is the pause before the next try.
		return fmt.Sprintf("accept on %s: %v; retrying in %s", e.Local, e.Err, e.Detail)
	default:
		head = client.StepLine(e.Conn, e.Peer, e.What, e.Bytes)
	}
	return client.Line(head, e.Detail, e.Err)
}

// Server accepts connections on one listening socket.
type Server struct {
	opts Options
	ln   *net.TCPListener
	addr netip.AddrPort

	mu      sync.Mutex
	conns   map[int]*net.TCPConn
	release chan struct{} // closed to make the previous Hold connection close
	wg      sync.WaitGroup
}

func (o *Options) defaults() error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:9988"
	}
	if o.Backlog == 0 {
		o.Backlog = 10
	}
	if o.Backlog < 0 {
		return fmt.Errorf("server: backlog %d is negative", o.Backlog)
	}
	if o.Mode == "" {
		o.Mode = Seed
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return err
	}
	if o.Bytes < 0 {
		return fmt.Errorf("server: byte count %d is negative", o.Bytes)
	}
	if o.AcceptDelay < 0 {
		return fmt.Errorf("server: accept delay %s is negative", o.AcceptDelay)
	}
	return nil
}

// Listen creates the listening socket. The socket belongs to the network
// namespace of the calling thread, so call it inside the namespace.
func Listen(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: address %q: %w", opts.Addr, err)
	}
	network := "tcp4"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		network = "tcp6"
	}
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(ctx, network, opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ln := l.(*net.TCPListener)
	if err := setBacklog(ln, opts.Backlog); err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, conns: map[int]*net.TCPConn{}}
	s.addr = ln.Addr().(*net.TCPAddr).AddrPort()
	detail := fmt.Sprintf("backlog %d, mode %s", opts.Backlog, opts.Mode)
	switch {
	case opts.NoAccept:
		detail = fmt.Sprintf("backlog %d, never accepting", opts.Backlog)
	case opts.AcceptDelay > 0:
		detail += fmt.Sprintf(", %s before each accept", opts.AcceptDelay)
	}
	s.log(Event{What: "listening", Local: s.addr, Detail: detail})
	return s, nil
}

// setBacklog repeats listen(2) with the wanted backlog; on an already
// listening socket Linux only updates sk_max_ack_backlog.
func setBacklog(ln *net.TCPListener, backlog int) error {
	rc, err := ln.SyscallConn()
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = unix.Listen(int(fd), backlog) }); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if lerr != nil {
		return fmt.Errorf("server: listen backlog %d: %w", backlog, lerr)
	}
	return nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

func (s *Server) log(e Event) {
	if s.opts.Log == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.opts.Log(e)
}

// Serve accepts connections until ctx is done or Limit connections have
// finished, then closes the listener and every connection still open and
// returns. It returns nil on a clean stop. With NoAccept it only waits
// for ctx; with AcceptDelay it pauses before each accept. An accept that
// fails for want of descriptors or memory, or on a connection that died in the queue,
// is logged ("retrying") and tried again after a pause that doubles from
// 5 ms to at most 1 s, as net/http's server does.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()

	var (
		done    = make(chan struct{}, max(s.opts.Limit, 1))
		started int
		retErr  error
	)
	if s.opts.Limit > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for n := 0; n < s.opts.Limit; n++ {
				select {
				case <-done:
				case <-ctx.Done():
					return
				}
			}
			cancel()
		}()
	}
	if s.opts.NoAccept {
		<-ctx.Done()
		return nil // the listener is closed by the AfterFunc above
	}
	var backoff time.Duration
	for {
		if s.opts.AcceptDelay > 0 {
			// A slow application: the connections wait in the queue.
			select {
			case <-time.After(s.opts.AcceptDelay):
			case <-ctx.Done():
			}
		}
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			if errno, ok := transient(err); ok {
				// Out of descriptors or memory, or a connection that died
				// in the queue: wait and accept again, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log(Event{What: "retrying", Local: s.addr, Err: errno, Detail: backoff.String()})
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
					continue
				case <-ctx.Done():
					t.Stop()
				}
				break
			}
			retErr = fmt.Errorf("server: accept: %w", err)
			break
		}
		backoff = 0
		started++
		n := started
		peer := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		s.log(Event{Conn: n, What: "accepted", Local: s.addr, Peer: peer})
		release := make(chan struct{})
		s.mu.Lock()
		s.conns[n] = c
		prev := s.release
		s.release = release
		s.mu.Unlock()
		if (s.opts.ClosePrevious || s.opts.Mode == Seed) && prev != nil {
			close(prev)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, n, c, peer, release)
			s.mu.Lock()
			delete(s.conns, n)
			s.mu.Unlock()
			if s.opts.Limit > 0 {
				done <- struct{}{}
			}
		}()
		if s.opts.Limit > 0 && started >= s.opts.Limit {
			// Stop accepting; the goroutine above cancels once all finish.
			s.ln.Close()
		}
	}
	s.ln.Close()
	if s.opts.Limit > 0 && started >= s.opts.Limit {
		// Wait for the last connections to finish on their own.
		s.wg.Wait()
	}
	cancel()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return retErr
}

// transientAccept are the errors after which accept(2) can succeed
// again: resources that other connections will give back, and, as
// accept(2) says, network errors of the connection being accepted.
var transientAccept = []syscall.Errno{
	syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
	syscall.ECONNABORTED, syscall.EINTR, syscall.EPROTO, syscall.ENETDOWN, syscall.ENOPROTOOPT,
	syscall.EHOSTDOWN, syscall.ENONET, syscall.EHOSTUNREACH, syscall.EOPNOTSUPP, syscall.ENETUNREACH,
}

// transient returns the error number of an accept error after which
// accepting again can succeed.
func transient(err error) (syscall.Errno, bool) {
	var errno syscall.Errno
	return errno, errors.As(err, &errno) && slices.Contains(transientAccept, errno)
}

// Close stops accepting; Serve then returns.
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) handle(ctx context.Context, n int, c *net.TCPConn, peer netip.AddrPort, release <-chan struct{}) {
	ev := func(what string, bytes int, err error, detail string) {
		s.log(Event{Conn: n, What: what, Local: s.addr, Peer: peer, Bytes: bytes, Err: err, Detail: detail})
	}
	// Closing the connection when ctx ends unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	pause := func() bool {
		if s.opts.Wait <= 0 {
			return true
		}
		t := time.NewTimer(s.opts.Wait)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	closeConn := func() {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			ev("error", 0, err, "close")
			return
		}
		ev("closed", 0, nil, "")
	}
	switch s.opts.Mode {
	case Seed, Hold:
		// Read nothing, like the seed: a FIN from the peer leaves this
		// side in CLOSE-WAIT until it is released.
		select {
		case <-ctx.Done():
			c.Close()
			ev("closed", 0, nil, "server stopping")
		case <-release:
			c.Close()
			ev("closed", 0, nil, "next connection accepted")
		}
	case Close:
		if pause() {
			closeConn()
		}
	case Echo, Sink:
		if !ReadToEnd(c, s.opts.Mode == Echo, ev) {
			c.Close()
			return
		}
		if pause() {
			closeConn()
		}
	case Send:
		if !pause() {
			return
		}
		nw, err := c.Write(make([]byte, s.opts.Bytes))
		if err != nil {
			ev("error", nw, err, "write")
		} else if nw > 0 {
			ev("wrote", nw, nil, "")
		}
		closeConn()
	case ShutdownWrite:
		if !pause() {
			return
		}
		if s.opts.Bytes > 0 {
			nw, err := c.Write(make([]byte, s.opts.Bytes))
			if err != nil {
				ev("error", nw, err, "write")
				c.Close()
				return
			}
			ev("wrote", nw, nil, "")
		}
		if err := c.CloseWrite(); err != nil {
			ev("error", 0, err, "shutdown")
			c.Close()
			return
		}
		ev("shutdown", 0, nil, "sent FIN, still reading")
		nr, err := io.Copy(io.Discard, c)
		switch {
		case err != nil:
			ev("error", int(nr), err, "read")
		case nr > 0:
			ev("read", int(nr), nil, "")
			fallthrough
		default:
			ev("eof", 0, nil, "peer sent FIN")
		}
		closeConn()
	case RST:
		if !pause() {
			return
		}
		if err := Abort(c); err != nil {
			ev("error", 0, err, "abort")
			return
		}
		ev("reset", 0, nil, "SO_LINGER 0, RST sent")
	case CloseUnread:
		if err := waitReadable(ctx, c, 5*time.Second); err != nil {
			ev("error", 0, err, "waiting for data")
			c.Close()
			return
		}
		if !pause() {
			return
		}
		if err := c.Close(); err != nil {
			ev("error", 0, err, "close")
			return
		}
		ev("closed", 0, nil, "data left unread, kernel sends RST")
	}
}

// ReadToEnd reads c up to the peer's FIN, writing back what it reads if
// echo, and logs it as Echo and Sink do; it reports whether the read
// ended without an error.
func ReadToEnd(c io.ReadWriter, echo bool, ev func(what string, bytes int, err error, detail string)) bool {
	var w io.Writer = io.Discard
	what := "read"
	if echo {
		w, what = c, "echoed"
	}
	nr, err := io.Copy(w, c)
	if err != nil {
		ev("error", int(nr), err, "read")
		return false
	}
	if nr > 0 {
		ev(what, int(nr), nil, "")
	}
	ev("eof", 0, nil, "peer sent FIN")
	return true
}

// Abort closes c with SO_LINGER 0, so the kernel discards the connection
// and sends RST.
func Abort(c *net.TCPConn) error {
	if err := c.SetLinger(0); err != nil {
		c.Close()
		return fmt.Errorf("server: SO_LINGER 0: %w", err)
	}
	return c.Close()
}

// waitReadable waits until c has data queued, without reading it, so the
// data stays unread when c is closed.
func waitReadable(ctx context.Context, c *net.TCPConn, max time.Duration) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(max)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		var n int
		var ierr error
		if err := rc.Control(func(fd uintptr) {
			n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
		}); err != nil {
			return err
		}
		if ierr != nil {
			return ierr
		}
		if n > 0 {
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return syscall.ETIMEDOUT
}
