// Package pcapfile reads pcap (both byte orders, microsecond and nanosecond
// resolution) and pcapng (several interfaces, if_tsresol) files, handing out
// frames without allocating per packet.
//
// pcapng is read with gopacket's pcapgo. pcap records are read here: the
// format is two fixed headers, and pcapgo normalises time stamps, losing
// the raw fraction that tcpdump prints (even an invalid one), and copies
// every record, where this reader hands records out of its buffer.
//
// A truncated or corrupt file yields every frame before the damage, then a
// *DamageError whose Offset is the byte offset of the first record or block
// that could not be read. pcapgo buffers its input, so pcapng offsets are
// computed from block lengths rather than from bytes consumed.
package pcapfile
