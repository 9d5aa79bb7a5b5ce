package tcpdumptext

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"synfin/wire"
)

// Tunnel kinds a printed TCP segment may be carried in.
const (
	tunNone uint8 = iota
	tunVXLAN
	tunGeneve
)

// tunnel is what a VXLAN or Geneve line says of the outer packet: the
// outer IP and UDP headers and the tunnel header (print-vxlan.c,
// print-geneve.c).
type tunnel struct {
	kind       uint8
	v6         bool
	src, dst   netip.Addr
	sport      uint16
	dport      uint16
	hasIP      bool // -v printed the outer IP header fields below
	tos, ttl   uint8
	id         uint16
	df         bool
	flowLabel  uint32
	flags      byte   // VXLAN flags; Geneve's second byte (O and C bits)
	vni        uint32 // VNI
	rsvd       byte   // Geneve's reserved last byte
	proto      uint16 // Geneve protocol type
	opts       []byte // Geneve options (only lengths, classes and types when printed so)
	innerEther bool   // an Ethernet header comes before the inner IP header
	innerSrc   [6]byte
	innerDst   [6]byte
}

// tunnelAt finds the VXLAN or Geneve header in head, the text before the
// inner packet's addresses: where it starts, and its kind.
func tunnelAt(head string) (int, uint8) {
	v := strings.LastIndex(head, "VXLAN, flags [")
	g := strings.LastIndex(head, "Geneve, Flags [")
	switch {
	case v < 0 && g < 0:
		return -1, tunNone
	case v > g:
		return v, tunVXLAN
	}
	return g, tunGeneve
}

// parseTunnel reads the outer packet of a tunnelled record from head,
// the text before the inner packet's addresses, whose tunnel header
// starts at m. It sets s.tun and moves an outer Ethernet header (-e) to
// s, keeping the inner one in s.tun. It reports false when the text
// does not read as a tunnel synfin can rebuild; s is then left as it
// was, with the inner packet alone.
func (r *Reader) parseTunnel(head string, m int, kind uint8, s *segment) bool {
	t := &s.tun
	*t = tunnel{kind: kind, opts: t.opts[:0]}
	// "src.port > dst.port: " before the tunnel header, perhaps with
	// -v's UDP checksum verdict "[udp sum ok] " between.
	pre := strings.TrimRight(head[:m], " ")
	for strings.HasSuffix(pre, "]") {
		i := strings.LastIndex(pre, " [")
		if i < 0 {
			return false
		}
		pre = strings.TrimRight(pre[:i], " ")
	}
	if !strings.HasSuffix(pre, ":") {
		return false
	}
	pre = pre[:len(pre)-1]
	gt := strings.LastIndex(pre, " > ")
	if gt < 0 {
		return false
	}
	dstTok := pre[gt+3:]
	srcStart := strings.LastIndexAny(pre[:gt], " \t\n") + 1
	srcHost, sp, ok1 := cutLast(pre[srcStart:gt], '.')
	dstHost, dp, ok2 := cutLast(dstTok, '.')
	if !ok1 || !ok2 {
		return false
	}
	var ok bool
	if t.sport, t.dport, ok = ports(sp, dp); !ok {
		return false
	}
	// wire reads a tunnel by its destination port; so must the frame.
	if kind == tunVXLAN && t.dport != wire.PortVXLAN || kind == tunGeneve && t.dport != wire.PortGeneve {
		return false
	}
	if !t.header(head[m:]) {
		return false
	}
	var o segment
	r.netHeader(head[:srcStart], &o, srcHost)
	if t.src, ok = r.hosts.addr(srcHost, o.v6); !ok {
		return false
	}
	if t.dst, ok = r.hosts.addr(dstHost, o.v6); !ok {
		return false
	}
	t.v6, t.hasIP, t.tos, t.ttl, t.id, t.df, t.flowLabel = o.v6, o.hasIP, o.tos, o.ttl, o.id, o.df, o.flowLabel
	// The Ethernet header netHeader found in the inner text (-e) is the
	// inner one; the outer one is the frame's.
	t.innerEther = kind == tunVXLAN || t.proto == etherTypeTEB
	if s.ether {
		t.innerSrc, t.innerDst = s.srcMAC, s.dstMAC
	}
	s.ether, s.srcMAC, s.dstMAC, s.vlans = o.ether, o.srcMAC, o.dstMAC, append(s.vlans[:0], o.vlans...)
	s.etherProto = wire.EtherTypeIPv4
	if t.v6 {
		s.etherProto = wire.EtherTypeIPv6
	}
	return true
}

const etherTypeTEB = 0x6558

// header reads "VXLAN, flags [I] (0x08), vni 5001" or "Geneve, Flags
// [C], vni 0xa[, rsvd 0x1][, proto TEB (0x6558)][, options [8 bytes]]".
func (t *tunnel) header(h string) bool {
	if t.kind == tunVXLAN {
		h = strings.TrimPrefix(h, "VXLAN, flags [")
		i := strings.Index(h, "] (0x")
		if i < 0 {
			return false
		}
		f, rest, ok := hexPrefix(h[i+3:])
		if !ok || f > 0xff || !strings.HasPrefix(rest, "), vni ") {
			return false
		}
		n, _ := leadNum(rest[len("), vni "):])
		if n < 0 || n > 0xffffff || f&0x08 == 0 {
			return false
		}
		t.flags, t.vni = byte(f), uint32(n)
		return true
	}
	h = strings.TrimPrefix(h, "Geneve, Flags [")
	fl, h, ok := strings.Cut(h, "], vni ")
	if !ok {
		return false
	}
	switch fl {
	case "none":
	case "O", "C", "OC":
		if strings.Contains(fl, "O") {
			t.flags |= 0x80
		}
		if strings.Contains(fl, "C") {
			t.flags |= 0x40
		}
	default:
		return false
	}
	v, h, ok := hexPrefix(h)
	if !ok || v > 0xffffff {
		return false
	}
	t.vni = uint32(v)
	if strings.HasPrefix(h, ", rsvd ") {
		x, r2, ok := hexPrefix(h[len(", rsvd "):])
		if !ok || x > 0xff {
			return false
		}
		t.rsvd, h = byte(x), r2
	}
	t.proto = 0 // from the inner header's family unless printed (-e)
	if strings.HasPrefix(h, ", proto ") {
		i := strings.Index(h, " (0x")
		if i < 0 {
			return false
		}
		x, r2, ok := hexPrefix(h[i+2:])
		if !ok || x > 0xffff || !strings.HasPrefix(r2, ")") {
			return false
		}
		t.proto, h = uint16(x), r2[1:]
	}
	if strings.HasPrefix(h, ", options [") {
		h = h[len(", options ["):]
		end := strings.Index(h, "]:")
		if e2 := strings.Index(h, "]\n"); end < 0 || (e2 >= 0 && e2 < end) {
			end = e2
		}
		if end < 0 {
			return false
		}
		if !t.geneveOpts(h[:end]) {
			return false
		}
	}
	return true
}

// geneveOpts reads "8 bytes" or -v's "class Standard (0x0) type 0x80(C)
// len 8[ data 00000000], ..." into option bytes.
func (t *tunnel) geneveOpts(s string) bool {
	if n, rest := leadNum(s); n >= 0 && rest == " bytes" {
		if n%4 != 0 || n > 0x3f*4 {
			return false
		}
		t.opts = appendZeros(t.opts[:0], int(n))
		return true
	}
	for _, o := range strings.Split(s, ", ") {
		f := strings.Fields(o)
		if len(f) < 7 || f[0] != "class" || f[3] != "type" || f[5] != "len" {
			return false
		}
		c, _, ok1 := hexPrefix(strings.Trim(f[2], "()"))
		ty, _, ok2 := hexPrefix(strings.TrimSuffix(f[4], "(C)"))
		l, ok3 := num(f, 6, 0x1f*4+4)
		if !ok1 || !ok2 || !ok3 || c > 0xffff || ty > 0xff || l < 4 || l%4 != 0 {
			return false
		}
		at := len(t.opts)
		t.opts = append(t.opts, byte(c>>8), byte(c), byte(ty), byte((l-4)/4))
		t.opts = appendZeros(t.opts, int(l-4))
		if len(f) > 7 && f[7] == "data" {
			for i, w := range f[8:] {
				x, ok := hexu(w)
				if !ok || len(w) != 8 || 4+4*i+4 > int(l) {
					return false
				}
				binary.BigEndian.PutUint32(t.opts[at+4+4*i:], uint32(x))
			}
		}
	}
	return len(t.opts) <= 0x3f*4
}

// appendOuter appends the outer IP and UDP headers, the tunnel header
// and the inner Ethernet header; finishOuter fills in their lengths and
// checksums once the inner packet follows. ipOff is the outer IP
// header's offset.
func appendOuter(b []byte, t *tunnel, inner6 bool) []byte {
	ttl, df := uint8(64), true
	if t.hasIP {
		ttl, df = t.ttl, t.df
	}
	if !t.v6 {
		var frag uint16
		if df {
			frag = 0x4000
		}
		b = append(b, 0x45, t.tos, 0, 0, byte(t.id>>8), byte(t.id), byte(frag>>8), byte(frag), ttl, wire.ProtoUDP, 0, 0)
		a, d := t.src.As4(), t.dst.As4()
		b = append(b, a[:]...)
		b = append(b, d[:]...)
	} else {
		b = binary.BigEndian.AppendUint32(b, 6<<28|uint32(t.tos)<<20|t.flowLabel&0xfffff)
		b = append(b, 0, 0, wire.ProtoUDP, ttl)
		a, d := t.src.As16(), t.dst.As16()
		b = append(b, a[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, t.sport)
	b = binary.BigEndian.AppendUint16(b, t.dport)
	b = append(b, 0, 0, 0, 0)
	innerType := uint16(wire.EtherTypeIPv4)
	if inner6 {
		innerType = wire.EtherTypeIPv6
	}
	if t.kind == tunVXLAN {
		b = append(b, t.flags, 0, 0, 0)
		b = binary.BigEndian.AppendUint32(b, t.vni<<8)
	} else {
		proto := t.proto
		if proto == 0 {
			proto = innerType
		}
		b = append(b, byte(len(t.opts)/4), t.flags)
		b = binary.BigEndian.AppendUint16(b, proto)
		b = binary.BigEndian.AppendUint32(b, t.vni<<8|uint32(t.rsvd))
		b = append(b, t.opts...)
	}
	if t.innerEther {
		b = append(b, t.innerDst[:]...)
		b = append(b, t.innerSrc[:]...)
		b = binary.BigEndian.AppendUint16(b, innerType)
	}
	return b
}

// finishOuter sets the outer lengths and checksums of the frame b whose
// outer IP header is at ipOff.
func finishOuter(b []byte, t *tunnel, ipOff int) {
	h := 20
	if t.v6 {
		h = 40
	}
	u := ipOff + h
	ulen := len(b) - u
	if ulen <= 0xffff {
		binary.BigEndian.PutUint16(b[u+4:], uint16(ulen))
	}
	var pseudo uint16
	if !t.v6 {
		if total := len(b) - ipOff; total <= 0xffff {
			binary.BigEndian.PutUint16(b[ipOff+2:], uint16(total))
		}
		binary.BigEndian.PutUint16(b[ipOff+10:], ^wire.Checksum(b[ipOff:ipOff+20], 0))
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoUDP, b[ipOff+12:ipOff+16], b[ipOff+16:ipOff+20], ulen)
	} else {
		if ulen <= 0xffff {
			binary.BigEndian.PutUint16(b[ipOff+4:], uint16(ulen))
		}
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoUDP, b[ipOff+8:ipOff+24], b[ipOff+24:ipOff+40], ulen)
	}
	ck := ^wire.Checksum(b[u:], pseudo)
	if ck == 0 {
		ck = 0xffff
	}
	binary.BigEndian.PutUint16(b[u+6:], ck)
}
