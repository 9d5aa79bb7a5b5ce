// Package input opens a capture by its content, not its name: pcap,
// pcapng, or tcpdump's text output, from a file or standard input ("-"),
// and reads it: Each is the one read loop of every command (the next
// frame, the pcap-filter expression, cancellation, the end of the input
// and its damage, reported after what was read before it), over a file, a
// live pipe (Pipe, whose clock runs on while it is quiet), a live capture
// or frames held in memory.
package input
