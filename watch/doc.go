// Package watch is the live view of a host's TCP sockets behind
// `synfin watch`: every socket's state and how long it has been in it,
// the listeners' accept queues, TIME-WAIT per remote endpoint, the
// kernel's counters, and the findings (package finding) those add up
// to.
//
// A Watcher joins four sources of one network namespace:
//
//   - the tracepoint sock/inet_sock_set_state for each transition with
//     the kernel's time stamp, through eBPF (package bpf, which says why
//     it and not tracefs) when the process may load BPF (CAP_BPF and
//     CAP_PERFMON), else through tracefs (package tracefs, root);
//     without either, watch polls only, and a socket's age starts when
//     it is first seen;
//   - sock_diag (package sockdiag) every interval, for the states as ss
//     shows them, TIME-WAIT (which the tracepoint never reports),
//     queues and timers; it also corrects the table for transitions the
//     kernel lost;
//   - /proc/PID/fd for the processes that hold sockets (package procfs);
//   - /proc/net/netstat and /proc/net/snmp, and the sysctls that bound
//     sockets (package procfs).
//
// Memory is bounded whatever the load: the table keeps one small entry
// per socket that is neither TIME-WAIT nor a request (at most
// Options.MaxSockets, past which sockets are counted as untracked), a
// sock_diag dump is read one socket at a time, TIME-WAIT is counted per
// remote endpoint (at most MaxEndpoints of them), and events the kernel
// could not hand over are counted, never silently dropped.
package watch
