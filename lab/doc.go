// Package lab runs the seed's experiment, and its variations, by itself:
// in a private network namespace it starts the server, runs the clients,
// loses chosen segments, records the frames on the wire and what the
// kernel says about each socket (tracepoint transitions and sock_diag's
// TIME-WAIT), then removes everything it created.
//
// A Scenario says what to run and what RFC 9293 expects to happen, so a
// run can be checked against the kernel, which no one here wrote. The
// frames come from a Recorder; AFPacket is a small one bound inside the
// namespace, kept here so the lab does not depend on the capture command.
package lab
