package tcpdump

import "encoding/binary"

// addAddrVersions names an add-addr option's version and echo bits.
var addAddrVersions = [16]string{0: "v1", 1: "v1-echo", 4: "v0-ip4", 6: "v0-ip6"}

// mptcp prints a Multipath TCP option (kind and length included in o) as
// tcpdump 4.99's print-mptcp.c does. ok false means "[bad opt]".
func (pr *Printer) mptcp(b []byte, o []byte, flags byte) ([]byte, bool) {
	pr.proto = "mptcp"
	n := len(o)
	if n < 3 {
		return b, false
	}
	sub := int(o[2] >> 4)
	if sub > 8 {
		sub = 8
	}
	b = append(b, ' ')
	b = appendUint(b, uint64(n))
	b = append(b, ' ')
	b = append(b, [...]string{"capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"}[sub]...)
	const syn, ack = 0x02, 0x10
	be64 := func(i int) uint64 { return binary.BigEndian.Uint64(o[i:]) }
	be32 := func(i int) uint32 { return binary.BigEndian.Uint32(o[i:]) }
	switch sub {
	case 0: // capable
		if !((n == 12 || n == 4) && flags&syn != 0) && !((n == 20 || n == 22) && flags&(syn|ack) == ack) {
			return b, false
		}
		v := o[2] & 0xf
		if v > 1 {
			b = append(b, " Unknown Version ("...)
			b = appendUint(b, uint64(v))
			return append(b, ')'), true
		}
		b = append(b, " v"...)
		b = appendUint(b, uint64(v))
		if o[3]&0x80 != 0 {
			b = append(b, " csum"...)
		}
		if n == 12 || n >= 20 {
			b = append(b, " {0x"...)
			b = appendHexU(b, be64(4))
			if n >= 20 {
				b = append(b, ",0x"...)
				b = appendHexU(b, be64(12))
			}
			b = append(b, '}')
		}
	case 1: // join
		if !(n == 12 && flags&syn != 0) && !(n == 16 && flags&(syn|ack) == syn|ack) && !(n == 24 && flags&ack != 0) {
			return b, false
		}
		if n != 24 {
			if o[2]&1 != 0 {
				b = append(b, " backup"...)
			}
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[3]))
		}
		switch n {
		case 12:
			b = append(b, " token 0x"...)
			b = appendHexU(b, uint64(be32(4)))
			b = append(b, " nonce 0x"...)
			b = appendHexU(b, uint64(be32(8)))
		case 16:
			b = append(b, " hmac 0x"...)
			b = appendHexU(b, be64(4))
			b = append(b, " nonce 0x"...)
			b = appendHexU(b, uint64(be32(12)))
		case 24:
			b = append(b, " hmac 0x"...)
			for _, x := range o[4:24] {
				b = appendHex2(b, x)
			}
		}
	case 2: // dss
		if n < 4 || flags&syn != 0 {
			return b, false
		}
		f := o[3]
		if f&0x10 != 0 {
			b = append(b, " fin"...)
		}
		i, rest := 4, n-4
		// num appends the data ack or sequence number at i, 8 bytes when
		// wide, else 4; false when the option is too short for it.
		num := func(wide bool) bool {
			if wide && rest >= 8 {
				b = appendUint(b, be64(i))
				i, rest = i+8, rest-8
				return true
			}
			if !wide && rest >= 4 {
				b = appendUint(b, uint64(be32(i)))
				i, rest = i+4, rest-4
				return true
			}
			return false
		}
		if f&0x01 != 0 {
			b = append(b, " ack "...)
			if !num(f&0x02 != 0) {
				return b, false
			}
		}
		if f&0x04 != 0 {
			b = append(b, " seq "...)
			if !num(f&0x08 != 0) {
				return b, false
			}
			if rest < 4 {
				return b, false
			}
			b = append(b, " subseq "...)
			b = appendUint(b, uint64(be32(i)))
			i, rest = i+4, rest-4
			if rest < 2 {
				return b, false
			}
			b = append(b, " len "...)
			b = appendUint(b, uint64(binary.BigEndian.Uint16(o[i:])))
			i, rest = i+2, rest-2
			if rest >= 2 {
				b = append(b, " csum 0x"...)
				b = appendHexU(b, uint64(binary.BigEndian.Uint16(o[i:])))
				rest -= 2
			}
		}
		if rest != 0 {
			return b, false
		}
	case 3: // add-addr
		switch n {
		case 8, 10, 16, 18, 20, 22, 28, 30:
		default:
			return b, false
		}
		b = append(b, ' ')
		if v := addAddrVersions[o[2]&0xf]; v != "" {
			b = append(b, v...)
		} else {
			b = append(b, "[bad version/echo]"...)
		}
		b = append(b, " id "...)
		b = appendUint(b, uint64(o[3]))
		// An IPv4 or IPv6 address, then a port when n is 2 or 10 past
		// the bare option, an HMAC when 8 or 10 past.
		i, bare := 8, 8
		b = append(b, ' ')
		if n <= 18 {
			b = pr.host(b, o[4:8])
		} else {
			i, bare = 20, 20
			b = pr.host(b, o[4:20])
		}
		if n == bare+2 || n == bare+10 {
			b = append(b, ':')
			b = appendUint(b, uint64(binary.BigEndian.Uint16(o[i:])))
			i += 2
		}
		if n == bare+8 || n == bare+10 {
			b = append(b, " hmac 0x"...)
			b = appendHexU(b, be64(i))
		}
	case 4: // rem-addr
		if n < 4 {
			return b, false
		}
		b = append(b, " id"...)
		for _, id := range o[3:] {
			b = append(b, ' ')
			b = appendUint(b, uint64(id))
		}
	case 5: // prio
		if n != 3 && n != 4 {
			return b, false
		}
		if o[2]&1 != 0 {
			b = append(b, " backup"...)
		} else {
			b = append(b, " non-backup"...)
		}
		if n == 4 {
			b = append(b, " id "...)
			b = appendUint(b, uint64(o[3]))
		}
	case 6: // fail
		if n != 12 {
			return b, false
		}
		b = append(b, " seq "...)
		b = appendUint(b, be64(4))
	case 7: // fast-close
		if n != 12 {
			return b, false
		}
		b = append(b, " key 0x"...)
		b = appendHexU(b, be64(4))
	}
	return b, true
}
