// Package track finds the connection of each TCP segment and decides when
// a connection is over; package tcpstate analyzes each one.
//
// A Tracker is fed decoded segments in capture order and keeps a
// tcpstate.Analyzer per connection, found by a Go map keyed by a seeded
// hash of the 4-tuple (TupleHash). Memory follows open connections, not
// packets: a connection is handed to Config.Done as soon as it is finished
// on the capture's clock (both ends closed, TIME-WAIT over, idle too long,
// evicted by Config.MaxConns, or the capture ended), then its storage is
// reused. Connections closed but held for 2MSL, and open ones idle for a
// few seconds, wait as compact snapshots (segments and all, with
// Config.Segments) in large byte chunks free of pointers, mapped outside
// the Go heap (chunks.go), which the garbage collector neither scans nor
// counts. Per-segment detail (tcpstate.Conn.Segments) is kept only when
// Config.Segments is set; without it tracking does not allocate per
// packet once the table has warmed up.
//
// The chunks were once plain Go heap, to be mapped outside it only if the
// heap could not hold conns and read -n under 100 MB of peak resident
// memory at 10x the reference workload (synfin gen --scale 10, 2,000,000
// connections, 6 GB). It held them at first (conns 74 MB); as snapshots
// and the program grew it no longer did: conns 109-120 MB at 10x,
// 103-105 MB even with the collector's goal at 20% over the live heap, as
// the chunks were most of that heap and the goal gave them room for half
// as much again in garbage. Mapped, conns takes 96 MB at 10x, explain
// --json 126 MB at 1x rather than 157, explain 115 rather than 146, with
// the same CPU time. read -n holds no snapshots (80 MB at 10x).
//
// With Config.Segments (explain, diagram) the snapshots are most of what
// is held, and all chunks but the newest two and the oldest are packed
// with zstd's fastest level (packer in chunks.go), about 1.9 times
// smaller. On the reference workload explain --json's peak went from 126
// MB to 106 MB (and to 93 MB with explain's collector goal at 30%), for
// about 0.8 s more CPU time: 12% of its profile is zstd. conns keeps its
// chunks as they are: its snapshots are half the size, and its time is
// what users wait for.
//
// The snapshot stores (frozen.go) are hand-written, byte chunks with a
// codec of their own, because they are what keeps memory flat over
// captures of millions of connections; the table is a Go map.
package track
