package tcpstate

import (
	"net/netip"
	"time"

	"synfin/seqnum"
	"synfin/wire"
)

// dirState is what the analyzer remembers about one direction of a
// connection (segments sent by one endpoint).
type dirState struct {
	// Sequence analysis, following Wireshark's tcp_analyze_seq_info.
	baseSet         bool
	base            uint32 // for relative numbers
	nextSeq         uint32 // highest seq+len seen; 0 means unset, as in Wireshark
	nextSeqTime     int64
	maxSeqToBeAcked uint32
	lastAck         uint32
	lastAckTime     int64
	window          uint16 // raw window of the last segment
	dupAcks         int
	lastFlags       Anomalies
	scale           int8 // -1 unknown, -2 no scaling, else the shift

	// synfin's own.
	lastSYNTime int64
	finSent     bool
	finSeq      uint32
	dataSet     bool
	dataStart   uint32
	dataEnd     uint32
	acked       bool   // an ACK was sent in this direction
	highAck     uint32 // highest acknowledgment sent
	finRcvd     bool   // the receiver's state changed on receiving the FIN
	finRcvAt    int    // index in the receiver's Transitions where it began
	// The FIN of this direction came again after it was acknowledged,
	// lostAcks times; the ACK first presumed lost was at segment lostAck.
	lostAck  int
	lostAcks int
}

// Analyzer follows one connection: the Conn it builds and what the
// analysis remembers beside it. A tracker (package track) keeps one per
// connection, embedded in its own entry with its bookkeeping, calls Init
// with the first segment and Segment with each, and Finish once the
// connection is over; Reset makes it ready for another connection.
//
// What every segment touches comes first, together, so that a
// connection's first touch by a segment costs few cache lines; the Conn,
// mostly written at the handshake and the close, and the transitions'
// storage follow.
type Analyzer struct {
	d      [2]dirState
	obs    Observer // Conn.Observer, beside what each segment touches
	keep   bool
	reused bool
	twLen  time.Duration

	pendingListen bool      // the server's LISTEN -> SYN-RECEIVED awaits its SYN-ACK
	established   bool      // the connection reached ESTABLISHED or was seen mid-stream
	firstFIN      Side      // who sent the first FIN
	crossed       bool      // the second FIN did not acknowledge the first
	firstDir      Dir       // direction of the first segment
	firstRTT      int64     // SYN to handshake ACK, Wireshark's out-of-order threshold
	und           undecided // clues for the readings of a close the capture cannot decide
	// anoms has the bit of every anomaly counted in Conn.Anomalies, so
	// that a snapshot need not look through all the counters.
	anoms Anomalies

	Conn
	trBuf [2][8]Transition
}

// Setup readies a new Analyzer: segments keeps every segment in
// Conn.Segments, timeWait is 2MSL (TimeWaitHold.Duration) and obs, if not
// nil, the connection's Observer. Reset keeps all three.
func (c *Analyzer) Setup(segments bool, timeWait time.Duration, obs Observer) {
	// Room for the retransmitted SYNs of a connection attempt, so that
	// reused analyzers rarely need to grow once warm.
	c.Handshake.SYNRetransmits = make([]Retransmit, 0, 4)
	c.Handshake.SYNACKRetransmits = make([]Retransmit, 0, 4)
	c.obs = obs
	c.Reset()
	c.keep, c.twLen = segments, timeWait
}

// keptSegments is the most segments' storage Reset keeps: past it, an
// analyzer reused for connection after connection would grow to the
// longest it ever held and keep that (a tracker's live analyzers held
// eight times the segments they had).
const keptSegments = 32

// Reset empties c for another connection, keeping slice storage (of up
// to keptSegments segments) and what Setup set.
func (c *Analyzer) Reset() {
	keepSegs := c.Segments[:0]
	if cap(keepSegs) > keptSegments {
		keepSegs = nil
	}
	synR := c.Handshake.SYNRetransmits[:0]
	synAckR := c.Handshake.SYNACKRetransmits[:0]
	ct, st := c.Client.Transitions, c.Server.Transitions
	o, keep, twLen := c.obs, c.keep, c.twLen
	*c = Analyzer{}
	c.obs, c.Observer = o, o
	c.keep, c.twLen = keep, twLen
	c.Segments = keepSegs
	c.Handshake.SYNRetransmits = synR
	c.Handshake.SYNACKRetransmits = synAckR
	c.Client.Transitions = reuseTransitions(ct, c.trBuf[0][:0])
	c.Server.Transitions = reuseTransitions(st, c.trBuf[1][:0])
	c.d[0].scale, c.d[1].scale = -1, -1
}

// Reused marks c, just begun, as reusing the tuple of an earlier
// connection: r says which, index is the frame of c's SYN.
func (c *Analyzer) Reused(r Reuse, index int) {
	c.Reuse = r
	c.Anomalies.add(PortReuse, index)
	c.anoms |= 1 << PortReuse
	c.reused = true
}

// reuseTransitions keeps a grown slice, or falls back to the inline array.
func reuseTransitions(old, inline []Transition) []Transition {
	if cap(old) > cap(inline) {
		return old[:0]
	}
	return inline
}

// Closed reports whether both endpoints have closed (or wait in
// TIME-WAIT): a tracker then holds the connection for 2MSL.
func (c *Analyzer) Closed() bool {
	return c.Client.State.closedOrWaiting() && c.Server.State.closedOrWaiting() &&
		!c.pendingListen && len(c.Client.Transitions)+len(c.Server.Transitions) > 0
}

// NewSYN reports whether a SYN from src with sequence number seq starts a
// new connection on c's tuple rather than repeating c's.
func (c *Analyzer) NewSYN(src netip.AddrPort, seq uint32) bool {
	ep := &c.Client
	if src != c.Client.AddrPort() {
		ep = &c.Server
	}
	if !ep.HasISN {
		// Mid-stream or flipped: a SYN from the side believed to be the
		// server, or any SYN after a close, starts afresh.
		return c.Closed() || c.Role == RolePort
	}
	return ep.ISN != seq
}

// Init sets roles and initial states from the first segment, p, sent
// from src to dst and captured at frame index, time ts; Segment then
// tracks it.
func (c *Analyzer) Init(src, dst netip.AddrPort, p *wire.Packet, index int, ts int64) {
	c.First = SegRef{index, ts}
	cl, sv := src, dst
	switch {
	case p.Flags&(wire.SYN|wire.ACK) == wire.SYN:
		c.Role = RoleSYN
		c.Client.Initial, c.Server.Initial = Closed, Listen
	case p.Flags&(wire.SYN|wire.ACK) == wire.SYN|wire.ACK:
		c.Role = RoleSYNACK
		cl, sv = dst, src
		c.Client.Initial, c.Server.Initial = SynSent, Listen
		c.Client.ISN, c.Client.HasISN = p.Ack-1, true
	default:
		c.Role = RolePort
		if serverPort(src.Port(), dst.Port()) {
			cl, sv = dst, src
		}
		c.Client.Initial, c.Server.Initial = Unknown, Unknown
		c.established = true
	}
	c.Client.Addr, c.Client.Port = cl.Addr(), cl.Port()
	c.Server.Addr, c.Server.Port = sv.Addr(), sv.Port()
	c.Client.State, c.Server.State = c.Client.Initial, c.Server.Initial
	c.Client.Options.WScale, c.Server.Options.WScale = -1, -1
}

// serverPort reports whether port a, rather than b, looks like the
// server's, following Zeek: a well-known port against an ephemeral one,
// otherwise the lower port.
func serverPort(a, b uint16) bool {
	if (a < 1024) != (b < 1024) {
		return a < 1024
	}
	return a < b
}

// set is the one place an endpoint's state changes.
func (c *Analyzer) set(s Side, to State, seg int, ts int64) {
	ep := c.Endpoint(s)
	if ep.State == to {
		return
	}
	ep.Transitions = append(ep.Transitions, Transition{Time: ts, Seg: seg, From: ep.State, To: to})
	ep.State = to
	if to == Established {
		c.established = true
	}
	if to == TimeWait {
		c.Teardown.TimeWait.Start = ts
	}
}

// unset drops an endpoint's transitions caused by seg onwards, returning
// it to the state before them. It undoes an inference that a later
// segment proved wrong (a refused SYN, a crossed FIN).
func (c *Analyzer) unset(s Side, seg int) {
	ep := c.Endpoint(s)
	for n := len(ep.Transitions); n > 0 && ep.Transitions[n-1].Seg >= seg; n-- {
		ep.State = ep.Transitions[n-1].From
		ep.Transitions = ep.Transitions[:n-1]
	}
	// The kept segments from seg on now leave s in the earlier state.
	for i := len(c.Segments) - 1; i >= 0 && c.Segments[i].Index >= seg; i-- {
		if s == SideClient {
			c.Segments[i].Client = ep.State
		} else {
			c.Segments[i].Server = ep.State
		}
	}
	// The FIN s receives travels the other way.
	d := &c.d[1-sends(s)]
	if d.finRcvAt > len(ep.Transitions) {
		d.finRcvd = false
	}
}

func other(s Side) Side {
	if s == SideClient {
		return SideServer
	}
	return SideClient
}

func (c *Analyzer) fin(s Side) *FIN {
	if s == SideServer {
		return &c.Teardown.ServerFIN
	}
	return &c.Teardown.ClientFIN
}

// setOptions records the options of a SYN or SYN-ACK.
func (c *Analyzer) setOptions(ep *Endpoint, p *wire.Packet) {
	n := wire.ParseOptions(p.Options)
	o := &ep.Options
	o.Seen = true
	o.Window = p.Window
	o.MSS = n.MSS
	o.WScale = -1
	if n.HasWScale {
		o.WScale = int8(min(n.WScale, 14))
	}
	o.SACK = n.SACKPerm
	o.Timestamps = n.HasTS
	o.TFO = n.TFO
	o.TFOCookie = n.TFOCookieLen
	o.TFOData = p.PayloadLen
	c.negotiate()
}

// negotiate derives what both ends agreed on once both SYNs are known.
func (c *Analyzer) negotiate() {
	co, so := &c.Client.Options, &c.Server.Options
	if !co.Seen || !so.Seen {
		return
	}
	h := &c.Handshake
	h.WindowScaling = co.WScale >= 0 && so.WScale >= 0
	h.SACK = co.SACK && so.SACK
	h.Timestamps = co.Timestamps && so.Timestamps
	h.TFO = co.TFO && so.TFO
	h.MSS = co.MSS
	if so.MSS != 0 && (h.MSS == 0 || so.MSS < h.MSS) {
		h.MSS = so.MSS
	}
	if h.WindowScaling {
		c.Client.Shift, c.Server.Shift = uint8(co.WScale), uint8(so.WScale)
		c.d[C2S].scale, c.d[S2C].scale = co.WScale, so.WScale
	} else {
		c.d[C2S].scale, c.d[S2C].scale = -2, -2
	}
}

func (c *Analyzer) addArg(seg *Segment, k string, v int64) {
	if c.keep {
		seg.Args = append(seg.Args, Arg{k, v})
	}
}

// segment is one segment as the handlers (analyze, machine and the
// machine's parts) see it, worked out once, as gVisor's tcp.segment: the
// packet, where and when it was captured, who sends and receives it, their
// endpoints and directions' state, and the record they fill in.
type segment struct {
	p        *wire.Packet
	index    int       // frame index (tcpdump -# numbering)
	ts       int64     // capture time, Unix ns
	s, r     Side      // sender and receiver
	ep, rp   *Endpoint // the sender's and the receiver's endpoint
	snd, rcv *dirState // the direction the sender sends in, and the other
	rec      *Segment  // what is recorded of the segment (kept if c.keep)
}

// Segment tracks p, a segment of c's connection captured at frame index
// (from 1), time ts (Unix ns).
func (c *Analyzer) Segment(index int, ts int64, p *wire.Packet) {
	dir := C2S
	if p.SrcPort != c.Client.Port || p.Src != c.Client.Addr {
		dir = S2C
	}
	s := sender(dir)
	r := other(s)
	ep := c.Endpoint(s)
	snd, rcv := &c.d[dir], &c.d[1-dir]
	f := p.Flags
	c.Pkts++
	ep.Pkts++
	if p.IPTotalLen > 0 {
		ep.IPBytes += uint64(p.IPTotalLen)
	} else {
		ep.IPBytes += uint64(len(p.Data) - p.NetOff)
	}
	c.Last = SegRef{index, ts}
	if c.Pkts == 1 {
		c.firstDir = dir
	}
	if c.obs != nil {
		c.obs.Segment(ts, c.Pkts == 1, dir == c.firstDir, p)
	}

	var seg Segment
	seg.Index, seg.Time, seg.Dir, seg.Flags = index, ts, dir, f
	seg.Seq, seg.Ack, seg.Len, seg.Window = p.Seq, p.Ack, p.PayloadLen, p.Window

	sg := segment{p: p, index: index, ts: ts, s: s, r: r, ep: ep, rp: c.Endpoint(r), snd: snd, rcv: rcv, rec: &seg}
	an := c.analyze(&sg)
	an |= c.machine(&sg)
	if c.und.on {
		c.afterFirstFIN(&sg)
	}

	// Bytes from sequence numbers.
	if p.PayloadLen > 0 {
		start := p.Seq
		if f&wire.SYN != 0 {
			start++
		}
		end := start + uint32(p.PayloadLen)
		if !snd.dataSet {
			snd.dataSet = true
			snd.dataStart, snd.dataEnd = start, start
			if ep.HasISN && seqnum.Value(ep.ISN+1).LessThanEq(seqnum.Value(start)) && seqnum.Value(ep.ISN+1).Size(seqnum.Value(start)) < 1<<30 {
				snd.dataStart, snd.dataEnd = ep.ISN+1, ep.ISN+1
			}
		}
		if seqnum.Value(end).GreaterThan(seqnum.Value(snd.dataEnd)) {
			if rcv.finSent && !snd.finSent {
				c.Teardown.HalfCloseBytes += uint64(seqnum.Max(seqnum.Value(snd.dataEnd), seqnum.Value(start)).Size(seqnum.Value(end)))
			}
			snd.dataEnd = end
		}
		ep.Bytes = uint64(seqnum.Value(snd.dataStart).Size(seqnum.Value(snd.dataEnd)))
	}
	if f&wire.ACK != 0 {
		if !snd.acked || seqnum.Value(p.Ack).GreaterThan(seqnum.Value(snd.highAck)) {
			snd.highAck = p.Ack
		}
		snd.acked = true
	}

	c.anoms |= an
	for a := Anomaly(0); an != 0 && a < NumAnomalies; a++ {
		if an.Has(a) {
			c.Anomalies.add(a, index)
		}
	}
	if !c.keep {
		return
	}
	seg.Anomalies = an
	if seg.Note == "" {
		seg.Note = noteFor(an, p)
		if p.PayloadLen > 0 {
			c.addArg(&seg, "len", int64(p.PayloadLen))
		}
	}
	if c.Pkts == 1 && c.Role == RolePort && f&(wire.FIN|wire.RST) == 0 {
		seg.Note = NoteMidstream
	}
	seg.RelSeq = p.Seq - snd.base
	if f&wire.ACK != 0 {
		seg.RelAck = p.Ack - rcv.base
	}
	if len(p.Options) > 0 && f&wire.ACK != 0 {
		seg.SACK = wire.AppendSACK(nil, p.Options)
	}
	seg.WindowScaled = uint32(p.Window)
	if f&wire.SYN == 0 && snd.scale > 0 {
		seg.WindowScaled <<= uint(snd.scale)
	}
	switch {
	case f&wire.SYN != 0 || seg.Note == NoteHandshakeACK || seg.Note == NoteRefused || seg.Note == NoteSYNACKRejected:
		seg.Phase = PhaseHandshake
	case c.firstFIN != SideNone || c.Teardown.RST.Seen():
		seg.Phase = PhaseTeardown
	default:
		seg.Phase = PhaseData
	}
	seg.Client, seg.Server = c.Client.State, c.Server.State
	c.Segments = append(c.Segments, seg)
}

// noteFor names a segment that the state machine left unnamed.
func noteFor(an Anomalies, p *wire.Packet) Note {
	switch {
	case an.Has(Retransmission) || an.Has(FastRetransmission) || an.Has(SpuriousRetransmission):
		return NoteRetransmission
	case an.Has(KeepAlive):
		return NoteKeepAlive
	case an.Has(ZeroWindow):
		return NoteZeroWindow
	case an.Has(WindowUpdate):
		return NoteWindowUpdate
	case an.Has(DuplicateACK):
		return NoteDuplicateACK
	case p.PayloadLen > 0:
		return NoteData
	}
	return NoteACK
}
