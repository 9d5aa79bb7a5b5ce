package tcpdump

// Hex and ASCII dumps, as print-ascii.c lays them out.

const hexdigits = "0123456789abcdef"

func appendHex2(b []byte, c byte) []byte {
	return append(b, hexdigits[c>>4], hexdigits[c&15])
}

func appendHex4(b []byte, v uint16) []byte {
	return append(b, hexdigits[v>>12], hexdigits[v>>8&15], hexdigits[v>>4&15], hexdigits[v&15])
}

// isGraph is ND_ASCII_ISGRAPH: printable and not a space.
func isGraph(c byte) bool { return c > 0x20 && c < 0x7f }

// appendHexDump is hex_print ("-x"): lines of eight 16-bit groups.
func appendHexDump(b, data []byte) []byte {
	off := 0
	for i := 0; i < len(data); i += 2 {
		if i%16 == 0 {
			b = append(b, "\n\t0x"...)
			b = appendHexPad(b, uint64(off), 4)
			b = append(b, ':', ' ')
			off += 16
		}
		b = append(b, ' ')
		b = appendHex2(b, data[i])
		if i+1 < len(data) {
			b = appendHex2(b, data[i+1])
		}
	}
	return b
}

// appendHexASCIIDump is hex_and_ascii_print ("-X"): the hex column is
// padded to 40 characters, then two spaces and the ASCII column.
func appendHexASCIIDump(b, data []byte) []byte {
	for off := 0; off < len(data); off += 16 {
		line := data[off:]
		if len(line) > 16 {
			line = line[:16]
		}
		b = append(b, "\n\t0x"...)
		b = appendHexPad(b, uint64(off), 4)
		b = append(b, ':', ' ')
		n := 0
		for i := 0; i < len(line); i += 2 {
			b = append(b, ' ')
			b = appendHex2(b, line[i])
			n += 3
			if i+1 < len(line) {
				b = appendHex2(b, line[i+1])
				n += 2
			}
		}
		for ; n < 40; n++ {
			b = append(b, ' ')
		}
		b = append(b, ' ', ' ')
		for _, c := range line {
			if isGraph(c) {
				b = append(b, c)
			} else {
				b = append(b, '.')
			}
		}
	}
	return b
}

// appendASCIIDump is ascii_print ("-A"): printable bytes, tabs, spaces and
// newlines as they are; a CR shows as '.' only when at least two bytes
// follow and the next is not LF (tcpdump 4.99.3's test).
func appendASCIIDump(b, data []byte) []byte {
	b = append(b, '\n')
	for i, c := range data {
		switch {
		case c == '\r':
			if len(data)-1-i > 1 && data[i+1] != '\n' {
				b = append(b, '.')
			}
		case isGraph(c) || c == '\t' || c == ' ' || c == '\n':
			b = append(b, c)
		default:
			b = append(b, '.')
		}
	}
	return b
}
