package vantage

import (
	"context"

	"net/netip"
	"synfin/input"

	"synfin/wire"
)

// DefaultMax is the number of segments a Capture holds by default.
const DefaultMax = 1 << 18

// Segment is one TCP segment as one capture point saw it. Its addresses
// are its connection's (see Capture).
type Segment struct {
	Time     int64 // Unix ns, on the capture's clock
	Frame    int32 // frame number in the capture, from 1
	Conn     int32 // index of its connection in the capture
	Dir      uint8 // 0: from the client, 1: from the server
	TTL, TOS uint8
	WScale   int8 // -1: no window scale option
	Flags    wire.Flags
	Seq, Ack uint32
	Len      int32 // payload bytes
	MSS      uint16
	SACKOK   bool
	HasTS    bool
	TSval    uint32
}

// seqLen is the sequence space the segment takes: its payload, SYN
// and FIN.
func (s *Segment) seqLen() uint32 {
	n := uint32(s.Len)
	if s.Flags.Has(wire.SYN) {
		n++
	}
	if s.Flags.Has(wire.FIN) {
		n++
	}
	return n
}

// conn is one connection as one capture saw it.
type conn struct {
	client, server netip.AddrPort // client: the first SYN's sender, or the first segment's
	segs           []int32
	isn            [2]uint32 // from the SYNs
	hasISN         [2]bool
	first          [2]uint32 // first sequence number seen each way
	seen           [2]bool
	ts             [2]uint32 // first timestamp value each way
	hasTS          [2]bool
	start, end     int64
}

// base is the sequence number relative ones count from in direction d.
func (c *conn) base(d int) uint32 {
	if c.hasISN[d] {
		return c.isn[d]
	}
	return c.first[d]
}

type connKey struct{ a, b netip.AddrPort }

func keyOf(src, dst netip.AddrPort) connKey {
	if src.Compare(dst) < 0 {
		return connKey{src, dst}
	}
	return connKey{dst, src}
}

// Capture is what one capture point saw: its TCP segments, grouped in
// connections. Add frames in capture order.
type Capture struct {
	Name string
	// Max is the number of segments held at most; 0 means DefaultMax.
	Max int

	segs        []Segment
	conns       []*conn
	open        map[connKey]int32
	first, last int64 // time stamps of the first and last frame held
	frames      int
	left        int // TCP segments not held: past Max
	pkt         wire.Packet
}

// NewCapture returns an empty capture named name.
func NewCapture(name string, max int) *Capture {
	if max <= 0 {
		max = DefaultMax
	}
	return &Capture{Name: name, Max: max, open: map[connKey]int32{}}
}

// Add reads one frame; what is not a TCP segment is only counted.
func (c *Capture) Add(f *wire.Frame) {
	p := &c.pkt
	tcp := p.Decode(f.Link, f.Data) == nil && p.HasTCP
	switch {
	case tcp && len(c.segs) >= c.Max:
		c.left++
		return
	case c.left > 0:
		return // full: the capture's span ends at the last segment held
	case !tcp:
		if c.frames == 0 {
			c.first = f.Time
		}
		c.frames++
		c.last = f.Time
		return
	}
	if c.frames == 0 {
		c.first = f.Time
	}
	c.frames++
	c.last = f.Time
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	syn := p.Flags&(wire.SYN|wire.ACK) == wire.SYN
	k := keyOf(src, dst)
	i, ok := c.open[k]
	if ok && syn {
		// A SYN with a new ISN, or after a start mid-stream, opens a
		// new connection on the same ports.
		old := c.conns[i]
		ok = old.hasISN[0] && old.isn[0] == p.Seq && old.client == src
	}
	if !ok {
		cn := &conn{client: src, server: dst, start: f.Time}
		if p.Flags.Has(wire.SYN | wire.ACK) {
			cn.client, cn.server = dst, src
		}
		i = int32(len(c.conns))
		c.conns = append(c.conns, cn)
		c.open[k] = i
	}
	cn := c.conns[i]
	d := 0
	if src != cn.client {
		d = 1
	}
	o := wire.ParseOptions(p.Options)
	s := Segment{Time: f.Time, Frame: int32(f.Index), Conn: i, Dir: uint8(d), TTL: p.TTL, TOS: p.TOS, WScale: -1,
		Flags: p.Flags, Seq: p.Seq, Ack: p.Ack, Len: int32(p.PayloadLen), SACKOK: o.SACKPerm, HasTS: o.HasTS, TSval: o.TSVal}
	if o.HasMSS {
		s.MSS = o.MSS
	}
	if o.HasWScale {
		s.WScale = int8(o.WScale)
	}
	if p.Flags.Has(wire.SYN) && !cn.hasISN[d] {
		cn.isn[d], cn.hasISN[d] = p.Seq, true
	}
	if !cn.seen[d] {
		cn.first[d], cn.seen[d] = p.Seq, true
	}
	if o.HasTS && !cn.hasTS[d] {
		cn.ts[d], cn.hasTS[d] = o.TSVal, true
	}
	cn.end = f.Time
	cn.segs = append(cn.segs, int32(len(c.segs)))
	c.segs = append(c.segs, s)
}

// FromFrames returns the capture of frames held in memory.
func FromFrames(name string, frames []wire.Frame) *Capture {
	c := NewCapture(name, 0)
	for i := range frames {
		c.Add(&frames[i])
	}
	return c
}

// Read reads the frames of src that flt passes (nil: all) until the
// input ends. A damaged input gives the capture as far as it was read,
// with the damage as the error.
func Read(ctx context.Context, name string, src input.Frames, flt *input.Filter) (*Capture, error) {
	c := NewCapture(name, 0)
	err := input.Each(ctx, src, flt, func(f *wire.Frame) error { c.Add(f); return nil }, nil)
	return c, err
}
