// Package pcapfile reads pcap (both byte orders, microsecond and nanosecond
// resolution, and Kuznetzov's patched format with its longer record
// headers) and pcapng (several interfaces, if_tsresol) files, handing out
// frames without allocating per packet.
//
// pcapng is read with gopacket's pcapgo. pcap records are read here: the
// format is two fixed headers, and pcapgo normalises time stamps, losing
// the raw fraction that tcpdump prints (even an invalid one), and copies
// every record, where this reader hands records out of its buffer.
//
// pcapgo reads the stream through a scanner of its block structure, which
// makes it read as libpcap does: interface statistics blocks, which
// libpcap ignores and pcapgo stops at when malformed, are hidden from it;
// a simple packet block, which has no time stamp, gets time 0; and a
// section may hold at most MaxInterfaces interfaces, since pcapgo keeps
// about a kilobyte for each.
//
// A truncated or corrupt file yields every frame before the damage, then a
// *DamageError whose Offset is the byte offset of the first record or block
// that could not be read. pcapgo buffers its input, so pcapng offsets are
// computed from block lengths rather than from bytes consumed.
package pcapfile
