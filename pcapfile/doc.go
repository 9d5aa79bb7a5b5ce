// Package pcapfile reads pcap (both byte orders, microsecond and nanosecond
// resolution) and pcapng (several interfaces, if_tsresol) files with
// gopacket's pcapgo, handing out frames without allocating per packet.
//
// What it adds to pcapgo is the position of damage: a truncated or corrupt
// file yields every frame before the damage, then a *DamageError whose
// Offset is the byte offset of the first record or block that could not be
// read. pcapgo buffers its input, so the offsets are computed here from the
// record and block lengths rather than from bytes consumed.
package pcapfile
