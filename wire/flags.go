package wire

// Flags is the TCP flag byte plus the AE (formerly NS) bit, as one bitmask.
type Flags uint16

// TCP flag bits, in header order.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	AE
)

// Has reports whether all bits of m are set.
func (f Flags) Has(m Flags) bool { return f&m == m }

// Any reports whether any bit of m is set.
func (f Flags) Any(m Flags) bool { return f&m != 0 }

// AppendTcpdump appends the flags the way tcpdump prints them inside
// "Flags [...]": one letter per flag in bit order (F S R P . U E W, with '.'
// for ACK), or "none" when no flag is set. tcpdump 4.99.3 ignores AE.
func (f Flags) AppendTcpdump(b []byte) []byte {
	n := len(b)
	for _, fl := range tcpdumpOrder {
		if f&fl.bit != 0 {
			b = append(b, fl.c)
		}
	}
	if len(b) == n {
		b = append(b, "none"...)
	}
	return b
}

// ParseTcpdumpFlags reads what AppendTcpdump writes, and 'e', tcpdump
// 4.99.4's letter for AE; false for other letters or an empty s.
func ParseTcpdumpFlags(s string) (Flags, bool) {
	if s == "none" {
		return 0, true
	}
	var f Flags
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'F':
			f |= FIN
		case 'S':
			f |= SYN
		case 'R':
			f |= RST
		case 'P':
			f |= PSH
		case '.':
			f |= ACK
		case 'U':
			f |= URG
		case 'E':
			f |= ECE
		case 'W':
			f |= CWR
		case 'e': // tcpdump >= 4.99.4 prints AE as 'e'
			f |= AE
		default:
			return 0, false
		}
	}
	return f, s != ""
}

var tcpdumpOrder = [...]struct {
	bit Flags
	c   byte
}{{FIN, 'F'}, {SYN, 'S'}, {RST, 'R'}, {PSH, 'P'}, {ACK, '.'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'W'}}

// String returns the compact form used in JSON and explanations, e.g. "SA"
// for SYN+ACK, in Zeek-like order: S F R P A U E C.
func (f Flags) String() string {
	var buf [9]byte
	b := buf[:0]
	for _, fl := range [...]struct {
		bit Flags
		c   byte
	}{{SYN, 'S'}, {FIN, 'F'}, {RST, 'R'}, {PSH, 'P'}, {ACK, 'A'}, {URG, 'U'}, {ECE, 'E'}, {CWR, 'C'}, {AE, 'N'}} {
		if f&fl.bit != 0 {
			b = append(b, fl.c)
		}
	}
	return string(b)
}
