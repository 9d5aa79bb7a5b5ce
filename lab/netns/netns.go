package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace, interface and tracefs
// instance synfin creates.
const Prefix = "synfin"

// runDir is where ip-netns(8) keeps named namespaces.
const runDir = "/run/netns"

// UniqueName returns Prefix-<pid>-<8 hex digits>. The pid lets Sweep tell
// a leftover from the namespace of a lab still running.
func UniqueName() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", Prefix, os.Getpid(), hex.EncodeToString(b[:]))
}

// NS is a named network namespace created by New.
type NS struct {
	Name string

	mu     sync.Mutex
	handle vnetns.NsHandle
	closed bool
}

// New creates a uniquely named network namespace with its loopback
// interface up.
func New() (*NS, error) {
	name := UniqueName()
	var h vnetns.NsHandle
	err := onLockedThread(func() error {
		var err error
		h, err = vnetns.NewNamed(name)
		return err
	})
	if err != nil {
		// NewNamed may fail after creating the mount point.
		vnetns.DeleteNamed(name)
		os.Remove(filepath.Join(runDir, name))
		return nil, fmt.Errorf("netns: create %s: %w", name, err)
	}
	ns := &NS{Name: name, handle: h}
	if err := ns.linkUp("lo"); err != nil {
		ns.Close()
		return nil, err
	}
	return ns, nil
}

// onLockedThread runs fn on a locked OS thread and puts the thread back
// in its original network namespace; if that fails the thread stays
// locked so the runtime discards it when the goroutine ends.
func onLockedThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: current namespace: %w", err)
			return
		}
		defer orig.Close()
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("netns: restore thread namespace: %w", err))
			return // the goroutine exits locked: the thread is dropped
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Handle returns the namespace's file descriptor handle (owned by ns).
func (ns *NS) Handle() vnetns.NsHandle { return ns.handle }

// Fd returns the namespace's file descriptor (owned by ns).
func (ns *NS) Fd() int { return int(ns.handle) }

// Do runs fn on a locked OS thread inside the namespace. Sockets created
// in fn belong to the namespace and stay there when used elsewhere.
func (ns *NS) Do(fn func() error) error {
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return fmt.Errorf("netns: %s is closed", ns.Name)
	}
	h := ns.handle
	ns.mu.Unlock()
	return onLockedThread(func() error {
		if err := vnetns.Set(h); err != nil {
			return fmt.Errorf("netns: enter %s: %w", ns.Name, err)
		}
		return fn()
	})
}

// Netlink returns a netlink handle that works inside the namespace. The
// caller closes it with Close (Delete on the handle).
func (ns *NS) Netlink() (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns.handle)
	if err != nil {
		return nil, fmt.Errorf("netns: netlink handle in %s: %w", ns.Name, err)
	}
	return h, nil
}

func (ns *NS) linkUp(name string) error {
	h, err := ns.Netlink()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("netns: %s in %s: %w", name, ns.Name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("netns: set %s up in %s: %w", name, ns.Name, err)
	}
	return nil
}

// Sysctl writes a per-namespace sysctl such as "net/ipv4/tcp_syn_retries".
func (ns *NS) Sysctl(key, value string) error {
	if strings.Contains(key, "..") || !strings.HasPrefix(key, "net/") {
		return fmt.Errorf("netns: sysctl %q is not a network one", key)
	}
	return ns.Do(func() error {
		// /proc/sys/net follows the namespace of the opening thread.
		if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0); err != nil {
			return fmt.Errorf("netns: sysctl %s: %w", key, err)
		}
		return nil
	})
}

// Close deletes the namespace's name and closes its handle. The kernel
// frees the namespace, with its interfaces, sockets and nftables tables,
// once nothing else refers to it. Close is safe to call more than once.
func (ns *NS) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed {
		return nil
	}
	ns.closed = true
	var errs []error
	if err := vnetns.DeleteNamed(ns.Name); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("netns: delete %s: %w", ns.Name, err))
	}
	if ns.handle.IsOpen() {
		ns.handle.Close()
	}
	return errors.Join(errs...)
}

// Veth is a veth pair joining two namespaces, each end with an address.
type Veth struct {
	A, B         *NS
	NameA, NameB string
	AddrA, AddrB netip.Prefix
}

// Pair creates two namespaces joined by a veth pair. Both ends are created
// inside the namespaces, never in the caller's, so deleting the
// namespaces removes them. addrA and addrB are the addresses with prefix
// length, for example 10.0.0.1/24 and 10.0.0.2/24 (IPv6 works too; DAD
// is skipped so the addresses are usable at once).
func Pair(addrA, addrB netip.Prefix) (*Veth, error) {
	a, err := New()
	if err != nil {
		return nil, err
	}
	b, err := New()
	if err != nil {
		a.Close()
		return nil, err
	}
	v, err := Join(a, b, addrA, addrB)
	if err != nil {
		a.Close()
		b.Close()
		return nil, err
	}
	return v, nil
}

// Join joins two existing namespaces with a veth pair, as Pair does. The
// pair goes with the namespaces: the caller closes a and b (Veth.Close
// closes both).
func Join(a, b *NS, addrA, addrB netip.Prefix) (*Veth, error) {
	v := &Veth{A: a, B: b, AddrA: addrA, AddrB: addrB}
	suffix := a.Name[strings.LastIndexByte(a.Name, '-')+1:]
	v.NameA, v.NameB = Prefix+suffix[:6]+"a", Prefix+suffix[:6]+"b" // 13 bytes, under IFNAMSIZ
	if err := v.setup(); err != nil {
		return nil, err
	}
	return v, nil
}

// DefaultRoute routes everything not on a link of ns through gw.
func (ns *NS) DefaultRoute(gw netip.Addr) error {
	h, err := ns.Netlink()
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.RouteAdd(&netlink.Route{Gw: gw.AsSlice()}); err != nil {
		return fmt.Errorf("netns: default route via %s in %s: %w", gw, ns.Name, err)
	}
	return nil
}

func (v *Veth) setup() error {
	ha, err := v.A.Netlink()
	if err != nil {
		return err
	}
	defer ha.Close()
	hb, err := v.B.Netlink()
	if err != nil {
		return err
	}
	defer hb.Close()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: v.NameA},
		PeerName:      v.NameB,
		PeerNamespace: netlink.NsFd(v.B.Fd()),
	}
	if err := ha.LinkAdd(veth); err != nil {
		return fmt.Errorf("netns: add veth %s/%s: %w", v.NameA, v.NameB, err)
	}
	for _, end := range []struct {
		h    *netlink.Handle
		name string
		addr netip.Prefix
	}{{ha, v.NameA, v.AddrA}, {hb, v.NameB, v.AddrB}} {
		l, err := end.h.LinkByName(end.name)
		if err != nil {
			return fmt.Errorf("netns: %s: %w", end.name, err)
		}
		if end.addr.IsValid() {
			a := &netlink.Addr{IPNet: prefixNet(end.addr)}
			if end.addr.Addr().Is6() {
				a.Flags = unix.IFA_F_NODAD
			}
			if err := end.h.AddrAdd(l, a); err != nil {
				return fmt.Errorf("netns: address %s on %s: %w", end.addr, end.name, err)
			}
		}
		if err := end.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("netns: set %s up: %w", end.name, err)
		}
	}
	return nil
}

func prefixNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

// vethName matches the interface names Pair makes.
var vethName = regexp.MustCompile(`^` + Prefix + `[0-9a-f]{6}[ab]$`)

// Close removes both namespaces (and with them the veth pair).
func (v *Veth) Close() error {
	return errors.Join(v.A.Close(), v.B.Close())
}

// Leftovers are synfin objects that outlived their lab.
type Leftovers struct {
	Namespaces []string // named namespaces
	Links      []string // interfaces in the caller's namespace
}

// List returns every synfin namespace and interface, whether or not its
// lab is still running.
func List() (Leftovers, error) {
	var l Leftovers
	ents, err := os.ReadDir(runDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return l, fmt.Errorf("netns: list: %w", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), Prefix+"-") {
			l.Namespaces = append(l.Namespaces, e.Name())
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return l, fmt.Errorf("netns: list links: %w", err)
	}
	for _, k := range links {
		if vethName.MatchString(k.Attrs().Name) {
			l.Links = append(l.Links, k.Attrs().Name)
		}
	}
	return l, nil
}

// OwnerAlive reports whether the process whose pid is in a synfin name
// (Prefix-<pid>-...) still runs. Names without a pid count as dead.
func OwnerAlive(name string) bool {
	rest, ok := strings.CutPrefix(name, Prefix+"-")
	if !ok {
		return false
	}
	pidStr, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	return unix.Kill(pid, 0) == nil || errors.Is(unix.Kill(pid, 0), unix.EPERM)
}

// Sweep removes synfin namespaces whose process is gone and synfin
// interfaces left in the caller's namespace, and returns what it removed.
func Sweep() (Leftovers, error) {
	l, err := List()
	if err != nil {
		return Leftovers{}, err
	}
	var removed Leftovers
	var errs []error
	for _, n := range l.Namespaces {
		if OwnerAlive(n) {
			continue
		}
		if err := vnetns.DeleteNamed(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			// A stale file that is no longer a mount point.
			if rerr := os.Remove(filepath.Join(runDir, n)); rerr != nil {
				errs = append(errs, fmt.Errorf("netns: sweep %s: %w", n, err))
				continue
			}
		}
		removed.Namespaces = append(removed.Namespaces, n)
	}
	for _, name := range l.Links {
		k, err := netlink.LinkByName(name)
		if err != nil {
			continue
		}
		if err := netlink.LinkDel(k); err != nil {
			errs = append(errs, fmt.Errorf("netns: sweep %s: %w", name, err))
			continue
		}
		removed.Links = append(removed.Links, name)
	}
	return removed, errors.Join(errs...)
}
