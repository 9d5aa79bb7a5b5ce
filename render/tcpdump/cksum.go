package tcpdump

import "synfin/wire"

// verify returns the complement of b's ones' complement sum: zero when b,
// checksum field included, is correct.
func verify(b []byte) uint16 { return ^wire.Checksum(b, 0) }

// verifySegment is verify for a TCP or UDP segment, whose checksum also
// covers the pseudo-header.
func verifySegment(ic *ipCtx, proto uint8, seg []byte) uint16 {
	return ^wire.Checksum(seg, wire.PseudoHeaderChecksum(proto, ic.src, ic.dst, len(seg)))
}

// shouldBe is in_cksum_shouldbe: the checksum the field should hold,
// given the field and the verification sum over data including it.
func shouldBe(field, computed uint16) uint16 {
	s := uint32(field) + uint32(computed)
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return uint16(s)
}
