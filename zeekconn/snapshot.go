package zeekconn

import (
	"errors"
	"net/netip"

	"synfin/internal/snapshot"
	"synfin/tcpstate"
)

// appendState appends c's state in a compact form that loadState reads
// back, so that an idle connection can be held in a few hundred bytes.
// ctx holds what the tracker keeps anyway (the first packet's time, its
// sender and receiver and their initial sequence numbers): what matches
// it takes a bit or a byte.
func (c *Conn) appendState(w *snapshot.Writer, ctx *tcpstate.StateContext) {
	base := ctx.Base
	w.Time(c.start, base)
	w.Time(c.last, base)
	sameAddrs := c.addr == ctx.Addrs
	w.Bools(c.orig == 1, c.isPartial, c.firstSeen[0], c.firstSeen[1], c.closeDeferred, c.deferredGen,
		c.active, c.flipped, c.handshakeDone, c.closeComplete, sameAddrs)
	if !sameAddrs {
		for _, a := range c.addr {
			w.Addr(a.Addr())
			w.Uint(uint64(a.Port()))
		}
	}
	w.Bytes(c.history)
	w.Uint(uint64(c.histSeen))
	w.Int(int64(c.packets))
	w.Uint(c.missed)
	w.Time(c.deleteAt, base)
	w.Time(c.attemptAt, base)
	w.Uint(uint64(c.nExpire))
	for _, x := range c.expireAt[:min(c.nExpire, len(c.expireAt))] {
		w.Time(x, base)
	}
	for i := range c.ep {
		// startSeq is an ISN (or one before it) or unset (-1 and below).
		if s := c.ep[i].startSeq; s >= 0 && s <= 1<<32-1 {
			w.Uint(0)
			w.Seq(uint32(s), ctx.ISNs[i])
		} else {
			w.Int(s)
		}
	}
	for i := range c.ep {
		e := &c.ep[i]
		own, peer := uint32(e.startSeq), uint32(c.ep[i^1].startSeq)
		w.Bools(e.isOrig, e.didClose, e.skip, e.didEOF)
		w.Uint(uint64(e.state)<<4 | uint64(e.prev))
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
		// The scaled-history counters start at 0 and their thresholds
		// at 1; only the ones that moved are written.
		counters := [...]uint32{e.chkCnt, e.chkThresh - 1, e.rxmtCnt, e.rxmtThresh - 1, e.win0Cnt, e.win0Thresh - 1, e.gapCnt, e.gapThresh - 1}
		var moved uint64
		for j, v := range counters {
			if v != 0 {
				moved |= 1 << j
			}
		}
		w.Uint(moved)
		for j, v := range counters {
			if moved&(1<<j) != 0 {
				w.Uint(uint64(v))
			}
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
}

var errSnapshot = errors.New("zeekconn: damaged state snapshot")

// loadState replaces c's state with one written by appendState with the
// same ctx, keeping c's buffers. cfg is the Config the connection was
// Reset with.
func (c *Conn) loadState(cfg *Config, r *snapshot.Reader, ctx *tcpstate.StateContext) error {
	if cfg == nil {
		cfg = &zeroConfig
	}
	h := c.history[:0]
	if h == nil {
		h = make([]byte, 0, 24) // as Reset: no growing once warm
	}
	p0, p1 := c.ep[0].pending[:0], c.ep[1].pending[:0]
	*c = Conn{cfg: cfg, tm: cfg.timers()}
	base := ctx.Base
	c.start = r.Time(base)
	c.last = r.Time(base)
	var orig1, sameAddrs bool
	r.Bools(&orig1, &c.isPartial, &c.firstSeen[0], &c.firstSeen[1], &c.closeDeferred, &c.deferredGen,
		&c.active, &c.flipped, &c.handshakeDone, &c.closeComplete, &sameAddrs)
	if orig1 {
		c.orig = 1
	}
	if sameAddrs {
		c.addr = ctx.Addrs
	} else {
		for i := range c.addr {
			a := r.Addr()
			c.addr[i] = netip.AddrPortFrom(a, uint16(r.Uint()))
		}
	}
	c.history = r.Bytes(h)
	c.histSeen = uint32(r.Uint())
	c.packets = int(r.Int())
	c.missed = r.Uint()
	c.deleteAt = r.Time(base)
	c.attemptAt = r.Time(base)
	c.nExpire = int(r.Uint())
	if c.nExpire > len(c.expireAt) {
		return errSnapshot
	}
	for i := range c.nExpire {
		c.expireAt[i] = r.Time(base)
	}
	for i := range c.ep {
		if s := r.Int(); s != 0 {
			c.ep[i].startSeq = s
		} else {
			c.ep[i].startSeq = int64(r.Seq(ctx.ISNs[i]))
		}
	}
	for i, p := range [2][]span{p0, p1} {
		e := &c.ep[i]
		own, peer := uint32(e.startSeq), uint32(c.ep[i^1].startSeq)
		r.Bools(&e.isOrig, &e.didClose, &e.skip, &e.didEOF)
		sp := r.Uint()
		e.state, e.prev = EndpointState(sp>>4), EndpointState(sp&15)
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
		moved := r.Uint()
		var counters [8]uint32
		for j := range counters {
			if moved&(1<<j) != 0 {
				counters[j] = uint32(r.Uint())
			}
		}
		e.chkCnt, e.chkThresh = counters[0], counters[1]+1
		e.rxmtCnt, e.rxmtThresh = counters[2], counters[3]+1
		e.win0Cnt, e.win0Thresh = counters[4], counters[5]+1
		e.gapCnt, e.gapThresh = counters[6], counters[7]+1
		e.pkts = r.Uint()
		e.ipBytes = r.Uint()
		e.lastReassem = r.Uint()
		e.trimSeq = r.Uint()
		n := r.Uint()
		if n > uint64(len(r.B)) {
			return errSnapshot
		}
		for range n {
			p = append(p, span{r.Uint(), r.Uint()})
		}
		e.pending = p
	}
	if r.Err != nil {
		return errSnapshot
	}
	return nil
}

// appendRecord appends an ended row of a connection whose state ctx
// describes; its tuple is ctx's, one way round or the other.
func appendRecord(w *snapshot.Writer, r *Record, ctx *tcpstate.StateContext) {
	w.Time(r.TS, ctx.Base)
	w.Bools(r.Orig != ctx.Addrs[0], r.HasBytes)
	w.Dur(r.Duration)
	w.String(r.ConnState)
	w.String(r.History)
	for _, v := range [...]uint64{r.OrigBytes, r.RespBytes, r.MissedBytes, r.OrigPkts, r.OrigIPBytes, r.RespPkts, r.RespIPBytes} {
		w.Uint(v)
	}
}

// loadRecord reads a row written by appendRecord, its strings from hc
// when there is one.
func loadRecord(rd *snapshot.Reader, hc *historyCache, ctx *tcpstate.StateContext) Record {
	var r Record
	var swapped bool
	r.TS = rd.Time(ctx.Base)
	rd.Bools(&swapped, &r.HasBytes)
	r.Orig, r.Resp = ctx.Addrs[0], ctx.Addrs[1]
	if swapped {
		r.Orig, r.Resp = r.Resp, r.Orig
	}
	r.Duration = rd.Dur()
	var b [32]byte
	r.ConnState = hc.string(rd.Bytes(b[:0]))
	r.History = hc.string(rd.Bytes(b[:0]))
	for _, v := range [...]*uint64{&r.OrigBytes, &r.RespBytes, &r.MissedBytes, &r.OrigPkts, &r.OrigIPBytes, &r.RespPkts, &r.RespIPBytes} {
		*v = rd.Uint()
	}
	return r
}
