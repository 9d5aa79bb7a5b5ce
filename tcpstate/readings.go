package tcpstate

import (
	"synfin/internal/snapshot"
	"synfin/wire"
)

// A capture that starts mid-connection can show one end's FIN first and
// nothing that says whether the other end had closed before the capture
// began. Then two readings fit the packets:
//
//   - the end whose FIN is captured (X) closed first: it goes to
//     FIN-WAIT-1 and, on the peer's ACK, FIN-WAIT-2; the peer (Y) goes to
//     CLOSE-WAIT, and its FIN, if it ever comes, comes after the capture;
//   - Y closed first, before the capture: X sat in CLOSE-WAIT, its FIN is
//     the second and takes it to LAST-ACK and, on Y's ACK, CLOSED; Y, in
//     FIN-WAIT-2, goes to TIME-WAIT on X's FIN.
//
// Y's ACK of X's FIN has the same numbers in both. What can tell them
// apart: data from Y after X's FIN, or Y's own FIN with X's FIN's
// acknowledgment as its sequence number (Y had not closed: the analysis
// goes on as usual); X's FIN acknowledging exactly the end of Y's data
// seen before it (the same); X's FIN acknowledging one sequence number
// more than anything seen from Y (a FIN that was not captured); and the
// time stamps: X's FIN echoes the last time stamp X took from Y, and
// Y's answer carries Y's clock now, so their difference is how long Y
// had sent nothing before X's FIN. The analyzer follows the first
// reading as it goes; Finish ranks the two by these clues, adopts the
// second if it ranks first, and keeps the other in Teardown.Readings.

// Readings is what a connection whose capture cannot decide who closed
// first keeps of the reading its states do not follow (ranked second),
// and what ranked them.
type Readings struct {
	Other Reading
	Clues []Clue
}

// Reading is one account of a close: who closed first, and both ends'
// states in it.
type Reading struct {
	Initiator      Side
	Client, Server ReadingEnd
}

// ReadingEnd is one end's states in a reading.
type ReadingEnd struct {
	Initial, Final State
	Transitions    []Transition
}

// ClueKind names what a clue is.
type ClueKind uint8

// Clues.
const (
	// ClueEcho: the first FIN echoes the peer's time stamp Ticks before
	// the peer's answer to it: the peer had sent nothing for that long.
	// A long silence (at least EchoSilence ticks) favours the reading in
	// which the peer had closed.
	ClueEcho ClueKind = iota
	// ClueAckGap: the first FIN acknowledges one sequence number more
	// than anything seen from the peer, which a FIN of the peer that was
	// not captured would take.
	ClueAckGap
)

var clueNames = [...]string{"timestamp-echo", "ack-gap"}

func (k ClueKind) String() string { return clueNames[k] }

// EchoSilence is the silence, in time stamp ticks, from which ClueEcho
// favours the reading in which the peer had closed: at 1 ms a tick (as
// Linux counts) 200 ms, longer than an end holds back the acknowledgment
// of data it received (Linux's delayed ACK is at most 200 ms), so that
// nothing was being exchanged: the peer had said its last.
const EchoSilence = 200

// Clue is one thing the capture shows that ranks the readings.
type Clue struct {
	Kind ClueKind
	// Favours is the initiator of the reading the clue favours;
	// SideNone if neither.
	Favours Side
	Seg     int // the first FIN's frame
	// ClueEcho: the frame of the peer's answer, the FIN's echo (TSecr)
	// and the answer's own time stamp (TSval).
	Reply    int
	Ecr, Val uint32
}

// Ticks is how far, for ClueEcho, the answer's time stamp is past the
// FIN's echo: how long the peer had sent nothing, in its clock's ticks.
func (c Clue) Ticks() uint32 { return c.Val - c.Ecr }

// undecided is what the analyzer gathers, as segments come, for
// readings: set at a first FIN that came mid-stream with nothing before
// it to show whether the peer had closed, cleared when a later segment
// decides.
type undecided struct {
	on, hasEcr, replied, ackGap bool
	fin, reply                  int    // frames of the FIN and of the peer's answer
	ecr, val                    uint32 // the FIN's echo and the answer's TSval
}

// firstFIN is called at the first FIN of the connection, from s, before
// the states change. sg.rcv is the peer's direction.
func (c *Analyzer) firstFINSeen(sg *segment) {
	if c.Role != RolePort || sg.ep.State != Unknown || sg.rp.State != Unknown {
		return
	}
	y, ack := sg.rcv, sg.p.Ack
	if y.dataSet && ack == y.dataEnd {
		return // all the peer's data and nothing more: it had not closed
	}
	u := &c.und
	*u = undecided{on: true, fin: sg.index}
	u.ackGap = y.nextSeq != 0 && ack == y.nextSeq+1
	if o := wire.ParseOptions(sg.p.Options); o.HasTS {
		u.hasEcr, u.ecr = true, o.TSEcr
	}
}

// afterFirstFIN looks at a segment after the first FIN while the close
// is undecided.
func (c *Analyzer) afterFirstFIN(sg *segment) {
	u := &c.und
	p := sg.p
	if sg.index == u.fin {
		return
	}
	if p.PayloadLen > 0 || p.Flags&(wire.FIN|wire.RST) != 0 {
		// Data or a FIN after the first FIN (the peer's own: it had not
		// closed), or a reset: the analysis as it went stands.
		u.on = false
		return
	}
	if sg.s != c.firstFIN && !u.replied {
		if o := wire.ParseOptions(p.Options); o.HasTS {
			u.replied, u.reply, u.val = true, sg.index, o.TSVal
		}
	}
}

// readings works out, for an undecided close, the reading the analysis
// did not follow (the peer closed first, before the capture), the clues
// and whether they rank that reading first. ok is false when the close
// is not undecided.
func (c *Analyzer) readings() (alt Reading, clues []Clue, first, ok bool) {
	u := &c.und
	x := c.firstFIN
	if !u.on || x == SideNone || c.Teardown.RST.Seen() {
		return Reading{}, nil, false, false
	}
	y := other(x)
	xe, ye := c.Endpoint(x), c.Endpoint(y)
	if c.fin(y).Seen() || xe.State != FinWait1 && xe.State != FinWait2 || ye.State != CloseWait {
		return Reading{}, nil, false, false
	}
	// The peer's reception of the FIN: the copy the analysis has it take.
	recv := ye.Transitions[len(ye.Transitions)-1]
	f := c.fin(x)
	xr := ReadingEnd{Initial: CloseWait, Final: LastAck,
		Transitions: []Transition{{Time: f.Time, Seg: f.Seg, From: CloseWait, To: LastAck}}}
	if f.Ack.Seen() {
		xr.Final = Closed
		xr.Transitions = append(xr.Transitions, Transition{Time: f.Ack.Time, Seg: f.Ack.Seg, From: LastAck, To: Closed})
	}
	yr := ReadingEnd{Initial: FinWait2, Final: TimeWait,
		Transitions: []Transition{{Time: recv.Time, Seg: recv.Seg, From: FinWait2, To: TimeWait}}}
	alt.Initiator = y
	*alt.end(x), *alt.end(y) = xr, yr

	score := 0
	if u.ackGap {
		clues = append(clues, Clue{Kind: ClueAckGap, Favours: y, Seg: u.fin})
		score += 2
	}
	if u.hasEcr && u.replied {
		cl := Clue{Kind: ClueEcho, Seg: u.fin, Reply: u.reply, Ecr: u.ecr, Val: u.val}
		if int32(cl.Ticks()) >= 0 {
			if cl.Ticks() >= EchoSilence {
				cl.Favours = y
				score++
			}
			clues = append(clues, cl)
		}
	}
	return alt, clues, score > 0, true
}

func (r *Reading) end(s Side) *ReadingEnd {
	if s == SideServer {
		return &r.Server
	}
	return &r.Client
}

// readingOf is the reading the analysis followed, as it stands.
func (c *Analyzer) readingOf() Reading {
	end := func(e *Endpoint) ReadingEnd {
		return ReadingEnd{Initial: e.Initial, Final: e.State, Transitions: append([]Transition(nil), e.Transitions...)}
	}
	return Reading{Initiator: c.firstFIN, Client: end(&c.Client), Server: end(&c.Server)}
}

// settleReadings, from Finish, keeps the readings of an undecided close
// and, when the clues rank the other reading first, adopts it: the
// endpoints' states, the kept segments' states and notes, who closed
// first and where TIME-WAIT began.
func (c *Analyzer) settleReadings() {
	alt, clues, first, ok := c.readings()
	if !ok {
		return
	}
	if !first {
		c.Teardown.Readings = &Readings{Other: alt, Clues: clues}
		return
	}
	c.Teardown.Readings = &Readings{Other: c.readingOf(), Clues: clues}
	for _, s := range [2]Side{SideClient, SideServer} {
		e, r := c.Endpoint(s), alt.end(s)
		e.Initial, e.State, e.Transitions = r.Initial, r.Final, r.Transitions
	}
	y := alt.Initiator
	c.Teardown.TimeWait.Start = alt.end(y).Transitions[0].Time
	x := other(y)
	f := c.fin(x)
	for i := range c.Segments {
		sg := &c.Segments[i]
		if sg.Index < f.Seg {
			continue
		}
		sg.Client, sg.Server = c.Client.StateAfter(sg.Index), c.Server.StateAfter(sg.Index)
		switch {
		case sg.Index == f.Seg:
			sg.Note = NoteSecondFIN
		case sg.Index == f.Ack.Seg && sg.Note == NoteFINACK:
			sg.Note = NoteLastACK
		}
	}
}

// adoptedFinals are the final states Finish will settle on: the other
// reading's when it ranks first (for a brief written before Finish).
func (c *Analyzer) adoptedFinals() (client, server State) {
	if alt, _, first, ok := c.readings(); ok && first {
		return alt.Client.Final, alt.Server.Final
	}
	return c.Client.State, c.Server.State
}

// appendUndecided and loadUndecided keep the readings' clues in a
// snapshot.
func (c *Analyzer) appendUndecided(w *snapshot.Writer) {
	u := &c.und
	w.Bools(u.on, u.hasEcr, u.replied, u.ackGap)
	if u.on {
		w.Ref(u.fin, c.First.Seg)
		w.Ref(u.reply, c.First.Seg)
		w.Uint(uint64(u.ecr))
		w.Uint(uint64(u.val))
	}
}

func (c *Analyzer) loadUndecided(r *snapshot.Reader) {
	u := &c.und
	r.Bools(&u.on, &u.hasEcr, &u.replied, &u.ackGap)
	if u.on {
		u.fin = r.Ref(c.First.Seg)
		u.reply = r.Ref(c.First.Seg)
		u.ecr = uint32(r.Uint())
		u.val = uint32(r.Uint())
	}
}
