package sockdiag

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"

	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"synfin/lab/kernel"
)

// Socket is one TCP socket as inet_diag reports it.
type Socket struct {
	State  kernel.State // TIME-WAIT for a timewait minisock, NEW_SYN_RECV for a request
	Local  netip.AddrPort
	Remote netip.AddrPort
	// RecvQ and SendQ are ss's Recv-Q and Send-Q: for a listener, the
	// accept queue's length and the listen backlog.
	RecvQ, SendQ uint32
	// Timer is the kind of timer running (ss -o: 0 none, 1 retransmit,
	// 2 keepalive, 3 TIME-WAIT, 4 zero window probe), Expires the ms
	// left on it.
	Timer   uint8
	Expires uint32
	Inode   uint32
	UID     uint32
}

// Conn is a sock_diag socket bound to one network namespace.
type Conn struct {
	fd  int
	seq uint32
	buf []byte
}

// Open opens a sock_diag socket in the network namespace at nsPath
// ("" for the caller's own).
func Open(nsPath string) (*Conn, error) {
	var fd int
	err := InNetns(nsPath, func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sockdiag: open: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sockdiag: bind: %w", err)
	}
	return &Conn{fd: fd, buf: make([]byte, 32<<10)}, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// InNetns runs fn on a locked OS thread inside the network namespace at
// path ("" runs fn where the caller is). Sockets and files opened in fn
// stay in that namespace after it returns.
func InNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := vnetns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			errc <- err
			return // the thread stays locked and is dropped
		}
		defer orig.Close()
		if err := vnetns.Set(target); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// NetnsPath returns the path of a network namespace named as ip-netns(8)
// names them, or name itself when it is a path.
func NetnsPath(name string) string {
	if name == "" || name[0] == '/' || name[0] == '.' {
		return name
	}
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		return "/run/netns/" + name
	}
	return name
}

const (
	sockDiagByFamily = 20
	reqLen           = unix.SizeofNlMsghdr + 56
	msgLen           = 72
)

// Each calls fn for every TCP socket, IPv4 then IPv6, in every state.
// A dump the kernel interrupted (sockets came and went while it was
// read) is still handed over whole: each socket in it was there.
func (c *Conn) Each(fn func(*Socket)) error {
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		if err := c.dump(fam, fn); err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) dump(family uint8, fn func(*Socket)) error {
	c.seq++
	var req [reqLen]byte
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], reqLen)
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], c.seq)
	r := req[unix.SizeofNlMsghdr:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	ne.PutUint32(r[4:], 0xffffffff) // every state, request sockets too
	if err := unix.Sendto(c.fd, req[:], 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("sockdiag: send: %w", err)
	}
	var s Socket
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sockdiag: receive: %w", err)
		}
		b := c.buf[:n]
		for len(b) >= unix.SizeofNlMsghdr {
			l := int(ne.Uint32(b[0:]))
			typ := ne.Uint16(b[4:])
			if l < unix.SizeofNlMsghdr || l > len(b) {
				return errors.New("sockdiag: truncated message")
			}
			body := b[unix.SizeofNlMsghdr:l]
			b = b[min(nlmAlign(l), len(b)):]
			switch typ {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(body) >= 4 {
					if e := int32(ne.Uint32(body)); e != 0 {
						return fmt.Errorf("sockdiag: %w", unix.Errno(-e))
					}
				}
				return nil
			case sockDiagByFamily:
				if len(body) < msgLen {
					continue
				}
				parse(body, &s)
				fn(&s)
			}
		}
	}
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// parse reads an inet_diag_msg.
func parse(m []byte, s *Socket) {
	ne := binary.NativeEndian
	fam := m[0]
	s.State = kernel.State(m[1])
	s.Timer = m[2]
	id := m[4:52]
	sport := binary.BigEndian.Uint16(id[0:])
	dport := binary.BigEndian.Uint16(id[2:])
	var src, dst netip.Addr
	if fam == unix.AF_INET {
		src = netip.AddrFrom4([4]byte(id[4:8]))
		dst = netip.AddrFrom4([4]byte(id[20:24]))
	} else {
		src = netip.AddrFrom16([16]byte(id[4:20])).Unmap()
		dst = netip.AddrFrom16([16]byte(id[20:36])).Unmap()
	}
	s.Local = netip.AddrPortFrom(src, sport)
	s.Remote = netip.AddrPortFrom(dst, dport)
	s.Expires = ne.Uint32(m[52:])
	s.RecvQ = ne.Uint32(m[56:])
	s.SendQ = ne.Uint32(m[60:])
	s.UID = ne.Uint32(m[64:])
	s.Inode = ne.Uint32(m[68:])
}
