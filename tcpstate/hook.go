package tcpstate

import (
	"net/netip"

	"synfin/wire"
)

// onSegment calls Config.OnSegment for the segment with frame index. It
// lets a caller act on each segment as it is tracked, e.g. annotate a
// listing with the step the segment belongs to from the same events the
// explanations use.
//
// With Config.Segments the record passed is the last of c.Segments: its
// note, phase, anomalies and both ends' states after it. Without, it is
// nil, as notes are only worked out for kept segments. A caller that needs
// only the newest segment may empty c.Segments in the call, so that memory
// stays flat over long connections: the tracker only appends to it.
//
// Later segments can revise earlier state changes (a lost FIN's receiver
// changes state on the copy that arrived), so the call sees what was known
// at that segment; the endpoints' Transitions hold the final account.
func (t *Tracker) onSegment(c *conn, index int) {
	var s *Segment
	if n := len(c.Segments); n > 0 && c.Segments[n-1].Index == index {
		s = &c.Segments[n-1]
	}
	t.cfg.OnSegment(&c.Conn, s)
}

// Observer follows one connection beside the analyzer, for a caller that
// keeps an account of its own (package zeekconn's: Zeek's conn.log
// fields). Config.Observer makes one per connection; the tracker reuses
// it for later connections and hands it out in Conn.Observer, which
// renderers ask for what it found.
type Observer interface {
	// Segment is called with each segment of the connection, in order.
	// first is true for its first segment, when the observer starts over;
	// fromFirst tells whether a segment came from the endpoint that sent
	// the first.
	Segment(ts int64, first, fromFirst bool, p *wire.Packet)
	// Clone returns a copy for Conn.Clone, which the tracker's reuse of
	// the observer does not change.
	Clone() Observer
}

// StateObserver is an Observer whose state the tracker can keep in a
// connection's snapshot. With one (or with no Observer) the tracker holds
// a closed connection, which it must keep for 2MSL to catch late
// segments, and one idle for a while as a snapshot of a few hundred bytes
// rather than as a live connection of a few kilobytes.
type StateObserver interface {
	Observer
	// AppendState appends the observer's state to b. LoadState reads a
	// state written with the same ctx from the start of b and returns
	// what follows it.
	AppendState(b []byte, ctx *StateContext) []byte
	LoadState(b []byte, ctx *StateContext) (rest []byte, err error)
}

// StateContext is what the tracker knows of a connection anyway, given to
// a StateObserver so that its state need not repeat it.
type StateContext struct {
	Base  int64             // the first segment's time
	Addrs [2]netip.AddrPort // the first segment's sender and receiver
	ISNs  [2]uint32         // their initial sequence numbers, 0 if not seen
}
