package tcpdump

import (
	"bytes"

	"synfin/wire"
)

// TCP option kinds tcpdump names.
const (
	optEOL       = 0
	optNOP       = 1
	optMSS       = 2
	optWScale    = 3
	optSACKOK    = 4
	optSACK      = 5
	optEcho      = 6
	optEchoReply = 7
	optTimestamp = 8
	optCC        = 11
	optCCNew     = 12
	optCCEcho    = 13
	optMD5       = 19
	optSCPS      = 20
	optUTO       = 28
	optAO        = 29
	optMPTCP     = 30
	optFastOpen  = 34
	optExp2      = 254
)

func tcpOptName(k byte) string {
	switch k {
	case optEOL:
		return "eol"
	case optNOP:
		return "nop"
	case optMSS:
		return "mss"
	case optWScale:
		return "wscale"
	case optSACKOK:
		return "sackOK"
	case optSACK:
		return "sack"
	case optEcho:
		return "echo"
	case optEchoReply:
		return "echoreply"
	case optTimestamp:
		return "TS"
	case optCC:
		return "cc"
	case optCCNew:
		return "ccnew"
	case optCCEcho:
		return ""
	case optMD5:
		return "md5"
	case optSCPS:
		return "scps"
	case optUTO:
		return "uto"
	case optAO:
		return "tcp-ao"
	case optMPTCP:
		return "mptcp"
	case optFastOpen:
		return "tfo"
	case optExp2:
		return "exp"
	}
	return ""
}

// tcp prints a TCP segment at off; length is what the IP layer says the
// segment (header and payload) is.
func (pr *Printer) tcp(b []byte, c *cursor, ic *ipCtx, off, length int) []byte {
	pr.proto = "tcp"
	d := c.d
	if !c.has(off, 4) {
		b = pr.host(b, ic.src)
		b = append(b, " > "...)
		b = pr.host(b, ic.dst)
		b = append(b, ':')
		return pr.trunc(b)
	}
	sport, dport := c.u16(off), c.u16(off+2)
	b = pr.addrs(b, ic, int(sport), int(dport), false)
	if !c.has(off, 20) {
		return pr.trunc(b)
	}
	hlen := int(d[off+12]>>4) * 4
	if hlen < 20 {
		b = append(b, " tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		b = append(b, " [bad hdr length "...)
		b = appendUint(b, uint64(hlen))
		return append(b, " - too short, < 20]"...)
	}
	seq, ack := c.u32(off+4), c.u32(off+8)
	win, urp := c.u16(off+14), c.u16(off+18)
	if pr.o.Quiet {
		b = append(b, "tcp "...)
		b = appendUint(b, uint64(uint32(length-hlen)))
		if hlen > length {
			b = pr.tooLong(b, hlen, length)
		}
		return b
	}
	flags := d[off+13]
	b = append(b, "Flags ["...)
	b = wire.Flags(flags).AppendTcpdump(b)
	b = append(b, ']')

	var thseq, thack uint32
	rev := false
	if !pr.o.Absolute && flags&0x10 != 0 {
		if sport > dport {
			rev = true
		} else if sport == dport {
			rev = bytes.Compare(ic.src, ic.dst) > 0
		}
		var k seqKey
		if rev {
			k = makeSeqKey(ic.dst, ic.src, uint32(dport)<<16|uint32(sport), ic.v6)
		} else {
			k = makeSeqKey(ic.src, ic.dst, uint32(sport)<<16|uint32(dport), ic.v6)
		}
		v, ok := pr.seq.get(&k)
		if !ok || flags&0x02 != 0 {
			// A new conversation: remember its base, print absolute.
			if rev {
				thack, thseq = seq, ack-1
			} else {
				thseq, thack = seq, ack-1
			}
			pr.seq.put(&k, thseq, thack)
		} else {
			thseq, thack = v.seq, v.ack
			if rev {
				seq -= thack
				ack -= thseq
			} else {
				seq -= thseq
				ack -= thack
			}
		}
	}
	if hlen > length {
		return pr.tooLong(b, hlen, length)
	}
	if pr.o.Verbose > 0 && !ic.frag && c.has(off, length) {
		s := verifySegment(ic, wire.ProtoTCP, d[off:off+length])
		field := c.u16(off + 16)
		b = append(b, ", cksum 0x"...)
		b = appendHex4(b, field)
		if s != 0 {
			b = append(b, " (incorrect -> 0x"...)
			b = appendHex4(b, shouldBe(field, s))
			b = append(b, ')')
		} else {
			b = append(b, " (correct)"...)
		}
	}
	plen := length - hlen
	if pr.o.Verbose > 1 || plen > 0 || flags&0x07 != 0 {
		b = append(b, ", seq "...)
		b = appendUint(b, uint64(seq))
		if plen > 0 {
			b = append(b, ':')
			b = appendUint(b, uint64(seq+uint32(plen)))
		}
	}
	if flags&0x10 != 0 {
		b = append(b, ", ack "...)
		b = appendUint(b, uint64(ack))
	}
	b = append(b, ", win "...)
	b = appendUint(b, uint64(win))
	if flags&0x20 != 0 {
		b = append(b, ", urg "...)
		b = appendUint(b, uint64(urp))
	}
	if hlen > 20 {
		var ok bool
		b, ok = pr.tcpOptions(b, c, off, hlen, plen, flags, rev, thseq, thack)
		if !ok {
			return b
		}
	}
	b = append(b, ", length "...)
	b = appendUint(b, uint64(plen))
	if plen == 0 {
		return b
	}
	if !c.has(off, hlen) {
		return pr.trunc(b)
	}
	if flags&0x04 != 0 && pr.o.Verbose > 0 {
		return pr.rstData(b, c, off+hlen, plen)
	}
	// Application protocols are not decoded (see the package doc). One
	// effect of tcpdump's decoding is kept: its OpenFlow printer reads past
	// the captured bytes when a message runs beyond them and longjmps,
	// which makes the -x/-X/-A dump start at the link header.
	if sport == 6633 || dport == 6633 || sport == 6653 || dport == 6653 {
		p := off + hlen
		for end := p + plen; p+8 <= end; {
			n := int(c.u16min(p+2, end))
			if n < 8 {
				break
			}
			p += n
		}
		if p > c.end {
			pr.jumped = true
		}
	}
	return b
}

func (pr *Printer) tooLong(b []byte, hlen, length int) []byte {
	b = append(b, " [bad hdr length "...)
	b = appendUint(b, uint64(hlen))
	b = append(b, " - too long, > "...)
	b = appendUint(b, uint64(length))
	return append(b, ']')
}

// tcpOptions prints the options of print-tcp.c. ok is false when the line
// ends inside them ("[bad opt]" or a truncation marker).
func (pr *Printer) tcpOptions(b []byte, c *cursor, off, hlen, plen int, flags byte, rev bool, thseq, thack uint32) (_ []byte, ok bool) {
	d := c.d
	n := hlen - 20
	cp := off + 20
	var ch byte
	b = append(b, ", options ["...)
	// trunc is the "trunc:" label; bad is "bad:".
	trunc := func(b []byte) []byte {
		b = pr.trunc(b)
		if ch != 0 {
			b = append(b, '>')
		}
		return b
	}
	bad := func(b []byte) []byte {
		b = append(b, "[bad opt]"...)
		if ch != 0 {
			b = append(b, ']')
		}
		return b
	}
	for n > 0 {
		if ch != 0 {
			b = append(b, ch)
		}
		if !c.has(cp, 1) {
			return pr.jump(b), false
		}
		opt := d[cp]
		cp++
		l := 1
		if opt != optEOL && opt != optNOP {
			if !c.has(cp, 1) {
				return pr.jump(b), false
			}
			l = int(d[cp])
			cp++
			if l < 2 || l > n {
				return bad(b), false
			}
			n--
		}
		n--
		// lencheck is LENCHECK: the option must hold k bytes, captured.
		lencheck := func(k int) int {
			if k > n {
				return 1
			}
			if !c.has(cp, k) {
				return 2
			}
			return 0
		}
		fail := func(r int) []byte {
			if r == 1 {
				return bad(b)
			}
			return trunc(b)
		}
		if name := tcpOptName(opt); name != "" || opt == optCCEcho {
			b = append(b, name...)
		} else {
			b = append(b, "unknown-"...)
			b = appendUint(b, uint64(opt))
		}
		datalen := 0
		// hexFrom appends the option's data from byte i on in hex, each
		// byte checked as LENCHECK does; non-zero is lencheck's failure.
		// It takes and returns b: a closure that assigned b would keep b
		// in memory rather than in registers for the whole function.
		hexFrom := func(b []byte, i int) ([]byte, int) {
			for ; i < datalen; i++ {
				if r := lencheck(i + 1); r != 0 {
					return b, r
				}
				b = appendHex2(b, d[cp+i])
			}
			return b, 0
		}
		switch opt {
		case optWScale, optMSS, optCC, optCCNew, optCCEcho, optEcho, optEchoReply:
			// One number: the shift (1 byte), the MSS (2) or a value (4).
			datalen = 4
			if opt == optWScale {
				datalen = 1
			} else if opt == optMSS {
				datalen = 2
			}
			if r := lencheck(datalen); r != 0 {
				return fail(r), false
			}
			var v uint64
			for _, x := range d[cp : cp+datalen] {
				v = v<<8 | uint64(x)
			}
			b = append(b, ' ')
			b = appendUint(b, v)
		case optSACK:
			datalen = l - 2
			if datalen%8 != 0 {
				b = append(b, " invalid sack"...)
			} else {
				b = append(b, ' ')
				b = appendUint(b, uint64(datalen/8))
				b = append(b, ' ')
				for i := 0; i < datalen; i += 8 {
					if r := lencheck(i + 4); r != 0 {
						return fail(r), false
					}
					s := c.u32(cp + i)
					if r := lencheck(i + 8); r != 0 {
						return fail(r), false
					}
					e := c.u32(cp + i + 4)
					if rev {
						s -= thseq
						e -= thseq
					} else {
						s -= thack
						e -= thack
					}
					b = append(b, '{')
					b = appendUint(b, uint64(s))
					b = append(b, ':')
					b = appendUint(b, uint64(e))
					b = append(b, '}')
				}
			}
		case optTimestamp:
			datalen = 8
			if r := lencheck(8); r != 0 {
				return fail(r), false
			}
			b = append(b, " val "...)
			b = appendUint(b, uint64(c.u32(cp)))
			b = append(b, " ecr "...)
			b = appendUint(b, uint64(c.u32(cp+4)))
		case optMD5:
			datalen = 16
			if r := lencheck(16); r != 0 {
				return fail(r), false
			}
			b = append(b, ' ')
			// tcpdump (built with libcrypto) cannot check without -M.
			if !c.has(off+hlen, plen) {
				b = append(b, "snaplen too short, "...)
			} else {
				b = append(b, "shared secret not supplied with -M, "...)
			}
			b = append(b, "can't check - "...)
			for i := 0; i < 16; i++ {
				b = appendHex2(b, d[cp+i])
			}
		case optSCPS:
			datalen = 2
			if r := lencheck(2); r != 0 {
				return fail(r), false
			}
			b = append(b, " cap "...)
			b = appendHex2(b, d[cp])
			b = append(b, " id "...)
			b = appendUint(b, uint64(d[cp+1]))
		case optAO:
			datalen = l - 2
			if datalen < 2 {
				b = append(b, " (invalid)"...)
				break
			}
			if r := lencheck(1); r != 0 {
				return fail(r), false
			}
			b = append(b, " keyid "...)
			b = appendUint(b, uint64(d[cp]))
			if r := lencheck(2); r != 0 {
				return fail(r), false
			}
			b = append(b, " rnextkeyid "...)
			b = appendUint(b, uint64(d[cp+1]))
			if datalen > 2 {
				b = append(b, " mac 0x"...)
				var r int
				if b, r = hexFrom(b, 2); r != 0 {
					return fail(r), false
				}
			}
		case optEOL, optNOP, optSACKOK:
		case optUTO:
			datalen = 2
			if r := lencheck(2); r != 0 {
				return fail(r), false
			}
			v := uint32(c.u16(cp))
			b = append(b, " 0x"...)
			b = appendHexU(b, uint64(v))
			if v&1 != 0 {
				v = (v >> 1) * 60
			} else {
				v >>= 1
			}
			b = append(b, ' ')
			b = appendUint(b, uint64(v))
		case optMPTCP:
			datalen = l - 2
			if r := lencheck(datalen); r != 0 {
				return fail(r), false
			}
			var good bool
			b, good = pr.mptcp(b, d[cp-2:cp-2+l], flags)
			if !good {
				return bad(b), false
			}
		case optFastOpen:
			datalen = l - 2
			if r := lencheck(datalen); r != 0 {
				return fail(r), false
			}
			b = append(b, ' ')
			b = fastOpen(b, d[cp:cp+datalen], false)
		case optExp2:
			datalen = l - 2
			if r := lencheck(datalen); r != 0 {
				return fail(r), false
			}
			if datalen < 2 {
				return bad(b), false
			}
			magic := c.u16(cp)
			b = append(b, '-')
			if magic == 0xf989 {
				b = fastOpen(b, d[cp+2:cp+datalen], true)
			} else {
				b = appendHex4(b, magic)
			}
		default:
			datalen = l - 2
			if datalen > 0 {
				b = append(b, " 0x"...)
			}
			var r int
			if b, r = hexFrom(b, 0); r != 0 {
				return fail(r), false
			}
		}
		cp += datalen
		n -= datalen
		datalen++
		if opt != optEOL && opt != optNOP {
			datalen++
		}
		if datalen != l {
			b = append(b, "[len "...)
			b = appendUint(b, uint64(l))
			b = append(b, ']')
		}
		ch = ','
		if opt == optEOL {
			break
		}
	}
	return append(b, ']'), true
}

func fastOpen(b []byte, v []byte, exp bool) []byte {
	if exp {
		b = append(b, "tfo"...)
	}
	if len(v) == 0 {
		return append(b, " cookiereq"...)
	}
	if len(v)%2 != 0 || len(v) < 4 || len(v) > 16 {
		return append(b, " (invalid)"...)
	}
	b = append(b, " cookie "...)
	for _, x := range v {
		b = appendHex2(b, x)
	}
	return b
}

// rstData is print_tcp_rst_data: up to 30 bytes of an RST's payload.
func (pr *Printer) rstData(b []byte, c *cursor, off, length int) []byte {
	if c.has(off, length) {
		b = append(b, " [RST"...)
	} else {
		b = append(b, " [!RST"...)
	}
	if length > 30 {
		length = 30
		b = append(b, '+')
	}
	b = append(b, ' ')
	for i := 0; i < length && off+i < c.end; i++ {
		b = appendPrintChar(b, c.d[off+i])
	}
	return append(b, ']')
}

// appendPrintChar is fn_print_char: M- for the high bit, ^ for controls.
func appendPrintChar(b []byte, ch byte) []byte {
	if ch >= 0x80 {
		ch &= 0x7f
		b = append(b, 'M', '-')
	}
	if ch < 0x20 || ch == 0x7f {
		ch ^= 0x40
		b = append(b, '^')
	}
	return append(b, ch)
}
