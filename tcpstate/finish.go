package tcpstate

import "synfin/seqnum"

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
	c.Client.Bytes, c.Server.Bytes = c.sent(C2S), c.sent(S2C)

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
	if !c.Closed() && why != EndClosed {
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
