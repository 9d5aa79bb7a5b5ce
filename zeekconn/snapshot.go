package zeekconn

import (
	"errors"
	"net/netip"

	"synfin/internal/snapshot"
)

// AppendState appends c's state in a compact form that LoadState reads
// back, so that an idle connection can be held in a few hundred bytes.
func (c *Conn) AppendState(b []byte) []byte {
	w := snapshot.Writer{B: b}
	base := c.start
	w.Int(base)
	w.Time(c.last, base)
	for _, a := range c.addr {
		w.Addr(a.Addr())
		w.Uint(uint64(a.Port()))
	}
	w.Bools(c.orig == 1, c.isPartial, c.firstSeen[0], c.firstSeen[1], c.closeDeferred, c.deferredGen,
		c.active, c.flipped, c.handshakeDone, c.closeComplete)
	w.Bytes(c.history)
	w.Uint(uint64(c.histSeen))
	w.Int(int64(c.packets))
	w.Uint(c.missed)
	w.Time(c.deleteAt, base)
	w.Time(c.attemptAt, base)
	w.Uint(uint64(c.nExpire))
	for _, x := range c.expireAt {
		w.Time(x, base)
	}
	w.Int(c.ep[0].startSeq)
	w.Int(c.ep[1].startSeq)
	for i := range c.ep {
		e := &c.ep[i]
		own, peer := uint32(e.startSeq), uint32(c.ep[i^1].startSeq)
		w.Bools(e.isOrig, e.didClose, e.skip, e.didEOF)
		w.Uint(uint64(e.state)<<8 | uint64(e.prev))
		w.Seq(e.lastSeq, own)
		w.Seq(e.ackSeq, peer)
		w.Uint(uint64(e.seqWraps))
		w.Uint(uint64(e.ackWraps))
		w.Int(int64(e.finCnt))
		w.Int(int64(e.rstCnt))
		w.Uint(e.finSeq)
		w.Uint(e.histLastSYN)
		w.Uint(e.histLastFIN)
		w.Uint(e.histLastRST)
		for _, v := range [...]uint32{e.chkCnt, e.chkThresh, e.rxmtCnt, e.rxmtThresh, e.win0Cnt, e.win0Thresh, e.gapCnt, e.gapThresh} {
			w.Uint(uint64(v))
		}
		w.Uint(e.pkts)
		w.Uint(e.ipBytes)
		w.Uint(e.lastReassem)
		w.Uint(e.trimSeq)
		w.Uint(uint64(len(e.pending)))
		for _, s := range e.pending {
			w.Uint(s.seq)
			w.Uint(s.upper)
		}
	}
	return w.B
}

var errSnapshot = errors.New("zeekconn: damaged state snapshot")

// LoadState replaces c's state with one written by AppendState, keeping
// c's buffers, and returns what follows it in b. cfg is the Config the
// connection was Reset with.
func (c *Conn) LoadState(cfg *Config, b []byte) ([]byte, error) {
	if cfg == nil {
		cfg = &zeroConfig
	}
	r := snapshot.Reader{B: b}
	h := c.history[:0]
	p0, p1 := c.ep[0].pending[:0], c.ep[1].pending[:0]
	*c = Conn{cfg: cfg, tm: cfg.timers()}
	base := r.Int()
	c.start = base
	c.last = r.Time(base)
	for i := range c.addr {
		a := r.Addr()
		c.addr[i] = netip.AddrPortFrom(a, uint16(r.Uint()))
	}
	var orig1 bool
	r.Bools(&orig1, &c.isPartial, &c.firstSeen[0], &c.firstSeen[1], &c.closeDeferred, &c.deferredGen,
		&c.active, &c.flipped, &c.handshakeDone, &c.closeComplete)
	if orig1 {
		c.orig = 1
	}
	c.history = r.Bytes(h)
	c.histSeen = uint32(r.Uint())
	c.packets = int(r.Int())
	c.missed = r.Uint()
	c.deleteAt = r.Time(base)
	c.attemptAt = r.Time(base)
	c.nExpire = int(r.Uint())
	for i := range c.expireAt {
		c.expireAt[i] = r.Time(base)
	}
	c.ep[0].startSeq = r.Int()
	c.ep[1].startSeq = r.Int()
	for i, p := range [2][]span{p0, p1} {
		e := &c.ep[i]
		own, peer := uint32(e.startSeq), uint32(c.ep[i^1].startSeq)
		r.Bools(&e.isOrig, &e.didClose, &e.skip, &e.didEOF)
		sp := r.Uint()
		e.state, e.prev = EndpointState(sp>>8), EndpointState(sp)
		e.lastSeq = r.Seq(own)
		e.ackSeq = r.Seq(peer)
		e.seqWraps = uint32(r.Uint())
		e.ackWraps = uint32(r.Uint())
		e.finCnt = int(r.Int())
		e.rstCnt = int(r.Int())
		e.finSeq = r.Uint()
		e.histLastSYN = r.Uint()
		e.histLastFIN = r.Uint()
		e.histLastRST = r.Uint()
		for _, v := range [...]*uint32{&e.chkCnt, &e.chkThresh, &e.rxmtCnt, &e.rxmtThresh, &e.win0Cnt, &e.win0Thresh, &e.gapCnt, &e.gapThresh} {
			*v = uint32(r.Uint())
		}
		e.pkts = r.Uint()
		e.ipBytes = r.Uint()
		e.lastReassem = r.Uint()
		e.trimSeq = r.Uint()
		n := r.Uint()
		if n > uint64(len(r.B)) {
			return nil, errSnapshot
		}
		for range n {
			p = append(p, span{r.Uint(), r.Uint()})
		}
		e.pending = p
	}
	if r.Err != nil || c.nExpire > len(c.expireAt) {
		return nil, errSnapshot
	}
	return r.B, nil
}
