package track

import (
	"synfin/tcpstate"
	"synfin/wire"
)

// Picker picks the frames of chosen connections, known by the IDs a
// Tracker with no bound gives them (1, 2, ... in the order they begin):
// the IDs conns prints for the same frames.
type Picker struct {
	t    *Tracker
	ids  map[uint64]bool
	last uint64 // the ID of the last frame's connection (0: not TCP)
}

// NewPicker picks the connections ids; with none, it returns nil, which
// picks nothing and is not to be used but for Missing.
func NewPicker(ids []uint64) *Picker {
	if len(ids) == 0 {
		return nil
	}
	p := &Picker{ids: map[uint64]bool{}}
	for _, id := range ids {
		p.ids[id] = true
	}
	p.t = New(Config{OnSegment: func(c *tcpstate.Conn, _ *tcpstate.Segment) { p.last = c.ID }})
	return p
}

// Pick tracks f, the next frame of the input, and reports whether it is
// a segment of a chosen connection.
func (p *Picker) Pick(f *wire.Frame) bool {
	p.last = 0
	p.t.Frame(f)
	return p.ids[p.last]
}

// Missing returns the smallest ID chosen that no connection had, or 0
// (also for a nil Picker, which chose none).
func (p *Picker) Missing() uint64 {
	var least uint64
	if p == nil {
		return 0
	}
	for id := range p.ids {
		if id > p.t.Created() && (least == 0 || id < least) {
			least = id
		}
	}
	return least
}
