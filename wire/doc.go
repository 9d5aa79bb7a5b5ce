// Package wire decodes captured frames into a caller-owned Packet with no
// allocation, down to the TCP header inside whatever carries it.
//
// Link types: Ethernet, Linux SLL and SLL2, BSD loopback/NULL and OpenBSD
// loop, raw IP (LINKTYPE_RAW, DLT 12 and 14, IPv4, IPv6), PPP (9, and
// pppd's 166), PPPoE (51), Linux NFLOG (239) and IP over InfiniBand (242).
//
// Encapsulations: 802.1Q, 802.1ad and the 0x9100/0x9200 tags; MPLS label
// stacks; PPPoE sessions and PPP; GRE version 0 (checksum, key, sequence
// number) carrying IPv4, IPv6, MPLS or Ethernet, and version 1 (PPTP)
// carrying PPP; IP in IP (IPv4 or IPv6 in either); VXLAN and Geneve;
// IPv6 extension headers and IPv4 fragments (the first carries the TCP
// header). Each follows tcpdump 4.99's printer, so that a frame decodes
// as TCP when tcpdump prints it as TCP. Cisco FabricPath and VN-Tag, and
// ERSPAN types I to III in GRE, are followed as Zeek follows them:
// tcpdump 4.99 prints those frames as raw bytes or "gre-proto-0x88be".
// Tunnels in tunnels are followed four deep.
//
// What is left, link type by link type and encapsulation by
// encapsulation, with the reason for each, is in encapsulations.md beside
// this file, from a walk through libpcap's link types, tcpdump's printers
// and tcpdump's and Zeek's test captures.
//
// It is written by hand rather than with gopacket's layers because synfin
// needs three things those do not give together: zero allocations per
// packet on the hot path, the exact byte offsets where a truncated or
// malformed header stops (tcpdump prints up to that point), and the raw
// option bytes as captured. gopacket is still used for the file formats
// (package pcapfile) and for live capture.
package wire
