package zeekconn

import (
	"net/netip"

	"synfin/seqnum"
	"synfin/wire"
)

// Zeek's history bits; a responder's bits are shifted up by 16.
const (
	histSYN     = 0x1
	histFIN     = 0x2
	histRST     = 0x4
	histFINRST  = 0x8
	histData    = 0x10
	histACK     = 0x20
	histMulti   = 0x40
	tooLargeSeq = 1 << 20 // TOO_LARGE_SEQ_DELTA
	// maxAboveHole is tcp_max_above_hole_without_any_acks: buffered data
	// above a hole with nothing acked makes the reassembler give up.
	maxAboveHole = 16384
)

// Conn computes one TCP connection's conn.log fields. Feed it every segment
// of the connection with Packet; read the result with Record or the
// accessors. The zero value is not ready: call Reset first.
type Conn struct {
	cfg *Config
	tm  timers

	ep   [2]endpoint // [0] sent the connection's first packet
	orig int         // index of the originator in ep

	addr [2]netip.AddrPort // addresses of ep[0] and ep[1]

	start, last int64 // Unix ns of the first packet and of the last activity

	history  []byte
	histSeen uint32

	packets       int // segments processed by the TCP analyzer
	isPartial     bool
	firstSeen     [2]bool
	closeDeferred bool
	deferredGen   bool
	active        bool // Zeek's is_active: timers still watch it
	missed        uint64
	flipped       bool
	handshakeDone bool // the inactivity timeout moved to the long one
	closeComplete bool
	deleteAt      int64 // removal after a complete close, 0 if none
	attemptAt     int64 // connection-attempt check, 0 if none
	expireAt      [4]int64
	nExpire       int
}

// endpoint is one side, in Zeek's terms (TCP_Endpoint plus its reassembler).
type endpoint struct {
	state, prev              EndpointState
	isOrig                   bool
	startSeq                 int64
	lastSeq, ackSeq          uint32
	seqWraps, ackWraps       uint32
	finCnt, rstCnt           int
	finSeq                   uint64
	didClose                 bool
	histLastSYN, histLastFIN uint64
	histLastRST              uint64
	chkCnt, chkThresh        uint32
	rxmtCnt, rxmtThresh      uint32
	win0Cnt, win0Thresh      uint32
	gapCnt, gapThresh        uint32
	pkts, ipBytes            uint64

	// Reassembler: sequence numbers are relative (1 is the first byte).
	lastReassem uint64
	pending     []span // undelivered data above lastReassem, sorted, merged
	skip        bool
	didEOF      bool
	trimSeq     uint64
}

type span struct{ seq, upper uint64 }

func (e *endpoint) reset(isOrig bool) {
	p := e.pending[:0]
	if p == nil {
		p = make([]span, 0, 4) // room for a few holes: no growing once warm
	}
	*e = endpoint{isOrig: isOrig, chkThresh: 1, rxmtThresh: 1, win0Thresh: 1, gapThresh: 1,
		lastReassem: 1, trimSeq: 1, pending: p}
}

// Reset prepares c for a new connection whose first packet p, sent at t
// (Unix nanoseconds), comes from p.Src. It keeps c's buffers. cfg must not
// change while c is in use; nil means the zero Config.
func (c *Conn) Reset(cfg *Config, t int64, p *wire.Packet) {
	if cfg == nil {
		cfg = &zeroConfig
	}
	h := c.history[:0]
	if h == nil {
		h = make([]byte, 0, 24) // most histories fit: no growing once warm
	}
	e0, e1 := c.ep[0].pending, c.ep[1].pending
	*c = Conn{cfg: cfg, tm: cfg.timers(), history: h, start: t, last: t, active: true}
	c.ep[0].pending, c.ep[1].pending = e0, e1
	c.ep[0].reset(true)
	c.ep[1].reset(false)
	c.addr[0] = netip.AddrPortFrom(p.Src, p.SrcPort)
	c.addr[1] = netip.AddrPortFrom(p.Dst, p.DstPort)
	// Zeek's TCP analyzer arms its expire timer when the connection is born.
	c.addExpire(t + c.tm.syn)
	if flip := wantFlip(cfg, p); flip {
		c.flipRoles()
	}
}

var zeroConfig Config

// wantFlip is Zeek's guess, for a connection first seen without a bare
// SYN, of whether the first sender is really the responder.
func wantFlip(cfg *Config, p *wire.Packet) bool {
	f := p.Flags
	if f&wire.SYN != 0 && f&wire.ACK == 0 {
		return false
	}
	ports := cfg.LikelyServerPorts
	if !ports.Has(p.SrcPort) {
		return false
	}
	if ports.Has(p.DstPort) {
		// Both plausible: flip only for a non-SYN towards a higher port.
		return f&wire.SYN == 0 && p.SrcPort < p.DstPort
	}
	return true
}

// flipRoles swaps originator and responder as Zeek's Connection::FlipRoles
// does: roles swap, the history gets a '^', earlier letters stay.
func (c *Conn) flipRoles() {
	c.orig ^= 1
	c.ep[0].isOrig = !c.ep[0].isOrig
	c.ep[1].isOrig = !c.ep[1].isOrig
	c.history = append(c.history, '^')
}

// flipEarly is the flip Zeek makes when a connection that began with a
// SYN-ACK goes on with an ack or data: a stealth scan would not do that, so
// the SYN-ACK's sender is the responder after all. The history is rewritten
// as if the roles had been right from the start.
func (c *Conn) flipEarly() {
	c.orig ^= 1
	c.ep[0].isOrig = !c.ep[0].isOrig
	c.ep[1].isOrig = !c.ep[1].isOrig
	n := len(c.history)
	c.history = append(c.history, 0)
	copy(c.history[1:], c.history[:n])
	c.history[0] = '^'
	for i := 1; i <= n; i++ {
		b := c.history[i]
		switch {
		case b >= 'a' && b <= 'z':
			c.history[i] = b - 'a' + 'A'
		case b >= 'A' && b <= 'Z':
			c.history[i] = b - 'A' + 'a'
		}
	}
	c.histSeen = c.histSeen>>16 | c.histSeen<<16
	c.isPartial = false
	c.firstSeen = [2]bool{true, true}
}

// Packet feeds the segment p, captured at t (Unix nanoseconds). fromFirst
// says whether p was sent by the endpoint that sent the connection's first
// packet (the one given to Reset).
func (c *Conn) Packet(t int64, fromFirst bool, p *wire.Packet) {
	idx := 1
	if fromFirst {
		idx = 0
	}
	// Zeek checks only segments captured in full.
	full := p.PayloadOff+p.PayloadLen <= len(p.Data)
	if p.HeaderLen > len(p.Data)-p.TransOff {
		return // options cut by the snap length: Zeek drops the segment
	}
	if c.cfg.VerifyChecksums && !ipv4HeaderOK(p) {
		return // Zeek drops the packet before any connection sees it
	}
	if c.cfg.VerifyChecksums && full && !tcpChecksumOK(p) {
		e := &c.ep[idx]
		c.scaled(e, 'C', &e.chkCnt, &e.chkThresh)
		return
	}
	c.process(t, idx, p, full)
	e := &c.ep[idx]
	e.pkts++
	e.ipBytes += uint64(ipTotalLen(p))
}

func ipTotalLen(p *wire.Packet) int {
	if p.IPTotalLen != 0 {
		return p.IPTotalLen
	}
	return len(p.Data) - p.NetOff
}

func (c *Conn) addHistory(code byte) { c.history = append(c.history, code) }

// checkHistory logs code for e unless the bit for this kind of packet from
// this role is already set, and reports whether it was. Responders log
// lower case.
func (c *Conn) checkHistory(e *endpoint, mask uint32, code byte) (seen bool) {
	if !e.isOrig {
		mask <<= 16
		code = lower(code)
	}
	if c.histSeen&mask != 0 {
		return true
	}
	c.histSeen |= mask
	c.addHistory(code)
	return false
}

func (c *Conn) addEndpointHistory(e *endpoint, code byte) {
	if !e.isOrig {
		code = lower(code)
	}
	c.addHistory(code)
}

// scaled logs code (upper case for the originator) at the 1st, 10th,
// 100th ... occurrence, Zeek's ScaledHistoryEntry.
func (c *Conn) scaled(e *endpoint, code byte, cnt, thresh *uint32) {
	*cnt++
	if *cnt != *thresh {
		return
	}
	if !e.isOrig {
		code = lower(code)
	}
	c.addHistory(code)
	if n := *thresh * 10; n <= *thresh {
		*cnt = 0
	} else {
		*thresh = n
	}
}

func lower(b byte) byte {
	if b >= 'A' && b <= 'Z' {
		return b - 'A' + 'a'
	}
	return b
}

func full64(seq, wraps uint32) uint64 { return uint64(wraps)<<32 + uint64(seq) }

func (e *endpoint) relSeq(seq, wraps uint32) uint64 { return full64(seq, wraps) - uint64(e.startSeq) }

func (e *endpoint) setState(c *Conn, peer *endpoint, s EndpointState) {
	if s == e.state {
		return
	}
	if !s.handshake() && e.state.handshake() && peer.state.handshake() {
		c.handshakeDone = true
	}
	e.prev, e.state = e.state, s
}

func (e *endpoint) updateLastSeq(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

func (e *endpoint) updateAckSeq(seq uint32) {
	if seq < e.ackSeq {
		e.ackWraps++
	}
	e.ackSeq = seq
}

func (e *endpoint) noDataAcked() bool {
	a := full64(e.ackSeq, e.ackWraps)
	s := uint64(e.startSeq)
	return a == s || a == s+1
}

// size is the endpoint's byte count as Zeek computes it from sequence
// numbers (TCP_Endpoint::Size).
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prev == SynSent && e.state == Reset && peer.state == Inactive && !e.noDataAcked() {
		return 0
	}
	last := full64(e.lastSeq, e.seqWraps)
	ack := full64(e.ackSeq, e.ackWraps)
	var n uint64
	if last > ack {
		n = last - uint64(e.startSeq)
	} else {
		n = ack - uint64(e.startSeq)
	}
	if n != 0 {
		n--
	}
	if e.finCnt > 0 && n != 0 {
		n--
	}
	return n
}

func relativeSeq(e *endpoint, cur, last, wraps uint32) (rel uint64, underflow bool) {
	d := seqnum.Value(cur).Sub(seqnum.Value(last))
	if d < 0 {
		if wraps != 0 && cur > last {
			wraps--
		}
	} else if d > 0 {
		if cur < last {
			wraps++
		}
	}
	if wraps == 0 {
		d = seqnum.Value(cur).Sub(seqnum.Value(uint32(e.startSeq)))
		return uint64(int64(d)), d < 0
	}
	return e.relSeq(cur, wraps), false
}

func (c *Conn) process(t int64, idx int, p *wire.Packet, full bool) {
	f := p.Flags
	syn, fin, rst, ack := f&wire.SYN != 0, f&wire.FIN != 0, f&wire.RST != 0, f&wire.ACK != 0
	o, r := &c.ep[c.orig], &c.ep[c.orig^1]
	if o.state == SynAckSent && r.state == Inactive && !syn && !fin && !rst && (ack || p.PayloadLen > 0) {
		c.flipEarly()
	}
	e, peer := &c.ep[idx], &c.ep[idx^1]
	isOrig := e.isOrig
	base, ackSeq := p.Seq, p.Ack
	length := p.PayloadLen

	// SetPartialStatus
	if isOrig {
		if !c.firstSeen[idx] {
			c.isPartial = !syn || ack
		}
	} else if !c.firstSeen[idx] && !c.isPartial {
		c.isPartial = !syn
	}

	segLen := length
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= length
	}
	onePast := base + uint32(segLen)

	c.initEndpoint(e, syn, base, onePast)

	relSeq, underflow := relativeSeq(e, base, e.lastSeq, e.seqWraps)

	c.updateHistory(e, syn, fin, rst, ack, relSeq, length)

	// Zero windows count unless sent with or after a RST, or after the
	// peer's FIN.
	if p.Window == 0 && !rst && peer.state != Closed && e.state != Reset {
		c.scaled(e, 'W', &e.win0Cnt, &e.win0Thresh)
	}

	if !o.didClose || !r.didClose {
		c.last = t
	}
	if fin {
		e.finCnt++
		e.finSeq = relSeq + uint64(segLen)
	}
	if rst {
		e.rstCnt++
	}

	var relAck uint64
	if ack {
		if peer.state == Inactive {
			relAck = 1
			peer.startSeq = int64(ackSeq - 1)
			peer.ackSeq = ackSeq - 1
			peer.lastSeq = ackSeq - 1
		} else {
			ra, under := relativeSeq(peer, ackSeq, peer.ackSeq, peer.ackWraps)
			switch {
			case under:
				relAck = 0
			case !rst:
				relAck = ra
				if d := seqnum.Value(ackSeq).Sub(seqnum.Value(peer.ackSeq)); !(ackSeq == 0 && d > tooLargeSeq) && d > 0 {
					peer.updateAckSeq(ackSeq)
				}
			default:
				relAck = ra
			}
		}
	}

	deltaLast := c.updateLastSeq(e, onePast, syn, fin, rst, length)

	doClose, genEvent := c.stateMachine(t, e, peer, isOrig, base, ackSeq, length, deltaLast, syn, fin, rst, ack)

	if ack {
		c.ackReceived(peer, relAck)
	}

	relData := relSeq
	if syn {
		relData++
	}
	if length > 0 && !rst && !underflow && full {
		c.dataSent(e, relData, uint64(length))
	}
	c.checkEOF(e)
	if doClose {
		c.connectionClosed(e, peer, genEvent)
	}
}

func (c *Conn) initEndpoint(e *endpoint, syn bool, first, last uint32) {
	reinit := func() {
		e.startSeq = int64(first)
		e.ackSeq = first
		e.lastSeq = last
	}
	switch e.state {
	case Inactive:
		if syn {
			e.ackSeq = first
			e.startSeq = int64(first)
		} else {
			// A partial connection: number as if a SYN had been seen.
			e.ackSeq = first - 1
			e.startSeq = int64(first - 1)
			last = first
		}
		e.lastSeq = last
	case SynSent, SynAckSent:
		if syn && first != uint32(e.startSeq) {
			reinit()
		}
	case Established, Partial:
		if syn {
			reinit()
		}
	case Reset:
		if syn && e.prev == Inactive {
			reinit()
		}
	}
}

func (c *Conn) updateHistory(e *endpoint, syn, fin, rst, ack bool, relSeq uint64, length int) {
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1:
		if fin && rst {
			c.checkHistory(e, histFINRST, 'I')
		} else {
			c.checkHistory(e, histMulti, 'Q')
		}
	case bits == 1:
		if syn {
			code := byte('S')
			if ack {
				code = 'H'
			}
			if c.checkHistory(e, histSYN, code) && relSeq != e.histLastSYN {
				c.addEndpointHistory(e, code)
			}
			e.histLastSYN = relSeq
		}
		if fin {
			if c.checkHistory(e, histFIN, 'F') && relSeq+uint64(length) != e.histLastFIN {
				c.addEndpointHistory(e, 'F')
			}
			e.histLastFIN = relSeq + uint64(length)
		}
		if rst {
			if c.checkHistory(e, histRST, 'R') && relSeq != e.histLastRST {
				c.addEndpointHistory(e, 'R')
			}
			e.histLastRST = relSeq
		}
	default:
		if length > 0 {
			c.checkHistory(e, histData, 'D')
		} else if ack {
			c.checkHistory(e, histACK, 'A')
		}
	}
}

func (c *Conn) updateLastSeq(e *endpoint, last uint32, syn, fin, rst bool, length int) int32 {
	d := seqnum.Value(last).Sub(seqnum.Value(e.lastSeq))
	switch {
	case (syn || rst) && (d > tooLargeSeq || d < -tooLargeSeq):
		// Don't trust wild sequence numbers on SYN and RST.
	case fin && e.lastSeq == uint32(e.startSeq)+1:
		e.updateLastSeq(last)
	case e.state == Reset:
	case d > 0:
		e.updateLastSeq(last)
	case length > 0:
		c.scaled(e, 'T', &e.rxmtCnt, &e.rxmtThresh)
	}
	return d
}

func (c *Conn) stateMachine(t int64, e, peer *endpoint, isOrig bool, base, ackSeq uint32, length int, deltaLast int32, syn, fin, rst, ack bool) (doClose, genEvent bool) {
	switch e.state {
	case Inactive:
		if syn {
			if isOrig {
				if ack {
					e.setState(c, peer, SynAckSent)
				} else {
					e.setState(c, peer, SynSent)
				}
				if c.attemptAt == 0 {
					c.attemptAt = t + c.tm.attempt
				}
			} else {
				if !ack && peer.state == SynAckSent && base == uint32(e.startSeq) {
					// SYN and SYN-ACK seen in reverse order.
					c.isPartial = false
					c.flipRoles()
					peer.setState(c, e, Established)
				}
				if peer.state == SynSent {
					peer.setState(c, e, Established)
				}
				e.setState(c, peer, Established)
			}
		}
		if fin {
			e.setState(c, peer, Closed)
			doClose, genEvent = true, true
		}
		if rst {
			e.setState(c, peer, Reset)
			reject := false
			if isOrig {
				reject = peer.state == Established
			} else {
				reject = peer.state == SynSent || peer.state == SynAckSent
			}
			doClose, genEvent = true, !reject
		}
		if e.state == Inactive {
			switch {
			case !isOrig && length == 0 && c.ep[c.orig].state == SynSent:
				// An ack of the SYN before the SYN-ACK: not partial.
			case ack && peer.state == Established:
				e.setState(c, peer, Established)
				c.isPartial = false
			default:
				e.setState(c, peer, Partial)
			}
		}
	case SynSent, SynAckSent:
		if fin {
			e.setState(c, peer, Closed)
			doClose, genEvent = true, true
		}
		if rst {
			e.setState(c, peer, Reset)
			c.active = false
			doClose = true
		}
	case Established, Partial:
		if syn && e.state == Partial && peer.state == Inactive && !ack {
			e.setState(c, peer, SynSent)
		}
		if fin && !rst {
			e.setState(c, peer, Closed)
			if peer.state == Reset && peer.prev == Closed {
				// FIN then RST from the peer was a normal close after all.
				peer.setState(c, e, Closed)
			}
			doClose, genEvent = true, true
		}
		if rst {
			e.setState(c, peer, Reset)
			doClose = true
			if peer.state != Reset || peer.prev != Established {
				c.active = false
			}
		}
	case Closed:
		if rst && peer.state != Closed {
			e.setState(c, peer, Reset)
			if !e.didClose {
				doClose = true
			}
		}
	case Reset:
	}
	return doClose, genEvent
}

// ackReceived tells e's reassembler that the peer acked e's data up to seq.
func (c *Conn) ackReceived(e *endpoint, seq uint64) {
	if e.finCnt > 0 && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trimSeq {
		return
	}
	if seq > e.lastReassem {
		c.undelivered(e, seq)
	}
	e.trimSeq = seq
	c.checkEOF(e)
}

// undelivered declares the data of e below upTo as never to arrive,
// reporting content gaps (Zeek's TCP_Reassembler::Undelivered).
func (c *Conn) undelivered(e *endpoint, upTo uint64) {
	if upTo <= 2 && c.isPartial {
		// The faked SYN of a partial connection, or a keep-alive.
		return
	}
	if !e.skip {
		for len(e.pending) > 0 && e.pending[0].seq < upTo {
			b := e.pending[0]
			c.gap(e, e.lastReassem, b.seq-e.lastReassem)
			e.lastReassem = b.upper
			e.pending = e.pending[:copy(e.pending, e.pending[1:])]
		}
		if upTo > e.lastReassem {
			c.gap(e, e.lastReassem, upTo-e.lastReassem)
		}
	}
	if upTo > e.lastReassem {
		e.lastReassem = upTo
	}
	// Data buffered right at the new edge goes on without a gap of zero
	// length: Zeek logs no 'g' for it.
	e.deliverPending()
}

// deliverPending passes on the buffered spans that now join the delivered
// stream.
func (e *endpoint) deliverPending() {
	for len(e.pending) > 0 && e.pending[0].seq <= e.lastReassem {
		if e.pending[0].upper > e.lastReassem {
			e.lastReassem = e.pending[0].upper
		}
		e.pending = e.pending[:copy(e.pending, e.pending[1:])]
	}
}

func clean(e *endpoint) bool {
	return e.state == Established || (e.state == Closed && e.prev == Established)
}

func (c *Conn) gap(e *endpoint, seq, n uint64) {
	peer := &c.ep[0]
	if peer == e {
		peer = &c.ep[1]
	}
	ok := clean(e) && clean(peer)
	if ok {
		c.scaled(e, 'G', &e.gapCnt, &e.gapThresh)
	}
	if ok || c.cfg.ReportGapsForPartial {
		c.missed += n
	}
}

// dataSent hands payload [seq, seq+n) of e to its reassembler.
func (c *Conn) dataSent(e *endpoint, seq, n uint64) {
	if e.skip {
		return
	}
	ack := e.relSeq(e.ackSeq, e.ackWraps)
	upper := seq + n
	if seq < ack {
		if upper <= ack {
			return
		}
		seq = ack
	}
	if upper <= e.trimSeq {
		return
	}
	if seq < e.trimSeq {
		seq = e.trimSeq
	}
	if seq < e.lastReassem {
		seq = e.lastReassem
	}
	if seq >= upper {
		return
	}
	if seq == e.lastReassem {
		e.lastReassem = upper
		e.deliverPending() // whatever this filled in front of
	} else {
		e.insertPending(seq, upper)
	}
	if len(e.pending) > 0 && e.noDataAcked() && e.pending[len(e.pending)-1].upper-e.lastReassem > maxAboveHole {
		e.pending = e.pending[:0]
		e.skip = true
	}
}

// insertPending adds [seq, upper) to the sorted, merged undelivered spans.
func (e *endpoint) insertPending(seq, upper uint64) {
	i := 0
	for i < len(e.pending) && e.pending[i].upper < seq {
		i++
	}
	j := i
	for j < len(e.pending) && e.pending[j].seq <= upper {
		if e.pending[j].seq < seq {
			seq = e.pending[j].seq
		}
		if e.pending[j].upper > upper {
			upper = e.pending[j].upper
		}
		j++
	}
	switch {
	case j == i:
		e.pending = append(e.pending, span{})
		copy(e.pending[i+1:], e.pending[i:])
	case j > i+1:
		e.pending = append(e.pending[:i+1], e.pending[j:]...)
	}
	e.pending[i] = span{seq, upper}
}

func (c *Conn) hasUndelivered(e *endpoint) bool { return !e.skip && len(e.pending) > 0 }

// dataPending reports whether e has sent data its reassembler has not
// passed on yet, which holds back the close (TCP_Reassembler::DataPending).
func (c *Conn) dataPending(e, peer *endpoint) bool {
	if e.skip {
		return false
	}
	delivered := uint64(e.startSeq) + e.lastReassem
	last := full64(e.lastSeq, e.seqWraps)
	if last < delivered {
		return false
	}
	if delivered != last-1 && delivered != last {
		return true
	}
	return e.state != Reset && c.hasUndelivered(peer)
}

func (c *Conn) checkEOF(e *endpoint) {
	peer := &c.ep[0]
	if peer == e {
		peer = &c.ep[1]
	}
	if e.didEOF || !(e.finCnt > 0 || e.state == Closed || e.state == Reset) || c.dataPending(e, peer) {
		return
	}
	e.didEOF = true
	if c.closeDeferred {
		c.connectionClosed(e, peer, c.deferredGen)
		c.closeDeferred = false
	}
}

func (c *Conn) connectionClosed(e, peer *endpoint, genEvent bool) {
	if c.dataPending(e, peer) {
		c.closeDeferred = true
		if !c.deferredGen {
			c.deferredGen = genEvent
		}
		return
	}
	c.closeDeferred = false
	if e.didClose {
		return
	}
	e.didClose = true
	if e.state == Reset || peer.didClose || peer.state == Inactive {
		if e.prev != Inactive || peer.state != Inactive {
			if c.deferredGen {
				genEvent = true
				c.deferredGen = false
			}
			if genEvent {
				c.active = false
			}
		}
		// All analyzer timers go; the connection is deleted after a delay.
		c.attemptAt = 0
		c.nExpire = 0
		c.deleteAt = c.last + c.tm.closeDelay
		return
	}
	if e.prev != Inactive {
		c.addExpire(c.last + c.tm.session)
	}
}

func (c *Conn) addExpire(at int64) {
	if c.nExpire < len(c.expireAt) {
		c.expireAt[c.nExpire] = at
		c.nExpire++
	}
}

// ends reports whether Zeek would log c's row and start another with
// segment p, at now: its timers removed the connection by then, or p is a
// SYN that reuses the tuple. Call it before each packet but a
// connection's first, as Zeek runs its timers and its reuse check then.
func (c *Conn) ends(now int64, p *wire.Packet) bool {
	_, removed := c.RemovalTime(now)
	return removed || c.isReuse(p)
}

// isReuse reports whether SYN segment p starts a new connection on c's
// tuple (Zeek's TCPSessionAdapter::IsReuse): a SYN, or for a connection
// whose originator sent nothing a SYN-ACK, after a close or with another
// initial sequence number than the one seen, unless it is the SYN of a
// SYN-ACK seen first.
func (c *Conn) isReuse(p *wire.Packet) bool {
	if p.HeaderLen < 20 || p.Flags&wire.SYN == 0 {
		return false
	}
	o, r := &c.ep[c.orig], &c.ep[c.orig^1]
	connOrig := o
	if p.Flags&wire.ACK != 0 {
		if o.state != Inactive {
			return false // not a half connection
		}
		connOrig = r
	}
	if o.didClose || r.didClose {
		return true
	}
	if p.Seq == uint32(connOrig.startSeq) {
		return false
	}
	// The SYN of a SYN-ACK seen first: Packet flips the roles.
	return p.Flags&wire.ACK != 0 || connOrig.state != SynAckSent || r.state != Inactive || p.Seq != uint32(r.startSeq)
}

// Orig and Resp return the originator's and responder's address and port.
func (c *Conn) Orig() netip.AddrPort { return c.addr[c.orig] }
func (c *Conn) Resp() netip.AddrPort { return c.addr[c.orig^1] }

// Record is one conn.log row's TCP fields.
type Record struct {
	TS          int64          // start time, Unix ns
	Orig, Resp  netip.AddrPort // id.orig_h/p, id.resp_h/p
	Duration    int64          // ns
	HasBytes    bool           // orig_bytes/resp_bytes are logged (duration > 0)
	OrigBytes   uint64
	RespBytes   uint64
	ConnState   string
	History     string
	MissedBytes uint64
	OrigPkts    uint64
	OrigIPBytes uint64
	RespPkts    uint64
	RespIPBytes uint64
}

// Record returns the conn.log fields as Zeek would log them if the
// connection ended now.
func (c *Conn) Record() Record { return c.record(string(c.history)) }

// recordCached is Record with the history string taken from hc, so that
// the histories seen before cost no allocation.
func (c *Conn) recordCached(hc *historyCache) Record { return c.record(hc.get(c.history)) }

// historyCache keeps history strings for reuse. The zero value is ready;
// it is not safe for concurrent use.
type historyCache struct{ m map[string]string }

// maxHistories bounds a historyCache: a capture can make up histories
// without end, a few shapes make most of them.
const maxHistories = 4096

// string is get for any cache, even none.
func (hc *historyCache) string(b []byte) string {
	if hc == nil {
		return string(b)
	}
	return hc.get(b)
}

func (hc *historyCache) get(b []byte) string {
	if s, ok := hc.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if hc.m == nil {
		hc.m = make(map[string]string)
	}
	if len(hc.m) < maxHistories {
		hc.m[s] = s
	}
	return s
}

func (c *Conn) record(h string) Record {
	o, r := &c.ep[c.orig], &c.ep[c.orig^1]
	rec := Record{
		TS: c.start, Orig: c.Orig(), Resp: c.Resp(), Duration: c.last - c.start,
		ConnState:   ConnState(o.state, r.state, o.size(r), r.size(o), h),
		History:     h,
		MissedBytes: c.missed,
		OrigPkts:    o.pkts, OrigIPBytes: o.ipBytes,
		RespPkts: r.pkts, RespIPBytes: r.ipBytes,
	}
	if rec.Duration > 0 {
		rec.HasBytes = true
		rec.OrigBytes, rec.RespBytes = o.size(r), r.size(o)
	}
	return rec
}

// RemovalTime reports when Zeek's timers would remove the connection if no
// further packet arrives for it: the earliest such time at or before now.
// ok is false if the connection survives until now. Timers that fire by
// now without removing it are consumed, so call it before each packet with
// that packet's time, as Zeek runs its timers before each packet.
func (c *Conn) RemovalTime(now int64) (at int64, ok bool) {
	best := int64(0)
	consider := func(t int64) {
		if t <= now && (!ok || t < best) {
			best, ok = t, true
		}
	}
	o, r := &c.ep[c.orig], &c.ep[c.orig^1]
	if c.deleteAt != 0 {
		consider(c.deleteAt)
	}
	if c.attemptAt != 0 && c.attemptAt <= now {
		if c.active && (o.state == SynSent || o.state == SynAckSent) && r.state == Inactive {
			consider(c.attemptAt)
		} else {
			c.attemptAt = 0
		}
	}
	timeout := c.tm.handshake
	if c.handshakeDone {
		timeout = c.tm.inactivity
	}
	consider(c.last + timeout)
	if c.active {
		gone := (o.didClose || r.didClose) &&
			((o.didClose && r.didClose) || o.state == Reset || r.state == Reset || o.state == Inactive || r.state == Inactive) ||
			(o.state == Inactive && r.state == Inactive)
		for i := 0; i < c.nExpire; i++ {
			x := c.expireAt[i]
			if x > now {
				continue
			}
			// The timer fires at x, x+session, ...; it can remove only once
			// the connection has been idle for the linger time.
			if edge := c.last + c.tm.linger; x <= edge {
				x += ((edge-x)/c.tm.session + 1) * c.tm.session
			}
			if gone {
				consider(x)
			}
			for x <= now {
				x += c.tm.session
			}
			c.expireAt[i] = x
		}
	} else {
		c.nExpire = 0
	}
	return best, ok
}
