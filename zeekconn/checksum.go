package zeekconn

import (
	"encoding/binary"
	"math/bits"

	"synfin/wire"
)

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
	return fold(sum(0, b[:ihl])) == 0xffff
}

// tcpChecksumOK reports whether p's TCP checksum is valid. The caller
// makes sure the whole segment was captured, as Zeek checks only then.
func tcpChecksumOK(p *wire.Packet) bool {
	seg := p.Data[p.TransOff : p.PayloadOff+p.PayloadLen]
	var s uint32
	if p.IPVersion == 4 {
		a, d := p.Src.As4(), p.Dst.As4()
		s = sum(s, a[:])
		s = sum(s, d[:])
	} else {
		a, d := p.Src.As16(), p.Dst.As16()
		s = sum(s, a[:])
		s = sum(s, d[:])
	}
	s += uint32(wire.ProtoTCP) + uint32(len(seg))&0xffff + uint32(len(seg))>>16
	s = sum(s, seg)
	return fold(s) == 0xffff
}

// sum adds b as big-endian 16-bit words to the one's complement sum s.
// It adds eight bytes at a time with end-around carry, which folds to the
// same 16-bit sum.
func sum(s uint32, b []byte) uint32 {
	acc, carry := uint64(s), uint64(0)
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	acc += carry // cannot overflow: acc < 2^64-1 after a carry
	if len(b) >= 4 {
		var c uint64
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), 0)
		acc += c
		b = b[4:]
	}
	if len(b) >= 2 {
		var c uint64
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += c
		b = b[2:]
	}
	if len(b) == 1 {
		var c uint64
		acc, c = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += c
	}
	// Fold 64 bits to 32; callers fold further.
	acc = acc&0xffffffff + acc>>32
	acc = acc&0xffffffff + acc>>32
	return uint32(acc&0xffff + acc>>16)
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
