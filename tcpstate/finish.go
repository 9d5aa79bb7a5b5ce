package tcpstate

// finish settles what can only be said once a connection is over: the
// teardown pattern, what the capture missed, who holds TIME-WAIT.
func (c *conn) finish(why End, now int64) {
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
	for i, ep := range [2]*Endpoint{&c.Client, &c.Server} {
		d := &c.d[i]
		if d.dataSet {
			ep.Bytes = uint64(Seq(d.dataEnd).Size(Seq(d.dataStart)))
		}
	}

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
	if !c.bothClosed() && why != EndClosed {
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

	// Who closed first, and how.
	cf, sf := &td.ClientFIN, &td.ServerFIN
	switch {
	case cf.Seen() && sf.Seen():
		td.Initiator = SideClient
		if sf.Seg < cf.Seg {
			td.Initiator = SideServer
		}
		if c.crossed {
			td.Initiator = SideBoth
		}
	case cf.Seen():
		td.Initiator = SideClient
	case sf.Seen():
		td.Initiator = SideServer
	case td.RST.Seen():
		td.Initiator = td.RST.From
	}
	bothFINs := cf.Seen() && sf.Seen()
	rstFirst := td.RST.Seen() && (!bothFINs || td.RST.Seg < max(cf.Seg, sf.Seg))
	switch {
	case h.Refused:
		td.Pattern = PatternRefused
		td.Initiator = SideServer
	case rstFirst && c.established:
		td.Pattern = PatternAbort
		td.Initiator = td.RST.From
	case !c.established:
		td.Pattern = PatternNone
		if td.RST.Seen() {
			td.Initiator = td.RST.From
		}
	case !bothFINs || !c.bothClosed() && why != EndClosed && !td.RST.Seen():
		td.Pattern = PatternIncomplete
	case td.Initiator == SideBoth:
		td.Pattern = PatternSimultaneous
	case td.HalfCloseBytes > 0:
		td.Pattern = PatternHalfClose
	case c.fin(other(td.Initiator)).Seg == c.fin(td.Initiator).Ack.Seg:
		td.Pattern = PatternThreeSegment
	default:
		td.Pattern = PatternFourSegment
	}
	if c.zeek != nil {
		c.Zeek = c.zeek.Fields()
	}
}
