package tcpstate

import (
	"net/netip"

	"synfin/wire"
)

// Observer follows one connection beside the analyzer, for a caller that
// keeps an account of its own (package zeekconn's: Zeek's conn.log
// fields). track.Config.Observer makes one per connection; the tracker
// reuses it for later connections and hands it out in Conn.Observer, which
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
