package conn

import (
	"net/netip"
	"strconv"

	"synfin/tcpstate"
)

// Header is the table's first line, naming the columns AppendRow fills.
const Header = "id               start client                                          server                                          " +
	"states (client/server)    teardown               duration         bytes c>s/s>c anomalies\n"

// The columns' widths, as Header lays them out.
const (
	idWidth       = 4
	startWidth    = 17 // seconds since 1970 to the microsecond, as tcpdump -tt and Zeek's ts
	addrWidth     = 47 // the longest IPv6 address and port: [8 groups of 4]:65535
	statesWidth   = 25
	patternWidth  = 18
	durationWidth = 12
	bytesWidth    = 21
)

// AppendRow appends c as a row of the table, newline included.
func AppendRow(b []byte, c *tcpstate.Brief) []byte {
	return AppendRowRest(AppendRowID(b, c.ID), c)
}

// AppendRowID appends the row's first column, connection id, and the
// space after it. With AppendRowRest it lets a row be rendered before its
// connection is numbered: AppendRow is one and then the other.
func AppendRowID(b []byte, id uint64) []byte {
	b = padRight(strconv.AppendUint(b, id, 10), len(b), idWidth)
	return append(b, ' ')
}

// AppendRowRest appends the row after its id column (see AppendRowID).
func AppendRowRest(b []byte, c *tcpstate.Brief) []byte {
	n := len(b)
	b = append(padLeft(appendSecs(b, c.Last.Time-int64(c.Duration)), n, startWidth), ' ')
	b = padRight(appendAddrPort(b, c.Client), len(b), addrWidth)
	b = append(b, ' ')
	b = padRight(appendAddrPort(b, c.Server), len(b), addrWidth)
	b = append(b, ' ')
	n = len(b)
	b = append(append(append(b, c.ClientState.String()...), '/'), c.ServerState.String()...)
	b = padRight(b, n, statesWidth)
	b = append(b, ' ')
	b = padRight(append(b, c.Pattern.String()...), len(b), patternWidth)
	b = append(b, ' ')
	n = len(b)
	b = padLeft(appendSecs(b, int64(c.Duration)), n, durationWidth)
	b = append(b, ' ')
	n = len(b)
	b = strconv.AppendUint(append(strconv.AppendUint(b, c.ClientBytes, 10), '/'), c.ServerBytes, 10)
	b = padLeft(b, n, bytesWidth)
	b = append(b, ' ')
	b, some := appendAnomalies(b, c.Anomalies, func(b []byte, a tcpstate.Anomaly) []byte {
		b = append(b, a.String()...)
		if count := c.Counts[a]; count > 1 {
			b = strconv.AppendInt(append(b, 'x'), int64(count), 10)
		}
		return b
	})
	if !some {
		b = append(b, '-')
	}
	return append(b, '\n')
}

// appendAnomalies appends each anomaly in s, in order, with add, separated
// by commas; the table row and the JSON segment list share it. some is
// false for an empty set.
func appendAnomalies(b []byte, s tcpstate.Anomalies, add func([]byte, tcpstate.Anomaly) []byte) (_ []byte, some bool) {
	for a := tcpstate.Anomaly(0); a < tcpstate.NumAnomalies; a++ {
		if !s.Has(a) {
			continue
		}
		if some {
			b = append(b, ',')
		}
		some = true
		b = add(b, a)
	}
	return b, some
}

// appendAddr appends a as String prints it (AppendTo leaves out an
// invalid address).
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

// appendAddrPort appends a as String prints it.
func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	if !a.Addr().IsValid() {
		return append(b, a.String()...)
	}
	return a.AppendTo(b)
}

// padRight pads b[start:] with spaces to width, as fmt's %-Ns does.
func padRight(b []byte, start, width int) []byte {
	return appendSpaces(b, width-(len(b)-start))
}

// padLeft right-aligns b[start:] in width, as fmt's %Ns does.
func padLeft(b []byte, start, width int) []byte {
	pad := width - (len(b) - start)
	if pad <= 0 {
		return b
	}
	b = appendSpaces(b, pad)
	copy(b[start+pad:], b[start:len(b)-pad])
	for i := start; i < start+pad; i += copy(b[i:start+pad], spaces) {
	}
	return b
}

// spaces is the padding of the widest column, appended in one copy
// rather than a byte at a time.
var spaces = []byte("                                        ")

// appendSpaces appends n spaces (none when n <= 0).
func appendSpaces(b []byte, n int) []byte {
	for n > len(spaces) {
		b = append(b, spaces...)
		n -= len(spaces)
	}
	if n > 0 {
		b = append(b, spaces[:n]...)
	}
	return b
}

// appendSecs appends a time or duration in nanoseconds as seconds with
// microseconds, as Zeek prints them, rounded half away from zero. The
// magnitude is unsigned, so that the extremes of int64 print too.
func appendSecs(b []byte, ns int64) []byte {
	const div, unit = 1000, 1000000 // nanoseconds per last digit; its scale
	m := uint64(ns)
	if ns < 0 {
		m = -m
		b = append(b, '-')
	}
	v := m/div + (m%div+div/2)/div
	b = append(strconv.AppendUint(b, v/unit, 10), '.')
	frac := v % unit
	for u := uint64(unit / 10); u > frac && u > 1; u /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, frac, 10)
}
