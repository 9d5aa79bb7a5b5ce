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
	be := binary.BigEndian
	var n int
	if local.Addr().Is4() && remote.Addr().Is4() {
		b[0], b[8], b[9] = 0x45, 64, 6
		be.PutUint16(b[2:], 40)
		l, r := local.Addr().As4(), remote.Addr().As4()
		copy(b[12:], l[:])
		copy(b[16:], r[:])
		n = 20
	} else {
		b = b[:60]
		b[0], b[6], b[7] = 0x60, 6, 64
		be.PutUint16(b[4:], 20)
		l, r := local.Addr().As16(), remote.Addr().As16()
		copy(b[8:], l[:])
		copy(b[24:], r[:])
		n = 40
	}
	be.PutUint16(b[n:], local.Port())
	be.PutUint16(b[n+2:], remote.Port())
	b[n+12] = 5 << 4
	return m.f.Match(b[:n+20])
}
