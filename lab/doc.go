// Package lab runs the seed's experiment, and its variations, by itself:
// in a private network namespace it starts the server, runs the clients,
// loses chosen segments, records the frames on the wire and what the
// kernel says about each socket (tracepoint transitions and sock_diag's
// TIME-WAIT), then removes everything it created.
//
// A Scenario says what to run and what RFC 9293 expects to happen, so a
// run can be checked against the kernel, which no one here wrote. A
// scenario can keep the capture running after the run (Tail), so that
// it shows what only time shows, or keep only what a capture started
// after the first FIN holds (LateCapture), as a tcpdump started late
// does. The frames come from a Recorder; AFPacket is a small one bound inside the
// namespace, kept here so the lab does not depend on the capture command.
//
// Run removes what it created on every return, including when its
// context is cancelled (the command cancels it on SIGINT and SIGTERM).
// A process killed outright cannot: its namespace (with the nftables
// table inside) and its tracefs instance stay, named with its pid, and
// Sweep removes those whose process is gone. Two labs at once, in one
// process or two, use namespaces and instances of their own and tell
// their sockets apart in the system-wide tracepoint by port.
//
// What a run on gVisor's netstack (package userstack) shares with one on
// the kernel is here too: the scenarios, RunClients, Logger and
// Loopback. The lab's texts, the scenarios' and the command's headings,
// are Text values in English and Chinese.
package lab
