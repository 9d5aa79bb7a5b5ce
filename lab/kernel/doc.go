// Package kernel records what the Linux kernel itself says about TCP
// sockets, as the oracle the experiment is checked against:
//
//   - Recorder follows the tracepoint sock/inet_sock_set_state through a
//     private tracefs instance, filtered in the kernel on protocol and
//     ports, and removes the instance when it stops.
//   - Sockets and Watch query sock_diag (what ss(8) shows), which is the
//     only place TIME-WAIT is visible: the tracepoint fires when a full
//     socket is replaced by a timewait minisock (as FIN-WAIT-2 or CLOSING
//     to CLOSE), never for the minisock's own states.
//   - State maps the kernel's TCP_* numbers to RFC 9293 names.
//
// Tracefs is read by hand (a few writes to control files and a line
// parser for trace_pipe) because no library in the module graph does it,
// and the line format is fixed by the event's print format. The
// tracepoint is global: it reports sockets of every network namespace and
// carries no namespace identifier, so a caller running several
// experiments tells them apart by ports and addresses.
package kernel
