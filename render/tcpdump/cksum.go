package tcpdump

import "encoding/binary"

// sum16 adds b as big-endian 16-bit words (odd byte padded) to s.
func sum16(s uint32, b []byte) uint32 {
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)&1 != 0 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

// fold returns the one's complement of the folded sum: zero when the data
// including its checksum field is correct.
func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// shouldBe is in_cksum_shouldbe: the checksum the field should hold,
// given the field and the verification sum over data including it.
func shouldBe(field, computed uint16) uint16 {
	s := uint32(field) + uint32(computed)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}

// tcpSum4 verifies a TCP segment over IPv4 (pseudo-header of src, dst).
func tcpSum4(src, dst []byte, proto uint8, seg []byte) uint16 {
	s := sum16(0, src)
	s = sum16(s, dst)
	s += uint32(proto) + uint32(len(seg))
	return fold(sum16(s, seg))
}

// tcpSum6 verifies a segment over IPv6.
func tcpSum6(src, dst []byte, proto uint8, seg []byte) uint16 {
	s := sum16(0, src)
	s = sum16(s, dst)
	n := uint32(len(seg))
	s += n>>16 + n&0xffff + uint32(proto)
	return fold(sum16(s, seg))
}
