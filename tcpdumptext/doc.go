// Package tcpdumptext reads tcpdump's text output back into frames, so a
// pasted or piped tcpdump listing can be analysed like a capture file.
package tcpdumptext
