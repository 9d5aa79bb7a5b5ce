// Package vantage compares two captures of the same traffic taken at two
// points of its path (a client's side and a server's, or either side of
// a firewall, NAT or load balancer) and says what happened between the
// points.
//
// A Capture reads one point's frames and groups its TCP segments into
// connections. Compare matches each connection seen at both points, also
// through address and port translation and sequence number rewriting
// (by the ISNs, the timestamp option values, the 4-tuple, and at last
// the timing and sizes of the first segments), orients each (which point
// is nearer the client), estimates the offset between the two captures'
// clocks from the segments seen at both, and matches the segments:
// seen at both (with the one-way delay), lost between the points (seen
// at the sender's side only), split or coalesced on the way (TSO/GRO at
// a capture point: not a loss), seen only at the far point, or not
// observable (the other capture was not running). Retransmissions are
// explained by where their original went, and what the path changed
// (translation, MSS, options, TTL, DSCP/ECN, sequence offsets) is named.
//
// Memory is bounded: a Capture holds at most Max segments (DefaultMax,
// 262144, by default), 48 bytes each; with what Compare builds and the
// Report it returns, about 250 bytes a segment (measured: 109 MB of live
// heap for two captures of 233,000 segments), so about 130 MB at the
// bound. Past it the rest of that capture is not compared, and
// Report.Warnings says so.
package vantage
