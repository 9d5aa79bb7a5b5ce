package watch

import (
	"encoding/binary"
	"net/netip"

	"synfin/filter"
	"synfin/wire"
)

// Matcher decides which sockets an expression of tcpdump's filter
// language (package filter) keeps. A socket is matched as a TCP segment
// it would send: its local end is the source, its remote end the
// destination, so "src port 80" is a socket on local port 80, and
// "port 80" or "host 10.0.0.1" either end. Tests of header bytes
// (tcp[...], len) see a bare header with no flags.
type Matcher struct {
	f   *filter.Filter
	buf [60]byte
}

// CompileMatcher compiles expr; "" keeps every socket (a nil Matcher).
func CompileMatcher(expr string) (*Matcher, error) {
	if expr == "" {
		return nil, nil
	}
	f, err := filter.Compile(expr, wire.LinkRaw)
	if err != nil {
		return nil, err
	}
	return &Matcher{f: f}, nil
}

// Match reports whether the socket between local and remote is kept. A
// Matcher is not safe for concurrent use.
func (m *Matcher) Match(local, remote netip.AddrPort) bool {
	if m == nil {
		return true
	}
	b := m.buf[:]
	clear(b)
	l, r := local.Addr(), remote.Addr()
	n := 20 // IPv4's header, or IPv6's 40
	if l.Is4() && r.Is4() {
		b[0], b[3], b[8], b[9] = 0x45, 40, 64, 6
		l4, r4 := l.As4(), r.As4()
		copy(b[12:], l4[:])
		copy(b[16:], r4[:])
	} else {
		n, b[0], b[5], b[6], b[7] = 40, 0x60, 20, 6, 64
		l16, r16 := l.As16(), r.As16()
		copy(b[8:], l16[:])
		copy(b[24:], r16[:])
	}
	be := binary.BigEndian
	be.PutUint16(b[n:], local.Port())
	be.PutUint16(b[n+2:], remote.Port())
	b[n+12] = 5 << 4
	return m.f.Match(b[:n+20])
}
