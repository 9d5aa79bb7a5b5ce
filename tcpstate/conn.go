package tcpstate

import (
	"encoding/binary"
	"net/netip"
	"time"

	"synfin/wire"
)

// Dir is the direction of a segment relative to the connection's roles.
type Dir uint8

// Directions.
const (
	C2S Dir = iota // client to server
	S2C            // server to client
)

func (d Dir) String() string {
	if d == S2C {
		return "s2c"
	}
	return "c2s"
}

// Side names an endpoint, or both or neither.
type Side uint8

// Sides.
const (
	SideNone Side = iota
	SideClient
	SideServer
	SideBoth
)

var sideNames = [...]string{"", "client", "server", "both"}

func (s Side) String() string {
	if int(s) < len(sideNames) {
		return sideNames[s]
	}
	return "?"
}

// MarshalText implements encoding.TextMarshaler.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// sender returns the side that sends in direction d.
func sender(d Dir) Side {
	if d == S2C {
		return SideServer
	}
	return SideClient
}

// sends returns the direction side s (SideClient or SideServer) sends in.
func sends(s Side) Dir {
	if s == SideServer {
		return S2C
	}
	return C2S
}

// Role says how the client and server were told apart.
type Role uint8

// Roles.
const (
	RoleSYN    Role = iota // the client sent the first SYN seen
	RoleSYNACK             // first seen at the SYN-ACK: flipped, its receiver is the client
	RolePort               // seen mid-stream: Zeek's heuristics (well-known or lower port is the server)
)

var roleNames = [...]string{"syn", "syn-ack", "port"}

func (r Role) String() string { return roleNames[r] }

// Phase is the part of the connection's life a segment belongs to.
type Phase uint8

// Phases.
const (
	PhaseHandshake Phase = iota
	PhaseData
	PhaseTeardown
)

var phaseNames = [...]string{"handshake", "data", "teardown"}

func (p Phase) String() string { return phaseNames[p] }

// End says why a connection was handed out.
type End uint8

// Reasons a connection ends.
const (
	EndClosed     End = iota // both endpoints closed, or the TIME-WAIT holder's 2MSL passed on the capture's clock
	EndReused                // a new SYN reused the tuple
	EndIdle                  // no segment for track.Config.IdleTimeout on the capture's clock
	EndEvicted               // the table was full (track.Config.MaxConns)
	EndCaptureEnd            // the capture ended first
)

var endNames = [...]string{"closed", "reused", "idle", "evicted", "capture-end"}

func (e End) String() string { return endNames[e] }

// Transition is one state change of one endpoint, caused by a segment,
// or inferred from the capture's clock where no segment shows it.
type Transition struct {
	Time int64 // Unix ns of the causing segment; when inferred, the latest it can have happened
	Seg  int   // frame index of the causing segment (tcpdump -# numbering); 0 when inferred
	From State
	To   State
	// Inferred: no segment caused it. A client whose SYN nobody answered
	// gives up on a timer (SYN-SENT -> CLOSED); the capture shows that by
	// running past the time its next SYN was due without one.
	Inferred bool
}

// Options are the TCP options an endpoint offered in its SYN (or SYN-ACK).
type Options struct {
	Seen       bool   // a SYN from this endpoint was seen
	Window     uint16 // window field of the SYN (never scaled)
	MSS        uint16 // 0: not offered
	WScale     int8   // shift offered, -1: not offered
	SACK       bool   // SACK permitted
	Timestamps bool
	TFO        bool // TCP Fast Open option present
	TFOCookie  int  // cookie length (0: cookie request)
	TFOData    int  // payload bytes carried on the SYN
}

// Endpoint is one side of a connection.
type Endpoint struct {
	Addr        netip.Addr
	Port        uint16
	ISN         uint32 // initial sequence number (valid when HasISN)
	HasISN      bool
	Initial     State // the state before the first transition
	State       State // the current state; the final one once handed out
	Transitions []Transition
	Options     Options
	Shift       uint8  // effective window scale: the offered shift if both ends offered one
	Bytes       uint64 // payload bytes sent, from sequence numbers
	Pkts        uint64 // segments sent
	IPBytes     uint64 // IP bytes sent
}

// AddrPort returns the endpoint's address and port.
func (e *Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// StateAfter returns e's state once the segment at frame seg was
// handled, from its transitions (which later segments may have revised
// since the segment was recorded); an inferred one comes after them all.
func (e *Endpoint) StateAfter(seg int) State {
	s := e.Initial
	for _, t := range e.Transitions {
		if t.Seg > seg || t.Inferred {
			break
		}
		s = t.To
	}
	return s
}

// Retransmit is one retransmission of a handshake segment.
type Retransmit struct {
	Seg   int
	Time  int64
	Since time.Duration // since the previous copy
}

// SegRef points at a segment.
type SegRef struct {
	Seg  int // frame index, 0 when not seen
	Time int64
}

// Seen reports whether the segment was captured.
func (r SegRef) Seen() bool { return r.Seg != 0 }

// Handshake is what the capture shows of the three-way handshake.
type Handshake struct {
	SYN    SegRef // first SYN from the client
	SYNACK SegRef // first SYN-ACK from the server
	ACK    SegRef // the client's ACK of the SYN-ACK

	SYNRetransmits    []Retransmit
	SYNACKRetransmits []Retransmit

	// SYNACKAck is the SYN-ACK's acknowledgment number; it must be the
	// client's ISN + 1.
	SYNACKAck   uint32
	SYNACKAckOK bool
	// ACKAck is the final ACK's acknowledgment number; it must be the
	// server's ISN + 1, and ACKSeq the client's ISN + 1.
	ACKAck   uint32
	ACKAckOK bool
	ACKSeq   uint32
	ACKSeqOK bool

	Complete     bool // SYN, SYN-ACK and ACK seen and consistent
	Simultaneous bool // both ends sent a SYN without ACK (simultaneous open)
	Refused      bool // the SYN was answered with a RST
	// Rejected: the client answered the SYN-ACK with a bare reset
	// (<SEQ=SEG.ACK><CTL=RST>) instead of an ACK, so it did not take it:
	// it had no connection for that SYN (a half-open port probe, an old
	// duplicate SYN), and the server goes back to LISTEN.
	Rejected bool

	// The initial round trip split at the capture point: the server half
	// (SYN to SYN-ACK) and the client half (SYN-ACK to ACK).
	ServerRTT time.Duration
	ClientRTT time.Duration

	// What both ends agreed on.
	WindowScaling bool
	SACK          bool
	Timestamps    bool
	TFO           bool
	MSS           uint16 // the smaller MSS offered, 0 if none
}

// RTT is the initial round trip time at the capture point.
func (h *Handshake) RTT() time.Duration { return h.ServerRTT + h.ClientRTT }

// Pattern names how a connection was torn down.
type Pattern uint8

// Teardown patterns, with the names of DESIGN.md.
const (
	PatternNone       Pattern = iota // never established
	PatternIncomplete                // the capture ended (or the connection was dropped) first
	PatternFourSegment
	PatternThreeSegment // the ACK of the first FIN rode on the second FIN
	PatternSimultaneous // both FINs crossed
	PatternHalfClose    // data flowed after the first FIN
	PatternAbort        // ended by RST
	PatternRefused      // the SYN was answered by RST
)

var patternNames = [...]string{"none", "incomplete", "four-segment", "three-segment",
	"simultaneous-close", "half-close", "abort-rst", "refused"}

func (p Pattern) String() string { return patternNames[p] }

// FIN is one endpoint's FIN and its acknowledgment.
type FIN struct {
	SegRef
	Seq         uint32 // sequence number of the FIN; it consumes one
	Retransmits int
	Ack         SegRef // the peer's segment acknowledging it
	AckOK       bool   // an acknowledgment equal to Seq + 1 was seen
	Piggybacked bool   // acknowledged by the peer's own FIN
}

// RST is the first reset of a connection.
type RST struct {
	SegRef
	From     Side
	AfterFIN bool // a FIN had already been sent
	Count    int
}

// TimeWaitHold says which endpoint holds TIME-WAIT and until when.
type TimeWaitHold struct {
	Side     Side
	Start    int64         // Unix ns of the segment that entered it
	Duration time.Duration // 2MSL (track.Config.TimeWait)
	Expired  bool          // the capture's clock passed Start+Duration
	// Held: the connection was handed out before 2MSL was over, because
	// track.Config.Hold is shorter.
	Held bool
}

// Until is when 2MSL lets the endpoint go.
func (t TimeWaitHold) Until() int64 { return t.Start + int64(t.Duration) }

// Gaps is a set of things the capture did not show.
type Gaps uint16

// What may be missing.
const (
	GapSYN          Gaps = 1 << iota // the client's SYN
	GapSYNACK                        // the server's SYN-ACK
	GapHandshakeACK                  // the final ACK of the handshake
	GapClientFIN                     // the client's FIN (connection still open or ended otherwise)
	GapServerFIN
	GapClientFINAck // the client's FIN was never acknowledged
	GapServerFINAck
	GapEnd  // the capture ended before the connection did
	numGaps = iota
)

var gapNames = [numGaps]string{"syn", "syn-ack", "handshake-ack", "client-fin", "server-fin",
	"client-fin-ack", "server-fin-ack", "end"}

// Names lists the gaps by name.
func (g Gaps) Names() []string { return g.AppendNames(nil) }

// AppendNames appends the names of the gaps to names.
func (g Gaps) AppendNames(names []string) []string {
	for i := 0; i < numGaps; i++ {
		if g&(1<<i) != 0 {
			names = append(names, gapNames[i])
		}
	}
	return names
}

// Teardown is what the capture shows of the connection's end.
type Teardown struct {
	Pattern   Pattern
	Initiator Side // who closed first (SideBoth for simultaneous close)
	ClientFIN FIN
	ServerFIN FIN
	RST       RST
	// HalfCloseBytes counts payload bytes sent after the first FIN.
	HalfCloseBytes uint64
	// LostLastACK: a FIN was retransmitted after the peer had acknowledged it,
	// so that acknowledgment did not arrive.
	LostLastACK bool
	TimeWait    TimeWaitHold
	Missing     Gaps
	// Readings is set when the capture cannot tell who closed first: it
	// starts mid-connection with one end's FIN and shows nothing of
	// whether the other had closed before. The connection's states
	// follow the reading ranked first; Readings holds the other and
	// what ranked them.
	Readings *Readings
}

// DefaultTimeWait is Linux's TIME-WAIT length (TCP_TIMEWAIT_LEN, 60 s),
// which it uses as 2MSL.
const DefaultTimeWait = 60 * time.Second

// Reuse says a connection reused the 4-tuple of an earlier one.
type Reuse struct {
	Prev       uint64        // ID of the earlier connection, 0 if none
	Gap        time.Duration // from the earlier one's last segment to this SYN
	Within2MSL bool          // the earlier one's TIME-WAIT had not run out
}

// Conn is one TCP connection: a 4-tuple and a pair of ISNs.
type Conn struct {
	ID        uint64 // 1, 2, ... in order of first segment
	Client    Endpoint
	Server    Endpoint
	Role      Role
	First     SegRef // first segment
	Last      SegRef // last segment
	Pkts      uint64
	Handshake Handshake
	Teardown  Teardown
	Anomalies AnomalyCounts
	Reuse     Reuse
	End       End
	// Observer is the connection's track.Config.Observer, for renderers
	// to ask for what it found; nil without one.
	Observer Observer
	// Segments holds every segment, only with track.Config.Segments.
	Segments []Segment
}

// Endpoint returns the endpoint on side s (SideClient or SideServer).
func (c *Conn) Endpoint(s Side) *Endpoint {
	if s == SideServer {
		return &c.Server
	}
	return &c.Client
}

// Duration is the time from the first to the last segment.
func (c *Conn) Duration() time.Duration { return time.Duration(c.Last.Time - c.First.Time) }

// UID is a stable Zeek-style identifier: "C" and base62 of a hash of the
// first time stamp, the 4-tuple and the client's ISN.
func (c *Conn) UID() string { return string(c.AppendUID(nil)) }

// AppendUID appends UID to b without allocating.
func (c *Conn) AppendUID(b []byte) []byte { return c.AppendRowUID(b, 0) }

// AppendRowUID appends the UID of the row'th conn.log row of c (from 0),
// for a connection Zeek's timers log as several rows, each with a UID of
// its own: row 0's is UID.
func (c *Conn) AppendRowUID(b []byte, row int) []byte {
	// FNV-1a, 64 bits, over the same bytes in the same order as ever;
	// then a later row's number.
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	add := func(p []byte) {
		for _, x := range p {
			h = (h ^ uint64(x)) * prime
		}
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(c.First.Time))
	add(buf[:])
	for _, e := range [2]*Endpoint{&c.Client, &c.Server} {
		a := e.Addr.As16()
		add(a[:])
		binary.BigEndian.PutUint16(buf[:], e.Port)
		add(buf[:2])
	}
	binary.BigEndian.PutUint32(buf[:], c.Client.ISN)
	add(buf[:4])
	if row > 0 {
		add(binary.AppendUvarint(buf[:0], uint64(row)))
	}
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b = append(b, 'C')
	for i := 0; i < 17 && (h > 0 || i == 0); i++ {
		b = append(b, digits[h%62])
		h /= 62
	}
	return b
}

// Clone returns a deep copy, for keeping a Conn beyond track.Config.Done.
func (c *Conn) Clone() *Conn {
	n := *c
	n.Client.Transitions = append([]Transition(nil), c.Client.Transitions...)
	n.Server.Transitions = append([]Transition(nil), c.Server.Transitions...)
	n.Handshake.SYNRetransmits = append([]Retransmit(nil), c.Handshake.SYNRetransmits...)
	n.Handshake.SYNACKRetransmits = append([]Retransmit(nil), c.Handshake.SYNACKRetransmits...)
	if c.Segments != nil {
		n.Segments = make([]Segment, len(c.Segments))
		for i, s := range c.Segments {
			n.Segments[i] = s
			n.Segments[i].Args = append([]Arg(nil), s.Args...)
			n.Segments[i].SACK = append([]wire.SACKBlock(nil), s.SACK...)
		}
	}
	if c.Observer != nil {
		n.Observer = c.Observer.Clone()
	}
	if r := c.Teardown.Readings; r != nil {
		x := *r
		x.Clues = append([]Clue(nil), r.Clues...)
		x.Other.Client.Transitions = append([]Transition(nil), r.Other.Client.Transitions...)
		x.Other.Server.Transitions = append([]Transition(nil), r.Other.Server.Transitions...)
		n.Teardown.Readings = &x
	}
	return &n
}

// Note is a stable key saying what a segment does, for renderers to turn
// into words. Its parameters are in Segment.Args.
type Note string

// Notes.
const (
	NoteSYN              Note = "syn"                // client opens: CLOSED -> SYN-SENT
	NoteSYNRetransmit    Note = "syn-retransmit"     // the SYN again (args: n, since_us)
	NoteSimultaneousSYN  Note = "simultaneous-syn"   // the other end also sent a SYN
	NoteSYNACK           Note = "syn-ack"            // server answers (args: ack, expected)
	NoteSYNACKRetransmit Note = "syn-ack-retransmit" // the SYN-ACK again
	NoteHandshakeACK     Note = "handshake-ack"      // client completes the handshake (args: ack, expected)
	NoteData             Note = "data"               // payload (args: len)
	NoteACK              Note = "ack"                // pure acknowledgment
	NoteFIN              Note = "fin"                // first FIN of the connection (args: seq)
	NoteSecondFIN        Note = "second-fin"         // the other end's FIN, ACK separate
	NoteFINPiggyback     Note = "fin-ack-piggyback"  // second FIN carrying the ACK of the first
	NoteSimultaneousFIN  Note = "simultaneous-fin"   // FIN sent before the peer's FIN was acknowledged
	NoteFINRetransmit    Note = "fin-retransmit"     // the FIN again
	NoteFINACK           Note = "fin-ack"            // acknowledges the peer's FIN (args: ack, expected)
	NoteLastACK          Note = "last-ack"           // acknowledges the second FIN: the sender enters TIME-WAIT
	NoteRST              Note = "rst"                // reset
	NoteRefused          Note = "refused"            // reset answering a SYN: nobody listens
	NoteSYNACKRejected   Note = "syn-ack-rejected"   // bare reset answering a SYN-ACK: the client has no such connection
	NoteMidstream        Note = "midstream"          // first segment of a connection whose handshake was not captured
	NoteKeepAlive        Note = "keep-alive"
	NoteWindowUpdate     Note = "window-update"
	NoteZeroWindow       Note = "zero-window"
	NoteRetransmission   Note = "retransmission"
	NoteDuplicateACK     Note = "duplicate-ack"
)

// Arg is one parameter of a note.
type Arg struct {
	Key string
	Val int64
}

// Segment is one segment of a connection, as kept with
// track.Config.Segments.
type Segment struct {
	Index  int   // frame index (tcpdump -# numbering)
	Time   int64 // Unix ns
	Dir    Dir
	Flags  wire.Flags
	Seq    uint32 // absolute
	Ack    uint32 // absolute; meaningful when Flags has ACK
	RelSeq uint32 // relative to the sender's ISN (the SYN has 0)
	RelAck uint32 // relative to the receiver's ISN
	Len    int    // payload bytes
	Window uint16 // as sent
	// WindowScaled is Window shifted by the sender's effective scale.
	WindowScaled uint32
	Phase        Phase
	Anomalies    Anomalies
	Note         Note
	Args         []Arg
	// SACK holds the blocks of the segment's SACK option, absolute.
	SACK []wire.SACKBlock
	// Client and Server are the endpoints' states after the segment.
	Client, Server State
}

// Arg returns the value of note parameter key.
func (s *Segment) Arg(key string) (int64, bool) {
	for _, a := range s.Args {
		if a.Key == key {
			return a.Val, true
		}
	}
	return 0, false
}
