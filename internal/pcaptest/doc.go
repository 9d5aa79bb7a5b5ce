// Package pcaptest gives tests the captures they read and write: every
// frame of a capture file, stream or reader (Read, File, ReadAll), their
// decoding (Packets), pcap files written by gopacket (WriteFile, so that
// what synfin reads back was not written by synfin), generated workloads
// held in memory or in a file (Generated, GeneratedFile), tcpdump started
// and stopped around a capture (StartTcpdump), a reader benchmark's loop
// (ReadLoop), the in-order comparison of what two observers saw
// (Subsequence), and a connection's data phase as tcpdump and tshark show
// it (TcpdumpDataPhase). Tests in many packages did each of these by hand.
//
// Generated keeps what it wrote for the life of the test binary, so that
// benchmarks and tests asking for the same workload write it once.
package pcaptest
