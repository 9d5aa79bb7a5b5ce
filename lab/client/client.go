package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Kind is what a step does.
type Kind string

// The step kinds.
const (
	Send     Kind = "send"     // write Bytes bytes
	Read     Kind = "read"     // read until the peer's FIN (or Bytes bytes if > 0)
	Wait     Kind = "wait"     // pause for Wait
	Shutdown Kind = "shutdown" // shut down the sending side: FIN, keep receiving
	Close    Kind = "close"    // close normally (FIN, or RST if data is unread)
	Abort    Kind = "abort"    // close with SO_LINGER 0: RST
	Hold     Kind = "hold"     // keep the connection until ctx is done, then close
)

// Step is one action on a connection.
type Step struct {
	Kind  Kind
	Bytes int
	Wait  time.Duration
}

// String formats the step as ParseSteps reads it: "send 100", "wait 50ms".
func (s Step) String() string {
	switch s.Kind {
	case Send:
		return "send " + strconv.Itoa(s.Bytes)
	case Read:
		if s.Bytes > 0 {
			return "read " + strconv.Itoa(s.Bytes)
		}
	case Wait:
		return "wait " + s.Wait.String()
	}
	return string(s.Kind)
}

// ParseSteps reads steps separated by commas or semicolons, for example
// "send 100, wait 50ms, shutdown, read, close".
func ParseSteps(s string) ([]Step, error) {
	var steps []Step
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		st := Step{Kind: Kind(f[0])}
		switch st.Kind {
		case Send, Read:
			if len(f) > 2 || (st.Kind == Send && len(f) != 2) {
				return nil, fmt.Errorf("client: step %q: want %q", part, string(st.Kind)+" BYTES")
			}
			if len(f) == 2 {
				n, err := strconv.Atoi(f[1])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("client: step %q: bad byte count", part)
				}
				st.Bytes = n
			}
		case Wait:
			if len(f) != 2 {
				return nil, fmt.Errorf("client: step %q: want \"wait DURATION\"", part)
			}
			d, err := time.ParseDuration(f[1])
			if err != nil || d < 0 {
				return nil, fmt.Errorf("client: step %q: bad duration", part)
			}
			st.Wait = d
		case Shutdown, Close, Abort, Hold:
			if len(f) != 1 {
				return nil, fmt.Errorf("client: step %q takes no argument", part)
			}
		default:
			return nil, fmt.Errorf("client: unknown step %q (send, read, wait, shutdown, close, abort, hold)", f[0])
		}
		steps = append(steps, st)
	}
	return steps, nil
}

// Plan is the usual shape of a client's steps, in the order they run:
// send; shut down and read, or read; wait; then abort or hold, else
// close.
type Plan struct {
	Send           int  // bytes to send, when Sends
	Sends          bool // send Send bytes (0 too)
	Shutdown, Read bool
	Wait           time.Duration // pause before the end, if positive
	Abort, Hold    bool
}

// Steps returns the plan as steps.
func (p Plan) Steps() []Step {
	var st []Step
	if p.Sends {
		st = append(st, Step{Kind: Send, Bytes: p.Send})
	}
	if p.Shutdown {
		st = append(st, Step{Kind: Shutdown})
	}
	if p.Shutdown || p.Read {
		st = append(st, Step{Kind: Read})
	}
	if p.Wait > 0 {
		st = append(st, Step{Kind: Wait, Wait: p.Wait})
	}
	switch {
	case p.Abort:
		st = append(st, Step{Kind: Abort})
	case p.Hold:
		st = append(st, Step{Kind: Hold})
	}
	return st
}

// Options configure a client.
type Options struct {
	Addr      string // server host:port; "" means 127.0.0.1:9988
	LocalAddr string // local address to bind, "" for the kernel's choice
	LocalPort int    // local port, 0 for an ephemeral one
	IPv6      bool   // with Addr "": connect to [::1]:9988
	// Steps run in order after the connection is established. Without a
	// closing step (close, abort, hold) the connection is closed at the
	// end, as the seed's client does by exiting.
	Steps  []Step
	Repeat int // connections made one after another; 0 means 1
	// Timeout bounds the connect; 0 means 10s.
	Timeout time.Duration
	// SynRetries sets TCP_SYNCNT (how many times the SYN is
	// retransmitted before connect gives up); 0 keeps the default.
	SynRetries int
	// Log receives one Event per step.
	Log func(Event)
}

// Event is one thing the client did.
type Event struct {
	Time   time.Time
	Conn   int // 1-based connection number
	What   string
	Local  netip.AddrPort
	Peer   netip.AddrPort
	Bytes  int
	Err    error
	Detail string
}

// String formats the event as one line.
func (e Event) String() string {
	if e.What == "connected" {
		return Line(fmt.Sprintf("connected #%d %s -> %s", e.Conn, e.Local, e.Peer), e.Detail, e.Err)
	}
	return Line(StepLine(e.Conn, e.Local, e.What, e.Bytes), e.Detail, e.Err)
}

// StepLine starts the line of a step on connection conn, named by the
// client's address: "#conn addr what[ N bytes]". The server's events
// read the same.
func StepLine(conn int, addr netip.AddrPort, what string, bytes int) string {
	s := fmt.Sprintf("#%d %s %s", conn, addr, what)
	if bytes > 0 {
		s += fmt.Sprintf(" %d bytes", bytes)
	}
	return s
}

// Line ends an event's line: head, the detail in parentheses, the error.
func Line(head, detail string, err error) string {
	if detail != "" {
		head += " (" + detail + ")"
	}
	if err != nil {
		head += ": " + err.Error()
	}
	return head
}

func (o *Options) defaults() error {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:9988"
		if o.IPv6 {
			o.Addr = "[::1]:9988"
		}
	}
	if o.Repeat == 0 {
		o.Repeat = 1
	}
	if o.Repeat < 0 {
		return fmt.Errorf("client: repeat %d is negative", o.Repeat)
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.LocalPort < 0 || o.LocalPort > 65535 {
		return fmt.Errorf("client: local port %d out of range", o.LocalPort)
	}
	return nil
}

// Dialer returns the net.Dialer the client uses: MPTCP off, the local
// address bound with SO_REUSEADDR, TCP_SYNCNT set.
func (o Options) Dialer() (*net.Dialer, string, error) {
	if err := o.defaults(); err != nil {
		return nil, "", err
	}
	ap, err := netip.ParseAddrPort(o.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("client: address %q: %w", o.Addr, err)
	}
	network := "tcp4"
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		network = "tcp6"
	}
	d := &net.Dialer{Timeout: o.Timeout}
	d.SetMultipathTCP(false)
	if o.LocalAddr != "" || o.LocalPort != 0 {
		la := &net.TCPAddr{Port: o.LocalPort}
		if o.LocalAddr != "" {
			a, err := netip.ParseAddr(o.LocalAddr)
			if err != nil {
				return nil, "", fmt.Errorf("client: local address %q: %w", o.LocalAddr, err)
			}
			la.IP = a.AsSlice()
		}
		d.LocalAddr = la
	}
	syn := o.SynRetries
	reuse := o.LocalPort != 0
	d.Control = func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reuse {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			if serr == nil && syn > 0 {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_SYNCNT, syn)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	return d, network, nil
}

// Connect makes one connection. The socket belongs to the network
// namespace of the calling thread.
func Connect(ctx context.Context, o Options) (*net.TCPConn, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	d, network, err := o.Dialer()
	if err != nil {
		return nil, err
	}
	c, err := d.DialContext(ctx, network, o.Addr)
	if errors.Is(err, syscall.EADDRNOTAVAIL) && o.LocalPort != 0 {
		// The port could be bound (SO_REUSEADDR) but its 4-tuple is taken.
		return nil, fmt.Errorf("client: %w (the last connection from port %d to %s still exists: in TIME-WAIT, or in FIN-WAIT-2 until the server closes; ss -tan shows it)",
			unwrapOp(err), o.LocalPort, o.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("client: %w", unwrapOp(err))
	}
	return c.(*net.TCPConn), nil
}

// unwrapOp drops net.OpError's repetition of the addresses, which the
// caller prints already.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		if op.Addr != nil {
			return fmt.Errorf("%s %s: %w", op.Op, op.Addr, op.Err)
		}
		return fmt.Errorf("%s: %w", op.Op, op.Err)
	}
	return err
}

// Run makes Repeat connections one after another, running the steps on
// each. It stops at the first error.
func Run(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	for i := 1; i <= o.Repeat; i++ {
		c, err := Connect(ctx, o)
		if err != nil {
			if o.Repeat > 1 {
				return fmt.Errorf("connection %d: %w", i, err)
			}
			return err
		}
		if err := RunSteps(ctx, c, i, o.Steps, o.Log); err != nil {
			return err
		}
	}
	return nil
}

// Conn is a connection steps run on: a kernel socket (*net.TCPConn), or a
// connection of another TCP stack that offers the same calls.
type Conn interface {
	io.ReadWriteCloser
	// CloseWrite shuts down the sending side: a FIN.
	CloseWrite() error
	// SetLinger(0) makes Close discard the connection and send RST.
	SetLinger(sec int) error
	LocalAddr() net.Addr // a *net.TCPAddr
	RemoteAddr() net.Addr
}

// Sleep waits for d, as the wait step does, unless ctx is done first;
// then it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RunSteps runs steps on the connection c (numbered n in events) and
// closes it unless a step already did.
func RunSteps(ctx context.Context, c Conn, n int, steps []Step, log func(Event)) error {
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	peer := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	ev := func(what string, bytes int, err error, detail string) {
		if log != nil {
			log(Event{Time: time.Now(), Conn: n, What: what, Local: local, Peer: peer, Bytes: bytes, Err: err, Detail: detail})
		}
	}
	ev("connected", 0, nil, "")
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	closed, finSent := false, false
	defer func() {
		if !closed {
			c.Close()
			ev("closed", 0, nil, "end of steps")
		}
	}()
	for i, st := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Reading to the end and then closing: on a kernel socket the FIN
		// leaves the moment the peer's arrives (see readThenShutdown).
		if tc, ok := c.(*net.TCPConn); ok && st.Kind == Read && st.Bytes == 0 && !finSent && i+1 < len(steps) && steps[i+1].Kind == Close {
			nr, err := readThenShutdown(ctx, tc)
			if err != nil {
				ev("error", nr, err, "read")
				return fmt.Errorf("client: read: %w", err)
			}
			finSent = true
			ev("read", nr, nil, "peer sent FIN; FIN sent at once")
			continue
		}
		switch st.Kind {
		case Send:
			nw, err := c.Write(make([]byte, st.Bytes))
			if err != nil {
				ev("error", nw, err, "send")
				return fmt.Errorf("client: send: %w", err)
			}
			ev("sent", nw, nil, "")
		case Read:
			var r io.Reader = c
			if st.Bytes > 0 {
				r = io.LimitReader(c, int64(st.Bytes))
			}
			nr, err := io.Copy(io.Discard, r)
			if err != nil {
				ev("error", int(nr), err, "read")
				return fmt.Errorf("client: read: %w", err)
			}
			detail := "peer sent FIN"
			if st.Bytes > 0 {
				detail = ""
			}
			ev("read", int(nr), nil, detail)
		case Wait:
			if err := Sleep(ctx, st.Wait); err != nil {
				return err
			}
		case Shutdown:
			if err := c.CloseWrite(); err != nil {
				ev("error", 0, err, "shutdown")
				return fmt.Errorf("client: shutdown: %w", err)
			}
			finSent = true
			ev("shutdown", 0, nil, "sent FIN, still reading")
		case Close:
			closed = true
			if err := c.Close(); err != nil {
				return fmt.Errorf("client: close: %w", err)
			}
			ev("closed", 0, nil, "")
		case Abort:
			closed = true
			if err := c.SetLinger(0); err != nil {
				c.Close()
				return fmt.Errorf("client: SO_LINGER 0: %w", err)
			}
			if err := c.Close(); err != nil {
				return fmt.Errorf("client: abort: %w", err)
			}
			ev("reset", 0, nil, "SO_LINGER 0, RST sent")
		case Hold:
			<-ctx.Done()
			closed = true
			c.Close()
			ev("closed", 0, nil, "stopping")
			return nil
		default:
			return fmt.Errorf("client: unknown step %q", st.Kind)
		}
	}
	return nil
}
