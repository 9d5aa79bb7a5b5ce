// Package wire decodes captured frames into a caller-owned Packet with no
// allocation: link layer (Ethernet with 802.1Q/802.1ad tags, Linux SLL and
// SLL2, BSD loopback/NULL, raw IP), IPv4 with options and fragments, IPv6
// with extension headers, UDP tunnels (VXLAN, Geneve) and TCP.
//
// It is written by hand rather than with gopacket's layers because synfin
// needs three things those do not give together: zero allocations per
// packet on the hot path, the exact byte offsets where a truncated or
// malformed header stops (tcpdump prints up to that point), and the raw
// option bytes as captured. gopacket is still used for the file formats
// (package pcapfile) and for live capture.
package wire
