package tcpdumptext

import (
	"hash/fnv"
	"net/netip"
	"os"
	"strings"
	"sync"

	"synfin/internal/servicesfile"
)

// fallbackServices covers names tcpdump prints on common systems whose
// /etc/services may be missing here (nsesrvr is the seed's port 9988).
var fallbackServices = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25,
	"domain": 53, "gopher": 70, "finger": 79, "http": 80, "www": 80,
	"kerberos": 88, "pop3": 110, "sunrpc": 111, "auth": 113, "nntp": 119,
	"ntp": 123, "epmap": 135, "netbios-ssn": 139, "imap": 143, "imap2": 143,
	"bgp": 179, "irc": 194, "ldap": 389, "https": 443, "microsoft-ds": 445,
	"submission": 587, "ldaps": 636, "rsync": 873, "imaps": 993,
	"pop3s": 995, "socks": 1080, "openvpn": 1194, "ms-sql-s": 1433,
	"pptp": 1723, "nfs": 2049, "mysql": 3306, "ms-wbt-server": 3389,
	"xmpp-client": 5222, "xmpp-server": 5269, "postgresql": 5432,
	"x11": 6000, "ircd": 6667, "http-alt": 8080, "webcache": 8080,
	"nsesrvr": 9988, "ldp": 646, "openflow": 6653, "zmtp": 5555,
	"redis": 6379, "memcache": 11211, "mongodb": 27017,
}

var (
	servicesOnce sync.Once
	services     map[string]uint16
)

// loadServices reads the TCP entries of /etc/services, names and aliases.
func loadServices() {
	services = make(map[string]uint16)
	f, err := os.Open("/etc/services")
	if err != nil {
		return
	}
	defer f.Close()
	// A read error leaves the names read before it.
	servicesfile.Scan(f, func(port uint16, proto string, names []string) {
		if proto != "tcp" {
			return
		}
		for _, n := range names {
			if _, dup := services[n]; !dup {
				services[n] = port
			}
		}
	})
}

// ports resolves a printed source and destination port.
func ports(sp, dp string) (src, dst uint16, ok bool) {
	if src, ok = port(sp); ok {
		dst, ok = port(dp)
	}
	return src, dst, ok
}

// port resolves a printed port: a number or a service name.
func port(s string) (uint16, bool) {
	if s == "" {
		return 0, false
	}
	if c := s[0]; c >= '0' && c <= '9' {
		n, ok := atou(s)
		if !ok || n > 0xffff {
			return 0, false
		}
		return uint16(n), true
	}
	servicesOnce.Do(loadServices)
	if p, ok := services[s]; ok {
		return p, true
	}
	p, ok := fallbackServices[s]
	return p, ok
}

// maxNames bounds the name table; beyond it names still map to their
// synthetic address but are no longer remembered, so a later name whose
// address collides with theirs is not moved away from it.
const maxNames = 1 << 16

// hosts maps printed host names to addresses and back.
type hosts struct {
	byName map[string]netip.Addr
	byAddr map[netip.Addr]string
}

// addr resolves a printed host: numeric, localhost, or a synthetic address.
func (h *hosts) addr(s string, v6 bool) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Is4() == !v6 || (v6 && a.Is4In6()) {
			return a, true
		}
		return netip.Addr{}, false
	}
	if s == "" || strings.ContainsAny(s, " >:[](),") {
		return netip.Addr{}, false
	}
	key := s
	if v6 {
		key = "6 " + s
	}
	if a, ok := h.byName[key]; ok {
		return a, true
	}
	var a netip.Addr
	switch {
	case s == "localhost" && !v6:
		a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case v6 && (s == "localhost" || s == "ip6-localhost" || s == "ip6-loopback"):
		a = netip.IPv6Loopback()
	default:
		a = synthetic(s, v6, h.byAddr)
	}
	if h.byName == nil {
		h.byName = make(map[string]netip.Addr)
		h.byAddr = make(map[netip.Addr]string)
	}
	if len(h.byName) < maxNames {
		h.byName[key] = a
		h.byAddr[a] = s
	}
	return a, true
}

// synthetic derives a stable address for a host name: 240.0.0.0/4
// (reserved) or 100::/64 (discard-only), probing on a collision.
func synthetic(name string, v6 bool, taken map[netip.Addr]string) netip.Addr {
	hf := fnv.New64a()
	hf.Write([]byte(name))
	x := hf.Sum64()
	for {
		var a netip.Addr
		if v6 {
			var b [16]byte
			b[0], b[1] = 0x01, 0x00
			for i := 0; i < 8; i++ {
				b[8+i] = byte(x >> (56 - 8*i))
			}
			a = netip.AddrFrom16(b)
		} else {
			v := uint32(x)&0x0fffffff | 0xf0000000
			a = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		}
		if n, ok := taken[a]; !ok || n == name {
			return a
		}
		x = x*0x100000001b3 + 1
	}
}
