package wire

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// LinkType is a pcap LINKTYPE_ value.
type LinkType uint32

// The link types synfin decodes.
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte host-order family
	LinkEthernet LinkType = 1   // Ethernet II, 802.1Q/802.1ad tags
	LinkRawDLT12 LinkType = 12  // raw IP (DLT_RAW on most systems)
	LinkRawDLT14 LinkType = 14  // raw IP (DLT_RAW on OpenBSD)
	LinkRaw      LinkType = 101 // raw IP (LINKTYPE_RAW)
	LinkPPP      LinkType = 9   // PPP, with or without HDLC address and control
	LinkPPPoE    LinkType = 51  // PPPoE session packets (LINKTYPE_PPP_ETHER)
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkLinuxSLL LinkType = 113 // Linux cooked capture v1
	LinkPPPD     LinkType = 166 // PPP with pppd's direction in the address byte
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	LinkNFLOG    LinkType = 239 // Linux netfilter log records
	LinkIPoIB    LinkType = 242 // IP over InfiniBand, Linux's 44-byte pseudo-header
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// Supported reports whether Decode understands the link type.
func (l LinkType) Supported() bool {
	switch l {
	case LinkNull, LinkEthernet, LinkRawDLT12, LinkRawDLT14, LinkRaw, LinkLoop,
		LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkSLL2, LinkPPP, LinkPPPoE, LinkPPPD, LinkNFLOG, LinkIPoIB:
		return true
	}
	return false
}

// Tunnel kinds a TCP segment may be carried in.
const (
	TunnelNone uint8 = iota
	TunnelVXLAN
	TunnelGeneve
	TunnelGRE
	TunnelIP // IP in IP (IPv4 or IPv6 in IPv4 or IPv6)
)

// IP protocol numbers used here.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	protoIPIP   = 4
	protoIPv6   = 41
	protoGRE    = 47
)

// Packet is one decoded frame. Decode fills it in place; slices point into
// the frame, which the caller owns and must keep while using them.
type Packet struct {
	Link LinkType
	Data []byte // the captured bytes of the frame

	EtherType uint16 // of the innermost link header
	VLANs     uint8  // number of 802.1Q/802.1ad tags seen
	NetOff    int    // offset of the (innermost) IP header
	IPVersion uint8  // 4 or 6, 0 if no IP header was found

	Src, Dst   netip.Addr
	TTL        uint8  // TTL or hop limit
	TOS        uint8  // IPv4 TOS or IPv6 traffic class
	IPID       uint32 // IPv4 identification or IPv6 fragment identification
	FlowLabel  uint32
	IPTotalLen int    // total length the IP header claims (IPv6: 40+payload length); 0 as captured for GSO
	FragOff    uint16 // fragment offset in bytes
	MoreFrags  bool
	DontFrag   bool
	Proto      uint8 // transport protocol after extension headers

	Tunnel      uint8 // the innermost tunnel (TunnelVXLAN ...) the segment was carried in
	OuterNetOff int   // offset of the outermost IP header when Tunnel != TunnelNone

	TransOff int // offset of the transport header

	// TCP header; valid when HasTCP.
	HasTCP     bool
	SrcPort    uint16
	DstPort    uint16
	Seq, Ack   uint32
	Flags      Flags
	Window     uint16
	Checksum   uint16
	Urgent     uint16
	HeaderLen  int    // TCP header length from the data offset, in bytes
	Options    []byte // captured option bytes (may be cut short by the snap length)
	PayloadOff int    // offset of the TCP payload in Data
	PayloadLen int    // payload length the IP header implies (from captured length when IP says 0)
}

// Decoding errors. They are values so that Decode never allocates.
var (
	ErrLinkType  = errors.New("wire: unsupported link type")
	ErrTruncated = errors.New("wire: truncated header")
	ErrNotIP     = errors.New("wire: not an IP packet")
	ErrNotTCP    = errors.New("wire: not a TCP segment")
	ErrFragment  = errors.New("wire: non-first IP fragment")
	ErrBadHeader = errors.New("wire: malformed header")
)

// EtherTypes.
const (
	EtherTypeIPv4      = 0x0800
	EtherTypeIPv6      = 0x86dd
	etherTypeVLAN      = 0x8100
	etherTypeQinQ      = 0x88a8
	etherTypeQinQ2     = 0x9100
	etherTypeQinQ3     = 0x9200
	etherTypeTEB       = 0x6558 // transparent Ethernet bridging (Geneve)
	etherTypeMPLS      = 0x8847
	etherTypeMPLSMulti = 0x8848
)

// Decode decodes frame b of link type lt into p. It returns nil when p holds
// a TCP segment; otherwise an error saying why not, with p filled as far as
// decoding got (for example IPVersion and Proto for a UDP datagram).
func (p *Packet) Decode(lt LinkType, b []byte) error {
	*p = Packet{Link: lt, Data: b}
	off, et, err := p.link(lt, b)
	if err != nil {
		return err
	}
	return p.network(off, et, 0)
}

// link decodes the link header and returns the offset of the network
// header and its EtherType.
func (p *Packet) link(lt LinkType, b []byte) (int, uint16, error) {
	switch lt {
	case LinkEthernet:
		return p.ethernet(b, 0)
	case LinkNull, LinkLoop:
		if len(b) < 4 {
			return 0, 0, ErrTruncated
		}
		var fam uint32
		if lt == LinkLoop {
			fam = binary.BigEndian.Uint32(b)
		} else {
			// Host byte order of the capturing machine: accept either.
			fam = binary.LittleEndian.Uint32(b)
			if fam > 0xffff {
				fam = binary.BigEndian.Uint32(b)
			}
		}
		switch fam {
		case 2:
			return 4, EtherTypeIPv4, nil
		case 10, 24, 28, 30: // AF_INET6 on Linux, OpenBSD/NetBSD, FreeBSD, Darwin
			return 4, EtherTypeIPv6, nil
		}
		return 0, 0, ErrNotIP
	case LinkRaw, LinkRawDLT12, LinkRawDLT14:
		if len(b) < 1 {
			return 0, 0, ErrTruncated
		}
		switch b[0] >> 4 {
		case 4:
			return 0, EtherTypeIPv4, nil
		case 6:
			return 0, EtherTypeIPv6, nil
		}
		return 0, 0, ErrNotIP
	case LinkIPv4:
		return 0, EtherTypeIPv4, nil
	case LinkIPv6:
		return 0, EtherTypeIPv6, nil
	case LinkLinuxSLL:
		if len(b) < 16 {
			return 0, 0, ErrTruncated
		}
		return p.afterEtherType(b, 16, binary.BigEndian.Uint16(b[14:]), false)
	case LinkSLL2:
		if len(b) < 20 {
			return 0, 0, ErrTruncated
		}
		return p.afterEtherType(b, 20, binary.BigEndian.Uint16(b[0:]), false)
	case LinkPPP, LinkPPPD:
		return p.ppp(b, 0)
	case LinkPPPoE:
		return p.pppoe(b, 0)
	case LinkNFLOG:
		return p.nflog(b)
	case LinkIPoIB:
		if len(b) < ipoibHeader {
			return 0, 0, ErrTruncated
		}
		return p.etherPayload(b, ipoibHeader, binary.BigEndian.Uint16(b[40:]))
	}
	return 0, 0, ErrLinkType
}

// ethernet decodes an Ethernet header at off, with any VLAN tags. A
// Cisco FabricPath header (outer addresses, EtherType 0x8903 and 2 bytes
// of forwarding tag and TTL) is followed to the Ethernet frame it holds.
func (p *Packet) ethernet(b []byte, off int) (int, uint16, error) {
	if len(b) < off+14 {
		return 0, 0, ErrTruncated
	}
	et := binary.BigEndian.Uint16(b[off+12:])
	if et == etherTypeFabricPath {
		off += 16
		if len(b) < off+14 {
			return 0, 0, ErrTruncated
		}
		et = binary.BigEndian.Uint16(b[off+12:])
	}
	return p.afterEtherType(b, off+14, et, true)
}

// afterEtherType skips VLAN tags following an EtherType field and, in
// Ethernet, Cisco's VN-Tags (4 bytes before the next EtherType).
func (p *Packet) afterEtherType(b []byte, off int, et uint16, ether bool) (int, uint16, error) {
	if et == EtherTypeIPv4 || et == EtherTypeIPv6 { // the common case, first
		p.EtherType = et
		return off, et, nil
	}
	for {
		n := 4
		switch {
		case et == etherTypeVLAN || et == etherTypeQinQ || et == etherTypeQinQ2 || et == etherTypeQinQ3 && ether:
			p.VLANs++
		case et == etherTypeVNTag && ether:
			n = 6
		default:
			n = 0
		}
		if n == 0 {
			break
		}
		if len(b) < off+n {
			return 0, 0, ErrTruncated
		}
		et = binary.BigEndian.Uint16(b[off+n-2:])
		off += n
	}
	return p.etherPayload(b, off, et)
}

// etherPayload decodes what EtherType et says is at off: the types that
// may carry a TCP segment, as tcpdump's ethertype_print.
func (p *Packet) etherPayload(b []byte, off int, et uint16) (int, uint16, error) {
	p.EtherType = et
	switch et {
	case EtherTypeIPv4, EtherTypeIPv6:
		return off, et, nil
	case etherTypeMPLS, etherTypeMPLSMulti:
		return p.mpls(b, off)
	case etherTypePPPoE, etherTypePPPoE3Com:
		return p.pppoe(b, off)
	case etherTypePPP:
		return p.ppp(b, off)
	}
	return 0, 0, ErrNotIP
}

// network decodes an IP header at off. depth counts the tunnels already
// followed to reach it; past maxNest no further one is.
func (p *Packet) network(off int, et uint16, depth int) error {
	b := p.Data
	p.NetOff = off
	var (
		next    uint8
		end     int // end of the IP datagram within b (bounded by the capture)
		transAt int
	)
	switch et {
	case EtherTypeIPv4:
		if len(b) < off+20 {
			return ErrTruncated
		}
		h := b[off:]
		if h[0]>>4 != 4 {
			return ErrBadHeader
		}
		ihl := int(h[0]&0x0f) * 4
		if ihl < 20 {
			return ErrBadHeader
		}
		p.IPVersion = 4
		p.TOS = h[1]
		p.IPTotalLen = int(binary.BigEndian.Uint16(h[2:]))
		p.IPID = uint32(binary.BigEndian.Uint16(h[4:]))
		fo := binary.BigEndian.Uint16(h[6:])
		p.DontFrag = fo&0x4000 != 0
		p.MoreFrags = fo&0x2000 != 0
		p.FragOff = (fo & 0x1fff) * 8
		p.TTL = h[8]
		next = h[9]
		p.Src = netip.AddrFrom4([4]byte(h[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(h[16:20]))
		if len(b) < off+ihl {
			return ErrTruncated
		}
		transAt = off + ihl
		end = len(b)
		if p.IPTotalLen != 0 { // 0 means GSO/TSO: the length is unknown
			if p.IPTotalLen < ihl {
				return ErrBadHeader
			}
			if off+p.IPTotalLen < end {
				end = off + p.IPTotalLen // drop link-layer padding
			}
		}
	case EtherTypeIPv6:
		if len(b) < off+40 {
			return ErrTruncated
		}
		h := b[off:]
		if h[0]>>4 != 6 {
			return ErrBadHeader
		}
		p.IPVersion = 6
		vtf := binary.BigEndian.Uint32(h)
		p.TOS = uint8(vtf >> 20)
		p.FlowLabel = vtf & 0xfffff
		plen := int(binary.BigEndian.Uint16(h[4:]))
		next = h[6]
		p.TTL = h[7]
		p.Src = netip.AddrFrom16([16]byte(h[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(h[24:40]))
		end = len(b)
		if plen != 0 {
			p.IPTotalLen = 40 + plen
			if off+40+plen < end {
				end = off + 40 + plen
			}
		}
		transAt = off + 40
		// Extension headers. A jumbo payload (BIG TCP) has plen 0 and a
		// hop-by-hop jumbo option; the captured length then stands in.
	ext:
		for {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(b) < transAt+8 {
					return ErrTruncated
				}
				if next == 0 && plen == 0 {
					if j, ok := jumbo(b[transAt:]); ok {
						p.IPTotalLen = 40 + int(j)
						if off+p.IPTotalLen < end {
							end = off + p.IPTotalLen
						}
					}
				}
				n := int(b[transAt+1])*8 + 8
				next = b[transAt]
				transAt += n
			case 44: // fragment
				if len(b) < transAt+8 {
					return ErrTruncated
				}
				fo := binary.BigEndian.Uint16(b[transAt+2:])
				p.FragOff = fo &^ 7
				p.MoreFrags = fo&1 != 0
				p.IPID = binary.BigEndian.Uint32(b[transAt+4:])
				next = b[transAt]
				transAt += 8
			case 51: // authentication header: length in 4-byte units
				if len(b) < transAt+8 {
					return ErrTruncated
				}
				n := (int(b[transAt+1]) + 2) * 4
				next = b[transAt]
				transAt += n
			default:
				break ext
			}
			if transAt > len(b) {
				return ErrTruncated
			}
		}
	default:
		return ErrNotIP
	}
	p.Proto = next
	p.TransOff = transAt
	if p.FragOff != 0 {
		return ErrFragment
	}
	if next == ProtoTCP {
		return p.tcp(transAt, end)
	}
	if depth >= maxNest {
		return ErrNotTCP
	}
	switch next {
	case ProtoUDP:
		return p.udpTunnel(transAt, depth)
	case protoGRE:
		return p.gre(transAt, depth)
	case protoIPIP, protoIPv6:
		et := uint16(EtherTypeIPv4)
		if next == protoIPv6 {
			et = EtherTypeIPv6
		}
		return p.enter(TunnelIP, transAt, et, nil, depth)
	}
	return ErrNotTCP
}

// jumbo finds the jumbo payload option (RFC 2675) in a hop-by-hop header.
func jumbo(h []byte) (uint32, bool) {
	n := int(h[1])*8 + 8
	if n > len(h) {
		n = len(h)
	}
	for i := 2; i+1 < n; {
		t := h[i]
		if t == 0 { // Pad1
			i++
			continue
		}
		l := int(h[i+1])
		if t == 0xc2 && l == 4 && i+6 <= n {
			return binary.BigEndian.Uint32(h[i+2:]), true
		}
		i += 2 + l
	}
	return 0, false
}

// Well-known tunnel ports.
const (
	PortVXLAN  = 4789
	PortGeneve = 6081
)

// udpTunnel follows VXLAN and Geneve to the inner frame.
func (p *Packet) udpTunnel(off, depth int) error {
	b := p.Data
	if len(b) < off+8 {
		return ErrNotTCP
	}
	// Either port names the tunnel, VXLAN's first, as in tcpdump (Zeek
	// goes by the responder's port: both directions too).
	sport, dport := binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])
	port := dport
	switch {
	case sport == PortVXLAN || dport == PortVXLAN:
		port = PortVXLAN
	case sport == PortGeneve || dport == PortGeneve:
		port = PortGeneve
	}
	u := off + 8
	switch port {
	case PortVXLAN:
		if len(b) < u+8 || b[u]&0x08 == 0 {
			return ErrNotTCP
		}
		in, et, err := p.ethernet(b, u+8)
		return p.enter(TunnelVXLAN, in, et, err, depth)
	case PortGeneve:
		if len(b) < u+8 || b[u]>>6 != 0 {
			return ErrNotTCP
		}
		optLen := int(b[u]&0x3f) * 4
		proto := binary.BigEndian.Uint16(b[u+2:])
		in := u + 8 + optLen
		var (
			et  uint16
			err error
		)
		switch proto {
		case etherTypeTEB:
			in, et, err = p.ethernet(b, in)
		case EtherTypeIPv4, EtherTypeIPv6:
			et = proto
		default:
			return ErrNotTCP
		}
		return p.enter(TunnelGeneve, in, et, err, depth)
	}
	return ErrNotTCP
}

// tcp decodes the TCP header at off; end bounds the datagram.
func (p *Packet) tcp(off, end int) error {
	b := p.Data
	if len(b) < off+20 {
		return ErrTruncated
	}
	h := b[off:]
	p.SrcPort = binary.BigEndian.Uint16(h[0:])
	p.DstPort = binary.BigEndian.Uint16(h[2:])
	p.Seq = binary.BigEndian.Uint32(h[4:])
	p.Ack = binary.BigEndian.Uint32(h[8:])
	p.HeaderLen = int(h[12]>>4) * 4
	p.Flags = Flags(h[13]) | Flags(h[12]&1)<<8
	p.Window = binary.BigEndian.Uint16(h[14:])
	p.Checksum = binary.BigEndian.Uint16(h[16:])
	p.Urgent = binary.BigEndian.Uint16(h[18:])
	if p.HeaderLen < 20 {
		return ErrBadHeader
	}
	p.HasTCP = true
	optEnd := off + p.HeaderLen
	if optEnd > len(b) {
		optEnd = len(b)
	}
	p.Options = b[off+20 : optEnd]
	p.PayloadOff = off + p.HeaderLen
	ipEnd := end
	if p.IPTotalLen != 0 {
		ipEnd = p.NetOff + p.IPTotalLen
	}
	p.PayloadLen = ipEnd - p.PayloadOff
	if p.PayloadLen < 0 {
		p.PayloadLen = 0
		return ErrBadHeader
	}
	if p.PayloadOff > len(b) {
		return ErrTruncated
	}
	return nil
}

// Payload returns the captured part of the TCP payload.
func (p *Packet) Payload() []byte {
	if !p.HasTCP || p.PayloadOff >= len(p.Data) {
		return nil
	}
	end := p.PayloadOff + p.PayloadLen
	if end > len(p.Data) {
		end = len(p.Data)
	}
	return p.Data[p.PayloadOff:end]
}
