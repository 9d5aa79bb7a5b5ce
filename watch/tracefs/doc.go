// Package tracefs follows the tracepoint sock/inet_sock_set_state, every
// TCP state change with the kernel's own time stamp, through a tracefs
// instance of its own (instances/synfin-PID-XXXXXXXX), so it neither
// disturbs nor is disturbed by other users of tracing, and removes it
// when it stops.
//
// Why tracefs and not eBPF, measured on a 2-core machine shared with
// other work (load average about 14), 60,000 loopback connections at the
// 3,000 to 3,500 a second the client reached, about 600,000 events: the
// reader here cost 3.9 s of CPU (1.2 s user, 2.6 s system: two thirds is
// the kernel formatting text) in 20 s, a fifth of one core, at 30 MB
// peak RSS; polling sock_diag alone cost 0.6 s, and ss -tan once a
// second 0.9 s. Over 100,000 connections with --json written to a file,
// the kernel reported 61,162 of 1,000,002 events lost (6%), all in one
// burst while the machine was saturated, and watch counted every one.
// An eBPF program (cilium/ebpf, a ring buffer) would save the text
// formatting and could filter by network namespace in the kernel, but
// needs CAP_BPF and CAP_PERFMON on top of root, a program written in BPF
// assembly or a compiled object checked in, and struct sock's layout
// from BTF; it was not built, so the choice is between the cost above
// and no measurement: tracefs stays until an eBPF source is measured
// beside it (trace_pipe_raw, binary, would also skip the formatting).
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
