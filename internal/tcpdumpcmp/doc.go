// Package tcpdumpcmp compares tcpdump text outputs record by record, for
// tests that hold synfin's "read" against tcpdump: it splits "-#" output
// into packet records, picks out the TCP ones, and compares them, allowing
// synfin to stop at "length N" where tcpdump goes on to decode the
// application protocol.
package tcpdumpcmp
