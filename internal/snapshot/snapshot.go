// Package snapshot writes and reads the compact state of an object as a
// sequence of varints, so that many idle objects (closed connections held
// for 2MSL) take a few hundred bytes each instead of kilobytes.
package snapshot

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// ErrShort reports a snapshot that ended before its reader did.
var ErrShort = errors.New("snapshot: cut short")

// Writer appends values to B.
type Writer struct{ B []byte }

// Uint appends v as a uvarint.
func (w *Writer) Uint(v uint64) { w.B = binary.AppendUvarint(w.B, v) }

// Int appends v as a zigzag varint.
func (w *Writer) Int(v int64) { w.B = binary.AppendVarint(w.B, v) }

// Bools appends up to 64 flags as one uvarint.
func (w *Writer) Bools(v ...bool) {
	var x uint64
	for i, b := range v {
		if b {
			x |= 1 << i
		}
	}
	w.Uint(x)
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

// Reader reads values in the order they were written. After an error
// every read returns zero and Err says what went wrong.
type Reader struct {
	B   []byte
	Err error
}

// Uint reads a uvarint.
func (r *Reader) Uint() uint64 {
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
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return v
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

func (r *Reader) fail() {
	if r.Err == nil {
		r.Err = ErrShort
	}
	r.B = nil
}

// Time appends Unix time t relative to base, in microseconds when it is
// a whole number of them (as pcap's times are). 0 (no time) stays 0.
func (w *Writer) Time(t, base int64) {
	if t == 0 {
		w.Uint(0)
		return
	}
	d, us := t-base, uint64(0)
	if d%1000 == 0 {
		d, us = d/1000, 1
	}
	w.Uint((uint64(d<<1^d>>63)<<1 | us) + 1)
}

// Time reads a time written by Writer.Time with the same base.
func (r *Reader) Time(base int64) int64 {
	u := r.Uint()
	if u == 0 {
		return 0
	}
	u--
	us := u & 1
	u >>= 1
	d := int64(u>>1) ^ -int64(u&1)
	if us == 1 {
		d *= 1000
	}
	return d + base
}

// Seq appends sequence number v relative to a nearby one, ref.
func (w *Writer) Seq(v, ref uint32) { w.Int(int64(int32(v - ref))) }

// Seq reads a sequence number written by Writer.Seq with the same ref.
func (r *Reader) Seq(ref uint32) uint32 { return ref + uint32(int32(r.Int())) }
