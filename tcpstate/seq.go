package tcpstate

// Seq is a TCP sequence number with wraparound comparison (RFC 9293
// section 3.4): a is before b when the signed distance from b is negative.
type Seq uint32

// LessThan reports whether s is before o.
func (s Seq) LessThan(o Seq) bool { return int32(s-o) < 0 }

// LessThanEq reports whether s is before or equal to o.
func (s Seq) LessThanEq(o Seq) bool { return s == o || s.LessThan(o) }

// GreaterThan reports whether s is after o.
func (s Seq) GreaterThan(o Seq) bool { return int32(s-o) > 0 }

// Add returns s advanced by n.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Size returns the distance from o to s (s - o), modulo 2^32.
func (s Seq) Size(o Seq) uint32 { return uint32(s - o) }

// GreaterThanEq reports whether s is o or after it.
func (s Seq) GreaterThanEq(o Seq) bool { return !s.LessThan(o) }
