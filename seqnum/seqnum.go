package seqnum

// Value is a TCP sequence (or acknowledgment) number.
type Value uint32

// LessThan reports whether v is before w.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v is before w or equal to it.
func (v Value) LessThanEq(w Value) bool { return v == w || v.LessThan(w) }

// GreaterThan reports whether v is after w.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports whether v is after w or equal to it.
func (v Value) GreaterThanEq(w Value) bool { return !v.LessThan(w) }

// Sub returns the signed distance from w to v: negative when v is before w.
func (v Value) Sub(w Value) int32 { return int32(v - w) }

// Distance returns how far apart v and w are, whichever comes first.
func (v Value) Distance(w Value) uint32 {
	d := int64(int32(v - w))
	if d < 0 {
		d = -d
	}
	return uint32(d)
}

// Size returns the number of sequence numbers in [v, w): w - v modulo 2^32.
func (v Value) Size(w Value) uint32 { return uint32(w - v) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.GreaterThan(w) {
		return v
	}
	return w
}
