package names

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	Timeout  = 500 * time.Millisecond
	MaxNames = 1 << 16
)

// maxTimeouts is how many DNS questions may time out before DNS is no
// longer asked: a resolver that does not answer would otherwise hold up
// every new address for Timeout.
const maxTimeouts = 3

// Lookuper answers reverse lookups, as *net.Resolver does.
type Lookuper interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Options say where names come from.
type Options struct {
	// HostsFile is read first, as the C library reads /etc/hosts; ""
	// reads none. A file that cannot be read names nothing.
	HostsFile string
	// DNS names what the hosts file does not; nil asks no one.
	DNS Lookuper
	// Timeout bounds each DNS question; 0 means Timeout.
	Timeout time.Duration
	// MaxNames bounds the DNS answers remembered; 0 means MaxNames.
	MaxNames int
}

// Resolver names addresses. It reads the hosts file when first asked and
// is safe for concurrent use.
type Resolver struct {
	o     Options
	once  sync.Once
	hosts map[netip.Addr]string // read-only once loaded

	mu       sync.Mutex
	cache    map[netip.Addr]string // DNS answers, "" for none
	timeouts int
}

// New returns a Resolver for o.
func New(o Options) *Resolver {
	if o.Timeout <= 0 {
		o.Timeout = Timeout
	}
	if o.MaxNames <= 0 {
		o.MaxNames = MaxNames
	}
	return &Resolver{o: o}
}

// System returns a Resolver of the system's names: /etc/hosts, then DNS
// through Go's resolver (which follows /etc/resolv.conf).
func System() *Resolver {
	return New(Options{HostsFile: "/etc/hosts", DNS: net.DefaultResolver})
}

// HostName returns a's name and true, or false when it has none (or DNS
// did not answer in time). A hosts file line with an address and no name
// gives the empty name, as the C library does (tcpdump then prints
// nothing for the address).
func (r *Resolver) HostName(a netip.Addr) (string, bool) {
	if a == netip.IPv6Unspecified() {
		return "", false // the C library refuses to look it up
	}
	r.once.Do(r.load)
	if n, ok := r.hosts[a]; ok {
		return n, true
	}
	if r.o.DNS == nil {
		return "", false
	}
	r.mu.Lock()
	n, ok := r.cache[a]
	off := r.timeouts >= maxTimeouts
	r.mu.Unlock()
	if !ok && !off {
		var timedOut bool
		n, timedOut = r.ask(a)
		r.mu.Lock()
		if r.cache == nil || len(r.cache) >= r.o.MaxNames {
			r.cache = make(map[netip.Addr]string) // start over
		}
		r.cache[a] = n
		if timedOut {
			r.timeouts++
		}
		r.mu.Unlock()
	}
	return n, n != ""
}

// ask asks DNS for a's name, the first PTR record's (as gethostbyaddr's
// h_name), and says whether the question timed out.
func (r *Resolver) ask(a netip.Addr) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Timeout)
	defer cancel()
	ns, err := r.o.DNS.LookupAddr(ctx, a.String())
	if err != nil {
		var de *net.DNSError
		return "", ctx.Err() != nil || errors.As(err, &de) && de.IsTimeout
	}
	if len(ns) == 0 {
		return "", false
	}
	return strings.TrimSuffix(ns[0], "."), false
}

func (r *Resolver) load() {
	if r.o.HostsFile == "" {
		return
	}
	f, err := os.Open(r.o.HostsFile)
	if err != nil {
		return
	}
	defer f.Close()
	r.hosts, _ = ParseHosts(f)
}

// ParseHosts reads a hosts(5) file into the name gethostbyaddr gives each
// address: the first name of the first line that lists it, "" for a line
// without names. As in the C library, an IPv4 address is also listed by a
// line of its IPv4-mapped IPv6 form, and 127.0.0.1 by a line of ::1,
// while an IPv6 address is listed by IPv6 lines only; lines whose address
// does not parse (or has a zone) are passed over. On a read error it
// returns what it read before.
func ParseHosts(rd io.Reader) (map[netip.Addr]string, error) {
	m := make(map[netip.Addr]string)
	add := func(a netip.Addr, name string) {
		if _, dup := m[a]; !dup {
			m[a] = name
		}
	}
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			continue
		}
		name := ""
		if len(f) > 1 {
			name = f[1]
		}
		add(a, name)
		switch {
		case a.Is4In6():
			add(a.Unmap(), name)
		case a == netip.IPv6Loopback():
			add(netip.AddrFrom4([4]byte{127, 0, 0, 1}), name)
		}
	}
	return m, sc.Err()
}
