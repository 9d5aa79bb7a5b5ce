// Package tcpstate follows TCP connections through a capture: one Conn per
// 4-tuple and initial sequence number, the RFC 9293 state of both endpoints
// after every segment, the handshake arithmetic and options, the data phase
// anomalies (with Wireshark's definitions) and the teardown pattern.
//
// An Analyzer follows one connection: given its segments in capture
// order, it builds the Conn and settles it (Finish) when the connection
// is over. It holds no table of connections: package track finds each
// segment's connection, decides when one is over (closed and past 2MSL,
// idle, evicted, port reused, capture ended) and keeps the idle ones as
// snapshots, which Analyzer.AppendState and LoadState write and read.
//
// The types carry keys and numbers, not English: renderers (text in
// several languages, ladder diagrams, JSON) are built on top of them.
package tcpstate
