package wire

import "encoding/binary"

// TCP option kinds.
const (
	OptEOL       = 0
	OptNOP       = 1
	OptMSS       = 2
	OptWScale    = 3
	OptSACKPerm  = 4
	OptSACK      = 5
	OptTimestamp = 8
	OptMD5       = 19
	OptUserTO    = 28
	OptAuth      = 29
	OptMPTCP     = 30
	OptTFO       = 34
	OptExp1      = 253
	OptExp2      = 254
)

// Option is one TCP option as captured. Data excludes kind and length.
type Option struct {
	Kind uint8
	Len  int    // the length byte (1 for EOL and NOP)
	Data []byte // the option's value bytes, as far as captured
}

// OptionIter walks TCP options without allocating.
type OptionIter struct {
	b   []byte
	err bool
}

// IterOptions returns an iterator over option bytes b.
func IterOptions(b []byte) OptionIter { return OptionIter{b: b} }

// Next returns the next option. ok is false at the end or when the rest is
// malformed (see Bad).
func (it *OptionIter) Next() (o Option, ok bool) {
	if len(it.b) == 0 {
		return o, false
	}
	o.Kind = it.b[0]
	if o.Kind == OptEOL || o.Kind == OptNOP {
		o.Len = 1
		it.b = it.b[1:]
		return o, true
	}
	if len(it.b) < 2 {
		it.err = true
		it.b = nil
		return o, false
	}
	o.Len = int(it.b[1])
	if o.Len < 2 || o.Len > len(it.b) {
		it.err = true
		it.b = nil
		return o, false
	}
	o.Data = it.b[2:o.Len]
	it.b = it.b[o.Len:]
	return o, true
}

// Bad reports whether iteration stopped on a malformed option.
func (it *OptionIter) Bad() bool { return it.err }

// Negotiated holds the options that matter to connection tracking.
type Negotiated struct {
	MSS          uint16
	HasMSS       bool
	WScale       uint8
	HasWScale    bool
	SACKPerm     bool
	HasTS        bool
	TSVal, TSEcr uint32
	SACKBlocks   int  // number of SACK blocks
	TFO          bool // fast open option (kind 34, or experimental 254 with magic 0xF989)
	TFOCookieLen int
	MD5          bool
	MPTCP        bool
}

// ParseOptions summarises option bytes b.
func ParseOptions(b []byte) (n Negotiated) {
	it := IterOptions(b)
	for {
		o, ok := it.Next()
		if !ok {
			return n
		}
		switch o.Kind {
		case OptMSS:
			if len(o.Data) == 2 {
				n.MSS, n.HasMSS = binary.BigEndian.Uint16(o.Data), true
			}
		case OptWScale:
			if len(o.Data) == 1 {
				n.WScale, n.HasWScale = o.Data[0], true
			}
		case OptSACKPerm:
			n.SACKPerm = true
		case OptSACK:
			n.SACKBlocks = len(o.Data) / 8
		case OptTimestamp:
			if len(o.Data) == 8 {
				n.HasTS = true
				n.TSVal = binary.BigEndian.Uint32(o.Data)
				n.TSEcr = binary.BigEndian.Uint32(o.Data[4:])
			}
		case OptTFO:
			n.TFO, n.TFOCookieLen = true, len(o.Data)
		case OptExp2, OptExp1:
			if len(o.Data) >= 2 && binary.BigEndian.Uint16(o.Data) == 0xf989 {
				n.TFO, n.TFOCookieLen = true, len(o.Data)-2
			}
		case OptMD5:
			n.MD5 = true
		case OptMPTCP:
			n.MPTCP = true
		}
	}
}

// SACKBlock is one block of a SACK option (RFC 2018): the receiver holds
// the bytes from Left up to, not including, Right.
type SACKBlock struct{ Left, Right uint32 }

// AppendSACK appends the blocks of the SACK option in option bytes b to
// dst, as far as they were captured.
func AppendSACK(dst []SACKBlock, b []byte) []SACKBlock {
	it := IterOptions(b)
	for {
		o, ok := it.Next()
		if !ok {
			return dst
		}
		for d := o.Data; o.Kind == OptSACK && len(d) >= 8; d = d[8:] {
			dst = append(dst, SACKBlock{binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])})
		}
	}
}
