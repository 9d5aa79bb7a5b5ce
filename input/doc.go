// Package input opens a capture by its content, not its name: pcap,
// pcapng, or tcpdump's text output, from a file or standard input ("-"),
// and reads it: Each is the one read loop of every command (the next
// frame, the pcap-filter expression, cancellation, the end of the input
// and its damage, reported after what was read before it), over a file, a
// live pipe (Pipe, whose clock runs on while it is quiet), a live capture
// or frames held in memory. OpenAll reads many inputs as one (files,
// directories, globs), merged by time stamp as mergecap merges them, so
// that a connection that spans rotated files is one connection.
//
// An input nothing can be read from is an error, never an empty success:
// a file that is neither a capture nor tcpdump text, text that yields no
// TCP segment, a pcap file of a link type that cannot be decoded, a pcapng
// file whose every packet is on such an interface. What is skipped from an
// input that is otherwise read (an interface of such a link type, text
// lines that could not be read) is told through Options.Warn.
package input
