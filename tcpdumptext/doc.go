// Package tcpdumptext reads tcpdump's text output back into frames, so a
// pasted or piped tcpdump listing (`tcpdump -l -n ... | synfin explain -r -`)
// can be analysed like a capture file.
//
// Each TCP line becomes a wire.Frame holding a synthesised raw-IP packet
// (wire.LinkRaw, or an Ethernet frame when -e printed the MAC addresses):
// a valid IPv4 or IPv6 header and a TCP header with correct checksums, the
// printed options encoded back to bytes, and a payload of "length N" zero
// bytes — or the real bytes when a -x/-X hex dump follows the line.
//
// The parser is written by hand because no library parses tcpdump's text:
// its output is meant for people, varies with every flag (-n, -S, -t…,
// -#, -e, -v, -q, -x) and is only specified by print-tcp.c and friends.
//
// What the text does not carry is reconstructed as follows:
//
//   - Sequence numbers. Without -S tcpdump prints numbers relative to the
//     first ACK-bearing packet of a conversation (or any SYN+ACK), which it
//     prints absolute. The reader repeats that bookkeeping exactly and adds
//     the bases back; whether the numbers are relative or absolute is
//     decided from the numbers themselves, so -S need not be stated. The
//     sequence number of a pure ACK is not printed; it is estimated as the
//     next sequence number of its direction.
//   - Names. Without -n tcpdump prints host and service names. Services are
//     resolved through /etc/services and a built-in table (e.g. nsesrvr is
//     9988). "localhost" is 127.0.0.1 or ::1; any other host name maps to a
//     stable synthetic address derived from the name, in 240.0.0.0/4 for
//     IPv4 and the discard prefix 100::/64 for IPv6.
//   - Time. Formats without a date (the default time of day, -t, -ttt,
//     -ttttt) are placed on Options.Date, 1970-01-01 in Options.Location
//     (the local zone of TZ) unless set. A time of day that jumps back by
//     more than twelve hours starts a new day.
//   - IP fields. TTL, TOS, ID and DF come from -v output when present, else
//     TTL 64, DF set. With -q only addresses, ports and length are known;
//     the segment then has no flags and zero sequence numbers.
//   - Checksums are correct for the synthesised bytes, except that a TCP
//     checksum -v printed as incorrect is kept as printed, so the verdict
//     survives the round trip.
//   - MPTCP options are encoded back from every field tcpdump prints
//     (keys, tokens, HMACs, data sequence mappings, addresses); the bits
//     it does not print (capable's flags but the checksum bit, the width
//     of a DSS number where the option's length allows either) are zero
//     or the first fitting choice. An md5 option printed as a verdict
//     keeps its kind and length; its digest is zero.
//   - Tunnels. A VXLAN or Geneve line gives the outer IPv4 or IPv6 and UDP
//     headers, the tunnel header (flags, VNI, Geneve option lengths, or
//     classes and types under -v) and an inner Ethernet header where the
//     tunnel carries one (its addresses zero unless -e printed them); the
//     outer lengths and checksums are computed.
//
// Lines that are not TCP (UDP, ARP, ICMP, banners, summaries, blank lines)
// are skipped and counted in Stats. Lines that look like TCP but cannot be
// parsed (truncated "[|tcp]" output, bad options) are reported through
// Options.Warn with their line number and skipped, never silently.
package tcpdumptext
