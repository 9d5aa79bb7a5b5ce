package ladder

import (
	"strconv"
	"time"

	"synfin/tcpstate"
	"synfin/wire"
)

// Kind is what a row of a ladder shows.
type Kind uint8

// Row kinds.
const (
	KindSeg   Kind = iota // one segment: an arrow
	KindBreak             // a long gap of time, drawn as a break
	KindLost              // segments before the next one were not captured
	KindEnd               // the end: final states
)

var kindNames = [...]string{"seg", "break", "lost", "end"}

func (k Kind) String() string { return kindNames[k] }

// Class is how an arrow is drawn.
type Class uint8

// Arrow classes.
const (
	Normal  Class = iota
	Retrans       // a retransmission of some kind: dashed
	Reset         // carries RST
	Warn          // another anomaly
)

var classNames = [...]string{"normal", "retrans", "rst", "warn"}

func (c Class) String() string { return classNames[c] }

// Row is one row of a ladder, top to bottom.
type Row struct {
	Kind Kind
	Seg  *tcpstate.Segment // KindSeg
	// Gap is the time since the previous row's segment (KindSeg, KindBreak).
	Gap time.Duration
	// TimeWait marks the break that stands for a TIME-WAIT's 2MSL.
	TimeWait bool
	// States are the client's and server's states after the row, and
	// Changed says which of them changed on it.
	States  [2]tcpstate.State
	Changed [2]bool
	Label   string // arrow label: flags, relative seq[:end(len)], ack
	Class   Class
	Marks   []string // anomaly names on the arrow
}

// Span is a run of rows in one phase, First and Last inclusive.
type Span struct {
	Phase       tcpstate.Phase
	First, Last int
}

// Model is a connection laid out as a ladder, independent of how it is
// drawn. Every renderer (text, SVG, Mermaid, the HTML report's script)
// draws the same model, so they agree on breaks, labels and states.
type Model struct {
	Conn    *tcpstate.Conn
	Initial [2]tcpstate.State
	Rows    []Row
	Phases  []Span
}

// breakAt decides which gaps become breaks: long in absolute terms and
// long compared with the connection's usual gap, so that a slow link is
// not all breaks and a fast one still shows its timeouts.
func breakAt(segs []tcpstate.Segment) time.Duration {
	if len(segs) < 2 {
		return 0
	}
	gaps := make([]time.Duration, 0, len(segs)-1)
	for i := 1; i < len(segs); i++ {
		gaps = append(gaps, time.Duration(segs[i].Time-segs[i-1].Time))
	}
	// Median by partial selection sort is enough for the sizes drawn.
	sorted := append([]time.Duration(nil), gaps...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
		if i > len(sorted)/2 {
			break
		}
	}
	med := sorted[len(sorted)/2]
	return max(200*time.Millisecond, 10*med)
}

// Label is an arrow's label: tcpdump's flag letters, the relative
// sequence number (with the end and length when it carries data) and the
// relative acknowledgment.
func Label(s *tcpstate.Segment) string {
	b := s.Flags.AppendTcpdump(nil)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(s.RelSeq), 10)
	if s.Len > 0 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(s.RelSeq+uint32(s.Len)), 10)
		b = append(b, '(')
		b = strconv.AppendInt(b, int64(s.Len), 10)
		b = append(b, ')')
	}
	if s.Flags&wire.ACK != 0 {
		b = append(b, " ack "...)
		b = strconv.AppendUint(b, uint64(s.RelAck), 10)
	}
	return string(b)
}

func classOf(s *tcpstate.Segment) Class {
	an := s.Anomalies
	switch {
	case s.Flags&wire.RST != 0:
		return Reset
	case an.Has(tcpstate.Retransmission) || an.Has(tcpstate.FastRetransmission) ||
		an.Has(tcpstate.SpuriousRetransmission) || an.Has(tcpstate.SYNRetransmit) ||
		an.Has(tcpstate.SYNACKRetransmit) || an.Has(tcpstate.FINRetransmit):
		return Retrans
	case an != 0:
		return Warn
	}
	return Normal
}

// Layout lays out c.
func Layout(c *tcpstate.Conn) *Model {
	m := &Model{Conn: c, Initial: [2]tcpstate.State{c.Client.Initial, c.Server.Initial}}
	st := m.Initial
	thr := breakAt(c.Segments)
	for i := range c.Segments {
		s := &c.Segments[i]
		var gap time.Duration
		if i > 0 {
			gap = time.Duration(s.Time - c.Segments[i-1].Time)
			if gap >= thr {
				m.Rows = append(m.Rows, Row{Kind: KindBreak, Gap: gap, States: st})
			}
		}
		if s.Anomalies.Has(tcpstate.PrevSegmentNotCaptured) {
			m.Rows = append(m.Rows, Row{Kind: KindLost, States: st})
		}
		r := Row{Kind: KindSeg, Seg: s, Gap: gap, Label: Label(s), Class: classOf(s)}
		for side, sd := range [2]tcpstate.Side{tcpstate.SideClient, tcpstate.SideServer} {
			r.States[side] = c.Endpoint(sd).StateAfter(s.Index)
			r.Changed[side] = r.States[side] != st[side] || changedOn(c.Endpoint(sd), s.Index)
		}
		for _, a := range s.Anomalies.List() {
			r.Marks = append(r.Marks, a.String())
		}
		st = r.States
		m.Rows = append(m.Rows, r)
		if n := len(m.Phases); n > 0 && m.Phases[n-1].Phase == s.Phase {
			m.Phases[n-1].Last = len(m.Rows) - 1
		} else {
			// Breaks and lost-segment rows before a phase's first
			// segment belong to it.
			first := 0
			if n > 0 {
				first = m.Phases[n-1].Last + 1
			}
			m.Phases = append(m.Phases, Span{Phase: s.Phase, First: first, Last: len(m.Rows) - 1})
		}
	}
	end := Row{Kind: KindEnd, States: [2]tcpstate.State{c.Client.State, c.Server.State}}
	if tw := c.Teardown.TimeWait; tw.Side != tcpstate.SideNone {
		m.Rows = append(m.Rows, Row{Kind: KindBreak, Gap: tw.Duration, TimeWait: true, States: st})
		if tw.Expired {
			for side, sd := range [2]tcpstate.Side{tcpstate.SideClient, tcpstate.SideServer} {
				if tw.Side == sd || tw.Side == tcpstate.SideBoth {
					end.States[side] = tcpstate.Closed
				}
			}
		}
	}
	end.Changed = [2]bool{end.States[0] != st[0], end.States[1] != st[1]}
	m.Rows = append(m.Rows, end)
	return m
}

// changedOn reports whether ep had a transition on frame seg, even one that
// came back to the same state.
func changedOn(ep *tcpstate.Endpoint, seg int) bool {
	for _, t := range ep.Transitions {
		if t.Seg == seg {
			return true
		}
	}
	return false
}

// Band is how a state is shaded on a lifeline.
type Band uint8

// Bands.
const (
	BandIdle        Band = iota // CLOSED, LISTEN, UNKNOWN
	BandOpening                 // SYN-SENT, SYN-RECEIVED
	BandEstablished             // ESTABLISHED
	BandClosing                 // FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK
	BandTimeWait                // TIME-WAIT
)

var bandNames = [...]string{"idle", "opening", "established", "closing", "time-wait"}

func (b Band) String() string { return bandNames[b] }

// BandOf returns the band a state is drawn in.
func BandOf(s tcpstate.State) Band {
	switch s {
	case tcpstate.SynSent, tcpstate.SynReceived:
		return BandOpening
	case tcpstate.Established:
		return BandEstablished
	case tcpstate.FinWait1, tcpstate.FinWait2, tcpstate.CloseWait, tcpstate.Closing, tcpstate.LastAck:
		return BandClosing
	case tcpstate.TimeWait:
		return BandTimeWait
	}
	return BandIdle
}
