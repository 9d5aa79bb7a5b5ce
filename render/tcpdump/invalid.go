package tcpdump

import (
	"errors"
	"strconv"

	"synfin/wire"
)

// InvalidHeader reports whether tcpdump refuses frame f before printing
// anything of it (print.c's sanity checks on the record header): a capture
// length or wire length of zero, or fewer bytes on the wire than captured.
// Such a frame gets one "[Invalid header: …]" line whatever its protocol,
// no time stamp, and no part in -ttt deltas.
func InvalidHeader(f *wire.Frame) bool {
	return f.CapLen == 0 || f.WireLen == 0 || f.WireLen < f.CapLen
}

// AppendInvalid appends tcpdump's line for a frame InvalidHeader refuses.
func (pr *Printer) AppendInvalid(b []byte, f *wire.Frame) []byte {
	if pr.o.Number {
		b = appendPadded(b, uint64(f.Index), 5)
		b = append(b, ' ', ' ')
	}
	b = append(b, "[Invalid header:"...)
	sep := false
	if f.CapLen == 0 {
		b, sep = append(b, " caplen==0"...), true
	}
	switch {
	case f.WireLen == 0:
		if sep {
			b = append(b, ',')
		}
		b = append(b, " len==0"...)
	case f.WireLen < f.CapLen:
		if sep {
			b = append(b, ',')
		}
		b = append(b, " len("...)
		b = strconv.AppendUint(b, uint64(f.WireLen), 10)
		b = append(b, ") < caplen("...)
		b = strconv.AppendUint(b, uint64(f.CapLen), 10)
		b = append(b, ')')
	}
	return append(b, "]\n"...)
}

// Printable reports whether tcpdump prints a frame as a TCP segment, from
// what decoding it into p gave (err): decoded TCP, or an IP packet whose
// protocol is TCP but whose header is cut short or malformed (tcpdump
// prints what it can of those).
func Printable(err error, p *wire.Packet) bool {
	if err == nil {
		return true
	}
	if p.IPVersion == 0 || p.Proto != wire.ProtoTCP {
		return false
	}
	return errors.Is(err, wire.ErrTruncated) || errors.Is(err, wire.ErrBadHeader)
}
