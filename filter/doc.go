// Package filter compiles the part of tcpdump's filter language
// (pcap-filter(7)) used in TCP work to classic BPF, in pure Go, and runs
// the programs on captured frames.
//
// The subset: host, net (CIDR, "net X mask Y" and "net 10"), port,
// portrange, the src/dst/"src or dst"/"src and dst" qualifiers, the
// protocols ether, ip, ip6, arp, rarp, tcp, udp, sctp, icmp, icmp6 and
// igmp, "proto N", vlan, byte tests such as "tcp[tcpflags] & tcp-syn != 0"
// with pcap-filter's named constants and arithmetic, len, greater, less,
// and/&&, or/||, not/!, parentheses, and tcpdump's reuse of the last
// qualifiers by a bare value ("host a or b", "port 80 or 443"). Anything
// else is an error that names the construct and its column.
//
// Programs follow libpcap 1.10's code generation for each link type
// (Ethernet with its VLAN offset shifting, Linux SLL and SLL2, BSD and
// OpenBSD loopback, raw IP, raw IPv4 and IPv6), including what it does
// not do: port and tcp[...] tests look only at first IPv4 fragments;
// IPv6 ports are tested only when TCP/UDP directly follows the fixed
// header; tcp[...] is IPv4 only; "host" on an IPv4 address also matches
// ARP and RARP. A matching program returns the snapshot length, as
// libpcap's do, so it can be attached to a socket unchanged.
//
// It is written by hand because no maintained pure-Go pcap-filter
// compiler gives libpcap's answers (one commonly used matches UDP
// datagrams for "tcp and host X"), and calling libpcap needs cgo. The
// tests compare every verdict with libpcap's, by running tcpdump over the
// shared corpus captures converted to every supported link type.
//
// Frames are matched by a small interpreter rather than
// golang.org/x/net/bpf's VM because libpcap's "len" is the length on the
// wire, which that VM cannot be told, and because matching must not
// allocate.
package filter
