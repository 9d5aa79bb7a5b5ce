package tcpdump

import "synfin/wire"

// IPv4 and IPv6 headers as print-ip.c and print-ip6.c print them, and the
// UDP tunnels (print-udp.c, print-vxlan.c, print-geneve.c) that may carry
// a TCP segment.

// ipCtx is what the transport printers need from the IP layer.
type ipCtx struct {
	off     int  // IP header offset
	v6      bool // IPv6
	direct  bool // the IP header's own protocol field names the transport
	frag    bool // more fragments follow (checksums are not verified)
	src     []byte
	dst     []byte
	ip6Plen int // IPv6 payload length field (0: jumbo or unknown)
}

func (pr *Printer) ip4(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "ip"
	if !pr.o.Link {
		b = append(b, "IP "...)
	}
	if !c.has(off, 1) {
		return pr.jump(b)
	}
	d := c.d
	if d[off]>>4 != 4 {
		if d[off]>>4 == 6 {
			b = append(b, "IP6, wrong link-layer encapsulation"...)
		} else {
			b = append(b, "IP"...)
			b = appendUint(b, uint64(d[off]>>4))
		}
		return append(b, " (invalid)"...)
	}
	if length < 20 {
		b = append(b, "truncated-ip "...)
		return appendUint(b, uint64(length))
	}
	hlen := int(d[off]&15) * 4
	if hlen < 20 {
		b = append(b, "bad-hlen "...)
		return appendUint(b, uint64(hlen))
	}
	if !c.has(off, 20) {
		return pr.jump(b)
	}
	ipLen := int(c.u16(off + 2))
	bigTCP := ipLen == 0 && pr.bigTCP && length > 0xffff
	if bigTCP {
		ipLen = length
	}
	if ipLen > length {
		b = append(b, "truncated-ip - "...)
		b = appendUint(b, uint64(ipLen-length))
		b = append(b, " bytes missing! "...)
	}
	if ipLen < hlen {
		b = append(b, "bad-len "...)
		return appendUint(b, uint64(ipLen))
	}
	// The snapshot now ends with the datagram.
	saved := c.end
	if off+ipLen < c.end {
		c.end = off + ipLen
	}
	defer func() { c.end = saved }()
	frag := c.u16(off + 6)
	proto := d[off+9]
	if pr.o.Verbose > 0 {
		tos := d[off+1]
		b = append(b, "(tos 0x"...)
		b = appendHexU(b, uint64(tos))
		switch tos & 3 {
		case 1:
			b = append(b, ",ECT(1)"...)
		case 2:
			b = append(b, ",ECT(0)"...)
		case 3:
			b = append(b, ",CE"...)
		}
		if ttl := d[off+8]; ttl >= 1 {
			b = append(b, ", ttl "...)
			b = appendUint(b, uint64(ttl))
		}
		b = append(b, ", id "...)
		b = appendUint(b, uint64(c.u16(off+4)))
		b = append(b, ", offset "...)
		b = appendUint(b, uint64(frag&0x1fff)*8)
		b = append(b, ", flags ["...)
		n := len(b)
		if frag&0x2000 != 0 {
			b = append(b, '+')
		}
		if frag&0x4000 != 0 {
			if len(b) > n {
				b = append(b, ", "...)
			}
			b = append(b, "DF"...)
		}
		if frag&0x8000 != 0 {
			if len(b) > n {
				b = append(b, ", "...)
			}
			b = append(b, "rsvd"...)
		}
		if len(b) == n {
			b = append(b, "none"...)
		}
		b = append(b, "], proto "...)
		b = appendProto(b, proto)
		b = append(b, ", length "...)
		b = appendUint(b, uint64(ipLen))
		if bigTCP {
			b = append(b, " [was 0, presumed BIG TCP]"...)
		}
		if hlen > 20 {
			b = append(b, ", options ("...)
			var ok bool
			b, ok = pr.ipOptions(b, c, off+20, hlen-20)
			if !ok {
				return b
			}
			b = append(b, ')')
		}
		if c.has(off, hlen) {
			if s := verify(d[off : off+hlen]); s != 0 {
				field := c.u16(off + 10)
				b = append(b, ", bad cksum "...)
				b = appendHexU(b, uint64(field))
				b = append(b, " (->"...)
				b = appendHexU(b, uint64(shouldBe(field, s)))
				b = append(b, ")!"...)
			}
		}
		b = append(b, ")\n    "...)
	}
	if frag&0x1fff != 0 {
		// Not the first fragment: no transport header to print.
		b = pr.host(b, d[off+12:off+16])
		b = append(b, " > "...)
		b = pr.host(b, d[off+16:off+20])
		b = append(b, ": ip-proto-"...)
		return appendUint(b, uint64(proto))
	}
	ic := ipCtx{off: off, direct: true, frag: frag&0x2000 != 0, src: d[off+12 : off+16], dst: d[off+16 : off+20]}
	if proto != 6 && proto != 17 && proto != 33 && proto != 132 {
		// Protocols that print no ports of their own follow the addresses.
		b = appendIPv4(b, ic.src)
		b = append(b, " > "...)
		b = appendIPv4(b, ic.dst)
		b = append(b, ": "...)
	}
	return pr.transport(b, c, &ic, proto, off+hlen, ipLen-hlen)
}

// ipOptNames names the IP options ip_optprint knows.
var ipOptNames = [256]string{0: "EOL", 1: "NOP", 7: "RR", 68: "TS", 130: "security", 131: "LSRR", 137: "SSRR", 148: "RA"}

// ipOptions is ip_optprint, for the options seen with TCP in practice.
func (pr *Printer) ipOptions(b []byte, c *cursor, off, n int) ([]byte, bool) {
	for n > 0 {
		if !c.has(off, 1) {
			return pr.trunc(b), false
		}
		code := c.d[off]
		if name := ipOptNames[code]; name != "" {
			b = append(b, name...)
		} else {
			b = append(b, "unknown "...)
			b = appendUint(b, uint64(code))
		}
		l := 1
		if code > 1 {
			if !c.has(off+1, 1) {
				return pr.trunc(b), false
			}
			l = int(c.d[off+1])
			if l < 2 {
				b = append(b, " [bad length "...)
				b = appendUint(b, uint64(l))
				return append(b, ']'), true
			}
		}
		if l > n {
			b = append(b, " [bad length "...)
			b = appendUint(b, uint64(l))
			return append(b, ']'), true
		}
		if code == 0 {
			return b, true
		}
		if code == 148 && l >= 4 && c.has(off+2, 2) && c.u16(off+2) != 0 {
			b = append(b, " value "...)
			b = appendUint(b, uint64(c.u16(off+2)))
		}
		off += l
		n -= l
	}
	return b, true
}

func (pr *Printer) ip6(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "ip6"
	if !c.has(off, 40) {
		if !pr.o.Link {
			b = append(b, "IP6 "...)
		}
		return pr.trunc(b)
	}
	if length < 40 {
		b = append(b, "truncated-ip6 "...)
		return appendUint(b, uint64(length))
	}
	if !pr.o.Link {
		b = append(b, "IP6 "...)
	}
	d := c.d
	if d[off]>>4 != 6 {
		b = append(b, "version error: "...)
		b = appendUint(b, uint64(d[off]>>4))
		return append(b, " != 6"...)
	}
	plen := int(c.u16(off + 4))
	nh := d[off+6]
	total := plen + 40
	if plen != 0 && total > length {
		b = append(b, "truncated-ip6 - "...)
		b = appendUint(b, uint64(total-length))
		b = append(b, " bytes missing!"...)
	}
	if pr.o.Verbose > 0 {
		flow := c.u32(off)
		b = append(b, '(')
		if flow&0x0ff00000 != 0 {
			b = append(b, "class 0x"...)
			b = appendHexPad(b, uint64(flow&0x0ff00000>>20), 2)
			b = append(b, ", "...)
		}
		if flow&0xfffff != 0 {
			b = append(b, "flowlabel 0x"...)
			b = appendHexPad(b, uint64(flow&0xfffff), 5)
			b = append(b, ", "...)
		}
		b = append(b, "hlim "...)
		b = appendUint(b, uint64(d[off+7]))
		b = append(b, ", next-header "...)
		b = appendProto(b, nh)
		b = append(b, " payload length: "...)
		b = appendUint(b, uint64(plen))
		b = append(b, ") "...)
	}
	saved := c.end
	// A zero payload length leaves the snapshot at the header unless a
	// hop-by-hop jumbo option (BIG TCP) says otherwise, as in tcpdump.
	if plen == 0 && nh == 0 {
		total = c.end - off
	}
	if off+total < c.end {
		c.end = off + total
	}
	defer func() { c.end = saved }()
	ic := ipCtx{off: off, v6: true, direct: nh == 6 || nh == 17, src: d[off+8 : off+24], dst: d[off+24 : off+40], ip6Plen: plen}
	cp := off + 40
	rem := total - 40
	first := true
	for {
		if first && nh != 6 && nh != 17 && nh != 33 && nh != 132 {
			b = pr.host(b, ic.src)
			b = append(b, " > "...)
			b = pr.host(b, ic.dst)
			b = append(b, ": "...)
		}
		first = false
		switch nh {
		case 0, 60: // hop-by-hop, destination options
			if !c.has(cp, 2) {
				return pr.trunc(b)
			}
			hl := (int(c.d[cp+1]) + 1) * 8
			if !c.has(cp, hl) {
				return pr.trunc(b)
			}
			if nh == 0 {
				b = append(b, "HBH "...)
			} else {
				b = append(b, "DSTOPT "...)
			}
			var jumbo uint32
			if pr.o.Verbose > 0 {
				var ok bool
				b, jumbo, ok = pr.ip6Opts(b, c.d[cp+2:cp+hl])
				if !ok {
					return b
				}
				b = append(b, ' ')
			} else {
				_, jumbo, _ = pr.ip6Opts(nil, c.d[cp+2:cp+hl])
			}
			if nh == 0 && plen == 0 {
				total = 40 + hl
				if jumbo != 0 {
					total = int(jumbo) + 40
				}
				rem = total - 40
				c.end = saved
				if off+total < c.end {
					c.end = off + total
				}
			}
			nh = c.d[cp]
			cp += hl
			rem -= hl
		case 44: // fragment
			if !c.has(cp, 8) {
				return pr.trunc(b)
			}
			fo := c.u16(cp + 2)
			b = append(b, "frag (0x"...)
			b = appendHexPad(b, uint64(c.u32(cp+4)), 8)
			b = append(b, ':')
			b = appendUint(b, uint64(fo&^7))
			b = append(b, '|')
			b = appendUint(b, uint64(rem-8))
			b = append(b, ") "...)
			nh = c.d[cp]
			cp += 8
			rem -= 8
			if fo&^7 != 0 {
				return b
			}
			ic.frag = true
		default:
			if rem < 0 {
				return pr.trunc(b)
			}
			return pr.transport(b, c, &ic, nh, cp, rem)
		}
	}
}

// ip6Opts prints hop-by-hop or destination options (ip6_opt_process) and
// returns the jumbo payload length if present.
func (pr *Printer) ip6Opts(b []byte, o []byte) ([]byte, uint32, bool) {
	var jumbo uint32
	for i := 0; i < len(o); {
		t := o[i]
		if t == 0 {
			b = append(b, "(pad1)"...)
			i++
			continue
		}
		if i+2 > len(o) || i+2+int(o[i+1]) > len(o) {
			b = append(b, "(opt_type 0x"...)
			b = appendHexPad(b, uint64(t), 2)
			b = append(b, ": len="...)
			if i+1 < len(o) {
				b = appendUint(b, uint64(o[i+1]))
			}
			return append(b, ')'), 0, false
		}
		l := int(o[i+1])
		v := o[i+2 : i+2+l]
		switch {
		case t == 1:
			b = append(b, "(padn)"...)
		case t == 0xc2 && l == 4:
			jumbo = uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
			b = append(b, "(jumbo: "...)
			b = appendUint(b, uint64(jumbo))
			b = append(b, ") "...)
		case t == 5 && l == 2:
			b = append(b, "(rtalert: 0x"...)
			b = appendHex4(b, uint16(v[0])<<8|uint16(v[1]))
			b = append(b, ") "...)
		default:
			b = append(b, "(type 0x"...)
			b = appendHexPad(b, uint64(t), 2)
			b = append(b, ": len="...)
			b = appendUint(b, uint64(l))
			b = append(b, ") "...)
		}
		i += 2 + l
	}
	return b, jumbo, true
}

// transport dispatches to TCP or to a tunnel: UDP's, GRE, IP in IP.
func (pr *Printer) transport(b []byte, c *cursor, ic *ipCtx, proto uint8, off, length int) []byte {
	switch proto {
	case 6:
		return pr.tcp(b, c, ic, off, length)
	case 17:
		return pr.udp(b, c, ic, off, length)
	case 4:
		return pr.ip4(b, c, off, length)
	case 41:
		return pr.ip6(b, c, off, length)
	case 47:
		return pr.gre(b, c, off, length)
	}
	return b
}

// addrs prints "src > dst: " or "src.sport > dst.dport: " as the UDP and
// TCP printers do, names from table names.
func (pr *Printer) addrs(b []byte, ic *ipCtx, sport, dport int, udp bool) []byte {
	if ic.direct {
		b = pr.host(b, ic.src)
		if sport >= 0 {
			b = append(b, '.')
			b = pr.portName(b, uint16(sport), udp)
		}
		b = append(b, " > "...)
		b = pr.host(b, ic.dst)
		if dport >= 0 {
			b = append(b, '.')
			b = pr.portName(b, uint16(dport), udp)
		}
		return append(b, ": "...)
	}
	if sport >= 0 {
		b = pr.portName(b, uint16(sport), udp)
		b = append(b, " > "...)
		b = pr.portName(b, uint16(dport), udp)
		b = append(b, ": "...)
	}
	return b
}

func (pr *Printer) portName(b []byte, port uint16, udp bool) []byte {
	if udp && !pr.o.Numeric {
		if n := pr.svc.UDPName(port); n != "" {
			return append(b, n...)
		}
		return appendUint(b, uint64(port))
	}
	return pr.appendPort(b, port)
}

// udp prints a UDP header far enough to reach VXLAN or Geneve.
func (pr *Printer) udp(b []byte, c *cursor, ic *ipCtx, off, length int) []byte {
	pr.proto = "udp"
	if !c.has(off, 4) {
		b = pr.addrs(b, ic, -1, -1, true)
		return pr.trunc(b)
	}
	sport, dport := int(c.u16(off)), int(c.u16(off+2))
	if length < 8 {
		b = pr.addrs(b, ic, sport, dport, true)
		b = append(b, "truncated-udp "...)
		return appendUint(b, uint64(length))
	}
	if !c.has(off+4, 2) {
		b = pr.addrs(b, ic, sport, dport, true)
		return pr.trunc(b)
	}
	ulen := int(c.u16(off + 4))
	if ulen == 0 && length > 65535 {
		ulen = length
	}
	if ulen < 8 {
		b = pr.addrs(b, ic, sport, dport, true)
		b = append(b, "truncated-udplength "...)
		return appendUint(b, uint64(ulen))
	}
	ulen -= 8
	length -= 8
	if ulen < length {
		length = ulen
	}
	cp := off + 8
	if cp > c.end {
		b = pr.addrs(b, ic, sport, dport, true)
		return pr.trunc(b)
	}
	b = pr.addrs(b, ic, sport, dport, true)
	if pr.o.Verbose > 0 && !ic.frag {
		field := c.u16(off + 6)
		if !ic.v6 && pr.o.Verbose > 1 {
			if field == 0 {
				b = append(b, "[no cksum] "...)
			} else if c.has(cp, length) {
				b = pr.udpSum(b, c, ic, off, length+8, field)
			}
		} else if ic.v6 && c.has(cp, length) {
			b = pr.udpSum(b, c, ic, off, length+8, field)
		}
	}
	if pr.o.Quiet {
		b = append(b, "UDP, length "...)
		return appendUint(b, uint64(ulen))
	}
	switch {
	case sport == 4789 || dport == 4789:
		return pr.vxlan(b, c, cp, length)
	case sport == 6081 || dport == 6081:
		return pr.geneve(b, c, cp, length)
	}
	b = append(b, "UDP, length "...)
	return appendUint(b, uint64(ulen))
}

func (pr *Printer) udpSum(b []byte, c *cursor, ic *ipCtx, off, n int, field uint16) []byte {
	s := verifySegment(ic, wire.ProtoUDP, c.d[off:off+n])
	if s == 0 {
		return append(b, "[udp sum ok] "...)
	}
	b = append(b, "[bad udp cksum 0x"...)
	b = appendHex4(b, field)
	b = append(b, " -> 0x"...)
	b = appendHex4(b, shouldBe(field, s))
	return append(b, "!] "...)
}

func (pr *Printer) vxlan(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "vxlan"
	if length < 8 {
		return append(b, " (invalid)"...)
	}
	if !c.has(off, 8) {
		return pr.trunc(b)
	}
	flags := c.d[off]
	b = append(b, "VXLAN, flags ["...)
	if flags&8 != 0 {
		b = append(b, 'I')
	} else {
		b = append(b, '.')
	}
	b = append(b, "] (0x"...)
	b = appendHex2(b, flags)
	b = append(b, "), vni "...)
	b = appendUint(b, uint64(c.u32(off+4)>>8))
	b = append(b, '\n')
	b, _ = pr.ether(b, c, off+8, length-8)
	return b
}

func (pr *Printer) geneve(b []byte, c *cursor, off, length int) []byte {
	pr.proto = "geneve"
	b = append(b, "Geneve"...)
	if length < 8 {
		b = append(b, " [length "...)
		b = appendUint(b, uint64(length))
		return append(b, " < 8] (invalid)"...)
	}
	if !c.has(off, 8) {
		return pr.trunc(b)
	}
	d := c.d
	if v := d[off] >> 6; v != 0 {
		b = append(b, " ERROR: unknown-version "...)
		return appendUint(b, uint64(v))
	}
	flags := d[off+1]
	prot := c.u16(off + 2)
	vni := c.u32(off+4) >> 8
	rsvd := d[off+7]
	b = append(b, ", Flags ["...)
	switch {
	case flags&0xc0 == 0:
		b = append(b, "none"...)
	default:
		if flags&0x80 != 0 {
			b = append(b, 'O')
		}
		if flags&0x40 != 0 {
			b = append(b, 'C')
		}
	}
	b = append(b, "], vni 0x"...)
	b = appendHexU(b, uint64(vni))
	if rsvd != 0 {
		b = append(b, ", rsvd 0x"...)
		b = appendHexU(b, uint64(rsvd))
	}
	if pr.o.Link {
		b = appendProtoType(b, prot)
	}
	optLen := int(d[off]&0x3f) * 4
	rest := length - 8
	if rest < optLen {
		b = append(b, " truncated-geneve - "...)
		b = appendUint(b, uint64(optLen-rest))
		return append(b, " bytes missing"...)
	}
	if !c.has(off+8, optLen) {
		return pr.trunc(b)
	}
	if optLen > 0 {
		b = append(b, ", options"...)
		if pr.o.Verbose > 0 { // " [class ... len N]"
			b = pr.geneveOpts(b, d[off+8:off+8+optLen])
		} else {
			b = append(b, " ["...)
			b = appendUint(b, uint64(optLen))
			b = append(b, " bytes]"...)
		}
	}
	if pr.o.Verbose < 1 {
		b = append(b, ": "...)
	} else {
		b = append(b, "\n\t"...)
	}
	in := off + 8 + optLen
	switch prot {
	case 0x6558:
		b, _ = pr.ether(b, c, in, rest-optLen)
		return b
	case 0x0800, 0x86dd:
		return pr.network(b, c, in, prot, rest-optLen)
	}
	b = append(b, "geneve-proto-0x"...)
	return appendHexU(b, uint64(prot))
}

func (pr *Printer) geneveOpts(b []byte, o []byte) []byte {
	b = append(b, " ["...)
	for first := true; len(o) >= 4; first = false {
		class := uint16(o[0])<<8 | uint16(o[1])
		typ := o[2]
		l := int(o[3]&0x1f) * 4
		if !first {
			b = append(b, ", "...)
		}
		b = append(b, "class "...)
		if class == 0 {
			b = append(b, "Standard"...)
		} else {
			b = append(b, "Unknown"...)
		}
		b = append(b, " (0x"...)
		b = appendHexU(b, uint64(class))
		b = append(b, ") type 0x"...)
		b = appendHexU(b, uint64(typ))
		if typ&0x80 != 0 {
			b = append(b, "(C)"...)
		}
		b = append(b, " len "...)
		b = appendUint(b, uint64(l+4))
		if 4+l > len(o) {
			break
		}
		if pr.o.Verbose > 1 && l > 0 {
			b = append(b, " data"...)
			for i := 4; i+4 <= 4+l; i += 4 {
				b = append(b, ' ')
				b = appendHexPad(b, uint64(o[i])<<24|uint64(o[i+1])<<16|uint64(o[i+2])<<8|uint64(o[i+3]), 8)
			}
		}
		o = o[4+l:]
	}
	return append(b, ']')
}
