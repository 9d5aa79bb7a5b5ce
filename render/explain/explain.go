package explain

import (
	"slices"
	"strconv"
	"time"

	"synfin/tcpstate"
	"synfin/wire"
)

// Change is one endpoint's state change caused by a segment: the sender
// changes state when it sends, the receiver when it receives.
type Change struct {
	Side     tcpstate.Side
	From, To tcpstate.State
	Sending  bool
	Why      Msg
}

// Step is one segment of the timeline with what it changed and teaches.
type Step struct {
	Seg     *tcpstate.Segment
	Changes []Change
	Notes   []Msg
	// Since is the time since the connection's previous segment.
	Since time.Duration
}

// Explanation is a connection explained in messages.
type Explanation struct {
	Conn    *tcpstate.Conn
	Title   Msg
	Header  []Msg // roles and the frames of the capture it covers
	Verdict []Msg
	Steps   []Step
	Missing []Msg
	Summary []Msg

	// data, when not nil, sums up the data phase: Write tells it in place
	// of its steps, and does not make Steps.
	data *DataPhase
	dp   DataPhase // data's storage
	// args holds the arguments of the messages of the explanation, and
	// stepArgs those of the step being written (reused from step to step
	// when Write writes each step before making the next).
	args, stepArgs arena
	forWrite       bool // made by explain, for Write
	// msgs is the storage of Header and Verdict, then of Missing and
	// Summary; step, that of a step's changes and notes.
	msgs []Msg
	step Step
}

// arena hands out the arguments of messages from one slice, rather
// than a slice a message (M).
type arena []Arg

// m is the message of key and args, its arguments in a, or on their own
// without a.
func (a *arena) m(key Msg, args ...Arg) Msg {
	switch {
	case len(args) == 0:
		return key
	case a == nil:
		key.Args = slices.Clone(args)
		return key
	}
	start := len(*a)
	*a = append(*a, args...)
	key.Args = (*a)[start:len(*a):len(*a)]
	return key
}

// The messages made for every connection, their catalogue entries found
// once (msg) rather than at every message printed.
var (
	mHdrCPort               = msg("hdr.c.port")
	mHdrCSyn                = msg("hdr.c.syn")
	mHdrCSynack             = msg("hdr.c.synack")
	mHdrFrames              = msg("hdr.frames")
	mHdrOthers              = msg("hdr.others")
	mHdrSListen             = msg("hdr.s.listen")
	mHdrSPort               = msg("hdr.s.port")
	mHdrSRefused            = msg("hdr.s.refused")
	mHdrSSimul              = msg("hdr.s.simul")
	mHdrSUnknown            = msg("hdr.s.unknown")
	mHdrTitle               = msg("hdr.title")
	mMissClosewait          = msg("miss.closewait")
	mMissFinwait2           = msg("miss.finwait2")
	mMissMidstream          = msg("miss.midstream")
	mMissMidstreamReading   = msg("miss.midstream.reading")
	mMissTitle              = msg("miss.title")
	mNoteAck                = msg("note.ack")
	mNoteData               = msg("note.data")
	mNoteDuplicateAck       = msg("note.duplicate-ack")
	mNoteFinAck             = msg("note.fin-ack")
	mNoteFinAckBad          = msg("note.fin-ack.bad")
	mNoteFinRetransmit      = msg("note.fin-retransmit")
	mNoteHandshakeAck       = msg("note.handshake-ack")
	mNoteHandshakeAckBad    = msg("note.handshake-ack.bad")
	mNoteKeepAlive          = msg("note.keep-alive")
	mNoteLastAck            = msg("note.last-ack")
	mNoteLastAckLost        = msg("note.last-ack.lost")
	mNoteMidstream          = msg("note.midstream")
	mNoteRefused            = msg("note.refused")
	mNoteRetransmission     = msg("note.retransmission")
	mNoteRst                = msg("note.rst")
	mNoteRstAfterFin        = msg("note.rst.after-fin")
	mNoteSimultaneousSyn    = msg("note.simultaneous-syn")
	mNoteSyn                = msg("note.syn")
	mNoteSynAck             = msg("note.syn-ack")
	mNoteSynAckRejected     = msg("note.syn-ack-rejected")
	mNoteSynAckRetransmit   = msg("note.syn-ack-retransmit")
	mNoteSynAckBad          = msg("note.syn-ack.bad")
	mNoteSynAckInferred     = msg("note.syn-ack.inferred")
	mNoteSynRetransmit      = msg("note.syn-retransmit")
	mNoteSynRetransmitOther = msg("note.syn-retransmit.other")
	mNoteWindowUpdate       = msg("note.window-update")
	mNoteZeroWindow         = msg("note.zero-window")
	mPAbortRst              = msg("p.abort-rst")
	mPHalfClose             = msg("p.half-close")
	mPIncompleteFin         = msg("p.incomplete.fin")
	mSumAgreed              = msg("sum.agreed")
	mSumAn                  = msg("sum.an")
	mSumBytes               = msg("sum.bytes")
	mSumEnd                 = msg("sum.end")
	mSumIsn                 = msg("sum.isn")
	mSumPath                = msg("sum.path")
	mSumPathInferred        = msg("sum.path.inferred")
	mSumReuse               = msg("sum.reuse")
	mSumReuse2              = msg("sum.reuse2")
	mSumTitle               = msg("sum.title")
	mTlChange               = msg("tl.change")
	mTlTitle                = msg("tl.title")
	mTlTitleReading         = msg("tl.title.reading")
	mUiLadder               = msg("ui.ladder")
	mVAn                    = msg("v.an")
	mVAnNone                = msg("v.an.none")
	mVClueAckgap            = msg("v.clue.ackgap")
	mVClueEcho              = msg("v.clue.echo")
	mVClueEchoRecent        = msg("v.clue.echo.recent")
	mVClueNone              = msg("v.clue.none")
	mVFinal                 = msg("v.final")
	mVFinalReading          = msg("v.final.reading")
	mVFollows               = msg("v.follows")
	mVHalfAcked             = msg("v.half.acked")
	mVHalfOpen              = msg("v.half.open")
	mVHalfPiggy             = msg("v.half.piggy")
	mVHalfRst               = msg("v.half.rst")
	mVHalfUnacked           = msg("v.half.unacked")
	mVHsBad                 = msg("v.hs.bad")
	mVHsComplete            = msg("v.hs.complete")
	mVHsGaveup              = msg("v.hs.gaveup")
	mVHsMidstream           = msg("v.hs.midstream")
	mVHsPartial             = msg("v.hs.partial")
	mVHsRefused             = msg("v.hs.refused")
	mVHsRejected            = msg("v.hs.rejected")
	mVHsRetries             = msg("v.hs.retries")
	mVHsSimul               = msg("v.hs.simul")
	mVHsUnanswered          = msg("v.hs.unanswered")
	mVInitiator             = msg("v.initiator")
	mVReadingBefore         = msg("v.reading.before")
	mVReadingFirst          = msg("v.reading.first")
	mVTitle                 = msg("v.title")
	mVTw                    = msg("v.tw")
	mVTwEvicted             = msg("v.tw.evicted")
	mVTwHeld                = msg("v.tw.held")
	mVTwOver                = msg("v.tw.over")
	mVTwReused              = msg("v.tw.reused")
	mVTwRunning             = msg("v.tw.running")
	mVUndecided             = msg("v.undecided")
	mXAnomaly               = msg("x.anomaly")
	mXFinLen                = msg("x.fin-len")
	mXFour                  = msg("x.four")
	mXHalf                  = msg("x.half")
	mXOpts                  = msg("x.opts")
	mXTimewait              = msg("x.timewait")
	mXTimewaitOther         = msg("x.timewait.other")
)

// m is the message of key and args, its arguments in e's arena.
func (e *Explanation) m(key Msg, args ...Arg) Msg { return e.args.m(key, args...) }

// Explain builds the explanation of c, a step per segment. The connection
// should have been tracked with track.Config.Segments; without segments
// the timeline is empty and the rest still holds.
func Explain(c *tcpstate.Conn) *Explanation {
	e := newExplanation(c)
	e.parts()
	e.timeline()
	return e
}

// explain builds the explanation of c for Write into e, in e's storage
// of the connection before: its steps are made as they are written
// (eachStep), not kept in Steps, and its data phase is summed up when
// collapse is set and Collapse says so.
func (e *Explanation) explain(c *tcpstate.Conn, collapse bool) {
	e.reset(c)
	e.forWrite, e.stepArgs = true, e.stepArgs[:0]
	if d, ok := Collapse(c); ok && collapse {
		e.dp = d
		e.data = &e.dp
	}
	e.head() // the rest once the head is written (Write)
}

// newExplanation is an explanation of c with room for the messages and
// arguments of an ordinary connection, so that they do not grow from
// nothing a step at a time.
func newExplanation(c *tcpstate.Conn) *Explanation {
	e := &Explanation{}
	e.reset(c)
	return e
}

// reset makes e an empty explanation of c, in the storage e has.
func (e *Explanation) reset(c *tcpstate.Conn) {
	if e.msgs == nil {
		e.msgs, e.args = make([]Msg, 16), make(arena, 0, 32)
		e.step = Step{Changes: make([]Change, 0, 4), Notes: make([]Msg, 0, 4)}
	}
	*e = Explanation{Conn: c, args: e.args[:0], stepArgs: e.stepArgs, msgs: e.msgs, step: e.step,
		Header: e.msgs[0:0:4], Verdict: e.msgs[4:4:16]}
}

// parts makes all of the explanation but its steps.
func (e *Explanation) parts() {
	e.head()
	e.tail()
}

// head makes the title, header and verdict.
func (e *Explanation) head() {
	c := e.Conn
	ca, sa := c.Client.AddrPort().String(), c.Server.AddrPort().String()
	e.Title = e.m(mHdrTitle, num("id", c.ID), str("client", ca), str("server", sa))
	e.header(ca, sa)
	e.verdict()
}

// tail makes what the capture missed and the summary.
func (e *Explanation) tail() {
	e.missing()
	e.summary()
}

// tailAfterHead is tail for Write, once the head is written: in the
// storage of the head's messages and arguments, which it no longer needs.
func (e *Explanation) tailAfterHead() {
	e.args, e.Missing, e.Summary = e.args[:0], e.msgs[0:0:4], e.msgs[4:4:16]
	e.Title, e.Header, e.Verdict = Msg{}, nil, nil
	e.tail()
}

func sideWord(s tcpstate.Side) word {
	switch s {
	case tcpstate.SideServer:
		return sideWords[1]
	case tcpstate.SideBoth:
		return sideWords[2]
	}
	return sideWords[0]
}

func senderOf(d tcpstate.Dir) tcpstate.Side {
	if d == tcpstate.S2C {
		return tcpstate.SideServer
	}
	return tcpstate.SideClient
}

func otherSide(s tcpstate.Side) tcpstate.Side {
	if s == tcpstate.SideServer {
		return tcpstate.SideClient
	}
	return tcpstate.SideServer
}

// header says the roles of the client (address ca) and the server (sa).
func (e *Explanation) header(ca, sa string) {
	c := e.Conn
	switch c.Role {
	case tcpstate.RoleSYN:
		e.Header = append(e.Header, e.m(mHdrCSyn, str("addr", ca)))
	case tcpstate.RoleSYNACK:
		e.Header = append(e.Header, e.m(mHdrCSynack, str("addr", ca)))
	default:
		e.Header = append(e.Header, e.m(mHdrCPort, str("addr", ca)))
	}
	h := &c.Handshake
	switch {
	case h.Refused:
		e.Header = append(e.Header, e.m(mHdrSRefused, str("addr", sa)))
	case h.Simultaneous:
		e.Header = append(e.Header, e.m(mHdrSSimul, str("addr", sa)))
	case c.Role == tcpstate.RolePort:
		e.Header = append(e.Header, e.m(mHdrSPort, str("addr", sa)))
	case c.Server.Initial == tcpstate.Unknown:
		e.Header = append(e.Header, e.m(mHdrSUnknown, str("addr", sa)))
	default:
		e.Header = append(e.Header, e.m(mHdrSListen, str("addr", sa)))
	}
	if len(c.Segments) > 0 {
		frames, contiguous := frameRanges(c.Segments)
		e.Header = append(e.Header, e.m(mHdrFrames, str("frames", frames), num("n", len(c.Segments)), clock("start", c.First.Time), clock("end", c.Last.Time), dur("dur", c.Duration())))
		if !contiguous {
			e.Header = append(e.Header, e.m(mHdrOthers))
		}
	}
}

// frameRanges lists frame indexes as runs ("1-3", "6", "7"), packed as a
// list argument so that each language joins them its own way, and says
// whether they are one run.
func frameRanges(segs []tcpstate.Segment) (string, bool) {
	l := list(make([]byte, 0, 256))
	runs := 0
	for i := 0; i < len(segs); {
		runs++
		j := i
		for j+1 < len(segs) && segs[j+1].Index == segs[j].Index+1 {
			j++
		}
		switch {
		case j == i+1:
			l = l.value(segs[i].Index, -1)
			l = l.value(segs[j].Index, -1)
		case j > i+1:
			l = l.value(segs[i].Index, segs[j].Index)
		default:
			l = l.value(segs[i].Index, -1)
		}
		i = j + 1
	}
	return l.arg(), runs <= 1
}

func (e *Explanation) verdict() {
	c := e.Conn
	h := &c.Handshake
	td := &c.Teardown
	v := &e.Verdict
	switch {
	case h.Refused:
		*v = append(*v, e.m(mVHsRefused, num("syn", h.SYN.Seg), num("rst", td.RST.Seg)))
	case h.Simultaneous:
		*v = append(*v, e.m(mVHsSimul))
	case h.Rejected:
		*v = append(*v, e.m(mVHsRejected, num("synack", h.SYNACK.Seg), num("rst", td.RST.Seg)))
	case h.Complete:
		*v = append(*v, e.m(mVHsComplete, num("syn", h.SYN.Seg), num("synack", h.SYNACK.Seg), num("ack", h.ACK.Seg), dur("rtt", h.RTT())))
	case h.SYN.Seen() && h.SYNACK.Seen() && h.ACK.Seen():
		*v = append(*v, e.m(mVHsBad))
	case h.SYN.Seen() && !h.SYNACK.Seen() && !h.ACK.Seen() && !c.Server.HasISN:
		*v = append(*v, e.m(mVHsUnanswered))
	case h.SYN.Seen() || h.SYNACK.Seen() || h.ACK.Seen():
		seen := list(make([]byte, 0, 64))
		for _, p := range []struct {
			r    tcpstate.SegRef
			name string
		}{{h.SYN, "SYN"}, {h.SYNACK, "SYN-ACK"}, {h.ACK, "ACK"}} {
			if p.r.Seen() {
				seen = seen.add("w.v", "v", p.name+" #"+itoa(p.r.Seg))
			}
		}
		*v = append(*v, e.m(mVHsPartial, str("seen", seen.arg())))
	default:
		*v = append(*v, e.m(mVHsMidstream))
	}
	if n := len(h.SYNRetransmits); n > 0 {
		last := h.SYNRetransmits[n-1]
		*v = append(*v, e.m(mVHsRetries, num("n", n+1), dur("wait", time.Duration(last.Time-h.SYN.Time))))
		if t, ok := inferred(&c.Client); ok {
			*v = append(*v, e.m(mVHsGaveup, num("seg", last.Seg), clock("by", t.Time), dur("wait", time.Duration(t.Time-last.Time))))
		}
	}
	switch {
	case td.Pattern == tcpstate.PatternHalfClose:
		*v = append(*v, e.m(mPHalfClose, num("bytes", td.HalfCloseBytes)))
	case td.Pattern == tcpstate.PatternAbort:
		*v = append(*v, e.m(mPAbortRst, wd("side", sideWord(td.RST.From))))
	case td.Readings != nil:
		*v = append(*v, e.m(mPIncompleteFin))
		*v = e.appendReadings(*v)
	default:
		*v = append(*v, e.m(msg("p."+td.Pattern.String())))
	}
	if td.Readings == nil && (td.Initiator == tcpstate.SideClient || td.Initiator == tcpstate.SideServer) {
		if td.Pattern != tcpstate.PatternAbort && td.Pattern != tcpstate.PatternRefused && td.Pattern != tcpstate.PatternNone {
			*v = append(*v, e.m(mVInitiator, wd("side", sideWord(td.Initiator))))
		}
	}
	*v = e.appendHalves(*v)
	final := mVFinal
	if td.Readings != nil {
		final = mVFinalReading
	}
	*v = append(*v, e.m(final, str("c", finalArg(&c.Client)), str("s", finalArg(&c.Server))))
	if tw := td.TimeWait; tw.Side != tcpstate.SideNone {
		*v = append(*v, e.m(mVTw, wd("side", sideWord(tw.Side)), dur("dur", tw.Duration), clock("until", tw.Until())))
		switch {
		case tw.Expired:
			*v = append(*v, e.m(mVTwOver))
		case tw.Held:
			*v = append(*v, e.m(mVTwHeld))
		case c.End == tcpstate.EndReused:
			*v = append(*v, e.m(mVTwReused))
		case c.End == tcpstate.EndEvicted:
			*v = append(*v, e.m(mVTwEvicted))
		default:
			*v = append(*v, e.m(mVTwRunning))
		}
	}
	if an := c.Anomalies.List(); len(an) == 0 {
		*v = append(*v, e.m(mVAnNone))
	} else {
		names := list(make([]byte, 0, 128))
		for _, a := range an {
			names = names.add("an.count", "name", AnomalyWord(a.Anomaly), "n", itoa(a.Count))
		}
		*v = append(*v, e.m(mVAn, str("list", names.arg())))
	}
}

// appendReadings appends that the capture cannot tell who closed first,
// both readings, the one the connection's states follow first, and what
// ranked them.
func (e *Explanation) appendReadings(out []Msg) []Msg {
	c := e.Conn
	td := &c.Teardown
	r := td.Readings
	first := tcpstate.Reading{Initiator: td.Initiator,
		Client: tcpstate.ReadingEnd{Final: c.Client.State}, Server: tcpstate.ReadingEnd{Final: c.Server.State}}
	// x sent the one FIN captured.
	x, fin := tcpstate.SideClient, td.ClientFIN.Seg
	if td.ServerFIN.Seen() {
		x, fin = tcpstate.SideServer, td.ServerFIN.Seg
	}
	y := otherSide(x)
	out = append(out, e.m(mVUndecided, wd("x", sideWord(x)), wd("y", sideWord(y)), num("fin", fin)))
	for i, rd := range []tcpstate.Reading{first, r.Other} {
		key := mVReadingFirst
		if rd.Initiator == y {
			key = mVReadingBefore
		}
		out = append(out, e.m(key, num("n", i+1), wd("x", sideWord(x)), wd("y", sideWord(y)), num("fin", fin), str("c", rd.Client.Final.String()), str("s", rd.Server.Final.String())))
	}
	if len(r.Clues) == 0 {
		out = append(out, e.m(mVClueNone))
	}
	for _, cl := range r.Clues {
		switch {
		case cl.Kind == tcpstate.ClueAckGap:
			out = append(out, e.m(mVClueAckgap, wd("x", sideWord(x)), wd("y", sideWord(y)), num("fin", cl.Seg)))
		case cl.Favours == tcpstate.SideNone:
			out = append(out, e.m(mVClueEchoRecent, wd("x", sideWord(x)), wd("y", sideWord(y)), num("fin", cl.Seg), num("reply", cl.Reply), num("ticks", cl.Ticks())))
		default:
			out = append(out, e.m(mVClueEcho, wd("x", sideWord(x)), wd("y", sideWord(y)), num("fin", cl.Seg), num("reply", cl.Reply), num("ecr", cl.Ecr), num("val", cl.Val), num("ticks", cl.Ticks()), dur("dur", time.Duration(cl.Ticks())*time.Millisecond)))
		}
	}
	return append(out, e.m(mVFollows))
}

// appendHalves appends, for each end's half of the connection, what the
// capture shows of its closing: its FIN and the ACK of it. A connection
// that never opened, or was refused, has no halves to close.
func (e *Explanation) appendHalves(out []Msg) []Msg {
	c := e.Conn
	td := &c.Teardown
	switch td.Pattern {
	case tcpstate.PatternRefused, tcpstate.PatternNone:
		return out
	}
	first, second := tcpstate.SideClient, tcpstate.SideServer
	if td.Initiator == tcpstate.SideServer {
		first, second = second, first
	}
	for _, s := range []tcpstate.Side{first, second} {
		fin := &td.ClientFIN
		if s == tcpstate.SideServer {
			fin = &td.ServerFIN
		}
		side := sideWord(s)
		switch {
		case !fin.Seen() && td.RST.Seen():
			out = append(out, e.m(mVHalfRst, wd("side", side)))
		case !fin.Seen():
			out = append(out, e.m(mVHalfOpen, wd("side", side)))
		case fin.Piggybacked && fin.Ack.Seen():
			out = append(out, e.m(mVHalfPiggy, wd("side", side), num("fin", fin.Seg), num("ack", fin.Ack.Seg)))
		case fin.Ack.Seen():
			out = append(out, e.m(mVHalfAcked, wd("side", side), num("fin", fin.Seg), num("ack", fin.Ack.Seg)))
		default:
			out = append(out, e.m(mVHalfUnacked, wd("side", side), num("fin", fin.Seg)))
		}
	}
	return out
}

// Changes returns the state changes caused by the segment with frame
// index seg, the sender's first.
func Changes(c *tcpstate.Conn, seg *tcpstate.Segment) []Change {
	return appendChanges(nil, seg, [2][]tcpstate.Transition{c.Client.Transitions, c.Server.Transitions})
}

// stateMsgs say why an endpoint enters each state.
var stateMsgs = func() (m [16]Msg) {
	for st := range m {
		m[st] = msg("st." + tcpstate.State(st).String())
	}
	return m
}()

// closedRST says why an endpoint is CLOSED by a reset.
var closedRST = msg("st.CLOSED.rst")

func stateMsg(st tcpstate.State) Msg {
	if int(st) < len(stateMsgs) {
		return stateMsgs[st]
	}
	return M("st." + st.String())
}

// appendChanges appends the changes among the client's and server's
// transitions ts that seg caused, the sender's first.
func appendChanges(out []Change, seg *tcpstate.Segment, ts [2][]tcpstate.Transition) []Change {
	snd := senderOf(seg.Dir)
	for _, s := range []tcpstate.Side{snd, otherSide(snd)} {
		for _, t := range ts[s-tcpstate.SideClient] {
			if t.Seg != seg.Index {
				continue
			}
			why := stateMsg(t.To)
			if t.To == tcpstate.Closed && seg.Flags&wire.RST != 0 {
				why = closedRST
			}
			out = append(out, Change{Side: s, From: t.From, To: t.To, Sending: s == snd, Why: why})
		}
	}
	return out
}

// covered are the anomalies a note already explains.
var covered = map[tcpstate.Note][]tcpstate.Anomaly{
	tcpstate.NoteSYNRetransmit:    {tcpstate.SYNRetransmit, tcpstate.Retransmission},
	tcpstate.NoteSYNACKRetransmit: {tcpstate.SYNACKRetransmit, tcpstate.Retransmission},
	tcpstate.NoteFINRetransmit:    {tcpstate.FINRetransmit, tcpstate.Retransmission},
	tcpstate.NoteRetransmission:   {tcpstate.Retransmission},
	tcpstate.NoteKeepAlive:        {tcpstate.KeepAlive},
	tcpstate.NoteWindowUpdate:     {tcpstate.WindowUpdate},
	tcpstate.NoteZeroWindow:       {tcpstate.ZeroWindow},
	tcpstate.NoteDuplicateACK:     {tcpstate.DuplicateACK},
	tcpstate.NoteSYNACK:           {tcpstate.BadHandshakeACK},
	tcpstate.NoteFINACK:           {tcpstate.BadFINACK},
	tcpstate.NoteRST:              {tcpstate.RSTAfterFIN},
}

func (e *Explanation) timeline() {
	e.eachStep(func(_ int, st *Step) {
		keep := Step{Seg: st.Seg, Since: st.Since, Notes: slices.Clone(st.Notes)}
		if len(st.Changes) > 0 {
			keep.Changes = slices.Clone(st.Changes)
		}
		e.Steps = append(e.Steps, keep)
	})
}

// eachStep calls f with the index and the step of each segment in turn,
// but those of the data phase summed up (e.data); st and its slices are
// reused from one call to the next. The transitions are walked along the
// segments, so that it takes time linear in them.
func (e *Explanation) eachStep(f func(i int, st *Step)) {
	c := e.Conn
	halfShown := false
	cur := [2]transitionCursor{{ts: c.Client.Transitions}, {ts: c.Server.Transitions}}
	st := &e.step // in e's storage, as f may keep it
	for i := range c.Segments {
		s := &c.Segments[i]
		ts := [2][]tcpstate.Transition{cur[0].upTo(s.Index), cur[1].upTo(s.Index)}
		if d := e.data; d != nil && i >= d.First && i <= d.Last {
			continue
		}
		var a *arena
		if e.forWrite { // the step is written before the next: its arguments can go
			e.stepArgs, a = e.stepArgs[:0], &e.stepArgs
		}
		*st = Step{Seg: s, Changes: appendChanges(st.Changes[:0], s, ts), Notes: appendNotes(st.Notes[:0], c, s, a)}
		if i > 0 {
			st.Since = time.Duration(s.Time - c.Segments[i-1].Time)
		}
		if !halfShown && c.Teardown.Pattern == tcpstate.PatternHalfClose && s.Len > 0 &&
			s.Phase == tcpstate.PhaseTeardown && senderOf(s.Dir) != c.Teardown.Initiator {
			st.Notes = append(st.Notes, a.m(mXHalf))
			halfShown = true
		}
		for _, ch := range st.Changes {
			if ch.To == tcpstate.TimeWait {
				key := mXTimewait
				if timeWait(c) != tcpstate.DefaultTimeWait {
					key = mXTimewaitOther
				}
				st.Notes = append(st.Notes, a.m(key, wd("side", sideWord(ch.Side)), dur("dur", timeWait(c))))
			}
		}
		f(i, st)
	}
}

func timeWait(c *tcpstate.Conn) time.Duration {
	if d := c.Teardown.TimeWait.Duration; d > 0 {
		return d
	}
	return tcpstate.DefaultTimeWait
}

func argOr(s *tcpstate.Segment, key string, def int64) int64 {
	if v, ok := s.Arg(key); ok {
		return v
	}
	return def
}

func ok(good bool) string {
	if good {
		return "✓"
	}
	return "✗"
}

// Notes returns what segment s teaches: its note and the anomalies the
// note does not already explain.
func Notes(c *tcpstate.Conn, s *tcpstate.Segment) []Msg { return appendNotes(nil, c, s, nil) }

// appendNotes appends Notes(c, s) to out.
func appendNotes(out []Msg, c *tcpstate.Conn, s *tcpstate.Segment, a *arena) []Msg {
	snd := senderOf(s.Dir)
	side := sideWord(snd)
	add := func(m Msg) { out = append(out, m) }
	switch s.Note {
	case tcpstate.NoteSYN:
		add(a.m(mNoteSyn, wd("side", side), num("isn", uint32(argOr(s, "isn", int64(s.Seq))))))
		if m, ok := offered(a, c.Endpoint(snd)); ok {
			add(m)
		}
	case tcpstate.NoteSYNRetransmit:
		since := dur("since", time.Duration(argOr(s, "since_us", 0))*time.Microsecond)
		if n, ok := s.Arg("n"); ok {
			add(a.m(mNoteSynRetransmit, num("n", n), since))
		} else {
			add(a.m(mNoteSynRetransmitOther, since))
		}
	case tcpstate.NoteSimultaneousSYN:
		add(a.m(mNoteSimultaneousSyn, wd("side", side), num("isn", uint32(argOr(s, "isn", int64(s.Seq))))))
		if m, ok := offered(a, c.Endpoint(snd)); ok {
			add(m)
		}
	case tcpstate.NoteSYNACK:
		peer := c.Endpoint(otherSide(snd))
		ack := argOr(s, "ack", int64(s.Ack))
		exp := argOr(s, "expected", int64(peer.ISN)+1)
		isn := num("isn", uint32(argOr(s, "isn", int64(s.Seq))))
		switch {
		case !c.Handshake.SYN.Seen() && !c.Handshake.Simultaneous:
			add(a.m(mNoteSynAckInferred, isn, num("ack", uint32(ack)), num("cisn", uint32(ack-1))))
		case uint32(ack) != uint32(exp):
			add(a.m(mNoteSynAckBad, isn, num("ack", uint32(ack)), num("expected", uint32(exp))))
		default:
			add(a.m(mNoteSynAck, isn, num("ack", uint32(ack)), str("ok", ok(true))))
		}
		if m, ok := offered(a, c.Endpoint(snd)); ok {
			add(m)
		}
	case tcpstate.NoteSYNACKRetransmit:
		add(a.m(mNoteSynAckRetransmit, dur("since", time.Duration(argOr(s, "since_us", 0))*time.Microsecond)))
	case tcpstate.NoteHandshakeACK:
		ack, exp := argOr(s, "ack", int64(s.Ack)), argOr(s, "expected", int64(s.Ack))
		if uint32(ack) == uint32(exp) {
			add(a.m(mNoteHandshakeAck, num("ack", uint32(ack)), str("ok", ok(true))))
		} else {
			add(a.m(mNoteHandshakeAckBad, num("ack", uint32(ack)), num("expected", uint32(exp))))
		}
	case tcpstate.NoteData:
		add(dataMsg(a, s, side))
	case tcpstate.NoteACK:
		add(a.m(mNoteAck, wd("side", side), num("rack", uint32(int64(s.RelAck)))))
	case tcpstate.NoteFIN, tcpstate.NoteSecondFIN, tcpstate.NoteSimultaneousFIN, tcpstate.NoteFINPiggyback:
		seq := uint32(argOr(s, "seq", int64(s.Seq)+int64(s.Len)))
		add(a.m(msg("note."+string(s.Note)), wd("side", side), num("seq", uint32(int64(seq))), num("seq1", uint32(int64(seq)+1)), num("ack", uint32(int64(s.Ack)))))
		if s.Len > 0 {
			add(a.m(mXFinLen, num("len", s.Len)))
		}
		if s.Note == tcpstate.NoteSecondFIN && c.Teardown.Pattern == tcpstate.PatternFourSegment {
			if first := c.Teardown.ClientFIN; snd == tcpstate.SideServer && first.Ack.Seen() {
				add(a.m(mXFour, num("ack", first.Ack.Seg)))
			} else if first := c.Teardown.ServerFIN; snd == tcpstate.SideClient && first.Ack.Seen() {
				add(a.m(mXFour, num("ack", first.Ack.Seg)))
			}
		}
	case tcpstate.NoteFINRetransmit:
		add(a.m(mNoteFinRetransmit))
	case tcpstate.NoteFINACK, tcpstate.NoteLastACK:
		ack, exp := argOr(s, "ack", int64(s.Ack)), argOr(s, "expected", int64(s.Ack))
		switch {
		case uint32(ack) != uint32(exp):
			add(a.m(mNoteFinAckBad, num("ack", uint32(ack)), num("expected", uint32(exp))))
		case s.Note == tcpstate.NoteLastACK && c.Endpoint(otherSide(snd)).StateAfter(s.Index) != tcpstate.Closed:
			// The peer sent its FIN again: this ACK never reached it,
			// and the states were revised (see lost-last-ack).
			add(a.m(mNoteLastAckLost, num("ack", uint32(ack)), str("ok", ok(true)), wd("side", side), wd("peer", sideWord(otherSide(snd))), str("state", c.Endpoint(otherSide(snd)).StateAfter(s.Index).String())))
		case s.Note == tcpstate.NoteLastACK:
			add(a.m(mNoteLastAck, num("ack", uint32(ack)), str("ok", ok(true)), wd("side", side), wd("peer", sideWord(otherSide(snd)))))
		default:
			add(a.m(mNoteFinAck, num("ack", uint32(ack)), str("ok", ok(true))))
		}
		if s.Len > 0 {
			add(dataMsg(a, s, side))
		}
	case tcpstate.NoteRST:
		if s.Anomalies.Has(tcpstate.RSTAfterFIN) {
			add(a.m(mNoteRstAfterFin, wd("side", side)))
		} else {
			add(a.m(mNoteRst, wd("side", side)))
		}
	case tcpstate.NoteRefused:
		add(a.m(mNoteRefused, num("port", c.Server.Port)))
	case tcpstate.NoteSYNACKRejected:
		add(a.m(mNoteSynAckRejected, num("seq", uint32(int64(s.Seq)))))
	case tcpstate.NoteMidstream:
		add(a.m(mNoteMidstream))
		if s.Len > 0 {
			add(dataMsg(a, s, side))
		}
	case tcpstate.NoteKeepAlive:
		add(a.m(mNoteKeepAlive))
	case tcpstate.NoteWindowUpdate:
		add(a.m(mNoteWindowUpdate, num("win", s.WindowScaled)))
	case tcpstate.NoteZeroWindow:
		add(a.m(mNoteZeroWindow, wd("side", side)))
	case tcpstate.NoteRetransmission:
		add(a.m(mNoteRetransmission, num("from", uint32(int64(s.RelSeq)))))
	case tcpstate.NoteDuplicateACK:
		add(a.m(mNoteDuplicateAck, wd("side", side), num("rack", uint32(int64(s.RelAck)))))
	default:
		// A note this package does not know yet shows as its key; the
		// catalogue test lists tcpstate's notes so this is caught.
		add(a.m(msg("note." + string(s.Note))))
	}
	for _, an := range Uncovered(s) {
		add(a.m(mXAnomaly, str("name", AnomalyWord(an)), str("desc", Word("an."+an.String()))))
	}
	return out
}

func containsAnomaly(list []tcpstate.Anomaly, a tcpstate.Anomaly) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

func dataMsg(a *arena, s *tcpstate.Segment, side word) Msg {
	from := int64(s.RelSeq)
	if s.Flags&wire.SYN != 0 {
		from++
	}
	return a.m(mNoteData, wd("side", side), num("len", s.Len), num("from", uint32(from)), num("to", uint32(from+int64(s.Len))))
}

// offered describes the options of an endpoint's SYN.
func offered(a *arena, ep *tcpstate.Endpoint) (Msg, bool) {
	o := &ep.Options
	if !o.Seen {
		return Msg{}, false
	}
	parts := list(make([]byte, 0, 128))
	parts = parts.number("o.win", int(o.Window))
	if o.MSS != 0 {
		parts = parts.number("o.mss", int(o.MSS))
	}
	if o.WScale >= 0 {
		parts = parts.number("o.ws", int(o.WScale))
	}
	if o.SACK {
		parts = parts.add("o.sackok")
	}
	if o.Timestamps {
		parts = parts.add("o.ts")
	}
	if o.TFO {
		if o.TFOData > 0 {
			parts = parts.number("o.tfodata", o.TFOData)
		} else {
			parts = parts.add("o.tfo")
		}
	}
	return a.m(mXOpts, str("opts", parts.arg())), true
}

// list packs messages into one argument value: "@@" then the messages
// joined by "\x1f", each "key\x1ename=value\x1e...". Text expands it with
// the language's list separator.
type list []byte

// add is l with the message M(key, kv...) added. (Lists are values, so
// that a list's storage made on the stack stays there.)
func (l list) add(key string, kv ...string) list {
	if len(l) == 0 {
		l = append(l, "@@"...)
	} else {
		l = append(l, '\x1f')
	}
	l = append(l, key...)
	for i := 0; i+1 < len(kv); i += 2 {
		l = append(append(append(append(l, '\x1e'), kv[i]...), '='), kv[i+1]...)
	}
	return l
}

// number is l with the message M(key, "v", itoa(v)) added.
func (l list) number(key string, v int) list {
	return strconv.AppendInt(append(l.add(key), "\x1ev="...), int64(v), 10)
}

// value is l with a value shown as it is ("w.v") added: the number first
// or, with last at or above it, the range first-last.
func (l list) value(first, last int) list {
	l = l.number("w.v", first)
	if last >= first {
		l = strconv.AppendInt(append(l, '-'), int64(last), 10)
	}
	return l
}

// arg is the packed argument value.
func (l list) arg() string {
	if len(l) == 0 {
		return "@@"
	}
	return string(l)
}

func (e *Explanation) missing() {
	c := e.Conn
	for _, g := range c.Teardown.Missing.Names() {
		e.Missing = append(e.Missing, e.m(msg("gap."+g)))
	}
	switch {
	case c.Role == tcpstate.RolePort && c.Client.Initial != tcpstate.Unknown:
		e.Missing = append(e.Missing, e.m(mMissMidstreamReading))
	case c.Role == tcpstate.RolePort:
		e.Missing = append(e.Missing, e.m(mMissMidstream))
	}
	if c.Teardown.Missing&tcpstate.GapEnd != 0 {
		for _, s := range []tcpstate.Side{tcpstate.SideClient, tcpstate.SideServer} {
			switch c.Endpoint(s).State {
			case tcpstate.CloseWait:
				e.Missing = append(e.Missing, e.m(mMissClosewait, wd("side", sideWord(s))))
			case tcpstate.FinWait2:
				e.Missing = append(e.Missing, e.m(mMissFinwait2, wd("side", sideWord(s))))
			}
		}
	}
}

// isnArg is the argument name of ep's ISN, "?" when unknown.
func isnArg(name string, ep *tcpstate.Endpoint) Arg {
	if !ep.HasISN {
		return str(name, "?")
	}
	return num(name, ep.ISN)
}

// Path is an endpoint's states as "CLOSED → SYN-SENT (#1) → …", the
// changes segments caused (an inferred one is said in words apart).
func Path(ep *tcpstate.Endpoint) string {
	b := make([]byte, 0, 256) // on the stack but for a long path
	b = append(b, ep.Initial.String()...)
	for _, t := range ep.Transitions {
		if !t.Inferred {
			b = append(append(b, " → "...), t.To.String()...)
			b = append(strconv.AppendInt(append(b, " (#"...), int64(t.Seg), 10), ')')
		}
	}
	return string(b)
}

// finalArg is ep's final state as an argument, marked as inferred when
// no segment showed it.
func finalArg(ep *tcpstate.Endpoint) string {
	if _, ok := inferred(ep); ok {
		l := list(make([]byte, 0, 64))
		l = l.add("lg.inferred", "s", ep.State.String())
		return l.arg()
	}
	return ep.State.String()
}

// inferred returns ep's last transition if no segment caused it.
func inferred(ep *tcpstate.Endpoint) (tcpstate.Transition, bool) {
	if n := len(ep.Transitions); n > 0 && ep.Transitions[n-1].Inferred {
		return ep.Transitions[n-1], true
	}
	return tcpstate.Transition{}, false
}

// pathMsg is the summary's line of an endpoint's states.
func (e *Explanation) pathMsg(side word, ep *tcpstate.Endpoint) Msg {
	if t, ok := inferred(ep); ok {
		return e.m(mSumPathInferred, wd("side", side), str("path", Path(ep)), str("to", t.To.String()), clock("by", t.Time))
	}
	return e.m(mSumPath, wd("side", side), str("path", Path(ep)))
}

// endWords say why a connection ended, by tcpstate.End.
var endWords = func() (w [tcpstate.EndCaptureEnd + 1]word) {
	for e := range w {
		w[e] = wordOf("end." + tcpstate.End(e).String())
	}
	return w
}()

// The summary's words for the ends.
var summaryClient, summaryServer = wordOf("w.Client"), wordOf("w.Server")

func (e *Explanation) summary() {
	c := e.Conn
	s := &e.Summary
	if c.Client.HasISN || c.Server.HasISN {
		*s = append(*s, e.m(mSumIsn, isnArg("c", &c.Client), isnArg("s", &c.Server)))
	}
	h := &c.Handshake
	if c.Client.Options.Seen && c.Server.Options.Seen {
		parts := list(make([]byte, 0, 128))
		if h.MSS != 0 {
			parts = parts.number("o.mss", int(h.MSS))
		}
		if h.WindowScaling {
			parts = parts.add("o.wscaling")
		}
		if h.SACK {
			parts = parts.add("o.sack")
		}
		if h.Timestamps {
			parts = parts.add("o.ts")
		}
		if h.TFO {
			parts = parts.add("o.tfo")
		}
		if len(parts) == 0 {
			parts = parts.add("w.none")
		}
		*s = append(*s, e.m(mSumAgreed, str("opts", parts.arg())))
	}
	*s = append(*s, e.m(mSumBytes, num("cb", c.Client.Bytes), num("cp", c.Client.Pkts), num("sb", c.Server.Bytes), num("sp", c.Server.Pkts)))
	*s = append(*s, e.pathMsg(summaryClient, &c.Client), e.pathMsg(summaryServer, &c.Server))
	for _, a := range c.Anomalies.List() {
		*s = append(*s, e.m(mSumAn, str("name", AnomalyWord(a.Anomaly)), num("n", a.Count), num("first", a.First), str("desc", Word("an."+a.Anomaly.String()))))
	}
	if r := c.Reuse; r.Prev != 0 {
		if r.Within2MSL {
			*s = append(*s, e.m(mSumReuse2, num("prev", r.Prev)))
		} else {
			*s = append(*s, e.m(mSumReuse, num("prev", r.Prev), dur("gap", r.Gap)))
		}
	}
	*s = append(*s, e.m(mSumEnd, wd("why", endWords[c.End])))
}
