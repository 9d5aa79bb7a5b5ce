// Package tracefs follows the tracepoint sock/inet_sock_set_state, every
// TCP state change with the kernel's own time stamp, through a tracefs
// instance of its own (instances/synfin-PID-XXXXXXXX), so it neither
// disturbs nor is disturbed by other users of tracing, and removes it
// when it stops.
//
// It is watch's source when BPF is refused (package bpf is the source
// otherwise: its documentation gives the measurements that chose it);
// the kernel formats each event as text, which the reader parses back.
//
// The tracepoint is global: it reports sockets of every network
// namespace and carries no namespace identifier. Its owner (see
// watch.Open) keeps the events whose local address is one of its
// namespace's own; on loopback, which every namespace has, other
// namespaces' events pass too.
//
// Events the kernel could not keep (its buffer was full) are reported by
// trace_pipe as "[LOST N EVENTS]" lines and counted in Lost, never
// silently dropped.
package tracefs
