package tcpdumptext

import (
	"encoding/binary"

	"synfin/wire"
)

// build appends the synthesised frame for s to b and returns it with the
// wire length and link type. The payload is zero bytes.
func build(b []byte, s *segment) ([]byte, wire.LinkType) {
	lt := wire.LinkRaw
	if s.ether {
		lt = wire.LinkEthernet
		b = append(b, s.dstMAC[:]...)
		b = append(b, s.srcMAC[:]...)
		for _, v := range s.vlans {
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, v)
		}
		b = binary.BigEndian.AppendUint16(b, s.etherProto)
	}
	outerOff := len(b)
	if s.tun.kind != tunNone {
		b = appendOuter(b, &s.tun, s.v6)
	}
	optLen := (len(s.opts) + 3) &^ 3
	tcpLen := 20 + optLen + s.length
	ttl, df := uint8(64), true
	if s.hasIP {
		ttl, df = s.ttl, s.df
	}
	ipOff := len(b)
	var pseudo uint16
	if !s.v6 {
		total := 20 + tcpLen
		if total > 0xffff {
			total = 0 // as GSO/BIG TCP captures carry it
		}
		var frag uint16
		if df {
			frag = 0x4000
		}
		b = append(b, 0x45, s.tos, byte(total>>8), byte(total), byte(s.id>>8), byte(s.id),
			byte(frag>>8), byte(frag), ttl, wire.ProtoTCP, 0, 0)
		a, d := s.src.As4(), s.dst.As4()
		b = append(b, a[:]...)
		b = append(b, d[:]...)
		binary.BigEndian.PutUint16(b[ipOff+10:], ^wire.Checksum(b[ipOff:ipOff+20], 0))
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoTCP, a[:], d[:], tcpLen)
	} else {
		vtf := 6<<28 | uint32(s.tos)<<20 | s.flowLabel&0xfffff
		b = binary.BigEndian.AppendUint32(b, vtf)
		if tcpLen <= 0xffff {
			b = binary.BigEndian.AppendUint16(b, uint16(tcpLen))
			b = append(b, wire.ProtoTCP, ttl)
		} else { // jumbogram: hop-by-hop jumbo payload option (RFC 2675)
			b = append(b, 0, 0, 0, ttl)
		}
		a, d := s.src.As16(), s.dst.As16()
		b = append(b, a[:]...)
		b = append(b, d[:]...)
		if tcpLen > 0xffff {
			b = append(b, wire.ProtoTCP, 0, 0xc2, 4)
			b = binary.BigEndian.AppendUint32(b, uint32(8+tcpLen))
		}
		pseudo = wire.PseudoHeaderChecksum(wire.ProtoTCP, a[:], d[:], tcpLen)
	}
	t := len(b)
	b = binary.BigEndian.AppendUint16(b, s.sport)
	b = binary.BigEndian.AppendUint16(b, s.dport)
	b = binary.BigEndian.AppendUint32(b, s.seq)
	b = binary.BigEndian.AppendUint32(b, s.ack)
	off := byte((20+optLen)/4) << 4
	if s.flags&wire.AE != 0 {
		off |= 1
	}
	b = append(b, off, byte(s.flags), byte(s.win>>8), byte(s.win), 0, 0, byte(s.urg>>8), byte(s.urg))
	b = append(b, s.opts...)
	for i := len(s.opts); i < optLen; i++ {
		b = append(b, wire.OptEOL)
	}
	// Zero payload adds nothing to the checksum, only its length.
	ck := ^wire.Checksum(b[t:], pseudo)
	if s.cksumBad {
		ck = s.cksum
	}
	binary.BigEndian.PutUint16(b[t+16:], ck)
	b = appendZeros(b, s.length)
	if s.tun.kind != tunNone {
		finishOuter(b, &s.tun, outerOff)
	}
	return b, lt
}

func appendZeros(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		b = b[:len(b)+n]
		clear(b[len(b)-n:])
		return b
	}
	return append(b, make([]byte, n)...)
}
