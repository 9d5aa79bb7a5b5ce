// Package gen writes a synthetic capture of a busy TCP server: the
// reference workload synfin is measured on. Many connections overlap in
// time, as on a real server, and each follows one of the lifecycles synfin
// names: four-segment close, three-segment close (the ACK piggybacked on
// the second FIN), client-first or server-first, simultaneous close,
// half-close, abort by RST, refusal (SYN answered by RST-ACK) and an
// unanswered SYN retransmitted after 1 s and 3 s. Some connections exchange
// data with slow start, an ACK every second segment, SACK, retransmissions and
// out-of-order segments; a few are established only after a SYN was
// retransmitted. IPv4 and IPv6 (about 80/20) over Ethernet, with valid IP
// and TCP checksums and the SYN options Linux and Windows send.
// Config.Transfer writes one long upload instead, of as many segments as
// asked, in order or (Config.Reorder) with pairs of segments swapped: the
// workload of the outputs whose cost grows with a connection's segments.
//
// The output is deterministic: the same Config gives the same bytes. Each
// connection's script is drawn from its own random stream (seeded by the
// seed and the connection's number), so it does not depend on how the
// connections interleave, and Stats records what was intended per
// lifecycle so tests can compare a tracker's findings against it.
//
// Write streams: it keeps only the connections open at the moment (a few
// thousand, since new connections arrive at a fixed rate and Scale makes
// the capture longer, not denser), so its memory does not grow with the
// size of the file.
//
// Frames are encoded in place in the output buffer and the pcap or pcapng
// record headers are written here rather than through gopacket's pcapgo
// writers: the hot loop then copies each byte once, makes no interface
// call or allocation per packet, and writes hundreds of megabytes in a few
// seconds. The tests check the files with tcpdump and tshark, which were
// not written here, and with package pcapfile.
package gen
