package wire

import (
	"encoding/binary"
	"math/bits"
)

// Checksum adds b, as big-endian 16-bit words (an odd last byte padded
// with zero), to the ones' complement sum initial and returns the folded
// sum (RFC 1071). A header or segment whose checksum field is right sums
// to 0xffff; the field to write is the complement, ^Checksum(...).
// Sums of parts combine by passing one as the next one's initial, as long
// as every part but the last has even length.
func Checksum(b []byte, initial uint16) uint16 {
	// Eight bytes at a time with end-around carry: 2^16 ≡ 1 modulo
	// 2^16-1, so the word size does not change the folded sum.
	acc, carry := uint64(initial), uint64(0)
	for len(b) >= 8 {
		acc, carry = bits.Add64(acc, binary.BigEndian.Uint64(b), carry)
		b = b[8:]
	}
	// Add the last carry; should that carry again, acc is 0, so adding
	// the second one cannot.
	acc, carry = bits.Add64(acc, carry, 0)
	acc += carry
	// The last bytes, at most 7, at the offsets they would have in a word.
	var tail uint64
	if len(b) >= 4 {
		tail = uint64(binary.BigEndian.Uint32(b)) << 32
		b = b[4:]
	}
	if len(b) >= 2 {
		tail += uint64(binary.BigEndian.Uint16(b)) << 16
		b = b[2:]
	}
	if len(b) == 1 {
		tail += uint64(b[0]) << 8
	}
	acc, carry = bits.Add64(acc, tail, 0)
	acc += carry
	acc = acc&0xffffffff + acc>>32
	acc = acc&0xffffffff + acc>>32
	for acc > 0xffff {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

// PseudoHeaderChecksum is the sum of the pseudo-header that TCP and UDP
// checksums cover (RFC 9293 section 3.1, RFC 8200 section 8.1): source
// and destination addresses (4 or 16 bytes each), protocol, and the
// segment's length. Pass it as Checksum's initial sum over the segment.
func PseudoHeaderChecksum(proto uint8, src, dst []byte, length int) uint16 {
	s := Checksum(dst, Checksum(src, 0))
	n := uint64(s) + uint64(proto) + uint64(uint32(length)>>16) + uint64(length&0xffff)
	for n > 0xffff {
		n = n&0xffff + n>>16
	}
	return uint16(n)
}
