package tcpdumptext

import (
	"errors"
	"net/netip"
	"strings"

	"synfin/wire"
)

// segment is what one tcpdump record says about a TCP segment.
type segment struct {
	v6         bool
	src, dst   netip.Addr
	sport      uint16
	dport      uint16
	flags      wire.Flags
	quiet      bool // -q: only addresses, ports and length
	seq        uint32
	hasSeq     bool
	ack        uint32
	win        uint16
	urg        uint16
	length     int
	cksum      uint16
	cksumBad   bool // -v said the checksum was incorrect
	opts       []byte
	sacks      []int // offsets of SACK edges in opts
	hasIP      bool  // -v IP header fields below are set
	tos, ttl   uint8
	id         uint16
	df         bool
	flowLabel  uint32
	ether      bool
	srcMAC     [6]byte
	dstMAC     [6]byte
	vlans      []uint16
	etherProto uint16
	tun        tunnel // the outer packet, when a VXLAN or Geneve tunnel carries this one
}

var (
	errNoPorts  = errors.New("tcpdumptext: no \"src.port > dst.port:\" before the TCP fields")
	errAddr     = errors.New("tcpdumptext: unreadable address")
	errPort     = errors.New("tcpdumptext: unknown port or service name")
	errFlags    = errors.New("tcpdumptext: unreadable Flags [...]")
	errField    = errors.New("tcpdumptext: unreadable TCP field")
	errNoLength = errors.New("tcpdumptext: no \"length N\" after the TCP fields")
	errBadHdr   = errors.New("tcpdumptext: tcpdump reported a bad TCP header length")
	errTooLong  = errors.New("tcpdumptext: payload length out of range")
)

// maxPayload bounds the payload length accepted from text (BIG TCP and
// IPv6 jumbograms can exceed 64 KiB).
const maxPayload = 1 << 20

// tcpStart finds where a record's TCP fields start (after "src > dst").
// ok is false when the record is not TCP.
func tcpStart(rec string) (at int, quiet bool, ok bool) {
	if i := strings.Index(rec, ": Flags ["); i >= 0 {
		return i, false, true
	}
	for off := 0; ; {
		i := strings.Index(rec[off:], ": tcp ")
		if i < 0 {
			return 0, false, false
		}
		i += off
		if j := i + len(": tcp "); j < len(rec) && rec[j] >= '0' && rec[j] <= '9' {
			return i, true, true
		}
		off = i + 1
	}
}

// parseTCP fills s from the record text rec; at is from tcpStart.
func (r *Reader) parseTCP(rec string, at int, quiet bool, s *segment) error {
	// "src > dst" just before at.
	gt := strings.LastIndex(rec[:at], " > ")
	if gt < 0 {
		return errNoPorts
	}
	dstTok := rec[gt+3 : at]
	srcStart := strings.LastIndexAny(rec[:gt], " \t\n") + 1
	srcTok := rec[srcStart:gt]
	if srcTok == "" || dstTok == "" || strings.ContainsAny(dstTok, " \t\n") {
		return errNoPorts
	}
	var srcHost, dstHost, sp, dp string
	hostEnd := srcStart
	if strings.IndexByte(srcTok, '.') < 0 && strings.IndexByte(dstTok, '.') < 0 {
		// "IP6 a > b: HBH 1 > 2:" and similar: ports after extension headers.
		sp, dp = srcTok, dstTok
		head := rec[:srcStart]
		g2 := strings.LastIndex(head, " > ")
		if g2 < 0 {
			return errNoPorts
		}
		end := strings.Index(head[g2:], ": ")
		if end < 0 {
			return errNoPorts
		}
		dstHost = head[g2+3 : g2+end]
		hs := strings.LastIndexAny(head[:g2], " \t\n") + 1
		srcHost = head[hs:g2]
		hostEnd = hs
	} else {
		var ok1, ok2 bool
		srcHost, sp, ok1 = cutLast(srcTok, '.')
		dstHost, dp, ok2 = cutLast(dstTok, '.')
		if !ok1 || !ok2 {
			return errNoPorts
		}
	}
	var ok bool
	if s.sport, s.dport, ok = ports(sp, dp); !ok {
		return errPort
	}
	if m, kind := tunnelAt(rec[:hostEnd]); kind != tunNone {
		saved := *s
		r.netHeader(rec[m:hostEnd], s, srcHost)
		if !r.parseTunnel(rec[:hostEnd], m, kind, s) {
			*s = saved // the inner packet alone, on the outer link
			r.netHeader(rec[:hostEnd], s, srcHost)
		}
	} else {
		r.netHeader(rec[:hostEnd], s, srcHost)
	}
	if s.src, ok = r.hosts.addr(srcHost, s.v6); !ok {
		return errAddr
	}
	if s.dst, ok = r.hosts.addr(dstHost, s.v6); !ok {
		return errAddr
	}
	if quiet {
		s.quiet = true
		rest := rec[at+len(": tcp "):]
		n, rest := leadNum(rest)
		if n < 0 {
			return errNoLength
		}
		if strings.HasPrefix(rest, " [bad hdr length") {
			return errBadHdr
		}
		if n > maxPayload {
			return errTooLong
		}
		s.length = int(n)
		return nil
	}
	return s.tcpFields(rec[at+len(": Flags ["):])
}

// tcpFields reads "FLAGS], cksum ..., seq A:B, ack N, win N, urg N,
// options [...], length N".
func (s *segment) tcpFields(t string) error {
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return errFlags
	}
	var ok bool
	if s.flags, ok = wire.ParseTcpdumpFlags(t[:end]); !ok {
		return errFlags
	}
	t = t[end+1:]
	for {
		if strings.HasPrefix(t, " [|") || strings.HasPrefix(t, ", [|") {
			return errTruncTCP
		}
		if strings.HasPrefix(t, " [bad hdr length") {
			return errBadHdr
		}
		if !strings.HasPrefix(t, ", ") {
			return errNoLength
		}
		t = t[2:]
		key, rest, _ := strings.Cut(t, " ")
		t = rest
		switch key {
		case "cksum":
			v, r2, ok := hexPrefix(t)
			if !ok {
				return errField
			}
			s.cksum, t = uint16(v), r2
			if strings.HasPrefix(t, " (incorrect") {
				s.cksumBad = true
			}
			if i := strings.IndexByte(t, ')'); i >= 0 && strings.HasPrefix(t, " (") {
				t = t[i+1:]
			}
		case "seq":
			n, r2 := leadNum(t)
			if n < 0 || n > 0xffffffff {
				return errField
			}
			s.seq, s.hasSeq, t = uint32(n), true, r2
			if strings.HasPrefix(t, ":") {
				if _, r2 = leadNum(t[1:]); r2 == t[1:] {
					return errField
				}
				t = r2
			}
		case "ack", "win", "urg":
			n, r2 := leadNum(t)
			if n < 0 || n > 0xffffffff || (key != "ack" && n > 0xffff) {
				return errField
			}
			t = r2
			switch key {
			case "ack":
				s.ack = uint32(n)
			case "win":
				s.win = uint16(n)
			default:
				s.urg = uint16(n)
			}
		case "options":
			if !strings.HasPrefix(t, "[") {
				return errField
			}
			depth, i := 0, 0
			for ; i < len(t); i++ {
				if t[i] == '[' {
					depth++
				} else if t[i] == ']' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if i == len(t) {
				if strings.Contains(t, "[|") {
					return errTruncTCP
				}
				return errOptions
			}
			var err error
			if s.opts, s.sacks, err = appendOptions(s.opts, t[1:i], s.sacks); err != nil {
				if err == errBadOptEnd && t[i+1:] == "" {
					// tcpdump prints nothing after a bad option, not even
					// the length: taken as 0.
					return nil
				}
				if err == errBadOptEnd {
					err = errBadOpt
				}
				return err
			}
			t = t[i+1:]
		case "length":
			n, _ := leadNum(t)
			if n < 0 {
				return errNoLength
			}
			if n > maxPayload {
				return errTooLong
			}
			s.length = int(n)
			return nil
		default:
			return errNoLength
		}
	}
}

// netHeader reads the family and, under -v, the IP header fields from the
// text before the addresses, using the nearest header keyword.
func (r *Reader) netHeader(head string, s *segment, host string) {
	best, kind := -1, ""
	for _, k := range [...]string{"IP ", "IP6 ", "ethertype IPv4", "ethertype IPv6"} {
		for off := len(head); ; {
			i := strings.LastIndex(head[:off], k)
			if i < 0 {
				break
			}
			if i == 0 || head[i-1] == ' ' || head[i-1] == '\t' || head[i-1] == '\n' {
				if i > best {
					best, kind = i, k
				}
				break
			}
			off = i
		}
	}
	switch kind {
	case "IP6 ", "ethertype IPv6":
		s.v6 = true
	case "":
		s.v6 = strings.IndexByte(host, ':') >= 0
	}
	if best >= 0 && (kind == "IP " || kind == "IP6 ") && strings.HasPrefix(head[best+len(kind):], "(") {
		p := head[best+len(kind)+1:]
		if e := strings.IndexByte(p, '\n'); e >= 0 {
			p = p[:e]
		}
		s.ipFields(p)
	}
	if r.ethernetHead(head, s); s.ether {
		s.etherProto = wire.EtherTypeIPv4
		if s.v6 {
			s.etherProto = wire.EtherTypeIPv6
		}
	}
}

// ipFields reads tcpdump -v's "(tos 0x0, ttl 64, id 0, offset 0, flags
// [DF], proto TCP (6), length 60)" or the IPv6 "(flowlabel 0x1, hlim 64,
// next-header TCP (6), payload length 40)".
func (s *segment) ipFields(p string) {
	s.hasIP = true
	s.ttl = 64
	for p != "" {
		f, rest, _ := strings.Cut(p, ", ")
		p = rest
		k, v, _ := strings.Cut(f, " ")
		switch k {
		case "tos", "class":
			if x, _, ok := hexPrefix(v); ok && x <= 0xff {
				s.tos = uint8(x)
			}
		case "ttl", "hlim":
			if n, _ := leadNum(v); n >= 0 && n <= 0xff {
				s.ttl = uint8(n)
			}
		case "id":
			if n, _ := leadNum(v); n >= 0 && n <= 0xffff {
				s.id = uint16(n)
			}
		case "flowlabel":
			if x, _, ok := hexPrefix(v); ok && x <= 0xfffff {
				s.flowLabel = uint32(x)
			}
		case "flags":
			s.df = strings.Contains(v, "DF")
		}
	}
}

// ethernetHead reads -e's "aa:bb:cc:dd:ee:ff > 11:22:33:44:55:66, ethertype
// IPv4 (0x0800), length 74: " (with "(oui ...)" notes without -n, and VLAN
// tags).
func (r *Reader) ethernetHead(head string, s *segment) {
	i := strings.Index(head, ", ethertype ")
	if i < 0 {
		return
	}
	toks := strings.Fields(head[:i])
	var macs [][6]byte
	for j, t := range toks {
		if m, ok := parseMAC(strings.TrimSuffix(t, ",")); ok && (j == len(toks)-1 || j+1 < len(toks)) {
			macs = append(macs, m)
		}
	}
	if len(macs) != 2 {
		return
	}
	s.ether, s.srcMAC, s.dstMAC = true, macs[0], macs[1]
	for rest := head[i:]; ; {
		j := strings.Index(rest, "vlan ")
		if j < 0 {
			break
		}
		rest = rest[j+len("vlan "):]
		n, r2 := leadNum(rest)
		if n < 0 || n > 0xfff || !strings.HasPrefix(r2, ", p ") {
			continue
		}
		pr, _ := leadNum(r2[len(", p "):])
		if pr < 0 || pr > 7 || len(s.vlans) >= 4 {
			continue
		}
		s.vlans = append(s.vlans, uint16(n)|uint16(pr)<<13)
	}
}

func parseMAC(t string) ([6]byte, bool) {
	var m [6]byte
	if len(t) != 17 {
		return m, false
	}
	for i := 0; i < 6; i++ {
		hi, ok1 := hexDigit(t[3*i])
		lo, ok2 := hexDigit(t[3*i+1])
		if !ok1 || !ok2 || (i < 5 && t[3*i+2] != ':') {
			return m, false
		}
		m[i] = hi<<4 | lo
	}
	return m, true
}

// cutLast splits s at the last sep.
func cutLast(s string, sep byte) (string, string, bool) {
	i := strings.LastIndexByte(s, sep)
	if i <= 0 || i == len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// leadNum reads a decimal number at the start of s; n is -1 if none.
func leadNum(s string) (n int64, rest string) {
	i := 0
	for i < len(s) && i < 19 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, s
	}
	v, _ := atou(s[:i])
	return int64(v), s[i:]
}

// hexPrefix reads "0x..." at the start of s.
func hexPrefix(s string) (uint64, string, bool) {
	if !strings.HasPrefix(s, "0x") {
		return 0, s, false
	}
	i := 2
	for i < len(s) && i < 18 {
		if _, ok := hexDigit(s[i]); !ok {
			break
		}
		i++
	}
	v, ok := hexu(s[2:i])
	return v, s[i:], ok
}
