// Package server is the experiment's TCP server: the seed's Python server
// (bind, listen with a small backlog, accept in a loop, print each peer,
// close the previous connection when the next is accepted) plus modes
// that decide how each accepted connection ends, so every teardown
// pattern can be produced on purpose: seed, hold, close, echo, sink,
// send, shutdown-write, rst and close-unread.
//
// The listen backlog is set with a second listen(2) on the bound socket,
// because net.Listen always asks for the system maximum; Linux accepts a
// repeated listen(2) and only updates the backlog. Multipath TCP is turned
// off so the kernel runs plain TCP whatever Go's default is.
package server
