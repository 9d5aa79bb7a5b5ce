package zeekconn

import "synfin/wire"

// ipv4HeaderOK reports whether p's IPv4 header checksum is valid (always
// true for IPv6, which has none). Zeek drops a packet with a bad IPv4
// header checksum before it reaches any connection.
func ipv4HeaderOK(p *wire.Packet) bool {
	if p.IPVersion != 4 {
		return true
	}
	b := p.Data[p.NetOff:]
	ihl := int(b[0]&0x0f) * 4
	if len(b) < ihl {
		return true // cannot tell; Zeek would not have decoded it either
	}
	return wire.Checksum(b[:ihl], 0) == 0xffff
}

// tcpChecksumOK reports whether p's TCP checksum is valid. The caller
// makes sure the whole segment was captured, as Zeek checks only then.
func tcpChecksumOK(p *wire.Packet) bool {
	seg := p.Data[p.TransOff : p.PayloadOff+p.PayloadLen]
	var pseudo uint16
	if p.IPVersion == 4 {
		a, d := p.Src.As4(), p.Dst.As4()
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoTCP, a[:], d[:], len(seg))
	} else {
		a, d := p.Src.As16(), p.Dst.As16()
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoTCP, a[:], d[:], len(seg))
	}
	return wire.Checksum(seg, pseudo) == 0xffff
}
