package wire

import "encoding/binary"

// Encapsulations between the link layer and the IP header that carries
// TCP: PPP and PPPoE, MPLS, Cisco FabricPath, IP over InfiniBand's
// pseudo-header, GRE and IP in IP. Each follows the printer of tcpdump
// 4.99 (print-ppp.c, print-pppoe.c, print-mpls.c, print-ipoib.c,
// print-gre.c), so that a frame decodes as TCP exactly when tcpdump prints
// it as TCP; and Cisco FabricPath, VN-Tag and ERSPAN as Zeek decodes them
// (tcpdump 4.99 does not).

// More EtherTypes.
const (
	etherTypePPPoE      = 0x8864 // PPPoE session stage
	etherTypePPPoE3Com  = 0x3c13 // PPPoE session stage, 3Com's number
	etherTypeFabricPath = 0x8903 // Cisco FabricPath
	etherTypePPP        = 0x880b // PPP in GRE version 1 (PPTP)
	etherTypeVNTag      = 0x8926 // Cisco VN-Tag
	etherTypeERSPAN     = 0x88be // ERSPAN types I and II, in GRE
	etherTypeERSPAN3    = 0x22eb // ERSPAN type III, in GRE
)

// maxNest bounds the encapsulations followed from the outermost IP header
// (tunnels in tunnels), so that a crafted frame costs bounded work.
const maxNest = 4

// ipoibHeader is the length of the IPoIB pseudo-header Linux gives
// captures on InfiniBand interfaces: 40 bytes of hardware addresses, the
// EtherType, 2 reserved bytes.
const ipoibHeader = 44

// ppp skips a PPP header at off (address and control when present, a
// protocol field of one or two bytes) and returns the offset and
// EtherType of what it carries, as tcpdump's ppp_print.
func (p *Packet) ppp(b []byte, off int) (int, uint16, error) {
	if len(b) < off+2 {
		return 0, 0, ErrTruncated
	}
	switch binary.BigEndian.Uint16(b[off:]) {
	case 0xff03, 0x0003, 0x0103: // address and control; pppd's in and out
		off += 2
	}
	if len(b) < off+2 {
		return 0, 0, ErrTruncated
	}
	var proto uint16
	if b[off]&1 != 0 { // protocol field compressed to one byte
		proto = uint16(b[off])
		off++
	} else {
		proto = binary.BigEndian.Uint16(b[off:])
		off += 2
	}
	return p.pppProto(b, off, proto)
}

// pppProto maps a PPP protocol number to the EtherType of the payload at
// off, as tcpdump's handle_ppp.
func (p *Packet) pppProto(b []byte, off int, proto uint16) (int, uint16, error) {
	switch proto {
	case 0x0021, 0x002f, EtherTypeIPv4: // IP, Van Jacobson uncompressed TCP/IP
		return off, EtherTypeIPv4, nil
	case 0x0057, EtherTypeIPv6:
		return off, EtherTypeIPv6, nil
	case 0x0281, 0x0283: // MPLS unicast, multicast
		return p.mpls(b, off)
	}
	// Among the rest, protocols 0x7eXX mean an HDLC-escaped frame, which
	// tcpdump unescapes into a copy; that is left undecoded here.
	return 0, 0, ErrNotIP
}

// nflog walks a Linux NFLOG record (a 4-byte header, then type-length-
// value attributes) to the packet in its payload attribute. Attribute
// lengths and types are in the capturing host's byte order; read them as
// little-endian, as tcpdump on a little-endian machine does.
func (p *Packet) nflog(b []byte) (int, uint16, error) {
	if len(b) < 4 {
		return 0, 0, ErrTruncated
	}
	var et uint16
	switch {
	case b[1] != 0: // version
		return 0, 0, ErrNotIP
	case b[0] == 2: // AF_INET
		et = EtherTypeIPv4
	case b[0] == 10: // AF_INET6 (Linux)
		et = EtherTypeIPv6
	default:
		return 0, 0, ErrNotIP
	}
	for off := 4; off < len(b); {
		if len(b) < off+4 {
			return 0, 0, ErrTruncated
		}
		size := (int(binary.LittleEndian.Uint16(b[off:])) + 3) &^ 3
		if size < 4 || len(b) < off+size {
			return 0, 0, ErrTruncated
		}
		if binary.LittleEndian.Uint16(b[off+2:]) == 9 { // NFULA_PAYLOAD
			return off + 4, et, nil
		}
		off += size
	}
	return 0, 0, ErrNotIP
}

// pppoe decodes a PPPoE session header at off and the PPP frame it holds.
// Discovery packets (a non-zero code) carry tags, not PPP.
func (p *Packet) pppoe(b []byte, off int) (int, uint16, error) {
	if len(b) < off+6 {
		return 0, 0, ErrTruncated
	}
	if b[off+1] != 0 {
		return 0, 0, ErrNotIP
	}
	return p.ppp(b, off+6)
}

// mpls skips an MPLS label stack. The payload's type is not in the stack:
// as tcpdump, take it from the last label (0 and 3 mean IPv4, 2 IPv6),
// else from the first byte of the payload.
func (p *Packet) mpls(b []byte, off int) (int, uint16, error) {
	var label uint32
	for {
		if len(b) < off+4 {
			return 0, 0, ErrTruncated
		}
		e := binary.BigEndian.Uint32(b[off:])
		label = e >> 12
		off += 4
		if e&0x100 != 0 { // bottom of stack
			break
		}
	}
	switch label {
	case 0, 3:
		return off, EtherTypeIPv4, nil
	case 2:
		return off, EtherTypeIPv6, nil
	}
	if len(b) < off+1 {
		return 0, 0, ErrTruncated
	}
	switch v := b[off]; {
	case v >= 0x45 && v <= 0x4f:
		return off, EtherTypeIPv4, nil
	case v >= 0x60 && v <= 0x6f:
		return off, EtherTypeIPv6, nil
	}
	return 0, 0, ErrNotIP
}

// GRE header flags: checksum, routing, key, sequence number and (in
// version 1) acknowledgment number present.
const greChecksum, greRouting, greKey, greSeq, greAck = 0x8000, 0x4000, 0x2000, 0x1000, 0x0080

// gre decodes a GRE header at off (version 0, RFC 2784 and 2890; version
// 1, PPTP's enhanced GRE) and what it carries, as tcpdump's gre_print.
func (p *Packet) gre(off, depth int) error {
	b := p.Data
	if len(b) < off+4 {
		return ErrTruncated
	}
	flags := binary.BigEndian.Uint16(b[off:])
	proto := binary.BigEndian.Uint16(b[off+2:])
	h := off + 4
	var (
		in  int
		et  uint16
		err error
	)
	switch flags & 7 {
	case 0:
		if flags&greRouting != 0 {
			// RFC 1701's source routes, which RFC 2784 dropped: Zeek
			// refuses them, and so does wire (tcpdump would print them).
			return ErrNotTCP
		}
		if flags&greChecksum != 0 {
			h += 4
		}
		if flags&greKey != 0 {
			h += 4
		}
		if flags&greSeq != 0 {
			h += 4
		}
		if len(b) < h {
			return ErrTruncated
		}
		switch proto {
		case EtherTypeIPv4, EtherTypeIPv6:
			in, et = h, proto
		case etherTypeMPLS:
			in, et, err = p.mpls(b, h)
		case etherTypeTEB:
			in, et, err = p.ethernet(b, h)
		case etherTypeERSPAN:
			if flags&greSeq != 0 { // type II: an 8-byte header; type I has none
				h += 8
			}
			in, et, err = p.ethernet(b, h)
		case etherTypeERSPAN3:
			if len(b) < h+12 {
				return ErrTruncated
			}
			if b[h+11]&1 != 0 { // an 8-byte platform-specific subheader follows
				h += 8
			}
			in, et, err = p.ethernet(b, h+12)
		default:
			return ErrNotTCP
		}
	case 1:
		for _, f := range [...]uint16{greKey, greSeq, greAck} {
			if flags&f != 0 {
				h += 4
			}
		}
		// Without a sequence number the packet carries no payload.
		if flags&greSeq == 0 || proto != etherTypePPP {
			return ErrNotTCP
		}
		if len(b) < h {
			return ErrTruncated
		}
		in, et, err = p.ppp(b, h)
	default:
		return ErrNotTCP
	}
	return p.enter(TunnelGRE, in, et, err, depth)
}

// enter follows a tunnel of kind to the IP header at off, unless the
// tunnel's own header failed with err. It records the innermost kind and
// the outermost IP header.
func (p *Packet) enter(kind uint8, off int, et uint16, err error, depth int) error {
	if err != nil {
		return err
	}
	if p.Tunnel == TunnelNone {
		p.OuterNetOff = p.NetOff
	}
	p.Tunnel = kind
	// An inner header starts afresh: nothing of the outer one's
	// fragmentation or length carries over.
	p.IPID, p.FlowLabel, p.IPTotalLen, p.FragOff, p.MoreFrags, p.DontFrag = 0, 0, 0, 0, false, false
	return p.network(off, et, depth+1)
}
