package explain

import (
	"strconv"

	"synfin/tcpstate"
)

// steps name what a segment does in a line-by-line listing, by its note;
// "%s" is the sender (client or server). Handshake steps are numbered and
// say so; the others are prefixed with the segment's phase. Teardown
// steps are not numbered: whether a close takes three segments, four or
// ends in a reset is only known once it is over.
var steps = map[tcpstate.Note]string{
	tcpstate.NoteSYN:              "handshake 1/3: %s SYN",
	tcpstate.NoteSYNRetransmit:    "handshake 1/3: %s SYN again",
	tcpstate.NoteSimultaneousSYN:  "handshake: %s SYN too (simultaneous open)",
	tcpstate.NoteSYNACK:           "handshake 2/3: %s SYN-ACK",
	tcpstate.NoteSYNACKRetransmit: "handshake 2/3: %s SYN-ACK again",
	tcpstate.NoteHandshakeACK:     "handshake 3/3: %s ACK",
	tcpstate.NoteRefused:          "handshake refused: %s RST",
	tcpstate.NoteSYNACKRejected:   "handshake rejected: %s RST instead of the ACK",
	tcpstate.NoteData:             "%s data",
	tcpstate.NoteACK:              "%s ACK",
	tcpstate.NoteFIN:              "%s FIN",
	tcpstate.NoteSecondFIN:        "%s FIN",
	tcpstate.NoteFINPiggyback:     "%s FIN with the ACK of the first FIN",
	tcpstate.NoteSimultaneousFIN:  "%s FIN too (simultaneous close)",
	tcpstate.NoteFINRetransmit:    "%s FIN again",
	tcpstate.NoteFINACK:           "%s ACK of the FIN",
	tcpstate.NoteLastACK:          "%s last ACK",
	tcpstate.NoteRST:              "%s RST (abort)",
	tcpstate.NoteMidstream:        "%s, first seen mid-stream",
	tcpstate.NoteKeepAlive:        "%s keep-alive",
	tcpstate.NoteWindowUpdate:     "%s window update",
	tcpstate.NoteZeroWindow:       "%s zero window",
	tcpstate.NoteRetransmission:   "%s retransmission",
	tcpstate.NoteDuplicateACK:     "%s duplicate ACK",
}

// Stepper names the step each segment is in a line-by-line listing, as
// read --annotate prints it after a tcpdump line: the step, the state
// changes the segment caused (the sender's first) and the anomalies the
// step name does not already say.
//
//	[handshake 1/3: client SYN; client SYN-SENT, server SYN-RECEIVED]
//	[teardown: server FIN; server FIN-WAIT-1, client CLOSE-WAIT]
//	[data: client data (512 bytes); anomalies: previous-segment-not-captured]
//
// A listing is printed as it goes, but a later segment can prove an
// earlier inference wrong: a SYN answered by a reset never made the server
// SYN-RECEIVED; a FIN sent again shows that the first copy was lost, so
// the changes its receiver made move to the copy that arrived. Stepper
// remembers the changes it showed per connection and, when the tracker
// revises them, says so before the segment's own changes, from the last
// state both accounts share:
//
//	[teardown: client FIN again; server revised: FIN-WAIT-1 → FIN-WAIT-2 (#6); server TIME-WAIT]
//	[teardown: server FIN again; server revised: back to LAST-ACK; anomalies: lost-last-ack]
//
// The zero Stepper is ready to use.
type Stepper struct {
	// The transitions shown of each connection held, client's and
	// server's, each packed into a word (see shownAs): a capture's
	// connections held for 2MSL number in the hundred thousands.
	shown map[uint64][2][]uint64
}

// shownAs packs what tells a transition shown from another, its segment
// and its two states, into one word.
func shownAs(t tcpstate.Transition) uint64 {
	return uint64(t.Seg)<<8 | uint64(t.From&15)<<4 | uint64(t.To&15)
}

// shownState is the state a packed transition went to.
func shownState(w uint64) tcpstate.State { return tcpstate.State(w & 15) }

// Append appends the step of segment s of connection c to b. Call it as
// soon as the segment is tracked (track.Config.OnSegment).
func (st *Stepper) Append(b []byte, c *tcpstate.Conn, s *tcpstate.Segment) []byte {
	if st.shown == nil {
		st.shown = map[uint64][2][]uint64{}
	}
	shown := st.shown[c.ID]
	b = append(b, '[')
	tmpl, ok := steps[s.Note]
	if !ok {
		tmpl = "%s " + string(s.Note)
	}
	if tmpl[0] == '%' {
		b = append(b, s.Phase.String()...)
		b = append(b, ": "...)
	}
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '%' && i+1 < len(tmpl) && tmpl[i+1] == 's' {
			b = append(b, senderOf(s.Dir).String()...)
			i++
			continue
		}
		b = append(b, tmpl[i])
	}
	if s.Len > 0 {
		b = append(b, " ("...)
		b = strconv.AppendInt(b, int64(s.Len), 10)
		b = append(b, " bytes)"...)
	}
	sep := "; "
	item := func() { b = append(b, sep...); sep = ", " }
	for i, side := range [2]tcpstate.Side{tcpstate.SideClient, tcpstate.SideServer} {
		ep := c.Endpoint(side)
		before := ep.Transitions
		for len(before) > 0 && before[len(before)-1].Seg >= s.Index {
			before = before[:len(before)-1]
		}
		k := 0
		for k < len(before) && k < len(shown[i]) && shownAs(before[k]) == shown[i][k] {
			k++
		}
		if k == len(before) && k == len(shown[i]) {
			continue
		}
		base := ep.Initial
		if k > 0 {
			base = before[k-1].To
		}
		item()
		b = append(b, side.String()...)
		switch {
		case s.Note == tcpstate.NoteRefused && side == tcpstate.SideServer && k < len(shown[i]):
			b = append(b, " never in "...)
			b = append(b, shownState(shown[i][k]).String()...)
			b = append(b, ": nothing listens"...)
		case k == len(before):
			b = append(b, " revised: back to "...)
			b = append(b, base.String()...)
		default:
			b = append(b, " revised: "...)
			b = append(b, base.String()...)
			for _, t := range before[k:] {
				b = append(b, " → "...)
				b = append(b, t.To.String()...)
				b = append(b, " (#"...)
				b = strconv.AppendInt(b, int64(t.Seg), 10)
				b = append(b, ')')
			}
		}
		shown[i] = shown[i][:0]
		for _, t := range before {
			shown[i] = append(shown[i], shownAs(t))
		}
	}
	if sep == ", " {
		sep = "; "
	}
	for _, ch := range Changes(c, s) {
		item()
		b = append(b, ch.Side.String()...)
		b = append(b, ' ')
		b = append(b, ch.To.String()...)
		i := sideIndex(ch.Side)
		shown[i] = append(shown[i], shownAs(tcpstate.Transition{Seg: s.Index, From: ch.From, To: ch.To}))
	}
	st.shown[c.ID] = shown
	sep = "; anomalies: "
	for _, a := range Uncovered(s) {
		item()
		b = append(b, a.String()...)
	}
	return append(b, ']')
}

// Forget drops what Stepper remembers of connection id, once it is over.
func (st *Stepper) Forget(id uint64) { delete(st.shown, id) }

func sideIndex(s tcpstate.Side) int {
	if s == tcpstate.SideServer {
		return 1
	}
	return 0
}

// Uncovered lists the anomalies of s that its note does not already
// explain.
func Uncovered(s *tcpstate.Segment) []tcpstate.Anomaly {
	if s.Anomalies == 0 {
		return nil // most segments: no note to look up
	}
	var out []tcpstate.Anomaly
	skip := covered[s.Note]
	for _, a := range s.Anomalies.List() {
		if !containsAnomaly(skip, a) {
			out = append(out, a)
		}
	}
	return out
}
