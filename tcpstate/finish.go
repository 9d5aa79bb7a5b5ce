package tcpstate

import (
	"time"

	"synfin/seqnum"
)

// Finish settles what can only be said once a connection is over, handed
// out for why at now (Unix ns, the capture's clock): the teardown
// pattern, what the capture missed, who holds TIME-WAIT.
func (c *Analyzer) Finish(why End, now int64) {
	c.End = why
	h := &c.Handshake
	td := &c.Teardown
	if c.pendingListen {
		// A SYN nobody answered (in the capture): whether the port
		// listens is unknown.
		c.unset(SideServer, h.SYN.Seg)
		c.pendingListen = false
		c.Server.Initial, c.Server.State = Unknown, Unknown
	}
	if by := c.giveUpBy(); by != 0 && now > by {
		c.set(SideClient, Closed, 0, by)
		c.Client.Transitions[len(c.Client.Transitions)-1].Inferred = true
	}
	c.Client.Bytes, c.Server.Bytes = c.sent(C2S), c.sent(S2C)
	c.settleReadings()

	// What the capture did not show.
	if !h.Refused {
		if !h.SYN.Seen() && !h.Simultaneous {
			td.Missing |= GapSYN
		}
		if !h.SYNACK.Seen() && !h.Simultaneous {
			td.Missing |= GapSYNACK
		}
		if !h.ACK.Seen() && !h.Simultaneous && c.established {
			td.Missing |= GapHandshakeACK
		}
	}
	if c.established && !td.RST.Seen() {
		if !td.ClientFIN.Seen() {
			td.Missing |= GapClientFIN
		}
		if !td.ServerFIN.Seen() {
			td.Missing |= GapServerFIN
		}
	}
	if td.ClientFIN.Seen() && !td.ClientFIN.Ack.Seen() && !td.RST.Seen() {
		td.Missing |= GapClientFINAck
	}
	if td.ServerFIN.Seen() && !td.ServerFIN.Ack.Seen() && !td.RST.Seen() {
		td.Missing |= GapServerFINAck
	}
	if !c.Closed() && why != EndClosed && !c.gaveUp() {
		td.Missing |= GapEnd
	}

	// TIME-WAIT.
	tw := &td.TimeWait
	switch {
	case c.Client.State == TimeWait && c.Server.State == TimeWait:
		tw.Side = SideBoth
	case c.Client.State == TimeWait:
		tw.Side = SideClient
	case c.Server.State == TimeWait:
		tw.Side = SideServer
	default:
		tw.Start = 0
	}
	if tw.Side != SideNone {
		tw.Duration = c.twLen
		tw.Expired = now >= tw.Until()
	}

	td.Initiator, td.Pattern = c.teardown(why)
	if r := td.Readings; r != nil {
		td.Initiator = other(r.Other.Initiator)
	}
}

// giveUpBy is when a client whose SYN nothing answered in the capture
// would have sent its next SYN at the latest, had it still been waiting
// in SYN-SENT; 0 for any other connection, or one whose SYN was sent only
// once. The retransmission timer doubles on each expiry (RFC 6298 5.5),
// or stays the same for Linux's first few SYN retransmissions
// (tcp_syn_linear_timeouts): either way the next SYN follows the last
// within twice the time since the one before, and a quarter of it more
// for a timer that fires late (Linux's timer wheel may be an eighth
// late). A capture that runs past that without one shows that the client
// gave up (or its application closed the socket): it is CLOSED, which
// Finish infers. A copy sooner than any stack's retransmission timer
// (minRTO) was duplicated on the way, not sent again: it says nothing.
func (c *Conn) giveUpBy() int64 {
	h := &c.Handshake
	n := len(h.SYNRetransmits)
	if c.Role != RoleSYN || c.Client.State != SynSent || n == 0 || c.Server.Pkts != 0 || c.Client.Pkts != uint64(n+1) {
		return 0
	}
	last := h.SYNRetransmits[n-1]
	if last.Since < minRTO {
		return 0
	}
	return last.Time + 5*int64(last.Since)/2
}

// minRTO is the shortest retransmission timeout of the common stacks:
// Linux's TCP_RTO_MIN (RFC 6298 asks for 1 s).
const minRTO = 200 * time.Millisecond

// gaveUp reports whether Finish inferred that the client gave up.
func (c *Conn) gaveUp() bool {
	t := c.Client.Transitions
	return len(t) > 0 && t[len(t)-1].Inferred
}

// sent is the payload bytes sent in direction d, from sequence numbers,
// as finish settles them.
func (c *Analyzer) sent(d Dir) uint64 {
	if ds := &c.d[d]; ds.dataSet {
		return uint64(seqnum.Value(ds.dataStart).Size(seqnum.Value(ds.dataEnd)))
	}
	return c.Endpoint(sender(d)).Bytes
}

// teardown says who closed first and how, as finish settles it for a
// connection handed out for why, without changing c.
func (c *Analyzer) teardown(why End) (initiator Side, pattern Pattern) {
	td := &c.Teardown
	h := &c.Handshake
	cf, sf := &td.ClientFIN, &td.ServerFIN
	switch {
	case cf.Seen() && sf.Seen():
		initiator = SideClient
		if sf.Seg < cf.Seg {
			initiator = SideServer
		}
		if c.crossed {
			initiator = SideBoth
		}
	case cf.Seen():
		initiator = SideClient
	case sf.Seen():
		initiator = SideServer
	case td.RST.Seen():
		initiator = td.RST.From
	}
	bothFINs := cf.Seen() && sf.Seen()
	rstFirst := td.RST.Seen() && (!bothFINs || td.RST.Seg < max(cf.Seg, sf.Seg))
	switch {
	case h.Refused:
		return SideServer, PatternRefused
	case rstFirst && c.established:
		return td.RST.From, PatternAbort
	case !c.established:
		if td.RST.Seen() {
			initiator = td.RST.From
		}
		return initiator, PatternNone
	case !bothFINs || !c.Closed() && why != EndClosed && !td.RST.Seen():
		return initiator, PatternIncomplete
	case initiator == SideBoth:
		return initiator, PatternSimultaneous
	case td.HalfCloseBytes > 0:
		return initiator, PatternHalfClose
	case c.fin(other(initiator)).Seg == c.fin(initiator).Ack.Seg:
		return initiator, PatternThreeSegment
	}
	return initiator, PatternFourSegment
}
