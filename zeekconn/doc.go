// Package zeekconn computes the TCP fields of Zeek's conn.log (conn_state,
// history, orig_bytes/resp_bytes, missed_bytes, orig_pkts/resp_pkts,
// duration, ts and the originator/responder roles) by Zeek's own rules.
//
// It exists because no Go library reproduces conn.log. The values are not
// derivable from a textbook TCP state machine: they come from Zeek's
// per-endpoint states (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
// ESTABLISHED, CLOSED, RESET), its role-flipping heuristics, its history
// bit set with exponentially re-logged letters, byte counts taken from
// sequence numbers rather than payloads, content gaps found by its
// reassembler when acks pass over data never seen, and its timers, which
// decide when a connection ends and a packet on the same 5-tuple starts a
// new one. This package models exactly those pieces and nothing else, so
// that synfin's JSON output can carry Zeek-compatible fields and be
// checked against Zeek's own test baselines.
//
// Conn is the per-connection engine, fed one segment at a time with zero
// allocations in the steady state. Observer hooks it into a tcpstate
// tracker, which decides where connections start and end; Fields reads a
// tracked connection's conn.log fields. Zeek's own timers, which split a
// tuple's traffic into rows where the tracker does not, are modelled
// (RemovalTime) but not yet applied.
package zeekconn
