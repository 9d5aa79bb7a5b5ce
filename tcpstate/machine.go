package tcpstate

import (
	"time"

	"synfin/seqnum"
	"synfin/wire"
)

// machine applies one segment to both endpoints' states (RFC 9293 section
// 3.10): the sender changes state when it sends, the receiver when it
// receives, which at the capture point is when the segment is seen. It
// fills in the segment's note and returns synfin's own anomalies.
func (c *Analyzer) machine(sg *segment) (an Anomalies) {
	f := sg.p.Flags
	switch {
	case f&(wire.SYN|wire.ACK|wire.RST) == wire.SYN:
		return c.syn(sg)
	case f&(wire.SYN|wire.RST) == wire.SYN:
		return c.synAck(sg)
	case f&wire.RST != 0:
		return c.rst(sg)
	}
	seg, p, index, ts := sg.rec, sg.p, sg.index, sg.ts
	s, r, ep, rp, snd, rcv := sg.s, sg.r, sg.ep, sg.rp, sg.snd, sg.rcv
	h := &c.Handshake

	// A client sending an ACK has had its SYN-ACK, captured or not.
	if s == SideClient && ep.State == SynSent {
		c.set(s, Established, index, ts)
		c.Teardown.Missing |= GapSYNACK
	}

	// An end that acknowledges the peer's FIN has received it, though the
	// tracker took that back (a retransmitted FIN read as a lost ACK can
	// have crossed the segment that carried the ACK and the FIN).
	if f&wire.ACK != 0 && rcv.finSent && !rcv.finRcvd && seqnum.Value(p.Ack).GreaterThanEq(seqnum.Value(rcv.finSeq+1)) {
		if pf := c.fin(r); snd.lostAcks > 0 && snd.lostAck == pf.Seg {
			c.ackNotLost(s, snd, rcv)
		} else {
			c.receiveFIN(s, rcv, index, ts)
		}
	}

	// ACK processing at the receiver.
	if f&wire.ACK != 0 {
		ack := seqnum.Value(p.Ack)
		switch rp.State {
		case SynReceived:
			if !rp.HasISN || p.Ack == rp.ISN+1 {
				if r == SideServer && !h.ACK.Seen() {
					h.ACK = SegRef{index, ts}
					h.ACKAck, h.ACKSeq = p.Ack, p.Seq
					h.ACKAckOK = rp.HasISN && p.Ack == rp.ISN+1
					h.ACKSeqOK = ep.HasISN && p.Seq == ep.ISN+1
					if h.SYNACK.Seen() {
						h.ClientRTT = time.Duration(ts - h.SYNACK.Time)
					}
					h.Complete = h.SYN.Seen() && h.SYNACK.Seen() && h.SYNACKAckOK && h.ACKAckOK && h.ACKSeqOK
					if h.SYN.Seen() { // else Wireshark has no first RTT
						c.firstRTT = ts - snd.lastSYNTime
					}
					seg.Note = NoteHandshakeACK
					c.addArg(seg, "ack", int64(p.Ack))
					c.addArg(seg, "expected", int64(rp.ISN+1))
					if !h.SYNACK.Seen() {
						c.Teardown.Missing |= GapSYNACK
					}
				}
				c.pendingListen = false
				c.set(r, Established, index, ts)
			} else if !h.ACK.Seen() {
				an = an.With(BadHandshakeACK)
			}
		case FinWait1, Closing, LastAck:
			if rcv.finSent && ack.GreaterThanEq(seqnum.Value(rcv.finSeq+1)) {
				next := FinWait2
				if rp.State == Closing {
					next = TimeWait
				} else if rp.State == LastAck {
					next = Closed
				}
				c.set(r, next, index, ts)
			}
		}
		if rcv.finSent {
			fi := c.fin(r)
			if !fi.Ack.Seen() && ack.GreaterThanEq(seqnum.Value(rcv.finSeq+1)) {
				fi.Ack = SegRef{index, ts}
				fi.AckOK = p.Ack == rcv.finSeq+1
				fi.Piggybacked = f&wire.FIN != 0 && !snd.finSent
				if !fi.AckOK {
					an = an.With(BadFINACK)
				}
				if f&wire.FIN == 0 {
					seg.Note = NoteFINACK
					if rp.State == Closed {
						seg.Note = NoteLastACK
					}
					c.addArg(seg, "ack", int64(p.Ack))
					c.addArg(seg, "expected", int64(rcv.finSeq+1))
				}
			}
		}
	}

	if f&wire.FIN != 0 {
		an |= c.finSeg(sg)
	}
	return an
}

// syn handles a SYN without ACK.
func (c *Analyzer) syn(sg *segment) (an Anomalies) {
	seg, p, index, ts, s, ep, snd := sg.rec, sg.p, sg.index, sg.ts, sg.s, sg.ep, sg.snd
	h := &c.Handshake
	seg.Note = NoteSYN
	switch {
	case s == SideClient && !ep.HasISN:
		ep.ISN, ep.HasISN = p.Seq, true
		c.setOptions(ep, p)
		h.SYN = SegRef{index, ts}
		c.set(SideClient, SynSent, index, ts)
		if c.Server.State == Listen {
			c.set(SideServer, SynReceived, index, ts)
			c.pendingListen = true
		}
		c.addArg(seg, "isn", int64(p.Seq))
	case ep.HasISN && p.Seq == ep.ISN:
		an = c.synRetransmit(sg, s == SideClient, SYNRetransmit, &h.SYNRetransmits)
		seg.Note = NoteSYNRetransmit
	case s == SideServer && !ep.HasISN && (c.pendingListen || len(ep.Transitions) == 0):
		// Simultaneous open: the server end is an active opener too, and
		// its SYN crossed the client's. (A SYN from an end that has moved
		// on from SYN-RECEIVED changes no state: RFC 9293 3.10.7.4.)
		if c.pendingListen {
			c.unset(SideServer, h.SYN.Seg)
			c.pendingListen = false
		}
		ep.Initial, ep.State = Closed, Closed
		ep.ISN, ep.HasISN = p.Seq, true
		c.setOptions(ep, p)
		h.Simultaneous = true
		c.set(SideServer, SynSent, index, ts)
		c.set(SideServer, SynReceived, index, ts)
		if c.Client.State == SynSent {
			c.set(SideClient, SynReceived, index, ts)
		}
		seg.Note = NoteSimultaneousSYN
		c.addArg(seg, "isn", int64(p.Seq))
	}
	snd.lastSYNTime = ts
	return an
}

// synRetransmit notes a SYN or SYN-ACK sent again with the same ISN: from
// the end that opens with it, the anomaly a, listed in list; from the
// other end, a plain retransmission.
func (c *Analyzer) synRetransmit(sg *segment, opener bool, a Anomaly, list *[]Retransmit) Anomalies {
	since := sg.ts - sg.snd.lastSYNTime
	an := Anomalies(0).With(Retransmission)
	if opener {
		an = Anomalies(0).With(a)
		*list = append(*list, Retransmit{sg.index, sg.ts, time.Duration(since)})
		c.addArg(sg.rec, "n", int64(len(*list)))
	}
	c.addArg(sg.rec, "since_us", since/1e3)
	return an
}

// synAck handles a SYN-ACK.
func (c *Analyzer) synAck(sg *segment) (an Anomalies) {
	seg, p, index, ts := sg.rec, sg.p, sg.index, sg.ts
	s, r, ep, rp, snd := sg.s, sg.r, sg.ep, sg.rp, sg.snd
	h := &c.Handshake
	seg.Note = NoteSYNACK
	if ep.HasISN && p.Seq == ep.ISN && (s == SideClient || h.SYNACK.Seen()) {
		seg.Note = NoteSYNACKRetransmit
		an = c.synRetransmit(sg, s == SideServer, SYNACKRetransmit, &h.SYNACKRetransmits)
		snd.lastSYNTime = ts
		return an
	}
	if !ep.HasISN || s == SideServer && !h.SYNACK.Seen() {
		ep.ISN, ep.HasISN = p.Seq, true
		c.setOptions(ep, p)
	}
	if s == SideServer && !h.SYNACK.Seen() {
		h.SYNACK = SegRef{index, ts}
		h.SYNACKAck = p.Ack
		h.SYNACKAckOK = rp.HasISN && p.Ack == rp.ISN+1 && h.SYN.Seen()
		if h.SYN.Seen() {
			h.ServerRTT = time.Duration(ts - h.SYN.Time)
		}
		if rp.HasISN && p.Ack != rp.ISN+1 {
			an = an.With(BadHandshakeACK)
		}
		c.addArg(seg, "ack", int64(p.Ack))
		c.addArg(seg, "expected", int64(rp.ISN+1))
		c.addArg(seg, "isn", int64(p.Seq))
	}
	switch ep.State {
	case Listen:
		c.set(s, SynReceived, index, ts)
	case SynReceived:
		c.pendingListen = false
	}
	// The receiver takes the SYN-ACK if it acknowledges its SYN.
	if rp.State == SynSent || rp.State == SynReceived {
		if !rp.HasISN || p.Ack == rp.ISN+1 {
			c.set(r, Established, index, ts)
		}
	}
	snd.lastSYNTime = ts
	return an
}

// rst handles a reset.
func (c *Analyzer) rst(sg *segment) (an Anomalies) {
	seg, p, index, ts, s, r, ep, rp := sg.rec, sg.p, sg.index, sg.ts, sg.s, sg.r, sg.ep, sg.rp
	h := &c.Handshake
	td := &c.Teardown
	seg.Note = NoteRST
	if s == SideServer && c.pendingListen && !h.SYNACK.Seen() {
		// Nobody listens: the port refuses, and the server end never had
		// a state of its own.
		c.unset(SideServer, h.SYN.Seg)
		c.pendingListen = false
		ep.Initial, ep.State = Closed, Closed
		h.Refused = true
		seg.Note = NoteRefused
	}
	if s == SideClient && c.rejects(p) {
		// A client in SYN-SENT that takes a SYN-ACK acknowledges it (RFC
		// 9293 3.10.7.3); one that answers <SEQ=SEG.ACK><CTL=RST> had no
		// connection for that SYN (3.10.7.1) or found its ACK unacceptable.
		// Either way the SYN-ACK did not establish it.
		c.unset(SideClient, h.SYNACK.Seg)
		c.established = false
		h.Rejected = true
		seg.Note = NoteSYNACKRejected
	}
	if !td.RST.Seen() {
		td.RST = RST{SegRef: SegRef{index, ts}, From: s, AfterFIN: c.firstFIN != SideNone}
	}
	td.RST.Count++
	if c.d[0].finSent || c.d[1].finSent {
		an = an.With(RSTAfterFIN)
	}
	switch ep.State {
	case Closed, Listen, TimeWait:
	default:
		c.set(s, Closed, index, ts)
	}
	switch rp.State {
	case Closed, Listen:
	case SynSent:
		if p.Flags&wire.ACK != 0 && (!rp.HasISN || p.Ack == rp.ISN+1) {
			c.set(r, Closed, index, ts)
		}
	case SynReceived:
		// A passive opener goes back to LISTEN (RFC 9293 3.10.7.4); Linux
		// drops the request and the listener stays.
		if rp.Initial == Listen {
			c.set(r, Listen, index, ts)
		} else {
			c.set(r, Closed, index, ts)
		}
	default:
		// Linux drops a TIME-WAIT socket on RST (net.ipv4.tcp_rfc1337=0).
		c.set(r, Closed, index, ts)
	}
	return an
}

// rejects reports whether reset p, from the client, answers the SYN-ACK
// in its place: the first segment the client sends after it (its SYN and
// any retransmissions of it all came before), without ACK, with the
// sequence number the SYN-ACK acknowledged, while the server waits in
// SYN-RECEIVED.
func (c *Analyzer) rejects(p *wire.Packet) bool {
	h := &c.Handshake
	ep := &c.Client
	n := len(ep.Transitions)
	rtx := len(h.SYNRetransmits)
	// ep.Pkts already counts p.
	onlySYNs := ep.Pkts == uint64(rtx+2) && (rtx == 0 || h.SYNRetransmits[rtx-1].Seg < h.SYNACK.Seg)
	return p.Flags&wire.ACK == 0 && h.SYN.Seen() && h.SYNACK.Seen() && !h.ACK.Seen() && !h.Simultaneous &&
		onlySYNs && c.Server.State == SynReceived && p.Seq == h.SYNACKAck &&
		ep.State == Established && n > 0 && ep.Transitions[n-1].Seg == h.SYNACK.Seg
}

// finSeg handles the FIN bit, after the segment's ACK was processed.
func (c *Analyzer) finSeg(sg *segment) (an Anomalies) {
	seg, p, index, ts := sg.rec, sg.p, sg.index, sg.ts
	s, r, ep, rp, snd, rcv := sg.s, sg.r, sg.ep, sg.rp, sg.snd, sg.rcv
	td := &c.Teardown
	finSeq := p.Seq + uint32(p.PayloadLen)
	fi := c.fin(s)
	if snd.finSent {
		if finSeq == snd.finSeq {
			an = an.With(FINRetransmit)
			fi.Retransmits++
			seg.Note = NoteFINRetransmit
			if fi.Ack.Seen() {
				// The peer acknowledged this FIN, yet it came again: that
				// acknowledgment was lost after the capture point, so the
				// sender never left LAST-ACK (or CLOSING, FIN-WAIT-1).
				an = an.With(LostLastACK)
				td.LostLastACK = true
				if snd.lostAcks == 0 {
					snd.lostAck = fi.Ack.Seg
				}
				snd.lostAcks++
				if n := len(ep.Transitions); n > 0 && ep.Transitions[n-1].Seg == fi.Ack.Seg {
					c.unset(s, fi.Ack.Seg)
				}
				fi.Ack = SegRef{}
				fi.AckOK = false
			} else if !c.Teardown.RST.Seen() {
				c.lostFIN(r, snd, index, ts)
			}
			if rp.State == TimeWait {
				// The TIME-WAIT end acknowledges again and restarts 2MSL.
				td.TimeWait.Start = ts
			}
		}
		return an
	}
	snd.finSent, snd.finSeq = true, finSeq
	fi.SegRef = SegRef{index, ts}
	fi.Seq = finSeq
	c.addArg(seg, "seq", int64(finSeq))
	crossed := false
	if c.firstFIN == SideNone {
		c.firstFINSeen(sg)
		c.firstFIN = s
		seg.Note = NoteFIN
	} else {
		pf := c.fin(r)
		switch {
		case p.Flags&wire.ACK != 0 && seqnum.Value(p.Ack).GreaterThanEq(seqnum.Value(rcv.finSeq+1)):
			seg.Note = NoteSecondFIN
			if pf.Piggybacked && pf.Ack.Seg == index {
				seg.Note = NoteFINPiggyback
			}
		default:
			// This FIN was sent before the peer's FIN arrived: the FINs
			// crossed (simultaneous close).
			crossed = true
			c.crossed = true
			seg.Note = NoteSimultaneousFIN
		}
	}
	// The sender's state on sending.
	switch ep.State {
	case Established, SynReceived, Unknown:
		c.set(s, FinWait1, index, ts)
	case CloseWait:
		if crossed {
			// Its ack says it had not received the peer's FIN when it
			// sent its own: that FIN reached it after this one left.
			c.unset(s, c.fin(r).Seg)
			c.set(s, FinWait1, index, ts)
			c.receiveFIN(s, rcv, index, ts)
		} else {
			c.set(s, LastAck, index, ts)
		}
	}
	c.receiveFIN(r, snd, index, ts)
	return an
}

// ackNotLost undoes the lost-last-ACK reading of s's retransmitted FINs
// once s proves it received the peer's FIN, which carried the ACK of s's
// FIN presumed lost: that segment arrived, after the retransmissions left.
// s takes it where it was captured, as the receiver of any segment does,
// and the anomalies counted for the retransmissions are withdrawn.
func (c *Analyzer) ackNotLost(s Side, snd, rcv *dirState) {
	pf := c.fin(other(s))
	c.unset(s, pf.Seg)
	if ep := c.Endpoint(s); ep.State == FinWait1 {
		c.set(s, FinWait2, pf.Seg, pf.Time)
	}
	c.receiveFIN(s, rcv, pf.Seg, pf.Time)
	fi := c.fin(s)
	fi.Ack, fi.AckOK, fi.Piggybacked = pf.SegRef, true, true
	a := &c.Anomalies[LostLastACK]
	a.Count -= snd.lostAcks
	if a.Count <= 0 {
		*a = struct{ Count, First int }{}
		c.anoms &^= 1 << LostLastACK
		c.Teardown.LostLastACK = false
	}
	from := sends(s)
	for i := range c.Segments {
		if sg := &c.Segments[i]; sg.Dir == from && sg.Index > pf.Seg {
			sg.Anomalies &^= 1 << LostLastACK
		}
	}
	snd.lostAck, snd.lostAcks = 0, 0
}

// receiveFIN moves endpoint r on receiving the FIN sent in direction d,
// remembering where in r's transitions that began so that later evidence
// can take it back.
func (c *Analyzer) receiveFIN(r Side, d *dirState, index int, ts int64) {
	rp := c.Endpoint(r)
	d.finRcvd, d.finRcvAt = true, len(rp.Transitions)
	switch rp.State {
	case Established, SynReceived, Unknown:
		c.set(r, CloseWait, index, ts)
	case FinWait1:
		c.set(r, Closing, index, ts)
	case FinWait2:
		c.set(r, TimeWait, index, ts)
	}
}

// lostFIN handles a FIN of direction d that came again before any ack
// from r covered it. An endpoint acknowledges a FIN it receives at once,
// so the earlier copies were lost before r got them: r's state changes on
// receiving one are taken back, with what followed from them; r's own FIN
// and its acknowledgment, which happened without it, are replayed; and r
// receives this copy.
func (c *Analyzer) lostFIN(r Side, d *dirState, index int, ts int64) {
	rp := c.Endpoint(r)
	if !d.finRcvd || d.finRcvAt > len(rp.Transitions) {
		return
	}
	for n := len(rp.Transitions); n > d.finRcvAt; n-- {
		rp.State = rp.Transitions[n-1].From
	}
	rp.Transitions = rp.Transitions[:d.finRcvAt]
	if own := c.fin(r); own.Seen() {
		switch rp.State {
		case Established, SynReceived, Unknown:
			c.set(r, FinWait1, own.Seg, own.Time)
		}
		if own.Ack.Seen() && rp.State == FinWait1 {
			c.set(r, FinWait2, own.Ack.Seg, own.Ack.Time)
		}
	}
	c.receiveFIN(r, d, index, ts)
}
