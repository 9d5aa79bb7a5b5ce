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
// tracked connection's conn.log fields.
//
// Zeek's timers and its reuse check end a connection where the tracker,
// which follows the endpoints' lifecycle, does not: an attempt unanswered
// for tcp_attempt_delay, a closed or reset connection after
// tcp_close_delay, one idle past its inactivity timeout, a SYN-ACK with a
// new sequence number on a half-open tuple. The next packet on the tuple
// then begins another conn.log row (in one-sided captures Zeek logs S0
// SAD and later SH DAF where one connection would read SH SADF). With
// Config.SplitRows the observer splits rows there, as Zeek run with its
// default timers does: Earlier holds the rows before the one Fields
// returns. conns --json writes a line per row; the table, explain,
// diagram and the lab show one connection and, where they show Zeek's
// fields, compute them over the whole of it. A row also ends where the
// tracker ends its connection (a SYN with a new sequence number, which
// Zeek takes for reuse too; an idle timeout; eviction under MaxConns, the
// one place Zeek would go on), and a connection keeps at most 16 rows
// before its last, past which its last row takes in the rest.
package zeekconn
