package tcpstate

import (
	"math/bits"
	"net/netip"
	"time"

	"synfin/internal/snapshot"
	"synfin/wire"
)

// stateContext is the StateContext of c's observer.
func (c *Analyzer) stateContext() StateContext {
	a, b := &c.Client, &c.Server
	if c.firstDir == S2C {
		a, b = b, a
	}
	return StateContext{Base: c.First.Time, Addrs: [2]netip.AddrPort{a.AddrPort(), b.AddrPort()}, ISNs: [2]uint32{a.ISN, b.ISN}}
}

// Frame numbers are written relative to the connection's first, times to
// its first segment's time.
func putRef(w *snapshot.Writer, s SegRef, first SegRef) {
	w.Ref(s.Seg, first.Seg)
	w.Time(s.Time, first.Time)
}

func getRef(r *snapshot.Reader, first SegRef) SegRef {
	return SegRef{Seg: r.Ref(first.Seg), Time: r.Time(first.Time)}
}

// AppendState appends to b everything c knows about its connection but
// its endpoints' addresses, which a tracker keys it by anyway and gives
// back to LoadState, and what Setup set. Segments are written when kept,
// so that explanations too hold closed connections as snapshots. ctx is
// scratch space for the observer's state, kept by the caller so that the
// interface call does not move it to the heap for every snapshot.
func (c *Analyzer) AppendState(b []byte, ctx *StateContext) []byte {
	w := snapshot.Writer{B: b}
	c.appendState(&w, ctx)
	return w.B
}

// LoadState reads a state written by AppendState from the start of b into
// c, which has been reset, and returns what follows it. a and b are the
// connection's endpoints, the lower (netip.AddrPort.Compare) first.
// Without full it leaves out the analysis state, which only further
// segments use: c can then only be finished.
func (c *Analyzer) LoadState(a, b netip.AddrPort, data []byte, ctx *StateContext, full bool) ([]byte, error) {
	r := snapshot.Reader{B: data}
	return c.loadState(&r, a, b, ctx, full)
}

// clientIsLower reports whether the client's endpoint sorts first, as the
// lower endpoint of a tracker's key does.
func (c *Analyzer) clientIsLower() bool {
	return c.Client.AddrPort().Compare(c.Server.AddrPort()) <= 0
}

func (c *Analyzer) appendState(w *snapshot.Writer, ctx *StateContext) {
	base := c.First.Time
	w.Uint(c.ID)
	w.Int(base)
	w.Uint(uint64(c.First.Seg))
	w.Bools(c.clientIsLower(), c.reused, c.pendingListen, c.established, c.crossed,
		c.Handshake.SYNACKAckOK, c.Handshake.ACKAckOK, c.Handshake.ACKSeqOK, c.Handshake.Complete,
		c.Handshake.Simultaneous, c.Handshake.Refused, c.Handshake.WindowScaling, c.Handshake.SACK,
		c.Handshake.Timestamps, c.Handshake.TFO, c.Teardown.LostLastACK, c.Teardown.TimeWait.Expired,
		c.Reuse.Within2MSL, c.Teardown.ClientFIN.AckOK, c.Teardown.ClientFIN.Piggybacked,
		c.Teardown.ServerFIN.AckOK, c.Teardown.ServerFIN.Piggybacked, c.Teardown.RST.AfterFIN,
		c.Handshake.Rejected)
	for _, e := range [2]*Endpoint{&c.Client, &c.Server} {
		w.Uint(uint64(e.ISN))
		o := &e.Options
		w.Bools(e.HasISN, o.Seen, o.SACK, o.Timestamps, o.TFO)
		w.Uint(uint64(e.Initial))
		w.Uint(uint64(e.State))
		w.Uint(uint64(len(e.Transitions)))
		for _, t := range e.Transitions {
			w.Time(t.Time, base)
			w.Ref(t.Seg, c.First.Seg)
			w.Uint(uint64(t.From)<<4 | uint64(t.To))
		}
		w.Uint(uint64(o.Window))
		w.Uint(uint64(o.MSS))
		w.Int(int64(o.WScale))
		w.Int(int64(o.TFOCookie))
		w.Int(int64(o.TFOData))
		w.Uint(uint64(e.Shift))
		w.Uint(e.Bytes)
		w.Uint(e.Pkts)
		w.Uint(e.IPBytes)
	}
	w.Uint(uint64(c.Role))
	putRef(w, c.Last, c.First)
	w.Uint(c.Pkts)

	h := &c.Handshake
	putRef(w, h.SYN, c.First)
	putRef(w, h.SYNACK, c.First)
	putRef(w, h.ACK, c.First)
	for _, rs := range [2][]Retransmit{h.SYNRetransmits, h.SYNACKRetransmits} {
		w.Uint(uint64(len(rs)))
		for _, x := range rs {
			w.Ref(x.Seg, c.First.Seg)
			w.Time(x.Time, base)
			w.Dur(int64(x.Since))
		}
	}
	ci, si := c.Client.ISN, c.Server.ISN
	w.Seq(h.SYNACKAck, ci)
	w.Seq(h.ACKAck, si)
	w.Seq(h.ACKSeq, ci)
	w.Dur(int64(h.ServerRTT))
	w.Dur(int64(h.ClientRTT))
	w.Uint(uint64(h.MSS))

	td := &c.Teardown
	w.Uint(uint64(td.Pattern))
	w.Uint(uint64(td.Initiator))
	for i, f := range [2]*FIN{&td.ClientFIN, &td.ServerFIN} {
		putRef(w, f.SegRef, c.First)
		w.Seq(f.Seq, [2]uint32{ci, si}[i])
		w.Int(int64(f.Retransmits))
		putRef(w, f.Ack, c.First)
	}
	putRef(w, td.RST.SegRef, c.First)
	w.Uint(uint64(td.RST.From))
	w.Int(int64(td.RST.Count))
	w.Uint(td.HalfCloseBytes)
	w.Uint(uint64(td.TimeWait.Side))
	w.Time(td.TimeWait.Start, base)
	w.Dur(int64(td.TimeWait.Duration))
	w.Uint(uint64(td.Missing))

	w.Uint(uint64(c.anoms))
	for m := c.anoms; m != 0; m &= m - 1 {
		a := bits.TrailingZeros32(uint32(m))
		w.Int(int64(c.Anomalies[a].Count))
		w.Ref(c.Anomalies[a].First, c.First.Seg)
	}
	w.Uint(c.Reuse.Prev)
	w.Dur(int64(c.Reuse.Gap))
	w.Uint(uint64(c.End))

	w.Uint(uint64(c.firstFIN))
	w.Uint(uint64(c.firstDir))
	w.Dur(c.firstRTT)
	c.appendUndecided(w)
	if o, ok := c.obs.(StateObserver); ok {
		*ctx = c.stateContext()
		w.B = o.AppendState(w.B, ctx)
	}
	if c.keep {
		c.appendSegments(w)
	}
	// The analysis state goes last: a connection handed out straight
	// from its snapshot needs none of it, and its reader stops before.
	for i := range c.d {
		d := &c.d[i]
		own, peer := ci, si
		if i == int(S2C) {
			own, peer = si, ci
		}
		w.Bools(d.baseSet, d.finSent, d.dataSet, d.acked, d.finRcvd)
		w.Seq(d.base, own)
		w.Seq(d.nextSeq, own)
		w.Time(d.nextSeqTime, base)
		w.Seq(d.maxSeqToBeAcked, own)
		w.Seq(d.lastAck, peer)
		w.Time(d.lastAckTime, base)
		w.Uint(uint64(d.window))
		w.Int(int64(d.dupAcks))
		w.Uint(uint64(d.lastFlags))
		w.Int(int64(d.scale))
		w.Time(d.lastSYNTime, base)
		w.Seq(d.finSeq, own)
		w.Seq(d.dataStart, own)
		w.Seq(d.dataEnd, own)
		w.Seq(d.highAck, peer)
		w.Int(int64(d.finRcvAt))
		w.Ref(d.lostAck, c.First.Seg)
		w.Int(int64(d.lostAcks))
	}
}

func (c *Analyzer) loadState(r *snapshot.Reader, ka, kb netip.AddrPort, ctx *StateContext, full bool) ([]byte, error) {
	c.ID = r.Uint()
	base := r.Int()
	c.First = SegRef{Seg: int(r.Uint()), Time: base}
	var clientIsA bool
	h := &c.Handshake
	td := &c.Teardown
	r.Bools(&clientIsA, &c.reused, &c.pendingListen, &c.established, &c.crossed,
		&h.SYNACKAckOK, &h.ACKAckOK, &h.ACKSeqOK, &h.Complete,
		&h.Simultaneous, &h.Refused, &h.WindowScaling, &h.SACK,
		&h.Timestamps, &h.TFO, &td.LostLastACK, &td.TimeWait.Expired,
		&c.Reuse.Within2MSL, &td.ClientFIN.AckOK, &td.ClientFIN.Piggybacked,
		&td.ServerFIN.AckOK, &td.ServerFIN.Piggybacked, &td.RST.AfterFIN,
		&h.Rejected)
	cl, sv := ka, kb
	if !clientIsA {
		cl, sv = sv, cl
	}
	c.Client.Addr, c.Client.Port = cl.Addr(), cl.Port()
	c.Server.Addr, c.Server.Port = sv.Addr(), sv.Port()
	for _, e := range [2]*Endpoint{&c.Client, &c.Server} {
		e.ISN = uint32(r.Uint())
		o := &e.Options
		r.Bools(&e.HasISN, &o.Seen, &o.SACK, &o.Timestamps, &o.TFO)
		e.Initial = State(r.Uint())
		e.State = State(r.Uint())
		n := int(r.Uint())
		if n > 1<<16 {
			return nil, snapshot.ErrShort
		}
		for range n {
			t := Transition{Time: r.Time(base), Seg: r.Ref(c.First.Seg)}
			ft := r.Uint()
			t.From, t.To = State(ft>>4), State(ft&15)
			e.Transitions = append(e.Transitions, t)
		}
		o.Window = uint16(r.Uint())
		o.MSS = uint16(r.Uint())
		o.WScale = int8(r.Int())
		o.TFOCookie = int(r.Int())
		o.TFOData = int(r.Int())
		e.Shift = uint8(r.Uint())
		e.Bytes = r.Uint()
		e.Pkts = r.Uint()
		e.IPBytes = r.Uint()
	}
	c.Role = Role(r.Uint())
	c.Last = getRef(r, c.First)
	c.Pkts = r.Uint()

	h.SYN = getRef(r, c.First)
	h.SYNACK = getRef(r, c.First)
	h.ACK = getRef(r, c.First)
	for _, rs := range [2]*[]Retransmit{&h.SYNRetransmits, &h.SYNACKRetransmits} {
		n := int(r.Uint())
		if n > 1<<16 {
			return nil, snapshot.ErrShort
		}
		for range n {
			x := Retransmit{Seg: r.Ref(c.First.Seg), Time: r.Time(base)}
			x.Since = time.Duration(r.Dur())
			*rs = append(*rs, x)
		}
	}
	ci, si := c.Client.ISN, c.Server.ISN
	h.SYNACKAck = r.Seq(ci)
	h.ACKAck = r.Seq(si)
	h.ACKSeq = r.Seq(ci)
	h.ServerRTT = time.Duration(r.Dur())
	h.ClientRTT = time.Duration(r.Dur())
	h.MSS = uint16(r.Uint())

	td.Pattern = Pattern(r.Uint())
	td.Initiator = Side(r.Uint())
	for i, f := range [2]*FIN{&td.ClientFIN, &td.ServerFIN} {
		f.SegRef = getRef(r, c.First)
		f.Seq = r.Seq([2]uint32{ci, si}[i])
		f.Retransmits = int(r.Int())
		f.Ack = getRef(r, c.First)
	}
	td.RST.SegRef = getRef(r, c.First)
	td.RST.From = Side(r.Uint())
	td.RST.Count = int(r.Int())
	td.HalfCloseBytes = r.Uint()
	td.TimeWait.Side = Side(r.Uint())
	td.TimeWait.Start = r.Time(base)
	td.TimeWait.Duration = time.Duration(r.Dur())
	td.Missing = Gaps(r.Uint())

	c.anoms = Anomalies(r.Uint())
	if c.anoms >= 1<<NumAnomalies {
		return nil, snapshot.ErrShort
	}
	for m := c.anoms; m != 0; m &= m - 1 {
		a := bits.TrailingZeros32(uint32(m))
		c.Anomalies[a].Count = int(r.Int())
		c.Anomalies[a].First = r.Ref(c.First.Seg)
	}
	c.Reuse.Prev = r.Uint()
	c.Reuse.Gap = time.Duration(r.Dur())
	c.End = End(r.Uint())

	c.firstFIN = Side(r.Uint())
	c.firstDir = Dir(r.Uint())
	c.firstRTT = r.Dur()
	c.loadUndecided(r)
	if r.Err != nil {
		return nil, r.Err
	}
	if o, ok := c.obs.(StateObserver); ok {
		*ctx = c.stateContext()
		var err error
		if r.B, err = o.LoadState(r.B, ctx); err != nil {
			return nil, err
		}
	}
	if c.keep {
		// Storage made for a connection about to be handed out has room
		// for what a reset analyzer keeps: a tracker thaws every such
		// connection into one analyzer. A live one's is sized for its own.
		room := 0
		if !full {
			room = keptSegments
		}
		if err := c.loadSegments(r, room); err != nil {
			return nil, err
		}
	}
	if !full {
		return nil, nil
	}
	for i := range c.d {
		d := &c.d[i]
		own, peer := ci, si
		if i == int(S2C) {
			own, peer = si, ci
		}
		r.Bools(&d.baseSet, &d.finSent, &d.dataSet, &d.acked, &d.finRcvd)
		d.base = r.Seq(own)
		d.nextSeq = r.Seq(own)
		d.nextSeqTime = r.Time(base)
		d.maxSeqToBeAcked = r.Seq(own)
		d.lastAck = r.Seq(peer)
		d.lastAckTime = r.Time(base)
		d.window = uint16(r.Uint())
		d.dupAcks = int(r.Int())
		d.lastFlags = Anomalies(r.Uint())
		d.scale = int8(r.Int())
		d.lastSYNTime = r.Time(base)
		d.finSeq = r.Seq(own)
		d.dataStart = r.Seq(own)
		d.dataEnd = r.Seq(own)
		d.highAck = r.Seq(peer)
		d.finRcvAt = int(r.Int())
		d.lostAck = r.Ref(c.First.Seg)
		d.lostAcks = int(r.Int())
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return r.B, nil
}

// appendSegments writes c's kept segments, each against the one before
// it, as a connection's segments mostly follow on from each other: its
// frame number and time from the previous segment's, its sequence number
// from where its direction's last segment ended, its ACK from where the
// other direction's did, and a byte of what is as before (the states
// after it, its window) or empty (relative numbers that differ from
// what the ISNs give, anomalies, arguments, SACK blocks). SACK blocks'
// edges are written relative to the ACK's receiver's ISN.
func (c *Analyzer) appendSegments(w *snapshot.Writer) {
	ci, si := c.Client.ISN, c.Server.ISN
	w.Uint(uint64(len(c.Segments)))
	args := 0
	for i := range c.Segments {
		args += len(c.Segments[i].Args)
	}
	w.Uint(uint64(args))
	var p segPrev
	p.start(c)
	for i := range c.Segments {
		s := &c.Segments[i]
		own, peer := ci, si
		if s.Dir == S2C {
			own, peer = si, ci
		}
		d := s.Dir & 1
		relSeq, relAck := int32(s.RelSeq-(s.Seq-own)), int32(s.RelAck-(s.Ack-peer))
		shape := p.shape(s, relSeq, relAck)
		w.Uint(shape)
		w.Ref(s.Index, p.index)
		w.Time(s.Time, p.time)
		if shape&segStates == 0 {
			w.Uint(uint64(s.Client) | uint64(s.Server)<<4)
		}
		w.Uint(uint64(s.Flags))
		w.Seq(s.Seq, p.next[d])
		w.Seq(s.Ack, p.next[1-d])
		w.Uint(uint64(s.Len))
		if shape&segWindow == 0 {
			w.Int(int64(s.Window) - int64(p.win[d]))
			w.Int(int64(s.WindowScaled) - int64(p.scaled[d]))
		}
		putWord(w, string(s.Note))
		switch shape & segArgs {
		case segKeys:
			w.Uint(uint64(len(s.Args)))
			for _, a := range s.Args {
				putWord(w, a.Key)
			}
		case segFull:
			w.Int(int64(relSeq))
			w.Int(int64(relAck))
			w.Uint(uint64(s.Anomalies))
			w.Uint(uint64(len(s.Args)))
			for _, a := range s.Args {
				putWord(w, a.Key)
				w.Int(a.Val - argRef(s, a.Key))
			}
			w.Uint(uint64(len(s.SACK)))
			for _, b := range s.SACK {
				w.Seq(b.Left, peer)
				w.Seq(b.Right, peer)
			}
		}
		p.after(s)
	}
}

// The bits of a segment's shape: its direction, what is as in the
// segment before it, and what its arguments are (segArgs), then its
// phase. A segment is plain when it has no anomalies, no SACK blocks,
// relative numbers as the ISNs give them and every argument's value
// at its argRef: then only its arguments' keys are written, and not
// even those for a data segment's "len".
const (
	segS2C     = 1 << iota // direction S2C
	segStates              // the states after it are the previous segment's
	segWindow              // its window is its direction's last one
	segPhaseAt = iota + 2

	segArgs = 3 << 3 // the kind of arguments:
	segNone = 0 << 3 // plain, none
	segLen  = 1 << 3 // plain, "len" alone
	segKeys = 2 << 3 // plain, their keys follow
	segFull = 3 << 3 // not plain: everything follows
)

// argRef is what the value of a segment's argument key is written
// against: the field of the segment it mostly equals.
func argRef(s *Segment, key string) int64 {
	switch key {
	case "len":
		return int64(s.Len)
	case "ack", "expected":
		return int64(s.Ack)
	case "isn":
		return int64(s.Seq)
	case "seq":
		return int64(s.Seq) + int64(s.Len)
	}
	return 0
}

// segPrev is what a segment is written against: what the segments
// before it left.
type segPrev struct {
	index          int
	time           int64
	next           [2]uint32 // by direction, where its last segment ended
	win            [2]uint16
	scaled         [2]uint32
	client, server State
}

func (p *segPrev) start(c *Analyzer) {
	*p = segPrev{index: c.First.Seg, time: c.First.Time, client: 0xff, server: 0xff}
	p.next[C2S&1], p.next[S2C&1] = c.Client.ISN, c.Server.ISN
}

// shape is s's shape against p, its relative numbers' differences from
// what the ISNs give being relSeq and relAck.
func (p *segPrev) shape(s *Segment, relSeq, relAck int32) uint64 {
	d := s.Dir & 1
	shape := uint64(d) | uint64(s.Phase)<<segPhaseAt
	if s.Client == p.client && s.Server == p.server {
		shape |= segStates
	}
	plain := s.Anomalies == 0 && len(s.SACK) == 0 && relSeq == 0 && relAck == 0
	for _, a := range s.Args {
		plain = plain && a.Val == argRef(s, a.Key)
	}
	switch {
	case !plain:
		shape |= segFull
	case len(s.Args) == 1 && s.Args[0].Key == "len":
		shape |= segLen
	case len(s.Args) > 0:
		shape |= segKeys
	}
	return shape
}

// after moves p past segment s.
func (p *segPrev) after(s *Segment) {
	d := s.Dir & 1
	p.index, p.time = s.Index, s.Time
	p.next[d] = s.Seq + uint32(s.Len)
	if s.Flags&wire.SYN != 0 {
		p.next[d]++
	}
	if s.Flags&wire.FIN != 0 {
		p.next[d]++
	}
	p.win[d], p.scaled[d] = s.Window, s.WindowScaled
	p.client, p.server = s.Client, s.Server
}

// loadSegments reads what appendSegments wrote into c.Segments, whose
// storage it reuses, or makes at once with room for room segments at
// least; the arguments of all segments share one slice.
func (c *Analyzer) loadSegments(r *snapshot.Reader, room int) error {
	n, nargs := r.Uint(), r.Uint()
	// Every segment takes more than a byte: counts past the bytes left
	// are damage, not something to allocate for.
	if n > uint64(len(r.B)) || nargs > uint64(len(r.B)) {
		return snapshot.ErrShort
	}
	var args []Arg
	if nargs > 0 {
		args = make([]Arg, 0, nargs)
	}
	ci, si := c.Client.ISN, c.Server.ISN
	segs := c.Segments[:0]
	if uint64(cap(segs)) < n {
		segs = make([]Segment, 0, max(n, uint64(room)))
	}
	var p segPrev
	p.start(c)
	for range n {
		var s Segment
		shape := r.Uint()
		s.Dir, s.Phase = Dir(shape&segS2C), Phase(shape>>segPhaseAt)
		d := s.Dir & 1
		s.Index = r.Ref(p.index)
		s.Time = r.Time(p.time)
		s.Client, s.Server = p.client, p.server
		if shape&segStates == 0 {
			v := r.Uint()
			s.Client, s.Server = State(v&15), State(v>>4&15)
		}
		own, peer := ci, si
		if s.Dir == S2C {
			own, peer = si, ci
		}
		s.Flags = wire.Flags(r.Uint())
		s.Seq = r.Seq(p.next[d])
		s.Ack = r.Seq(p.next[1-d])
		s.RelSeq, s.RelAck = s.Seq-own, s.Ack-peer
		s.Len = int(r.Uint())
		s.Window, s.WindowScaled = p.win[d], p.scaled[d]
		if shape&segWindow == 0 {
			s.Window = uint16(int64(s.Window) + r.Int())
			s.WindowScaled = uint32(int64(s.WindowScaled) + r.Int())
		}
		s.Note = Note(getWord(r))
		switch shape & segArgs {
		case segLen:
			if len(args) == cap(args) {
				return snapshot.ErrShort
			}
			args = append(args, Arg{"len", int64(s.Len)})
			s.Args = args[len(args)-1 : len(args) : len(args)]
		case segKeys:
			if s.Args = loadArgs(r, &s, &args, nargs, false); r.Err != nil {
				return r.Err
			}
		case segFull:
			s.RelSeq += uint32(r.Int())
			s.RelAck += uint32(r.Int())
			s.Anomalies = Anomalies(r.Uint())
			if s.Args = loadArgs(r, &s, &args, nargs, true); r.Err != nil {
				return r.Err
			}
			if k := r.Uint(); k > 0 {
				if k > uint64(len(r.B)) {
					return snapshot.ErrShort
				}
				s.SACK = make([]wire.SACKBlock, k)
				for j := range s.SACK {
					s.SACK[j] = wire.SACKBlock{Left: r.Seq(peer), Right: r.Seq(peer)}
				}
			}
		}
		segs = append(segs, s)
		p.after(&s)
	}
	c.Segments = segs
	return r.Err
}

// loadArgs reads a segment's arguments into args, which holds nargs at
// most, and returns them: their keys, and with vals their values' offsets
// from argRef (else the values are at it).
func loadArgs(r *snapshot.Reader, s *Segment, args *[]Arg, nargs uint64, vals bool) []Arg {
	k := r.Uint()
	if k > nargs-uint64(len(*args)) {
		r.Err, r.B = snapshot.ErrShort, nil
		return nil
	}
	start := len(*args)
	for range k {
		key := getWord(r)
		v := argRef(s, key)
		if vals {
			v += r.Int()
		}
		*args = append(*args, Arg{key, v})
	}
	if k == 0 {
		return nil
	}
	return (*args)[start:len(*args):len(*args)]
}

// vocabulary numbers the notes and argument names that segments carry, so
// that a snapshot holds a byte for each rather than the word; a word
// missing here is written out in full.
var vocabulary = []string{
	string(NoteSYN), string(NoteSYNRetransmit), string(NoteSimultaneousSYN),
	string(NoteSYNACK), string(NoteSYNACKRetransmit),
	string(NoteHandshakeACK), string(NoteData), string(NoteACK),
	string(NoteFIN), string(NoteSecondFIN), string(NoteFINPiggyback),
	string(NoteSimultaneousFIN), string(NoteFINRetransmit),
	string(NoteFINACK), string(NoteLastACK), string(NoteRST),
	string(NoteRefused), string(NoteSYNACKRejected), string(NoteMidstream),
	string(NoteKeepAlive), string(NoteWindowUpdate), string(NoteZeroWindow),
	string(NoteRetransmission), string(NoteDuplicateACK),
	"ack", "expected", "isn", "len", "n", "seq", "since_us",
}

var vocabIndex = func() map[string]uint64 {
	m := make(map[string]uint64, len(vocabulary))
	for i, s := range vocabulary {
		m[s] = uint64(i) + 1
	}
	return m
}()

func putWord(w *snapshot.Writer, s string) {
	if i, ok := vocabIndex[s]; ok {
		w.Uint(i)
		return
	}
	w.Uint(0)
	w.String(s)
}

func getWord(r *snapshot.Reader) string {
	i := r.Uint()
	switch {
	case i == 0:
		return r.String()
	case i > uint64(len(vocabulary)):
		r.Err, r.B = snapshot.ErrShort, nil
		return ""
	}
	return vocabulary[i-1]
}
