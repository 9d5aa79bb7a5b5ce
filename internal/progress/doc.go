// Package progress draws a one-line progress bar for reading a file of
// known size: bytes read of the total, the share done, the rate and the
// time left, redrawn in place at most ten times a second and erased when
// the read ends.
//
// Bytes are counted by a Reader wrapped around the file, so the cost is
// one clock read per Read call (a buffer fill, not a packet) and nothing
// is allocated after the first redraw. Nothing is drawn in the first half
// second, so quick reads leave no trace.
//
// Whether to draw at all is the caller's choice; IsTerminal and Allowed
// help make it: a bar belongs on a terminal only, never in a pipe or a
// file, and not when NO_PROGRESS is set or TERM is "dumb".
package progress
