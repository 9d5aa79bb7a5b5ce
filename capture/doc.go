// Package capture captures live traffic on Linux with AF_PACKET and a
// TPACKET_V3 ring (gopacket's afpacket, pure Go), applies a filter
// compiled by package filter in the kernel, and writes pcap or pcapng
// files with gopacket's pcapgo.
//
// It reproduces what tcpdump (libpcap 1.10) shows: on a loopback
// interface each segment once, as received (the kernel hands packet
// sockets both the outgoing and the incoming copy; the outgoing one is
// rejected by the socket filter, as libpcap rejects it); on "any", Linux
// cooked v2 frames; VLAN tags put back into the frame. The afpacket
// socket does not expose the sockaddr_ll of each packet, so for "any" the
// SLL2 header is rebuilt from the interface's own link header, hardware
// type and address; the packet type is inferred from the addresses.
//
// What the socket filter cannot do is done here: with "any" the link
// headers differ per interface, and the kernel strips VLAN tags before
// the filter runs, so such filters run in user space on the frame as
// written, with the kernel applying only the snap length and the
// loopback rule.
//
// The Writer rotates its files as tcpdump's -C, -G and -W do (Rotation):
// the same names, the same sizes and the same ring. -G's names are
// formatted by strftime(3)'s rules, written here for the C locale: no Go
// module of strftime is among those the project takes, and a file name
// needs only the plain conversions, which TestStrftime holds to date(1).
package capture
