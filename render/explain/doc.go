// Package explain turns a tracked connection into teaching text, in English
// or Chinese: who is client and server, a verdict, a timeline of segments
// with relative and absolute sequence numbers and both endpoints' state
// changes on the segment that caused them, a note per segment saying what
// it does and why, what the capture did not show, and a summary.
//
// Explain builds the explanation as language-neutral messages (a catalogue
// key and named arguments); Write formats them. Every message of both
// languages lives in one catalogue, keyed by tcpstate's note keys and
// synfin's own, so that other renderers (the HTML report) format the same
// messages and a missing translation is found by a test, not by a reader.
//
// Write can draw the connection's ladder after the timeline through
// Options.Ladder (package ladder builds on this one, so it is a hook).
// A connection of more than CollapseAbove segments has its data phase
// summed up in one entry (Collapse: segments, bytes and retransmissions
// by direction, and the time it took), the handshake and the teardown
// told in full, unless Options.Full; the ladders sum it up the same way.
// Stepper names the step each segment is, one line at a time, for
// read --annotate.
package explain
