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
// Config.Segments) in large byte chunks free of pointers, which the
// garbage collector does not scan. Per-segment detail
// (tcpstate.Conn.Segments) is kept only when Config.Segments is set;
// without it tracking does not allocate per packet once the table has
// warmed up.
//
// All of this memory is plain Go heap. It used to be mapped outside the
// heap, to be kept only if the heap could not hold conns and read -n
// under 100 MB of peak resident memory at 10x the reference workload
// (synfin gen, 2,000,000 connections, 6 GB). It holds them, so the
// mapped memory went; peak RSS, mapped then heap: conns 65 and 74 MB,
// read -n 67 and 68 MB (render/tcpdump's sequence table), conns --json
// 77 and 103 MB. Commands that keep every segment pay the collector's
// headroom on their snapshots too: explain --json 186 and 272 MB at 1x,
// 214 and 319 MB at 10x (272 falls to 209 with GOGC=50). CPU time is the
// same within noise.
//
// The snapshot stores (frozen.go) are hand-written, byte chunks with a
// codec of their own, because they are what keeps memory flat over
// captures of millions of connections; the table is a Go map.
package track
