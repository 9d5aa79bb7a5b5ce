package zeekconn

import (
	"synfin/internal/snapshot"
	"synfin/tcpstate"
	"synfin/wire"
)

// Observer returns a track.Config.Observer: each connection of the
// tracker gets a Conn set up with cfg, whose conn.log fields Fields reads
// when the tracker hands the connection out. The observers of one tracker
// share a cache of history strings, so they must stay on its goroutine.
func Observer(cfg *Config) func() tcpstate.Observer {
	hc := new(historyCache)
	return func() tcpstate.Observer { return &observer{cfg: cfg, hc: hc} }
}

// observer feeds a tracker's segments to a Conn.
type observer struct {
	cfg *Config
	hc  *historyCache // the tracker's; nil in a clone, which may move
	c   Conn
}

func (o *observer) Segment(ts int64, first, fromFirst bool, p *wire.Packet) {
	if first {
		o.c.Reset(o.cfg, ts, p)
	}
	o.c.Packet(ts, fromFirst, p)
}

// Record returns the connection's conn.log fields.
func (o *observer) Record() Record {
	if o.hc != nil {
		return o.c.recordCached(o.hc)
	}
	return o.c.Record()
}

func (o *observer) Clone() tcpstate.Observer {
	n := &observer{cfg: o.cfg, c: o.c}
	n.c.history = append([]byte(nil), o.c.history...)
	for i := range n.c.ep {
		n.c.ep[i].pending = append([]span(nil), o.c.ep[i].pending...)
	}
	return n
}

func (o *observer) AppendState(b []byte, ctx *tcpstate.StateContext) []byte {
	w := snapshot.Writer{B: b}
	o.c.appendState(&w, ctx)
	return w.B
}

func (o *observer) LoadState(b []byte, ctx *tcpstate.StateContext) ([]byte, error) {
	r := snapshot.Reader{B: b}
	err := o.c.loadState(o.cfg, &r, ctx)
	return r.B, err
}

// Fields returns the conn.log fields of c, a connection handed out by a
// tracker, from its Observer: one made by Observer, or any with a method
// Record() Record. ok is false for a connection without one.
func Fields(c *tcpstate.Conn) (r Record, ok bool) {
	// Our own first: its type check costs a comparison, an interface's a
	// lookup.
	switch o := c.Observer.(type) {
	case *observer:
		return o.Record(), true
	case interface{ Record() Record }:
		return o.Record(), true
	}
	return Record{}, false
}
