// Package pcaptest gives tests the captures they read and write: the
// frames of a capture file or stream, pcap files written by gopacket,
// generated workloads held in memory, and the in-order comparison of what
// two observers saw. Tests in many packages did each of these by hand;
// this is the one way.
package pcaptest
