package kernel

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Socket is one TCP socket as sock_diag reports it (what ss -tan shows).
type Socket struct {
	Family int
	State  State // for a timewait minisock: TIME-WAIT or its FIN-WAIT-2 substate
	Local  netip.AddrPort
	Remote netip.AddrPort
	// RecvQ and SendQ are ss's Recv-Q and Send-Q: for a listener, the
	// accept queue length and the listen backlog.
	RecvQ, SendQ uint32
	Inode        uint32
	Cookie       uint64
}

// String formats the socket as ss -tan does: "TIME-WAIT 0 0
// 127.0.0.1:41631 127.0.0.1:9988".
func (s Socket) String() string {
	return fmt.Sprintf("%-10s %d %d %s %s", s.State.SS(), s.RecvQ, s.SendQ, s.Local, s.Remote)
}

// DiagHandle returns a netlink handle for sock_diag queries inside the
// network namespace ns. A handle without a NETLINK_INET_DIAG socket of
// its own would query the calling thread's namespace instead.
func DiagHandle(ns vnetns.NsHandle) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_INET_DIAG)
	if err != nil {
		return nil, fmt.Errorf("kernel: sock_diag handle: %w", err)
	}
	return h, nil
}

// Sockets returns every TCP socket (IPv4 and IPv6) in the network
// namespace of h (made by DiagHandle), sorted by local then remote
// address.
func Sockets(h *netlink.Handle) ([]Socket, error) {
	var out []Socket
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		socks, err := h.SocketDiagTCP(fam)
		if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
			return nil, fmt.Errorf("kernel: sock_diag: %w", err)
		}
		for _, s := range socks {
			out = append(out, fromDiag(s))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Local.Compare(out[j].Local); c != 0 {
			return c < 0
		}
		return out[i].Remote.Compare(out[j].Remote) < 0
	})
	return out, nil
}

func fromDiag(s *netlink.Socket) Socket {
	addr := func(ip []byte, port uint16) netip.AddrPort {
		a, _ := netip.AddrFromSlice(ip)
		if s.Family == unix.AF_INET {
			a = a.Unmap()
		}
		return netip.AddrPortFrom(a, port)
	}
	return Socket{
		Family: int(s.Family),
		State:  State(s.State),
		Local:  addr(s.ID.Source, s.ID.SourcePort),
		Remote: addr(s.ID.Destination, s.ID.DestinationPort),
		RecvQ:  s.RQueue,
		SendQ:  s.WQueue,
		Inode:  s.INode,
		Cookie: uint64(s.ID.Cookie[1])<<32 | uint64(s.ID.Cookie[0]),
	}
}

// Observation is a change seen by Watch: a socket appeared or changed
// state (Gone false) or disappeared (Gone true).
type Observation struct {
	Time   time.Time
	Socket Socket
	Gone   bool
}

// Watcher polls sock_diag and keeps every change, which is how states of
// timewait minisocks (FIN-WAIT-2, TIME-WAIT) get a time.
type Watcher struct {
	h    *netlink.Handle
	keep func(Socket) bool
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	obs  []Observation
	last map[[2]netip.AddrPort]Socket
	err  error
	once sync.Once
}

// Watch polls the namespace of h every interval (at least 1ms) until
// Stop, recording sockets keep accepts (nil: all).
func Watch(h *netlink.Handle, interval time.Duration, keep func(Socket) bool) *Watcher {
	w := &Watcher{h: h, keep: keep, stop: make(chan struct{}), done: make(chan struct{}), last: map[[2]netip.AddrPort]Socket{}}
	interval = max(interval, time.Millisecond)
	w.poll()
	go func() {
		defer close(w.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				w.poll()
				return
			case <-t.C:
				w.poll()
			}
		}
	}()
	return w
}

func (w *Watcher) poll() {
	socks, err := Sockets(w.h)
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = err
		return
	}
	seen := map[[2]netip.AddrPort]bool{}
	for _, s := range socks {
		if w.keep != nil && !w.keep(s) {
			continue
		}
		k := [2]netip.AddrPort{s.Local, s.Remote}
		seen[k] = true
		if old, ok := w.last[k]; ok && old.State == s.State && old.Cookie == s.Cookie {
			continue
		}
		w.last[k] = s
		w.obs = append(w.obs, Observation{Time: now, Socket: s})
	}
	for k, s := range w.last {
		if !seen[k] {
			delete(w.last, k)
			w.obs = append(w.obs, Observation{Time: now, Socket: s, Gone: true})
		}
	}
}

// Stop polls once more, stops and returns every observation.
func (w *Watcher) Stop() ([]Observation, error) {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Observation(nil), w.obs...), w.err
}
