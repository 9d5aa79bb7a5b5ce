// Package input opens a capture by its content, not its name: pcap,
// pcapng, or tcpdump's text output, from a file or standard input ("-").
package input
