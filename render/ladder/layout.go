package ladder

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"synfin/render/explain"
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
	KindData              // the data phase summed up (explain.Collapse)
)

var kindNames = [...]string{"seg", "break", "lost", "end", "data"}

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
	Label   string // arrow label: flags, relative seq[:end(len)], ack (the text ladder writes it itself)
	Class   Class
	Marks   []string // anomaly names on the arrow
	// Data is the data phase summed up (KindData): its segments are not
	// rows of their own.
	Data *explain.DataPhase
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
// long compared with the connection's usual gap (the median), so that a
// slow link is not all breaks and a fast one still shows its timeouts.
func breakAt(segs []tcpstate.Segment) time.Duration {
	if len(segs) < 2 {
		return 0
	}
	var small [32]time.Duration // most connections': on the stack
	gaps := small[:0]
	if len(segs) > len(small) {
		gaps = make([]time.Duration, 0, len(segs)-1)
	}
	for i := 1; i < len(segs); i++ {
		gaps = append(gaps, time.Duration(segs[i].Time-segs[i-1].Time))
	}
	if len(gaps) <= len(small) {
		// Few enough to sort, without the random source below.
		slices.Sort(gaps)
		return max(200*time.Millisecond, 10*gaps[len(gaps)/2])
	}
	// Pivots drawn from a source seeded anew, so that no capture can be
	// made to take quadratic time; the median is the same whichever are.
	r := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	med := nth(gaps, len(gaps)/2, r, func(a, b time.Duration) bool { return a < b })
	return max(200*time.Millisecond, 10*med)
}

// nth returns the value that would be at index k were v sorted by less:
// quickselect, in expected time linear in len(v) whatever the order of v
// with pivots drawn from r. It reorders v.
func nth[T any](v []T, k int, r *rand.Rand, less func(a, b T) bool) T {
	for len(v) > 1 {
		p := v[r.IntN(len(v))]
		// Three ways: below p, equal to p, above p, so that many equal
		// values (a steady link's gaps) end the search at once.
		lt, i, gt := 0, 0, len(v)
		for i < gt {
			switch {
			case less(v[i], p):
				v[lt], v[i] = v[i], v[lt]
				lt++
				i++
			case less(p, v[i]):
				gt--
				v[i], v[gt] = v[gt], v[i]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			v = v[:lt]
		case k >= gt:
			v, k = v[gt:], k-gt
		default:
			return p
		}
	}
	return v[0]
}

// Label is an arrow's label: tcpdump's flag letters, the relative
// sequence number (with the end and length when it carries data) and the
// relative acknowledgment.
func Label(s *tcpstate.Segment) string {
	var buf [64]byte
	return string(appendLabel(buf[:0], s))
}

// appendLabel appends Label(s) to b.
func appendLabel(b []byte, s *tcpstate.Segment) []byte {
	b = s.Flags.AppendTcpdump(b)
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
	return b
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

// Layout lays out c, a row for every segment.
func Layout(c *tcpstate.Conn) *Model {
	m := &Model{}
	layout(m, c, nil, true)
	return m
}

// layout lays out c into m, in the storage of its rows and phases, with
// the segments of data (when not nil) as one KindData row, in time linear
// in c's segments; the arrows' labels are left out unless labels is set.
func layout(m *Model, c *tcpstate.Conn, data *explain.DataPhase, labels bool) {
	n := len(c.Segments) + 2
	if data != nil {
		n -= data.Count() - 1
	}
	*m = Model{Conn: c, Initial: [2]tcpstate.State{c.Client.Initial, c.Server.Initial},
		Rows: slices.Grow(m.Rows[:0], n), Phases: m.Phases[:0]}
	st := m.Initial
	thr := breakAt(c.Segments)
	walk := explain.NewStateWalk(c)
	for i := 0; i < len(c.Segments); i++ {
		s := &c.Segments[i]
		var gap time.Duration
		if i > 0 {
			gap = time.Duration(s.Time - c.Segments[i-1].Time)
			if gap >= thr {
				m.Rows = append(m.Rows, Row{Kind: KindBreak, Gap: gap, States: st})
			}
		}
		var r Row
		if data != nil && i == data.First {
			// The rows the data phase's segments would have had, in one.
			r = Row{Kind: KindData, Seg: s, Gap: gap, Data: data}
			for ; i <= data.Last; i++ {
				states, changed := walk.After(c.Segments[i].Index)
				r.States = states
				r.Changed[0] = r.Changed[0] || changed[0]
				r.Changed[1] = r.Changed[1] || changed[1]
			}
			i = data.Last
		} else {
			if s.Anomalies.Has(tcpstate.PrevSegmentNotCaptured) {
				m.Rows = append(m.Rows, Row{Kind: KindLost, States: st})
			}
			r = Row{Kind: KindSeg, Seg: s, Gap: gap, Class: classOf(s)}
			if labels {
				r.Label = Label(s)
			}
			r.States, r.Changed = walk.After(s.Index)
			for _, a := range s.Anomalies.List() {
				r.Marks = append(r.Marks, a.String())
			}
		}
		for side := range r.Changed {
			r.Changed[side] = r.Changed[side] || r.States[side] != st[side]
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
}

// layout lays out c as o draws it: with its data phase summed up when
// explain.Collapse says so, unless o.Full.
func (o Options) layout(c *tcpstate.Conn) *Model {
	m := &Model{}
	o.layoutInto(m, c, new(explain.DataPhase), true)
	return m
}

// layoutInto is layout into m's storage, and the data phase's into d's,
// with the arrows' labels when labels is set.
func (o Options) layoutInto(m *Model, c *tcpstate.Conn, d *explain.DataPhase, labels bool) {
	var ok bool
	if *d, ok = explain.Collapse(c); ok && !o.Full {
		layout(m, c, d, labels)
		return
	}
	layout(m, c, nil, labels)
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

// Collapsed lays out c as the ladders draw it unless told --full: with
// its data phase summed up when explain.Collapse says so.
func Collapsed(c *tcpstate.Conn) *Model { return Options{}.layout(c) }
