package tcpstate

import (
	"synfin/seqnum"
	"synfin/wire"
)

// defaultOOOThreshold is Wireshark's out-of-order threshold when the
// handshake round trip is unknown.
const defaultOOOThreshold = 3e6 // ns

// analyze classifies one segment the way Wireshark's TCP sequence analysis
// does (tcp_analyze_sequence_number in epan/dissectors/packet-tcp.c), so
// that synfin's anomaly names mean what tshark's tcp.analysis flags mean.
// It runs in capture order on per-direction state and does not allocate.
func (c *Analyzer) analyze(sg *segment) (an Anomalies) {
	fwd, rev, p, ts := sg.snd, sg.rcv, sg.p, sg.ts
	seq, ack := p.Seq, p.Ack
	seglen := uint32(p.PayloadLen)
	flags := p.Flags
	window := p.Window
	control := flags&(wire.SYN|wire.FIN|wire.RST) != 0

	if !fwd.baseSet {
		fwd.base = seq - 1
		if flags&wire.SYN != 0 {
			fwd.base = seq
		}
		fwd.baseSet = true
	}
	if !rev.baseSet && flags&wire.ACK != 0 {
		rev.base = ack - 1
		rev.baseSet = true
	}

	// Every check below compares with the previous segment of the same
	// direction; a jump past the highest sequence number seen means the
	// capture missed something.
	same := seq == fwd.nextSeq && ack == fwd.lastAck && !control
	switch {
	case seglen == 1 && seq == fwd.nextSeq && rev.window == 0:
		an = an.With(ZeroWindowProbe)
		goto finishedFwd
	}
	if window == 0 && !control {
		an = an.With(ZeroWindow)
	}
	if fwd.nextSeq != 0 && seqnum.Value(seq).GreaterThan(seqnum.Value(fwd.nextSeq)) && flags&wire.RST == 0 {
		an = an.With(PrevSegmentNotCaptured)
	}
	if seglen <= 1 && seq == fwd.nextSeq-1 && !control {
		an = an.With(KeepAlive)
	}
	if seglen == 0 && window != 0 && window != fwd.window && same {
		an = an.With(WindowUpdate)
	}
	if seglen > 0 && rev.scale != -1 && !control {
		// A SYN's window is never scaled (RFC 7323 2.2), so Wireshark
		// shifts the peer's window only once its last segment was not a
		// SYN (is_first_ack); a SYN is the peer's last segment when its
		// time is the peer's last one.
		shift := uint(0)
		if rev.scale > 0 && rev.lastSYNTime != rev.lastAckTime {
			shift = uint(rev.scale)
		}
		if seq+seglen == rev.lastAck+uint32(rev.window)<<shift {
			an = an.With(WindowFull)
		}
	}
	if seglen == 0 && window != 0 && window == fwd.window && same && rev.lastFlags.Has(KeepAlive) {
		an = an.With(KeepAliveACK)
		goto finishedFwd
	}
	if seglen == 0 && window == 0 && window == fwd.window && same && rev.lastFlags.Has(ZeroWindowProbe) {
		goto finishedFwd // a zero window probe's ACK
	}
	if seglen == 0 && window != 0 && window == fwd.window && same {
		if fwd.dupAcks == -1 {
			fwd.dupAcks = 1
		} else {
			fwd.dupAcks++
		}
		an = an.With(DuplicateACK)
	}

finishedFwd:
	if ack != fwd.lastAck {
		fwd.dupAcks = 0
	}
	if rev.maxSeqToBeAcked != 0 && seqnum.Value(ack).GreaterThan(seqnum.Value(rev.maxSeqToBeAcked)) && flags&wire.ACK != 0 {
		// A mark behind the highest sequence number seen catches up and
		// the ACK is flagged; a mark already there is flagged only by
		// the first such ACK until the peer's own ACK moves (dupAcks -1),
		// so a run of ACKs past the same unseen segment counts once.
		if seqnum.Value(rev.maxSeqToBeAcked).LessThan(seqnum.Value(rev.nextSeq)) {
			rev.maxSeqToBeAcked = rev.nextSeq
			an = an.With(ACKedUnseenSegment)
		} else {
			if rev.dupAcks == 0 {
				an = an.With(ACKedUnseenSegment)
			}
			rev.dupAcks = -1
		}
	}

	if seglen > 0 || flags&(wire.SYN|wire.FIN) != 0 {
		notAdvanced := fwd.nextSeq != 0 && seqnum.Value(seq).LessThan(seqnum.Value(fwd.nextSeq))
		synFin := uint32(0)
		if flags&(wire.SYN|wire.FIN) != 0 {
			synFin = 1
		}
		switch {
		case an.Has(KeepAlive):
		case seglen > 0 && rev.lastAck != 0 && seqnum.Value(seq+seglen).LessThanEq(seqnum.Value(rev.lastAck)):
			an = an.With(SpuriousRetransmission)
		default:
			if seglen > 1 && fwd.nextSeq-1 == seq {
				notAdvanced = false
			}
			thres := int64(defaultOOOThreshold)
			if c.firstRTT > 0 {
				thres = c.firstRTT
			}
			switch {
			case notAdvanced && rev.dupAcks >= 2 && rev.lastAck == seq && since(ts, rev.lastAckTime) < 20e6:
				an = an.With(FastRetransmission)
			case notAdvanced && since(ts, fwd.nextSeqTime) < uint64(thres) && fwd.nextSeq != seq+seglen+synFin:
				an = an.With(OutOfOrder)
			case notAdvanced:
				an = an.With(Retransmission)
			}
		}
	}

	{
		next := seq + seglen
		if flags&(wire.SYN|wire.FIN) != 0 {
			next++
		}
		zwp := an.Has(ZeroWindowProbe)
		if (seqnum.Value(next).GreaterThan(seqnum.Value(fwd.nextSeq)) || fwd.nextSeq == 0) && !zwp {
			fwd.nextSeq = next
			fwd.nextSeqTime = ts
		}
		if (seq == fwd.maxSeqToBeAcked || fwd.maxSeqToBeAcked == 0) && !zwp {
			fwd.maxSeqToBeAcked = fwd.nextSeq
		}
	}
	fwd.window = window
	fwd.lastAck = ack
	fwd.lastAckTime = ts
	fwd.lastFlags = an
	return an
}

// since is the time from then to now as Wireshark computes it, unsigned:
// a time stamp that goes backwards gives a huge interval, not a small one.
func since(now, then int64) uint64 { return uint64(now - then) }
