// Package labtest holds what the lab's tests share: a run's frames
// written as a pcap file, read back by tcpdump, and the segments a
// scenario expects counted in tcpdump's lines. tcpdump is the oracle
// there, never synfin's own printer.
package labtest
