package zeekconn

import (
	"slices"

	"synfin/internal/snapshot"
	"synfin/tcpstate"
	"synfin/wire"
)

// Observer returns a track.Config.Observer: each connection of the
// tracker gets a Conn set up with cfg, whose conn.log fields Fields reads
// when the tracker hands the connection out. The observers of one tracker
// share a cache of history strings, so they must stay on its goroutine.
func Observer(cfg *Config) func() tcpstate.Observer {
	if cfg == nil {
		cfg = &zeroConfig
	}
	hc := new(historyCache)
	return func() tcpstate.Observer { return &observer{cfg: cfg, hc: hc} }
}

// maxEarlier bounds the rows an observer keeps for a connection before
// its last one (Config.SplitRows): Zeek's timers split an unanswered
// attempt's retransmissions into at most a handful; past the bound the
// last row takes in the rest, as Zeek would without its timers.
const maxEarlier = 16

// observer feeds a tracker's segments to a Conn.
type observer struct {
	cfg     *Config
	hc      *historyCache // the tracker's; nil in a clone, which may move
	c       Conn
	swapped bool     // c's first packet came from the tracker's second sender
	earlier []Record // rows ended before c's (Config.SplitRows), oldest first
}

func (o *observer) Segment(ts int64, first, fromFirst bool, p *wire.Packet) {
	switch {
	case first:
		o.earlier, o.swapped = o.earlier[:0], false
	case o.cfg.SplitRows && len(o.earlier) < maxEarlier && o.c.ends(ts, p):
		o.earlier = append(o.earlier, o.Record())
		o.swapped = !fromFirst
	default:
		o.c.Packet(ts, fromFirst != o.swapped, p)
		return
	}
	o.c.Reset(o.cfg, ts, p)
	o.c.Packet(ts, true, p)
}

// Earlier returns the rows ended before the last (see Earlier).
func (o *observer) Earlier() []Record { return o.earlier }

// Record returns the connection's conn.log fields: its last row's.
func (o *observer) Record() Record {
	if o.hc != nil {
		return o.c.recordCached(o.hc)
	}
	return o.c.Record()
}

func (o *observer) Clone() tcpstate.Observer {
	n := &observer{cfg: o.cfg, c: o.c, swapped: o.swapped, earlier: slices.Clone(o.earlier)}
	n.c.history = append([]byte(nil), o.c.history...)
	for i := range n.c.ep {
		n.c.ep[i].pending = append([]span(nil), o.c.ep[i].pending...)
	}
	return n
}

func (o *observer) AppendState(b []byte, ctx *tcpstate.StateContext) []byte {
	w := snapshot.Writer{B: b}
	o.c.appendState(&w, ctx)
	w.Bools(o.swapped)
	w.Uint(uint64(len(o.earlier)))
	for i := range o.earlier {
		appendRecord(&w, &o.earlier[i], ctx)
	}
	return w.B
}

func (o *observer) LoadState(b []byte, ctx *tcpstate.StateContext) ([]byte, error) {
	r := snapshot.Reader{B: b}
	if err := o.c.loadState(o.cfg, &r, ctx); err != nil {
		return r.B, err
	}
	r.Bools(&o.swapped)
	n := r.Uint()
	if n > maxEarlier {
		return r.B, errSnapshot
	}
	o.earlier = o.earlier[:0]
	for range n {
		o.earlier = append(o.earlier, loadRecord(&r, o.hc, ctx))
	}
	if r.Err != nil {
		return r.B, errSnapshot
	}
	return r.B, nil
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

// Earlier returns the conn.log rows of c, a connection handed out by a
// tracker, that Zeek's timers or its reuse check ended before the row
// Fields returns, oldest first, from its Observer: one made by Observer
// with Config.SplitRows, or any with a method Earlier() []Record. The
// slice is the observer's, reused with it.
func Earlier(c *tcpstate.Conn) []Record {
	switch o := c.Observer.(type) {
	case *observer:
		return o.earlier
	case interface{ Earlier() []Record }:
		return o.Earlier()
	}
	return nil
}
