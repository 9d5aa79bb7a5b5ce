// Package tcpdump prints TCP segments exactly as tcpdump 4.99.3 prints
// them: the same time stamp forms, link headers (-e), IP details (-v),
// relative sequence numbers, TCP options, hex and ASCII dumps.
//
// It is written by hand because no Go library reproduces tcpdump's text
// byte for byte, and because synfin needs it fast and without allocation
// per packet: a Printer appends each packet's lines to a caller's buffer.
// Numbers are formatted in place and the clock text once per second. With
// options that make each line depend on its packet alone (see
// Options.Stateless), several Printers may print parts of one capture side
// by side.
// The oracles are tcpdump's own test outputs and the installed tcpdump
// (see the tests); behaviour follows tcpdump's printers (print-tcp.c,
// print-ip.c, print-ip6.c, print-ether.c, print-sll.c, print-null.c,
// print-udp.c, print-vxlan.c, print-geneve.c, print-gre.c,
// print-mpls.c, print-ppp.c, print-pppoe.c, print-ipoib.c,
// print-nflog.c, print-mptcp.c, print-ascii.c, util-print.c). A frame
// wire decodes beyond tcpdump (FabricPath, VN-Tag, ERSPAN) prints as
// tcpdump prints it: raw bytes, or an unknown GRE protocol.
//
// Differences from tcpdump, by design:
//   - Host names come from Options.Hosts (synfin's commands pass one that
//     reads the hosts file and asks DNS with a short timeout, as tcpdump's
//     gethostbyaddr does without its wait); without one, addresses print
//     as numbers even without -n. Port names are resolved from
//     /etc/services as tcpdump does, or from a built-in table when that
//     file is missing.
//   - Application protocols after "length N" (HTTP, SSH, DNS, BGP ...) are
//     not decoded; the line ends at "length N".
//   - The relative sequence number table is bounded (see SeqTableSize);
//     tcpdump's grows without limit. Past the bound the oldest
//     conversations are forgotten, so a very old conversation seen again
//     restarts as tcpdump would print a new one.
package tcpdump
