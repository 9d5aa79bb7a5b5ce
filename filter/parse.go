package filter

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"

	"synfin/wire"
)

// SyntaxError says what is wrong with an expression and where.
type SyntaxError struct {
	Pos int // byte offset in the expression, 0-based
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("filter: %s (at column %d)", e.Msg, e.Pos+1)
}

func errAt(pos int, format string, a ...any) error {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, a...)}
}

// quals are the qualifiers of a primitive: "tcp src port", "ip6 net"...
// tcpdump lets a bare value after "and"/"or"/"not" reuse the last ones
// ("host a or b", "port 80 or 443").
type quals struct {
	proto string // "", "ip", "ip6", "arp", "rarp", "tcp", "udp", "sctp", "ether", ...
	dir   string // "", "src", "dst", "src or dst", "src and dst"
	typ   string // "", "host", "net", "port", "portrange"
	ok    bool   // a bare value may use them
}

// parser parses and generates code at the same time, left to right, as
// libpcap does: "vlan" shifts the offsets of everything parsed after it.
type parser struct {
	toks  []token
	i     int
	link  wire.LinkType
	vlan  uint32 // bytes of VLAN tags that "vlan" primitives have skipped
	last  quals
	depth int
	mem   int // scratch memory slots in use

	usesVLAN bool
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tWord && t.text == s
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) expect(s string) error {
	t := p.peek()
	if t.text != s || t.kind == tEOF {
		return errAt(t.pos, "expected %q, found %s", s, describe(t))
	}
	p.i++
	return nil
}

func describe(t token) string {
	if t.kind == tEOF {
		return "end of expression"
	}
	return strconv.Quote(t.text)
}

// parseExpr: and/or have equal precedence and group to the left, as in
// pcap-filter(7).
func (p *parser) parseExpr() (*pred, error) {
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		var isAnd bool
		switch {
		case p.isWord("and") || p.isPunct("&&"):
			isAnd = true
		case p.isWord("or") || p.isPunct("||"):
		default:
			return left, nil
		}
		p.i++
		right, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		if isAnd {
			left = and(left, right)
		} else {
			left = or(left, right)
		}
	}
}

func (p *parser) parseTerm() (*pred, error) {
	t := p.peek()
	switch {
	case t.kind == tEOF:
		return nil, errAt(t.pos, "expression ends too early")
	case p.isWord("not") || p.isPunct("!"):
		p.i++
		x, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		return not(x), nil
	case p.isPunct("("):
		// Either a parenthesised expression or an arithmetic relation
		// such as "(tcp[12] >> 4) > 5": try the relation first.
		save, saveMem, saveVlan := p.i, p.mem, p.vlan
		if r, err := p.parseRelation(); err == nil {
			return r, nil
		}
		p.i, p.mem, p.vlan = save, saveMem, saveVlan
		p.i++
		p.depth++
		outer := p.last
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		p.depth--
		// libpcap does not carry qualifiers out of parentheses.
		p.last = outer
		p.last.ok = false
		return x, nil
	}
	return p.parsePrimitive()
}

var protoWords = map[string]bool{
	"ether": true, "link": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "igmp": true,
}

var dirWords = map[string]bool{"src": true, "dst": true}
var typeWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true}

// unsupported names pcap-filter keywords outside synfin's subset, so that
// the error says so instead of "unknown word".
var unsupported = map[string]bool{
	"gateway": true, "broadcast": true, "multicast": true, "mpls": true, "pppoed": true,
	"pppoes": true, "geneve": true, "vxlan": true, "inbound": true, "outbound": true,
	"ifname": true, "on": true, "rnr": true, "rulenum": true, "reason": true, "rset": true,
	"srnr": true, "subrulenum": true, "action": true, "wlan": true, "type": true,
	"subtype": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true, "ra": true,
	"ta": true, "fddi": true, "tr": true, "decnet": true, "atalk": true, "aarp": true,
	"iso": true, "esis": true, "isis": true, "clnp": true, "stp": true, "ipx": true,
	"netbeui": true, "lat": true, "moprc": true, "mopdl": true, "sca": true, "llc": true,
	"lane": true, "oamf4s": true, "oamf4e": true, "oamf4": true, "oam": true, "metac": true,
	"bcc": true, "sc": true, "ilmic": true, "connectmsg": true, "metaconnect": true,
	"vpi": true, "vci": true, "protochain": true, "pim": true, "vrrp": true, "carp": true,
	"igrp": true, "ah": true, "esp": true, "slip": true, "radio": true, "hdpi": true,
	"dir": true, "ra_addr": true,
}

func (p *parser) parsePrimitive() (*pred, error) {
	start := p.peek()
	if start.kind == tPunct && start.text != "-" {
		return nil, errAt(start.pos, "unexpected %s", describe(start))
	}
	w := start.text
	switch {
	case start.kind == tWord && unsupported[w]:
		return nil, errAt(start.pos, "%q is outside the filter subset synfin supports", w)
	case w == "vlan":
		return p.parseVLAN()
	case w == "greater" || w == "less":
		p.i++
		t := p.next()
		n, ok := parseNum(t.text)
		if !ok {
			return nil, errAt(t.pos, "%s needs a number, found %s", w, describe(t))
		}
		p.last.ok = false
		if w == "greater" {
			return cmp(bpf.JumpGreaterOrEqual, n, bpf.LoadExtension{Num: bpf.ExtLen}), nil
		}
		return not(cmp(bpf.JumpGreaterThan, n, bpf.LoadExtension{Num: bpf.ExtLen})), nil
	case w == "len" || w == "(" || w == "-" || start.kind == tWord && isDigit(w[0]) && !p.bareValueAllowed():
		return p.parseRelation()
	case protoWords[w] && p.toks[p.i+1].text == "[":
		return p.parseRelation()
	}
	if start.kind == tWord && isArithName(w) {
		return p.parseRelation()
	}

	// [proto] [dir] [type] value, or a lone protocol.
	var q quals
	if protoWords[w] {
		q.proto = w
		p.i++
	}
	if dirWords[p.peek().text] && p.peek().kind == tWord {
		q.dir = p.next().text
		if (p.isWord("or") || p.isWord("and")) && dirWords[p.toks[p.i+1].text] {
			op := p.next().text
			other := p.next().text
			if other == q.dir {
				return nil, errAt(start.pos, "%q twice", other)
			}
			q.dir = "src " + op + " dst"
		}
	}
	if typeWords[p.peek().text] && p.peek().kind == tWord {
		q.typ = p.next().text
	}
	if q.proto != "" && q.dir == "" && q.typ == "" {
		if n := p.peek(); n.kind == tWord && unsupported[n.text] {
			return nil, errAt(n.pos, "%q is outside the filter subset synfin supports", n.text)
		}
		switch {
		case q.proto == "ether" && p.isWord("proto"), (q.proto == "ip" || q.proto == "ip6") && p.isWord("proto"):
			return p.parseProto(q.proto)
		}
		p.last.ok = false
		return p.protoAbbrev(q.proto, start.pos)
	}
	if q.proto == "" && q.dir == "" && q.typ == "" {
		if p.isWord("proto") {
			return p.parseProto("")
		}
		// A bare value reuses the previous qualifiers.
		if start.kind == tWord && p.bareValueAllowed() {
			return p.value(p.last, p.next())
		}
		if start.kind == tWord {
			return nil, errAt(start.pos, "unknown word %q", w)
		}
		return nil, errAt(start.pos, "unexpected %s", describe(start))
	}
	t := p.peek()
	if t.kind != tWord {
		return nil, errAt(t.pos, "expected an address, a network or a port, found %s", describe(t))
	}
	p.i++
	q.ok = true
	return p.value(q, t)
}

// bareValueAllowed reports whether a value without qualifiers may follow:
// only after "and", "or", "not" or "(" that follow a qualified primitive.
func (p *parser) bareValueAllowed() bool {
	if !p.last.ok || p.i == 0 {
		return false
	}
	prev := p.toks[p.i-1]
	switch prev.text {
	case "and", "or", "not", "&&", "||", "!", "(":
		return true
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// value generates code for "[proto] [dir] type value".
func (p *parser) value(q quals, t token) (*pred, error) {
	p.last = q
	p.last.ok = true
	typ := q.typ
	if typ == "" {
		typ = "host"
	}
	switch typ {
	case "host":
		return p.host(q, t)
	case "net":
		return p.net(q, t)
	case "port", "portrange":
		return p.port(q, typ, t)
	}
	return nil, errAt(t.pos, "unexpected %q", t.text)
}

// etherProtoNames and ipProtoNames are the names "ether proto" and
// "proto" take besides numbers.
var (
	etherProtoNames = map[string]uint32{"ip": wire.EtherTypeIPv4, "ip6": wire.EtherTypeIPv6, "arp": 0x806, "rarp": 0x8035}
	ipProtoNames    = map[string]uint32{"tcp": wire.ProtoTCP, "udp": wire.ProtoUDP, "icmp": wire.ProtoICMP, "icmp6": wire.ProtoICMPv6, "igmp": 2, "sctp": 132}
)

func (p *parser) parseProto(proto string) (*pred, error) {
	p.i++ // "proto"
	if p.isPunct("\\") {
		p.i++
	}
	t := p.next()
	p.last.ok = false
	if proto == "ether" {
		et, ok := etherProtoNames[t.text]
		if !ok {
			if et, ok = parseNum(t.text); !ok || et > 0xffff {
				return nil, errAt(t.pos, "ether proto needs a number or ip, ip6, arp, rarp; found %s", describe(t))
			}
		}
		return p.linkType(et, t.pos)
	}
	n, ok := ipProtoNames[t.text]
	if !ok {
		if n, ok = parseNum(t.text); !ok || n > 255 {
			return nil, errAt(t.pos, "proto needs a protocol number (0-255) or name, found %s", describe(t))
		}
	}
	switch proto {
	case "ip":
		return p.ipProto(n), nil
	case "ip6":
		return p.ip6Proto(n), nil
	}
	return or(p.ipProto(n), p.ip6Proto(n)), nil
}

func (p *parser) parseVLAN() (*pred, error) {
	t := p.next()
	if p.link != wire.LinkEthernet {
		return nil, errAt(t.pos, "no VLAN support for %s", linkName(p.link))
	}
	p.last.ok = false
	et := p.vlan + 12
	b := or(eq(0x8100, ldh(et)), or(eq(0x88a8), eq(0x9100)))
	if n := p.peek(); n.kind == tWord {
		if id, ok := parseNum(n.text); ok {
			p.i++
			if id > 4095 {
				return nil, errAt(n.pos, "VLAN id %d is out of range (0-4095)", id)
			}
			b = and(b, masked(ldh(et+2), 0xfff, id))
		}
	}
	p.vlan += 4
	p.usesVLAN = true
	return b, nil
}

// ---- link and network layer ----

// linkNames name the link types in error messages.
var linkNames = map[wire.LinkType]string{
	wire.LinkNull: "BSD loopback", wire.LinkEthernet: "Ethernet",
	wire.LinkRaw: "Raw IP", wire.LinkRawDLT12: "Raw IP", wire.LinkRawDLT14: "Raw IP",
	wire.LinkLoop: "OpenBSD loopback", wire.LinkLinuxSLL: "Linux cooked v1", wire.LinkSLL2: "Linux cooked v2",
	wire.LinkIPv4: "Raw IPv4", wire.LinkIPv6: "Raw IPv6",
}

func linkName(l wire.LinkType) string {
	if name, ok := linkNames[l]; ok {
		return name
	}
	return fmt.Sprintf("link type %d", uint32(l))
}

// nl is the offset of the network-layer header.
func (p *parser) nl() uint32 {
	switch p.link {
	case wire.LinkEthernet:
		return 14 + p.vlan
	case wire.LinkLinuxSLL:
		return 16
	case wire.LinkSLL2:
		return 20
	case wire.LinkNull, wire.LinkLoop:
		return 4
	}
	return 0
}

// BSD address families libpcap accepts for IPv6 on loopback links
// (NetBSD/OpenBSD, FreeBSD, Darwin), in its order.
var bsdINET6 = []uint32{30, 24, 28}

// linkType tests the link layer's protocol field, as gen_linktype does.
func (p *parser) linkType(et uint32, pos int) (*pred, error) {
	switch p.link {
	case wire.LinkEthernet:
		return eq(et, ldh(12+p.vlan)), nil
	case wire.LinkLinuxSLL:
		return eq(et, ldh(14)), nil
	case wire.LinkSLL2:
		return eq(et, ldh(0)), nil
	case wire.LinkNull, wire.LinkLoop:
		// DLT_NULL holds the family in the capturing host's byte order;
		// libpcap compares it as a little-endian host would.
		fam := func(v uint32) uint32 {
			if p.link == wire.LinkNull {
				return v<<24 | v>>24 | (v>>8)&0xff00 | (v<<8)&0xff0000
			}
			return v
		}
		switch et {
		case wire.EtherTypeIPv4:
			return eq(fam(2), ldw(0)), nil
		case wire.EtherTypeIPv6:
			return or(eq(fam(bsdINET6[0]), ldw(0)), or(eq(fam(bsdINET6[1])), eq(fam(bsdINET6[2])))), nil
		}
		return pFalse, nil
	case wire.LinkRaw, wire.LinkRawDLT12, wire.LinkRawDLT14:
		switch et {
		case wire.EtherTypeIPv4:
			return masked(ldb(0), 0xf0, 0x40), nil
		case wire.EtherTypeIPv6:
			return masked(ldb(0), 0xf0, 0x60), nil
		}
		return pFalse, nil
	case wire.LinkIPv4:
		return constPred(et == wire.EtherTypeIPv4), nil
	case wire.LinkIPv6:
		return constPred(et == wire.EtherTypeIPv6), nil
	}
	return nil, errAt(pos, "link type %d is not supported", uint32(p.link))
}

func (p *parser) mustLink(et uint32) *pred {
	b, err := p.linkType(et, 0)
	if err != nil {
		return pFalse // unreachable: Compile checks the link type first
	}
	return b
}

func (p *parser) ipProto(n uint32) *pred {
	return and(p.mustLink(wire.EtherTypeIPv4), eq(n, ldb(p.nl()+9)))
}

// ip6Proto looks one fragment header deep, as libpcap does.
func (p *parser) ip6Proto(n uint32) *pred {
	nl := p.nl()
	return and(p.mustLink(wire.EtherTypeIPv6), or(eq(n, ldb(nl+6)), and(eq(44), eq(n, ldb(nl+40)))))
}

func (p *parser) protoAbbrev(proto string, pos int) (*pred, error) {
	switch proto {
	case "ip":
		return p.linkType(wire.EtherTypeIPv4, pos)
	case "ip6":
		return p.linkType(wire.EtherTypeIPv6, pos)
	case "arp":
		return p.linkType(0x806, pos)
	case "rarp":
		return p.linkType(0x8035, pos)
	case "tcp":
		return or(p.ipProto(6), p.ip6Proto(6)), nil
	case "udp":
		return or(p.ipProto(17), p.ip6Proto(17)), nil
	case "sctp":
		return or(p.ipProto(132), p.ip6Proto(132)), nil
	case "icmp":
		return p.ipProto(1), nil
	case "igmp":
		return p.ipProto(2), nil
	case "icmp6":
		return p.ip6Proto(58), nil
	}
	return nil, errAt(pos, "%q needs a qualifier such as host or proto", proto)
}

// notFrag: only the first IPv4 fragment carries the transport header.
func (p *parser) notFrag() *pred {
	return not(cmp(bpf.JumpBitsSet, 0x1fff, ldh(p.nl()+6)))
}

// dirPred combines a test of the source and one of the destination.
func dirPred(dir string, src, dst func() *pred) *pred {
	switch dir {
	case "src":
		return src()
	case "dst":
		return dst()
	case "src and dst":
		return and(src(), dst())
	}
	return or(src(), dst())
}

// ---- host and net ----

func (p *parser) host(q quals, t token) (*pred, error) {
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp", "ether", "link":
	default:
		return nil, errAt(t.pos, "'%s' modifier applied to host", q.proto)
	}
	if q.proto == "ether" || q.proto == "link" {
		return p.etherHost(q, t)
	}
	a, err := netip.ParseAddr(t.text)
	if err != nil || a.Zone() != "" {
		if strings.Count(t.text, ":") == 5 {
			return nil, errAt(t.pos, "%q looks like a MAC address: use \"ether host\"", t.text)
		}
		return nil, errAt(t.pos, "%q is not a numeric IPv4 or IPv6 address (host names are not resolved)", t.text)
	}
	return p.addrMatch(q, a, a.BitLen(), t)
}

func (p *parser) net(q quals, t token) (*pred, error) {
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp":
	default:
		return nil, errAt(t.pos, "'%s' modifier applied to net", q.proto)
	}
	text := t.text
	var a netip.Addr
	bits := -1
	if p.isPunct("/") {
		p.i++
		n := p.next()
		v, ok := parseNum(n.text)
		if !ok {
			return nil, errAt(n.pos, "expected a prefix length after '/', found %s", describe(n))
		}
		bits = int(v)
	} else if p.isWord("mask") {
		p.i++
		m := p.next()
		ma, err := netip.ParseAddr(m.text)
		if err != nil || !ma.Is4() {
			return nil, errAt(m.pos, "mask needs an IPv4 netmask, found %s", describe(m))
		}
		mv := be32(ma.As4())
		// Any mask is allowed here, as libpcap allows it.
		av, err := netip.ParseAddr(text)
		if err != nil || !av.Is4() {
			return nil, errAt(t.pos, "%q is not an IPv4 network", text)
		}
		if be32(av.As4())&^mv != 0 {
			return nil, errAt(t.pos, "non-network bits set in \"%s mask %s\"", text, m.text)
		}
		return p.addr4(q, be32(av.As4()), mv, t)
	}
	var err error
	a, err = netip.ParseAddr(text)
	if err != nil && !strings.Contains(text, ":") {
		// "net 10", "net 192.168": the missing octets are the host part.
		parts := strings.Split(text, ".")
		if len(parts) < 4 {
			var b [4]byte
			for i, s := range parts {
				v, ok := parseNum(s)
				if !ok || v > 255 {
					return nil, errAt(t.pos, "%q is not a network", text)
				}
				b[i] = byte(v)
			}
			a, err = netip.AddrFrom4(b), nil
			if bits < 0 {
				bits = 8 * len(parts)
			}
		}
	}
	if err != nil || a.Zone() != "" {
		return nil, errAt(t.pos, "%q is not a network", text)
	}
	if bits < 0 {
		bits = a.BitLen()
	}
	if bits > a.BitLen() {
		return nil, errAt(t.pos, "prefix length %d is too long for %s", bits, text)
	}
	pfx, _ := a.Prefix(bits)
	if pfx.Addr() != a {
		return nil, errAt(t.pos, "non-network bits set in \"%s/%d\"", text, bits)
	}
	return p.addrMatch(q, a, bits, t)
}

func be32(b [4]byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (p *parser) addrMatch(q quals, a netip.Addr, bits int, t token) (*pred, error) {
	if a.Is4() {
		var mask uint32
		if bits > 0 {
			mask = ^uint32(0) << (32 - bits)
		}
		return p.addr4(q, be32(a.As4()), mask, t)
	}
	switch q.proto {
	case "", "ip6":
	default:
		return nil, errAt(t.pos, "%q is an IPv6 address and cannot go with '%s'", t.text, q.proto)
	}
	b := a.As16()
	nl := p.nl()
	match := func(off uint32) func() *pred {
		return func() *pred {
			r := pTrue
			for w := 0; w < 4; w++ {
				rem := bits - 32*w
				if rem <= 0 {
					break
				}
				mask := ^uint32(0)
				if rem < 32 {
					mask <<= 32 - rem
				}
				v := be32([4]byte(b[4*w:]))
				r = and(r, masked(ldw(off+uint32(4*w)), mask, v))
			}
			return r
		}
	}
	return and(p.mustLink(wire.EtherTypeIPv6), dirPred(q.dir, match(nl+8), match(nl+24))), nil
}

func (p *parser) addr4(q quals, v, mask uint32, t token) (*pred, error) {
	nl := p.nl()
	at := func(off uint32) func() *pred {
		return func() *pred { return masked(ldw(off), mask, v&mask) }
	}
	ip := func() *pred {
		return and(p.mustLink(wire.EtherTypeIPv4), dirPred(q.dir, at(nl+12), at(nl+16)))
	}
	arpOf := func(et uint32) *pred {
		return and(p.mustLink(et), dirPred(q.dir, at(nl+14), at(nl+24)))
	}
	switch q.proto {
	case "ip":
		return ip(), nil
	case "arp", "rarp":
		et := uint32(0x806)
		if q.proto == "rarp" {
			et = 0x8035
		}
		return arpOf(et), nil
	case "ip6":
		return nil, errAt(t.pos, "%q is an IPv4 address and cannot go with 'ip6'", t.text)
	}
	b := ip()
	arp := or(p.mustLink(0x806), p.mustLink(0x8035))
	if arp.kind == pConst {
		return or(b, and(arp, pFalse)), nil
	}
	return or(b, and(arp, dirPred(q.dir, at(nl+14), at(nl+24)))), nil
}

func (p *parser) etherHost(q quals, t token) (*pred, error) {
	if p.link != wire.LinkEthernet {
		return nil, errAt(t.pos, "ether host filtering is only supported on Ethernet, not %s", linkName(p.link))
	}
	var mac [6]byte
	parts := strings.FieldsFunc(t.text, func(r rune) bool { return r == ':' || r == '-' || r == '.' })
	if len(parts) != 6 {
		return nil, errAt(t.pos, "%q is not a MAC address", t.text)
	}
	for i, s := range parts {
		v, err := strconv.ParseUint(s, 16, 8)
		if err != nil {
			return nil, errAt(t.pos, "%q is not a MAC address", t.text)
		}
		mac[i] = byte(v)
	}
	lo := uint32(mac[2])<<24 | uint32(mac[3])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
	hi := uint32(mac[0])<<8 | uint32(mac[1])
	at := func(off uint32) func() *pred {
		return func() *pred { return and(eq(lo, ldw(off+2)), eq(hi, ldh(off))) }
	}
	return dirPred(q.dir, at(6), at(0)), nil
}

// ---- ports ----

// services is the part of Debian's /etc/services that people write in
// filters; tcpOnly names have no UDP entry, so libpcap tests TCP only.
var services = map[string]struct {
	port    uint32
	tcpOnly bool
	udpOnly bool
}{
	"ftp-data": {20, true, false}, "ftp": {21, true, false}, "ssh": {22, true, false},
	"telnet": {23, true, false}, "smtp": {25, true, false}, "whois": {43, true, false},
	"domain": {53, false, false}, "bootps": {67, false, true}, "bootpc": {68, false, true},
	"tftp": {69, false, true}, "http": {80, true, false}, "www": {80, true, false},
	"kerberos": {88, false, false}, "pop3": {110, true, false}, "nntp": {119, true, false},
	"ntp": {123, false, true}, "imap": {143, true, false}, "imap2": {143, true, false},
	"snmp": {161, false, false}, "bgp": {179, true, false}, "ldap": {389, false, false},
	"https": {443, false, false}, "microsoft-ds": {445, true, false}, "syslog": {514, false, true},
	"submission": {587, true, false}, "ldaps": {636, false, false}, "rsync": {873, true, false},
	"imaps": {993, true, false}, "pop3s": {995, true, false}, "socks": {1080, true, false},
	"openvpn": {1194, false, false}, "nfs": {2049, false, false}, "mysql": {3306, true, false},
	"ms-wbt-server": {3389, true, false}, "sip": {5060, false, false},
	"postgresql": {5432, true, false}, "redis": {6379, true, false}, "http-alt": {8080, true, false},
}

func (p *parser) portNum(s string, pos int) (port uint32, protos []uint32, err error) {
	if n, ok := parseNum(s); ok {
		if n > 65535 {
			return 0, nil, errAt(pos, "illegal port number %d > 65535", n)
		}
		return n, nil, nil
	}
	sv, ok := services[s]
	if !ok {
		return 0, nil, errAt(pos, "unknown port %q (use a number)", s)
	}
	switch {
	case sv.tcpOnly:
		return sv.port, []uint32{6}, nil
	case sv.udpOnly:
		return sv.port, []uint32{17}, nil
	}
	return sv.port, nil, nil
}

func (p *parser) port(q quals, typ string, t token) (*pred, error) {
	var protos []uint32
	switch q.proto {
	case "", "ip", "ip6":
		protos = []uint32{132, 6, 17}
	case "tcp":
		protos = []uint32{6}
	case "udp":
		protos = []uint32{17}
	case "sctp":
		protos = []uint32{132}
	default:
		return nil, errAt(t.pos, "'%s' modifier applied to %s", q.proto, typ)
	}
	var lo, hi uint32
	if typ == "port" {
		n, only, err := p.portNum(t.text, t.pos)
		if err != nil {
			return nil, err
		}
		if only != nil {
			if q.proto != "" && q.proto != "ip" && q.proto != "ip6" && protos[0] != only[0] {
				return nil, errAt(t.pos, "port %q is not a %s port", t.text, q.proto)
			}
			protos = only
		}
		lo, hi = n, n
	} else {
		a, b, ok := strings.Cut(t.text, "-")
		if !ok {
			return nil, errAt(t.pos, "portrange needs LOW-HIGH, found %q", t.text)
		}
		var err error
		if lo, _, err = p.portNum(a, t.pos); err != nil {
			return nil, err
		}
		if hi, _, err = p.portNum(b, t.pos+len(a)+1); err != nil {
			return nil, err
		}
		if lo > hi {
			lo, hi = hi, lo
		}
	}
	nl := p.nl()
	in := func(ld bpf.Instruction, rest ...bpf.Instruction) func() *pred {
		return func() *pred {
			stmts := append(append([]bpf.Instruction{}, rest...), ld)
			if lo == hi {
				return eq(lo, stmts...)
			}
			return and(cmp(bpf.JumpGreaterOrEqual, lo, stmts...), not(cmp(bpf.JumpGreaterThan, hi)))
		}
	}
	protoIn := func(off uint32) *pred {
		b := eq(protos[0], ldb(off))
		for _, pr := range protos[1:] {
			b = or(b, eq(pr))
		}
		return b
	}
	msh := bpf.LoadMemShift{Off: nl}
	v4 := and(and(and(p.mustLink(wire.EtherTypeIPv4), protoIn(nl+9)), p.notFrag()),
		dirPred(q.dir, in(bpf.LoadIndirect{Off: nl, Size: 2}, msh), in(bpf.LoadIndirect{Off: nl + 2, Size: 2}, msh)))
	v6 := and(and(p.mustLink(wire.EtherTypeIPv6), protoIn(nl+6)),
		dirPred(q.dir, in(ldh(nl+40)), in(ldh(nl+42))))
	switch q.proto {
	case "ip":
		return v4, nil
	case "ip6":
		return v6, nil
	}
	return or(v4, v6), nil
}
