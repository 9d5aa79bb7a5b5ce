package tcpdump

import (
	"encoding/binary"
	"net"
	"sync"

	"synfin/wire"
)

// link prints the link header (under -e) and what follows it. It returns
// the link header length, which -x/-X/-A leave out of the dump.
func (pr *Printer) link(b []byte, c *cursor, f *wire.Frame, p *wire.Packet) ([]byte, int) {
	length := f.WireLen
	d := c.d
	switch f.Link {
	case wire.LinkEthernet:
		return pr.ether(b, c, 0, length)
	case wire.LinkNull, wire.LinkLoop:
		if len(d) < 4 {
			return append(b, "[|null]"...), len(d)
		}
		var af uint32
		if f.Link == wire.LinkLoop {
			af = binary.BigEndian.Uint32(d)
		} else {
			af = binary.LittleEndian.Uint32(d)
			if af&0xffff0000 != 0 { // written on a machine of the other byte order
				af = binary.BigEndian.Uint32(d)
			}
		}
		if pr.o.Link {
			if pr.o.Quiet {
				b = append(b, bsdAFName(af)...)
			} else {
				b = append(b, "AF "...)
				b = append(b, bsdAFName(af)...)
				b = append(b, " ("...)
				b = appendUint(b, uint64(af))
				b = append(b, ')')
			}
			b = append(b, ", length "...)
			b = appendUint(b, uint64(length))
			b = append(b, ": "...)
		}
		et := uint16(wire.EtherTypeIPv4)
		if af != 2 {
			et = wire.EtherTypeIPv6
		}
		return pr.network(b, c, 4, et, length-4), 4
	case wire.LinkRaw, wire.LinkRawDLT12, wire.LinkRawDLT14, wire.LinkIPv4, wire.LinkIPv6:
		if pr.o.Link {
			b = append(b, "ip: "...)
		}
		et := uint16(wire.EtherTypeIPv4)
		if len(d) > 0 && d[0]>>4 == 6 {
			et = wire.EtherTypeIPv6
		}
		return pr.network(b, c, 0, et, length), 0
	case wire.LinkLinuxSLL:
		if len(d) < 16 {
			return pr.trunc(b), len(d)
		}
		if pr.o.Link {
			b = pr.sllHeader(b, binary.BigEndian.Uint16(d), int(binary.BigEndian.Uint16(d[4:])), d[6:12], binary.BigEndian.Uint16(d[14:]), length)
		}
		return pr.afterType(b, c, 16, binary.BigEndian.Uint16(d[14:]), length-16), 16
	case wire.LinkSLL2:
		if len(d) < 20 {
			return pr.trunc(b), len(d)
		}
		b = append(b, ifName(binary.BigEndian.Uint32(d[4:]))...)
		if pr.o.Link {
			b = pr.sllHeader(b, uint16(d[10]), int(d[11]), d[12:18], binary.BigEndian.Uint16(d), length)
		}
		return pr.afterType(b, c, 20, binary.BigEndian.Uint16(d), length-20), 20
	case wire.LinkPPP, wire.LinkPPPD:
		pr.proto = "ppp"
		if len(d) < 4 {
			return pr.trunc(b), len(d)
		}
		b, _ = pr.ppp(b, c, 0, length)
		return b, 4
	case wire.LinkPPPoE:
		return pr.pppoe(b, c, 0, length)
	case wire.LinkIPoIB:
		return pr.ipoib(b, c, length)
	case wire.LinkNFLOG:
		return pr.nflog(b, c, length)
	}
	return b, 0
}

// sllHeader is print-sll.c's header line.
func (pr *Printer) sllHeader(b []byte, pkttype uint16, halen int, addr []byte, proto uint16, length int) []byte {
	name := sllPacketType(pkttype)
	for i := len(name); i < 3; i++ {
		b = append(b, ' ')
	}
	b = append(b, name...)
	b = append(b, ' ')
	if halen == 6 {
		b = appendMAC(b, addr, pr.o.Numeric)
		b = append(b, ' ')
	}
	if pr.o.Quiet { // -q leaves out the type and the length
		return b
	}
	b = pr.etherType(b, proto)
	b = append(b, ", length "...)
	b = appendUint(b, uint64(length))
	return append(b, ": "...)
}

var (
	ifNames   sync.Map // uint32 -> string
	ifNamesMu sync.Mutex
)

// ifName is what tcpdump prints first for SLL2: the local name of the
// capture's interface index, padded to five, or "?".
func ifName(idx uint32) string {
	if v, ok := ifNames.Load(idx); ok {
		return v.(string)
	}
	ifNamesMu.Lock()
	defer ifNamesMu.Unlock()
	name := "?"
	if ifc, err := net.InterfaceByIndex(int(idx)); err == nil {
		name = ifc.Name
	}
	for len(name) < 5 {
		name += " "
	}
	name += " "
	ifNames.Store(idx, name)
	return name
}

// etherType is print-ether.c's ether_type_print.
func (pr *Printer) etherType(b []byte, t uint16) []byte {
	if pr.o.Quiet {
		if _, ok := etherTypeNames[t]; !ok {
			b = append(b, "Unknown Ethertype (0x"...)
			b = appendHex4(b, t)
			return append(b, ')')
		}
		return append(b, etherTypeName(t)...)
	}
	b = append(b, "ethertype "...)
	b = append(b, etherTypeName(t)...)
	b = append(b, " (0x"...)
	b = appendHex4(b, t)
	return append(b, ')')
}

// ether prints an Ethernet header at off (print-ether.c) and what it
// carries; length is the frame's length on the wire from off.
func (pr *Printer) ether(b []byte, c *cursor, off, length int) ([]byte, int) {
	if !c.has(off, 14) {
		return append(b, "[|ether]"...), c.end - off
	}
	d := c.d
	if pr.o.Link {
		b = appendMAC(b, d[off+6:off+12], pr.o.Numeric)
		b = append(b, " > "...)
		b = appendMAC(b, d[off:off+6], pr.o.Numeric)
		b = append(b, ", "...)
	}
	et := c.u16(off + 12)
	h := off + 14
	printedLen := false
	sep := func(b []byte) []byte {
		if !printedLen {
			printedLen = true
			b = append(b, ", length "...)
			b = appendUint(b, uint64(length))
			return append(b, ": "...)
		}
		return append(b, ", "...)
	}
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 || et == 0x9200 {
		if !c.has(h, 4) {
			return append(b, "[|vlan]"...), h - off
		}
		if pr.o.Link {
			b = pr.etherType(b, et)
			b = sep(b)
			b = appendVLAN(b, c.u16(h))
		}
		et = c.u16(h + 2)
		h += 4
	}
	if pr.o.Link {
		b = pr.etherType(b, et)
		b = sep(b)
	}
	if unknownToTcpdump(et) {
		return pr.rawEther(b, c, off, h, int(et), length), h - off
	}
	return pr.network(b, c, h, et, length-(h-off)), h - off
}

// appendVLAN prints a VLAN tag's control information as tcpdump -e does.
func appendVLAN(b []byte, tci uint16) []byte {
	b = append(b, "vlan "...)
	b = appendUint(b, uint64(tci&0xfff))
	b = append(b, ", p "...)
	b = appendUint(b, uint64(tci>>13))
	if tci&0x1000 != 0 {
		b = append(b, ", DEI"...)
	}
	return append(b, ", "...)
}

// afterType follows an SLL protocol field, which may be a VLAN tag.
func (pr *Printer) afterType(b []byte, c *cursor, off int, et uint16, length int) []byte {
	for et == 0x8100 || et == 0x88a8 || et == 0x9100 {
		if !c.has(off, 4) {
			return append(b, "[|vlan]"...)
		}
		if pr.o.Link {
			b = appendVLAN(b, c.u16(off))
			b = pr.etherType(b, c.u16(off+2))
			b = append(b, ", "...)
		}
		et = c.u16(off + 2)
		off += 4
		length -= 4
	}
	return pr.network(b, c, off, et, length)
}

// network dispatches on the EtherType, as ethertype_print for the types
// that may carry a TCP segment.
func (pr *Printer) network(b []byte, c *cursor, off int, et uint16, length int) []byte {
	switch et {
	case wire.EtherTypeIPv4:
		return pr.ip4(b, c, off, length)
	case wire.EtherTypeIPv6:
		return pr.ip6(b, c, off, length)
	case 0x8847, 0x8848: // MPLS unicast, multicast
		return pr.mpls(b, c, off, length)
	case 0x8864, 0x3c13: // PPPoE session; 3Com's pre-standard number
		b, _ = pr.pppoe(b, c, off, length)
	case 0x880b: // PPP
		if length > 0 {
			b = append(b, ": "...)
			b, _ = pr.ppp(b, c, off, length)
		}
	}
	return b
}
