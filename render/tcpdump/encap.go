package tcpdump

// Encapsulations between the link layer and the IP header that carries a
// TCP segment, as tcpdump 4.99.3 prints them: IP over InfiniBand
// (print-ipoib.c), PPP and PPPoE (print-ppp.c, print-pppoe.c), MPLS
// (print-mpls.c), GRE (print-gre.c) and IP in IP (print-ip-demux.c); and
// Cisco FabricPath and VN-Tag, whose EtherTypes tcpdump does not know and
// prints as raw bytes (print-ether.c). ERSPAN in GRE needs nothing here:
// tcpdump prints it as an unknown GRE protocol.

// ipoib is ipoib_if_print: a 44-byte pseudo-header, EtherType at 40.
func (pr *Printer) ipoib(b []byte, c *cursor, length int) ([]byte, int) {
	pr.proto = "ipoib"
	if c.end < 44 || length < 44 {
		return pr.trunc(b), min(c.end, length)
	}
	et := c.u16(40)
	if pr.o.Link {
		b = append(b, "IPOIB, ethertype "...)
		b = append(b, etherTypeName(et)...)
		if !pr.o.Quiet {
			b = append(b, " (0x"...)
			b = appendHex4(b, et)
			b = append(b, ')')
		}
		b = append(b, ", length "...)
		b = appendUint(b, uint64(length))
		b = append(b, ": "...)
	}
	return pr.network(b, c, 44, et, length-44), 44
}

// nflog is nflog_if_print: the NFLOG header, then attributes up to the
// payload (lengths and types little-endian, as wire reads them). It
// returns the length of the header and the attributes before the packet.
func (pr *Printer) nflog(b []byte, c *cursor, length int) ([]byte, int) {
	pr.proto = "nflog"
	if c.end < 4 {
		return pr.trunc(b), c.end
	}
	d := c.d
	if d[1] != 0 {
		b = append(b, "version "...)
		b = appendUint(b, uint64(d[1]))
		return append(b, " (unknown)"...), 4
	}
	if pr.o.Link {
		b = append(b, "version 0, resource ID "...)
		b = appendUint(b, uint64(c.u16(2)))
		switch name := nflogFamilies[d[0]]; {
		case !pr.o.Quiet:
			if name == "" {
				name = "Unknown"
			}
			b = append(b, ", family "...)
			b = append(b, name...)
			b = append(b, " ("...)
			b = appendUint(b, uint64(d[0]))
			b = append(b, ')')
		case name != "":
			b = append(b, ", "...)
			b = append(b, name...)
		default:
			b = append(b, ", Unknown NFLOG (0x"...)
			b = appendHex2(b, d[0])
			b = append(b, ')')
		}
		b = append(b, ", length "...)
		b = appendUint(b, uint64(length))
		b = append(b, ": "...)
	}
	off := 4
	for length -= 4; length > 0; {
		if c.end-off < 4 {
			return pr.trunc(b), off
		}
		size := (int(d[off]) | int(d[off+1])<<8 + 3) &^ 3
		if size < 4 || c.end-off < size {
			return pr.trunc(b), off
		}
		if d[off+2] == 9 && d[off+3] == 0 { // the payload
			off, length = off+4, length-4
			break
		}
		off, length = off+size, length-size
	}
	switch d[0] {
	case 2:
		b = pr.ip4(b, c, off, length)
	case 10:
		b = pr.ip6(b, c, off, length)
	}
	return b, off
}

var nflogFamilies = [256]string{2: "IPv4", 10: "IPv6"}

// unknownToTcpdump reports whether et is an EtherType wire follows (as
// Zeek does) and tcpdump 4.99 does not know: Cisco FabricPath and VN-Tag.
func unknownToTcpdump(et uint16) bool { return et == 0x8903 || et == 0x8926 }

// rawEther is what ether_common_print prints for an EtherType it does not
// know: the addresses and type (unless -e printed them), then the rest of
// the frame in hex and ASCII unless -q, -x or -X is given.
func (pr *Printer) rawEther(b []byte, c *cursor, off, h, et, length int) []byte {
	if !pr.o.Link {
		b = appendMAC(b, c.d[off+6:off+12], pr.o.Numeric)
		b = append(b, " > "...)
		b = appendMAC(b, c.d[off:off+6], pr.o.Numeric)
		b = append(b, ", "...)
		b = pr.etherType(b, uint16(et))
		b = append(b, ", length "...)
		b = appendUint(b, uint64(length))
		b = append(b, ": "...)
	}
	if !pr.o.Quiet && pr.o.Dump != DumpHex && pr.o.Dump != DumpHexA && h < c.end {
		b = appendHexASCIIDump(b, c.d[h:c.end])
	}
	return b
}

// pppTypeName is tcpdump's ppptype2str for the protocols carrying IP.
func pppTypeName(proto uint16) string {
	switch proto {
	case 0x0021:
		return "IP"
	case 0x002d:
		return "VJC IP"
	case 0x002f:
		return "VJNC IP"
	case 0x0057:
		return "IP6"
	case 0x0281, 0x0283:
		return "MPLS"
	}
	return "unknown"
}

// ppp is ppp_print: the address and control bytes when present, the
// protocol field, then the payload. It returns the header's length.
func (pr *Printer) ppp(b []byte, c *cursor, off, length int) ([]byte, int) {
	pr.proto = "ppp"
	olen, start := length, off
	if length < 2 {
		return pr.trunc(b), 0
	}
	if !c.has(off, 2) {
		return pr.jump(b), 0
	}
	switch c.u16(off) {
	case 0x0003, 0x0103: // pppd's direction, then control
		if pr.o.Link {
			if c.d[off] == 0 {
				b = append(b, "In  "...)
			} else {
				b = append(b, "Out "...)
			}
		}
		off, length = off+2, length-2
	case 0xff03: // address and control
		off, length = off+2, length-2
	}
	if length < 2 {
		return pr.trunc(b), 0
	}
	if !c.has(off, 1) {
		return pr.jump(b), 0
	}
	var proto uint16
	if c.d[off]&1 != 0 { // protocol field compressed to one byte
		proto = uint16(c.d[off])
		off, length = off+1, length-1
	} else {
		if !c.has(off, 2) {
			return pr.jump(b), 0
		}
		proto = c.u16(off)
		off, length = off+2, length-2
	}
	if pr.o.Link {
		name := pppTypeName(proto)
		b = append(b, name...)
		b = append(b, " (0x"...)
		b = appendHex4(b, proto)
		b = append(b, "), length "...)
		b = appendUint(b, uint64(olen))
		if name == "unknown" {
			return b, off - start
		}
		b = append(b, ": "...)
	}
	switch proto {
	case 0x0021, 0x002f, 0x0800:
		b = pr.ip4(b, c, off, length)
	case 0x0057, 0x86dd:
		b = pr.ip6(b, c, off, length)
	case 0x0281, 0x0283:
		b = pr.mpls(b, c, off, length)
	}
	return b, off - start
}

// pppoe is pppoe_print for a session packet. It returns the length of
// the PPPoE and PPP headers.
func (pr *Printer) pppoe(b []byte, c *cursor, off, length int) ([]byte, int) {
	pr.proto = "pppoe"
	if length < 6 {
		b = append(b, " (length "...)
		b = appendUint(b, uint64(length))
		return append(b, " < 6) (invalid)"...), 0
	}
	length -= 6
	if !c.has(off, 6) {
		return pr.jump(b), 0
	}
	d := c.d
	if v := d[off] >> 4; v != 1 {
		b = append(b, " [ver "...)
		b = appendUint(b, uint64(v))
		b = append(b, ']')
	}
	if t := d[off] & 15; t != 1 {
		b = append(b, " [type "...)
		b = appendUint(b, uint64(t))
		b = append(b, ']')
	}
	// A session packet's code is 0, printed as "".
	b = append(b, "PPPoE "...)
	plen := int(c.u16(off + 4))
	if plen > length {
		b = append(b, " [len "...)
		b = appendUint(b, uint64(plen))
		b = append(b, " > "...)
		b = appendUint(b, uint64(length))
		b = append(b, "!]"...)
		plen = length
	}
	if ses := c.u16(off + 2); ses != 0 {
		b = append(b, " [ses 0x"...)
		b = appendHexU(b, uint64(ses))
		b = append(b, ']')
	}
	b = append(b, ' ')
	b, n := pr.ppp(b, c, off+6, plen)
	return b, 6 + n
}

// mplsLabelNames are the reserved labels -v names.
var mplsLabelNames = [16]string{"IPv4 explicit NULL", "router alert", "IPv6 explicit NULL", "implicit NULL",
	"rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd", "rsvd"}

// mpls is mpls_print: each label stack entry, then the payload, whose
// type the last label or the payload's first byte tells.
func (pr *Printer) mpls(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "mpls"
	b = append(b, "MPLS"...)
	var e uint32
	for depth := 0; ; depth++ {
		if length < 4 {
			b = append(b, " (invalid)"...)
			if !c.has(off, length) {
				return pr.jump(b)
			}
			return b
		}
		if !c.has(off, 4) {
			return pr.jump(b)
		}
		e = c.u32(off)
		label := e >> 12
		if depth > 0 && pr.o.Verbose > 0 {
			b = append(b, "\n\t"...)
		} else {
			b = append(b, ' ')
		}
		b = append(b, "(label "...)
		b = appendUint(b, uint64(label))
		if pr.o.Verbose > 0 && label < 16 {
			b = append(b, " ("...)
			b = append(b, mplsLabelNames[label]...)
			b = append(b, ')')
		}
		b = append(b, ", tc "...)
		b = appendUint(b, uint64(e>>9&7))
		if e&0x100 != 0 {
			b = append(b, ", [S]"...)
		}
		b = append(b, ", ttl "...)
		b = appendUint(b, uint64(e&0xff))
		b = append(b, ')')
		off, length = off+4, length-4
		if e&0x100 != 0 {
			break
		}
	}
	v6 := false
	switch e >> 12 {
	case 0, 3: // IPv4 explicit and implicit null
	case 2: // IPv6 explicit null
		v6 = true
	default:
		if length < 1 {
			return b
		}
		if !c.has(off, 1) {
			return pr.jump(b)
		}
		switch v := c.d[off]; {
		case v >= 0x45 && v <= 0x4f:
		case v >= 0x60 && v <= 0x6f:
			v6 = true
		default: // OSI or unknown: never a TCP segment
			return b
		}
	}
	if pr.o.Verbose > 0 {
		b = append(b, "\n\t"...)
	} else {
		b = append(b, ' ')
	}
	if v6 {
		return pr.ip6(b, c, off, length)
	}
	return pr.ip4(b, c, off, length)
}

// appendProtoType appends ", proto NAME (0xTYPE)", the payload's
// EtherType as GRE and Geneve print it under -e.
func appendProtoType(b []byte, t uint16) []byte {
	name := etherTypeName(t)
	if name == "Unknown" {
		name = "unknown"
	}
	b = append(b, ", proto "...)
	b = append(b, name...)
	b = append(b, " (0x"...)
	b = appendHex4(b, t)
	return append(b, ')')
}

// greFlags is gre_flag_values, in its order.
var greFlags = [...]struct {
	bit  uint16
	name string
}{{0x8000, "checksum present"}, {0x4000, "routing present"}, {0x2000, "key present"},
	{0x1000, "sequence# present"}, {0x0800, "source routing present"}, {0x0080, "ack present"}}

func (pr *Printer) greFlagList(b []byte, flags uint16) []byte {
	b = append(b, ", Flags ["...)
	n := len(b)
	for _, f := range greFlags {
		if flags&f.bit != 0 {
			if len(b) > n {
				b = append(b, ", "...)
			}
			b = append(b, f.name...)
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return append(b, ']')
}

// gre is gre_print for versions 0 (RFC 2784, 2890) and 1 (PPTP). Source
// routes (RFC 1701's routing present bit) are not printed: wire does not
// follow such packets.
func (pr *Printer) gre(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "gre"
	if !c.has(off, 2) || length < 2 {
		return pr.trunc(b)
	}
	flags := c.u16(off)
	vers := flags & 7
	b = append(b, "GREv"...)
	b = appendUint(b, uint64(vers))
	if vers > 1 {
		return append(b, " ERROR: unknown-version"...)
	}
	if pr.o.Verbose > 0 {
		b = pr.greFlagList(b, flags)
	}
	bp, n := off+2, length-2
	if !c.has(bp, 2) || n < 2 {
		return pr.trunc(b)
	}
	prot := c.u16(bp)
	bp, n = bp+2, n-2
	// field reads the next optional field of size bytes.
	ok := true
	field := func(size int) uint32 {
		if !ok || !c.has(bp, size) || n < size {
			ok = false
			return 0
		}
		v := uint32(c.u16(bp))
		if size == 4 {
			v = c.u32(bp)
		}
		bp, n = bp+size, n-size
		return v
	}
	if vers == 0 {
		if flags&0xc000 != 0 {
			sum := field(2)
			if ok && pr.o.Verbose > 0 {
				b = append(b, ", sum 0x"...)
				b = appendHexU(b, uint64(sum))
			}
			o := field(2)
			if ok {
				b = append(b, ", off 0x"...)
				b = appendHexU(b, uint64(o))
			}
		}
		if flags&0x2000 != 0 {
			if k := field(4); ok {
				b = append(b, ", key=0x"...)
				b = appendHexU(b, uint64(k))
			}
		}
	} else if flags&0x2000 != 0 {
		if k := field(4); ok {
			b = append(b, ", call "...)
			b = appendUint(b, uint64(k&0xffff))
		}
	}
	if flags&0x1000 != 0 {
		if s := field(4); ok {
			b = append(b, ", seq "...)
			b = appendUint(b, uint64(s))
		}
	}
	if vers == 1 && flags&0x0080 != 0 {
		if a := field(4); ok {
			b = append(b, ", ack "...)
			b = appendUint(b, uint64(a))
		}
	}
	if !ok {
		return pr.trunc(b)
	}
	if vers == 1 && flags&0x1000 == 0 {
		b = append(b, ", no-payload"...)
	}
	if pr.o.Link {
		b = appendProtoType(b, prot)
	}
	b = append(b, ", length "...)
	b = appendUint(b, uint64(length))
	if vers == 1 && flags&0x1000 == 0 {
		return b
	}
	if pr.o.Verbose < 1 {
		b = append(b, ": "...)
	} else {
		b = append(b, "\n\t"...)
	}
	switch {
	case vers == 1 && prot == 0x880b:
		b, _ = pr.ppp(b, c, bp, n)
		return b
	case vers == 1:
	case prot == 0x0800:
		return pr.ip4(b, c, bp, n)
	case prot == 0x86dd:
		return pr.ip6(b, c, bp, n)
	case prot == 0x8847:
		return pr.mpls(b, c, bp, n)
	case prot == 0x6558:
		b, _ = pr.ether(b, c, bp, n)
		return b
	}
	b = append(b, "gre-proto-0x"...)
	return appendHexU(b, uint64(prot))
}
