package explain

import (
	"time"

	"synfin/tcpstate"
)

// CollapseAbove is the most segments a connection can have and still be
// told segment by segment. Past it, the timeline and the ladders (text,
// SVG, Mermaid) give the handshake and the teardown in full and the data
// phase as one summary (DataPhase): 200 segments are some 600 lines of
// timeline and four screens of ladder, and a bulk transfer has hundreds
// of thousands, which no one reads one by one. Options.Full (explain
// --full, diagram --full) tells every segment.
const CollapseAbove = 200

// DataPhase is a connection's data phase summed up: the segments from the
// first of the data phase to its last, with whatever lies between them
// (a SYN sent again, say), by direction (tcpstate.C2S, tcpstate.S2C).
type DataPhase struct {
	First, Last int // indexes into Conn.Segments, inclusive
	Segments    [2]int
	Bytes       [2]int64 // payload, bytes sent again counted again
	// Retransmissions counts the segments that are retransmissions:
	// ordinary, fast or spurious, as Wireshark's tcp.analysis.retransmission.
	Retransmissions [2]int
	Duration        time.Duration // from the first segment to the last
}

// Collapse returns the data phase of c summed up when c has more than
// CollapseAbove segments and its data phase more than one; ok is false
// when c is told segment by segment.
func Collapse(c *tcpstate.Conn) (d DataPhase, ok bool) {
	if len(c.Segments) <= CollapseAbove {
		return d, false
	}
	d.First, d.Last = -1, -1
	for i := range c.Segments {
		if c.Segments[i].Phase == tcpstate.PhaseData {
			if d.First < 0 {
				d.First = i
			}
			d.Last = i
		}
	}
	if d.Last-d.First < 1 {
		return DataPhase{}, false
	}
	for i := d.First; i <= d.Last; i++ {
		s := &c.Segments[i]
		d.Segments[s.Dir]++
		d.Bytes[s.Dir] += int64(s.Len)
		if IsRetransmission(s) {
			d.Retransmissions[s.Dir]++
		}
	}
	d.Duration = time.Duration(c.Segments[d.Last].Time - c.Segments[d.First].Time)
	return d, true
}

// IsRetransmission reports whether s is a retransmission of any kind
// Wireshark's tcp.analysis.retransmission covers.
func IsRetransmission(s *tcpstate.Segment) bool {
	an := s.Anomalies
	return an.Has(tcpstate.Retransmission) || an.Has(tcpstate.FastRetransmission) || an.Has(tcpstate.SpuriousRetransmission)
}

// DirLines are the data phase's lines by direction, client to server
// first: segments, bytes and retransmissions, after the direction in
// words ("dp.dir") or, bare, for a drawing that shows the direction
// ("lg.dir").
func (d *DataPhase) DirLines(bare bool) [2]Msg {
	var out [2]Msg
	for dir, ends := range [2][2]string{{"w.client", "w.server"}, {"w.server", "w.client"}} {
		key := "dp.dir"
		if bare {
			key = "lg.dir"
		}
		out[dir] = M(key, "from", Word(ends[0]), "to", Word(ends[1]), "segs", itoa(d.Segments[dir]),
			"bytes", itoa(d.Bytes[dir]), "re", itoa(d.Retransmissions[dir]))
	}
	return out
}

// Count is the number of segments summed up.
func (d *DataPhase) Count() int { return d.Last - d.First + 1 }

// transitionCursor walks an endpoint's transitions along the segments in
// frame order, so that a whole connection is stepped through in time
// linear in its segments.
type transitionCursor struct {
	ts []tcpstate.Transition
	i  int
}

// upTo returns the transitions not returned yet that frames up to seg
// caused. Frames must come in increasing order.
func (k *transitionCursor) upTo(seg int) []tcpstate.Transition {
	j := k.i
	// An inferred transition (seg 0) comes after them all: no frame caused it.
	for j < len(k.ts) && k.ts[j].Seg <= seg && !k.ts[j].Inferred {
		j++
	}
	out := k.ts[k.i:j]
	k.i = j
	return out
}

// StateWalk gives both endpoints' states segment after segment, as
// StateAfter does for one, in time linear in the segments and
// transitions.
type StateWalk struct {
	cur [2]transitionCursor
	st  [2]tcpstate.State
}

// NewStateWalk starts a walk of c's endpoints from their initial states.
func NewStateWalk(c *tcpstate.Conn) *StateWalk {
	return &StateWalk{
		cur: [2]transitionCursor{{ts: c.Client.Transitions}, {ts: c.Server.Transitions}},
		st:  [2]tcpstate.State{c.Client.Initial, c.Server.Initial},
	}
}

// After returns the client's and server's states once frame seg was
// handled, and whether each had a transition on it (even one back to the
// same state). Frames must come in increasing order.
func (w *StateWalk) After(seg int) (st [2]tcpstate.State, changed [2]bool) {
	for side := range w.cur {
		for _, t := range w.cur[side].upTo(seg) {
			w.st[side] = t.To
			changed[side] = changed[side] || t.Seg == seg
		}
	}
	return w.st, changed
}
