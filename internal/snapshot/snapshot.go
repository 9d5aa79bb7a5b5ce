package snapshot

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// ErrShort reports a snapshot that ended before its reader did.
var ErrShort = errors.New("snapshot: cut short")

// Writer appends values to B. It remembers the last few times and
// sequence numbers it wrote, as a connection repeats them (a transition
// happens at a segment that is also its FIN, its ACK, its last), and
// writes a repeat as one byte.
type Writer struct {
	B     []byte
	times [4]int64
	seqs  [4]uint32
	nt    uint8
	ns    uint8
}

// Reset makes w append to b as a new Writer would.
func (w *Writer) Reset(b []byte) { *w = Writer{B: b} }

// Uint appends v as a uvarint.
func (w *Writer) Uint(v uint64) {
	if v < 0x80 {
		w.B = append(w.B, byte(v))
		return
	}
	w.B = binary.AppendUvarint(w.B, v)
}

// Int appends v as a zigzag varint.
func (w *Writer) Int(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Bools appends up to 64 flags as one uvarint.
func (w *Writer) Bools(v ...bool) {
	var x uint64
	for i, b := range v {
		// Without a branch: flags are as likely set as not, and a
		// mispredicted branch each costs more than the whole loop.
		x |= uint64(b2u(b)) << i
	}
	w.Uint(x)
}

func b2u(b bool) uint8 {
	var u uint8
	if b {
		u = 1
	}
	return u
}

// Addr appends a zoneless address: 4 or 16 bytes after a length byte.
func (w *Writer) Addr(a netip.Addr) {
	switch {
	case a.Is4():
		b := a.As4()
		w.B = append(append(w.B, 4), b[:]...)
	case a.IsValid():
		b := a.As16()
		w.B = append(append(w.B, 16), b[:]...)
	default:
		w.B = append(w.B, 0)
	}
}

// Bytes appends a length and b.
func (w *Writer) Bytes(b []byte) {
	w.Uint(uint64(len(b)))
	w.B = append(w.B, b...)
}

// String appends a length and s.
func (w *Writer) String(s string) {
	w.Uint(uint64(len(s)))
	w.B = append(w.B, s...)
}

// Reader reads values in the order they were written. After an error
// every read returns zero and Err says what went wrong.
type Reader struct {
	B     []byte
	Err   error
	times [4]int64
	seqs  [4]uint32
	nt    uint8
	ns    uint8
}

// Reset makes r read b as a new Reader would.
func (r *Reader) Reset(b []byte) { *r = Reader{B: b} }

// Uint reads a uvarint. Most are one byte: that path is small enough to
// inline at the hundreds of call sites a snapshot has.
func (r *Reader) Uint() uint64 {
	if b := r.B; len(b) > 0 && b[0] < 0x80 {
		r.B = b[1:]
		return uint64(b[0])
	}
	return r.uintLong()
}

func (r *Reader) uintLong() uint64 {
	// Times and sequence numbers relative to a base mostly take two.
	if b := r.B; len(b) >= 2 && b[1] < 0x80 {
		r.B = b[2:]
		return uint64(b[0]&0x7f) | uint64(b[1])<<7
	}
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Int reads a zigzag varint.
func (r *Reader) Int() int64 {
	u := r.Uint()
	return int64(u>>1) ^ -int64(u&1)
}

// Bools reads flags written by Writer.Bools into the given pointers.
func (r *Reader) Bools(v ...*bool) {
	x := r.Uint()
	for i, p := range v {
		*p = x&(1<<i) != 0
	}
}

// Addr reads an address written by Writer.Addr.
func (r *Reader) Addr() netip.Addr {
	if len(r.B) == 0 {
		r.fail()
		return netip.Addr{}
	}
	n := int(r.B[0])
	if len(r.B) < 1+n {
		r.fail()
		return netip.Addr{}
	}
	b := r.B[1 : 1+n]
	r.B = r.B[1+n:]
	switch n {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	case 0:
		return netip.Addr{}
	}
	r.fail()
	return netip.Addr{}
}

// Bytes reads a length and that many bytes, appended to dst.
func (r *Reader) Bytes(dst []byte) []byte {
	n := r.Uint()
	if uint64(len(r.B)) < n {
		r.fail()
		return dst
	}
	dst = append(dst, r.B[:n]...)
	r.B = r.B[n:]
	return dst
}

// String reads a string written by Writer.String.
func (r *Reader) String() string { return string(r.Bytes(nil)) }

func (r *Reader) fail() {
	if r.Err == nil {
		r.Err = ErrShort
	}
	r.B = nil
}

// Codes below these stand for a repeat of the i-th remembered value.
const (
	timeRepeats = 1 + 4 // 0 is no time
	seqRepeats  = 4
)

// Dur appends a duration in nanoseconds, in microseconds when it is a
// whole number of them.
func (w *Writer) Dur(d int64) {
	us := uint64(0)
	if d%1000 == 0 {
		d, us = d/1000, 1
	}
	w.Uint(uint64(d<<1^d>>63)<<1 | us)
}

// Dur reads a duration written by Writer.Dur.
func (r *Reader) Dur() int64 {
	u := r.Uint()
	us := u & 1
	u >>= 1
	d := int64(u>>1) ^ -int64(u&1)
	if us == 1 {
		d *= 1000
	}
	return d
}

// Time appends Unix time t relative to base, in microseconds when it is
// a whole number of them (as pcap's times are). 0 (no time) stays 0.
func (w *Writer) Time(t, base int64) {
	if t == 0 {
		w.Uint(0)
		return
	}
	// By index, not over a copy of the array: reading the copy just
	// after the last store into it stalls on store forwarding.
	for i := range len(w.times) {
		if w.times[i] == t {
			w.Uint(uint64(1 + i))
			return
		}
	}
	w.times[w.nt&3] = t
	w.nt++
	d, us := t-base, uint64(0)
	if d%1000 == 0 {
		d, us = d/1000, 1
	}
	w.Uint((uint64(d<<1^d>>63)<<1 | us) + timeRepeats)
}

// Time reads a time written by Writer.Time with the same base.
func (r *Reader) Time(base int64) int64 {
	u := r.Uint()
	if u == 0 {
		return 0
	}
	if u < timeRepeats {
		return r.times[u-1]
	}
	u -= timeRepeats
	us := u & 1
	u >>= 1
	d := int64(u>>1) ^ -int64(u&1)
	if us == 1 {
		d *= 1000
	}
	t := d + base
	r.times[r.nt&3] = t
	r.nt++
	return t
}

// Seq appends sequence number v relative to a nearby one, ref.
func (w *Writer) Seq(v, ref uint32) {
	for i := range len(w.seqs) { // by index, as in Time
		if w.seqs[i] == v && i < int(w.ns) {
			w.Uint(uint64(i))
			return
		}
	}
	w.seqs[w.ns&3] = v
	w.ns++
	d := int64(int32(v - ref))
	w.Uint(uint64(d<<1^d>>63) + seqRepeats)
}

// Seq reads a sequence number written by Writer.Seq with the same ref.
func (r *Reader) Seq(ref uint32) uint32 {
	u := r.Uint()
	if u < seqRepeats {
		if int(u) >= int(r.ns) {
			r.fail()
			return 0
		}
		return r.seqs[u]
	}
	u -= seqRepeats
	v := ref + uint32(int32(int64(u>>1)^-int64(u&1)))
	r.seqs[r.ns&3] = v
	r.ns++
	return v
}

// Ref appends a frame number relative to the first one of its object; 0
// (none) stays 0.
func (w *Writer) Ref(seg, first int) {
	if seg == 0 {
		w.Uint(0)
		return
	}
	d := int64(seg - first)
	w.Uint(uint64(d<<1^d>>63) + 1)
}

// Ref reads a frame number written by Writer.Ref with the same first.
func (r *Reader) Ref(first int) int {
	u := r.Uint()
	if u == 0 {
		return 0
	}
	u--
	return first + int(int64(u>>1)^-int64(u&1))
}
