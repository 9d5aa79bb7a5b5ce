package tcpdump

// Decimal formatting without strconv's intermediate buffer and copy:
// digits are written straight into b's spare capacity, two at a time.
// A read prints a dozen numbers per packet, so this is the printer's
// hottest code.

const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// decimalLen returns the number of decimal digits of v (1 for 0).
func decimalLen(v uint64) int {
	n := 1
	for v >= 10000 {
		v /= 10000
		n += 4
	}
	switch {
	case v >= 1000:
		return n + 3
	case v >= 100:
		return n + 2
	case v >= 10:
		return n + 1
	}
	return n
}

// appendUint appends v in decimal.
func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	if v < 100 {
		return append(b, digitPairs[2*v], digitPairs[2*v+1])
	}
	n := decimalLen(v)
	l := len(b)
	if cap(b)-l < n {
		b = append(b, make([]byte, n)...)
	}
	b = b[:l+n]
	putDecimal(b[l:], v)
	return b
}

// putDecimal fills d, whose length is the digit count of v, with v.
func putDecimal(d []byte, v uint64) {
	i := len(d)
	for v >= 1<<32 {
		q := v / 100
		r := v - q*100
		i -= 2
		d[i], d[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	w := uint32(v) // 32-bit division is cheaper
	for w >= 100 {
		q := w / 100
		r := w - q*100
		i -= 2
		d[i], d[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		w = q
	}
	if w >= 10 {
		d[i-2], d[i-1] = digitPairs[2*w], digitPairs[2*w+1]
		return
	}
	d[i-1] = byte('0' + w)
}

// appendPadded appends v in decimal, zero-padded to width (right-aligned
// with spaces when width is 5, as tcpdump's "%5u" packet numbers are).
func appendPadded(b []byte, v uint64, width int) []byte {
	n := decimalLen(v)
	if n < width {
		pad := byte('0')
		if width == 5 {
			pad = ' '
		}
		for i := n; i < width; i++ {
			b = append(b, pad)
		}
	}
	return appendUint(b, v)
}

// appendByte appends an octet in decimal, as in a dotted quad.
func appendByte(b []byte, v byte) []byte {
	switch {
	case v < 10:
		return append(b, '0'+v)
	case v < 100:
		return append(b, digitPairs[2*int(v)], digitPairs[2*int(v)+1])
	}
	r := int(v) % 100
	return append(b, '0'+v/100, digitPairs[2*r], digitPairs[2*r+1])
}
