package tcpdump

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/cpu"

	"synfin/wire"
)

// Printer turns decoded frames into tcpdump's lines. It keeps the state
// tcpdump keeps between packets: the conversations' initial sequence
// numbers and the reference time of -ttt/-ttttt. Not safe for concurrent
// use.
type Printer struct {
	o   Options
	loc *time.Location
	svc *Services
	// hosts names addresses (nil with -n, or when Options.Hosts is nil).
	hosts HostNames
	seq   *seqTable

	refSec  int64 // the -ttt/-ttttt reference, unset while zero
	refFrac int64 // in the printed precision

	clockSet bool
	clockSec int64  // the second that clock holds
	clock    []byte // "[YYYY-MM-DD ]HH:MM:SS." of clockSec

	proto string // protocol named by a truncation marker, as ndo_protocol
	// jumped is set where tcpdump would have longjmp'd out of its printers
	// on a truncated read (a GET_ macro); it then dumps -x/-X/-A bytes
	// from the start of the frame, link header included.
	jumped bool
	// bigTCP is the frame's BigTCP: an IPv4 total length of 0 is the
	// length of the rest of the frame.
	bigTCP bool

	// Printers made one after the other for pipeline.Print's workers
	// sit side by side in memory: without the pad (and annotate.Printer's),
	// the fields one writes for every frame (above) shared a cache line
	// with the next one's options, and read -n -S took 17% longer on two
	// processors.
	_ cpu.CacheLinePad
}

// New returns a Printer for options o.
func New(o Options) *Printer {
	p := &Printer{o: o, loc: o.Location, svc: o.Services}
	if p.loc == nil {
		p.loc = time.Local
	}
	if p.svc == nil && !o.Numeric {
		p.svc = SystemServices()
	}
	if !o.Numeric {
		p.hosts = o.Hosts
	}
	p.seq = newSeqTable(o.SeqTableSize)
	return p
}

// Forgotten is how many conversations p has forgotten to stay within
// Options.SeqTableSize. A forgotten conversation seen again prints
// absolute sequence numbers where tcpdump, which never forgets, prints
// relative ones: a command should say so once this is above zero.
func (pr *Printer) Forgotten() int { return pr.seq.gone }

// Append appends what tcpdump prints for frame f, which p holds decoded
// (p.Decode returned nil), ending with a newline.
func (pr *Printer) Append(b []byte, f *wire.Frame, p *wire.Packet) []byte {
	if pr.o.Number {
		b = appendPadded(b, uint64(f.Index), 5)
		b = append(b, ' ', ' ')
	}
	b = pr.appendTime(b, f)
	pr.bigTCP = f.BigTCP
	c := cursor{d: f.Data, end: len(f.Data)}
	var hdrLen int
	pr.jumped = false
	b, hdrLen = pr.link(b, &c, f, p)
	if pr.jumped {
		hdrLen = 0
	}
	switch pr.o.Dump {
	case DumpHex, DumpHexA, DumpASCII:
		d := f.Data
		if !pr.o.DumpLink {
			if len(d) <= hdrLen {
				d = nil
			} else {
				d = d[hdrLen:]
			}
		}
		switch {
		case pr.o.Dump == DumpHex && d != nil:
			b = appendHexDump(b, d)
		case pr.o.Dump == DumpHexA && d != nil:
			b = appendHexASCIIDump(b, d)
		case pr.o.Dump == DumpASCII && d != nil:
			b = appendASCIIDump(b, d)
		}
	}
	return append(b, '\n')
}

// cursor is the captured frame and tcpdump's "snapend": how far the
// current layer may read.
type cursor struct {
	d   []byte
	end int
}

func (c *cursor) has(off, n int) bool { return off >= 0 && n >= 0 && off+n <= c.end }

func (c *cursor) u16(off int) uint16 { return binary.BigEndian.Uint16(c.d[off:]) }

// u16min reads a 16-bit field, or returns 0 when it is not captured
// within limit.
func (c *cursor) u16min(off, limit int) uint16 {
	if off+2 > limit || !c.has(off, 2) {
		return 0
	}
	return c.u16(off)
}

func (c *cursor) u32(off int) uint32 { return binary.BigEndian.Uint32(c.d[off:]) }

// jump appends the truncation marker of a failed GET_ read.
func (pr *Printer) jump(b []byte) []byte {
	pr.jumped = true
	return pr.trunc(b)
}

// trunc appends tcpdump's truncation marker.
func (pr *Printer) trunc(b []byte) []byte {
	b = append(b, " [|"...)
	b = append(b, pr.proto...)
	return append(b, ']')
}

// Skip tells the printer about a frame of the input it does not print
// (a non-TCP packet), so that -ttt deltas stay tcpdump's, which counts
// from the previous packet of any kind.
func (pr *Printer) Skip(f *wire.Frame) {
	if pr.o.Time == TimeDeltaPrev || pr.o.Time == TimeDeltaFirst {
		pr.appendTime(nil, f)
	}
}

// ---- time stamps (util-print.c ts_print) ----

func (pr *Printer) appendTime(b []byte, f *wire.Frame) []byte {
	// The fraction is printed as recorded, even when out of range, as
	// libpcap and tcpdump handle it: read as a signed 32-bit field, scaled
	// between micro- and nanoseconds in a long, printed as unsigned 32 bits.
	sec, raw, nano := f.Stamp()
	frac, digits := int64(int32(raw)), 6
	switch {
	case pr.o.Nano && !nano:
		frac, digits = frac*1000, 9
	case pr.o.Nano:
		digits = 9
	case nano:
		frac /= 1000
	}
	switch pr.o.Time {
	case TimeNone:
		return b
	case TimeUnix:
		b = strconv.AppendInt(b, sec, 10)
		b = append(b, '.')
		b = appendPadded(b, uint64(uint32(frac)), digits)
		return append(b, ' ')
	case TimeDeltaPrev, TimeDeltaFirst:
		// tcpdump's ts_print: a zero reference is unset and takes this
		// packet; the difference borrows at most one second.
		if pr.refSec == 0 && pr.refFrac == 0 {
			pr.refSec, pr.refFrac = sec, frac
		}
		unit := int64(1e6)
		if pr.o.Nano {
			unit = 1e9
		}
		ds, df := sec-pr.refSec, frac-pr.refFrac
		if sec < pr.refSec || sec == pr.refSec && frac < pr.refFrac {
			ds, df = -ds, -df
			b = append(b, '-')
		} else {
			b = append(b, ' ')
		}
		if df < 0 {
			ds, df = ds-1, df+unit
		}
		b = appendHMS(b, ds)
		b = append(b, '.')
		b = appendPadded(b, uint64(uint32(df)), digits)
		if pr.o.Time == TimeDeltaPrev {
			pr.refSec, pr.refFrac = sec, frac
		}
		return append(b, ' ')
	}
	// Packets come many to a second: the date and clock part is formatted
	// once per second and reused.
	if !pr.clockSet || sec != pr.clockSec {
		pr.clockSet, pr.clockSec = true, sec
		pr.clock = pr.appendClock(pr.clock[:0], sec)
	}
	b = append(b, pr.clock...)
	b = appendPadded(b, uint64(uint32(frac)), digits)
	return append(b, ' ')
}

// appendClock appends "HH:MM:SS." (after "YYYY-MM-DD " with -tttt) for
// second sec in the printer's time zone.
func (pr *Printer) appendClock(b []byte, sec int64) []byte {
	t := time.Unix(sec, 0).In(pr.loc)
	if pr.o.Time == TimeDate {
		y, m, d := t.Date()
		b = appendFields(b, '-', 4, y, int(m), d)
		b = append(b, ' ')
	}
	h, mi, s := t.Clock()
	b = appendFields(b, ':', 2, h, mi, s)
	return append(b, '.')
}

// appendHMS prints seconds as ts_format does (hours wrap at 24).
func appendHMS(b []byte, sec int64) []byte {
	return appendFields(b, ':', 2, int(sec/3600%24), int(sec%3600/60), int(sec%60))
}

// appendFields appends x, y and z zero-padded and split by sep, as in a
// date or a time of day: x to width, y and z to 2 digits.
func appendFields(b []byte, sep byte, width int, x, y, z int) []byte {
	b = appendPadded(b, uint64(x), width)
	b = append(b, sep)
	b = appendPadded(b, uint64(y), 2)
	b = append(b, sep)
	return appendPadded(b, uint64(z), 2)
}

// ---- addresses and ports ----

// host appends an IPv4 (4 bytes) or IPv6 (16 bytes) address as tcpdump's
// ipaddr_string and ip6addr_string print it: by its host name unless -n,
// else as a number.
func (pr *Printer) host(b []byte, a []byte) []byte {
	if pr.hosts != nil {
		var addr netip.Addr
		if len(a) == 4 {
			addr = netip.AddrFrom4([4]byte(a))
		} else {
			addr = netip.AddrFrom16([16]byte(a))
		}
		if n, ok := pr.hosts.HostName(addr); ok {
			return append(b, n...)
		}
	}
	if len(a) == 4 {
		return appendIPv4(b, a)
	}
	return appendIPv6(b, a)
}

func appendIPv4(b []byte, a []byte) []byte {
	for i := 0; i < 4; i++ {
		if i > 0 {
			b = append(b, '.')
		}
		b = appendByte(b, a[i])
	}
	return b
}

// appendIPv6 prints as tcpdump's addrtostr6: RFC 5952 zero compression,
// and a dotted quad for the last 32 bits of ::a.b.c.d and ::ffff:a.b.c.d.
func appendIPv6(b []byte, a []byte) []byte {
	zero10 := true
	for _, x := range a[:10] {
		if x != 0 {
			zero10 = false
			break
		}
	}
	if zero10 && (a[10] == 0 && a[11] == 0 && (a[12] != 0 || a[13] != 0) ||
		a[10] == 0xff && a[11] == 0xff) {
		if a[10] == 0 {
			b = append(b, ':', ':')
		} else {
			b = append(b, "::ffff:"...)
		}
		return appendIPv4(b, a[12:16])
	}
	return appendIPv6Groups(b, a)
}

// appendIPv6Groups prints the eight groups in lower-case hex without
// leading zeros, the longest run of two or more zero groups (the first
// of equals) as "::", as tcpdump's addrtostr6 and RFC 5952 do.
func appendIPv6Groups(b []byte, a []byte) []byte {
	const hex = "0123456789abcdef"
	var g [8]uint16
	for i := range g {
		g[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	best, bestLen := -1, 1
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bestLen {
			best, bestLen = i, j-i
		}
		i = j
	}
	for i := 0; i < 8; i++ {
		if i == best {
			b = append(b, ':', ':')
			i += bestLen - 1
			continue
		}
		if i > 0 && i != best+bestLen {
			b = append(b, ':')
		}
		v := g[i]
		switch {
		case v >= 0x1000:
			b = append(b, hex[v>>12], hex[v>>8&0xf], hex[v>>4&0xf], hex[v&0xf])
		case v >= 0x100:
			b = append(b, hex[v>>8], hex[v>>4&0xf], hex[v&0xf])
		case v >= 0x10:
			b = append(b, hex[v>>4], hex[v&0xf])
		default:
			b = append(b, hex[v])
		}
	}
	return b
}

func (pr *Printer) appendPort(b []byte, port uint16) []byte {
	if !pr.o.Numeric {
		if n := pr.svc.Name(port); n != "" {
			return append(b, n...)
		}
	}
	return appendUint(b, uint64(port))
}

func appendMAC(b []byte, m []byte, numeric bool) []byte {
	for i := 0; i < 6; i++ {
		if i > 0 {
			b = append(b, ':')
		}
		b = appendHex2(b, m[i])
	}
	if !numeric {
		b = append(b, " (oui "...)
		b = append(b, ouiName(uint32(m[0])<<16|uint32(m[1])<<8|uint32(m[2]))...)
		b = append(b, ')')
	}
	return b
}

func appendHexU(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 16) }

// appendHexPad appends v in lower-case hex, zero-padded to width.
func appendHexPad(b []byte, v uint64, width int) []byte {
	var tmp [16]byte
	s := strconv.AppendUint(tmp[:0], v, 16)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
