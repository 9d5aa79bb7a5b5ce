package tcpdumptext

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"

	"synfin/wire"
)

// mptcpSubtypes are the names print-mptcp.c gives MPTCP subtypes.
var mptcpSubtypes = [...]string{"capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "tcprst"}

// addAddrVersions are print-mptcp.c's names of an add-addr option's
// version and echo bits (the low nibble of its third byte).
var addAddrVersions = map[string]byte{"v1": 0, "v1-echo": 1, "v0-ip4": 4, "v0-ip6": 6, "[bad version/echo]": 2}

// appendMPTCP encodes the text of an MPTCP option, "LEN SUBTYPE ..." as
// print-mptcp.c prints it, back into the bytes it was printed from. Bits
// and bytes tcpdump does not print (capable's flags other than the
// checksum bit, its data-level length, a subtype it does not know) are
// zero. ok is false for text tcpdump does not print.
func appendMPTCP(b []byte, f []string) ([]byte, bool) {
	n, ok := num(f, 0, maxOptLen)
	if !ok || n < 3 || len(f) < 2 {
		return b, false
	}
	st := -1
	for i, s := range mptcpSubtypes {
		if f[1] == s {
			st = i
		}
	}
	if st < 0 && f[1] == "unknown" { // a subtype tcpdump does not know
		st = 0xf
	}
	if st < 0 {
		return b, false
	}
	o := make([]byte, n)
	o[0], o[1], o[2] = wire.OptMPTCP, byte(n), byte(st<<4)
	a := f[2:]
	if !mptcpFields(o, st, a) {
		return b, false
	}
	return append(b, o...), true
}

// appendBadMPTCP encodes an MPTCP option tcpdump printed as "[bad opt]"
// after its length and subtype ("mptcp 3 dss[bad opt]"), or after its
// name alone when shorter than 3 bytes: such an option is bad by its
// length and the segment's flags, whatever its other bytes, except a
// 4-byte DSS option, bad by its flag bits.
func appendBadMPTCP(b []byte, f []string) ([]byte, bool) {
	if len(f) == 0 {
		return append(b, wire.OptMPTCP, 2), true
	}
	n, ok := num(f, 0, maxOptLen)
	if !ok || n < 3 || len(f) != 2 {
		return b, false
	}
	st := -1
	for i, s := range mptcpSubtypes[:8] {
		if f[1] == s {
			st = i
		}
	}
	if st < 0 {
		return b, false // an unknown subtype is never bad
	}
	o := make([]byte, n)
	o[0], o[1], o[2] = wire.OptMPTCP, byte(n), byte(st<<4)
	if st == 2 && n == 4 {
		o[3] = 0x01 // a data ack, with no room for it
	}
	return append(b, o...), true
}

// mptcpFields fills option o (kind, length and subtype set) from the
// words a that follow its subtype.
func mptcpFields(o []byte, st int, a []string) bool {
	n := len(o)
	put64 := func(i int, s string) bool {
		v, ok := hex0x(s)
		if ok && i+8 <= n {
			binary.BigEndian.PutUint64(o[i:], v)
		}
		return ok && i+8 <= n
	}
	put32 := func(i int, s string, hex bool) bool {
		var v uint64
		var ok bool
		if hex {
			v, ok = hex0x(s)
		} else {
			v, ok = atou(s)
		}
		if !ok || v > 0xffffffff || i+4 > n {
			return false
		}
		binary.BigEndian.PutUint32(o[i:], uint32(v))
		return true
	}
	switch st {
	case 0: // capable: "vN[ csum][ {0xKEY[,0xKEY]}]" or "Unknown Version (N)"
		if len(a) == 3 && a[0] == "Unknown" && a[1] == "Version" {
			v, ok := atou(strings.TrimSuffix(strings.TrimPrefix(a[2], "("), ")"))
			o[2] |= byte(v)
			return ok && v >= 2 && v <= 15
		}
		if len(a) == 0 || len(a[0]) != 2 || a[0][0] != 'v' || (a[0][1] != '0' && a[0][1] != '1') {
			return false
		}
		o[2] |= a[0][1] - '0'
		a = a[1:]
		if len(a) > 0 && a[0] == "csum" {
			if n < 4 {
				return false
			}
			o[3] = 0x80
			a = a[1:]
		}
		if len(a) == 0 {
			return n == 4
		}
		if len(a) != 1 || !strings.HasPrefix(a[0], "{") || !strings.HasSuffix(a[0], "}") {
			return false
		}
		keys := strings.Split(a[0][1:len(a[0])-1], ",")
		switch {
		case len(keys) == 1 && n == 12:
			return put64(4, keys[0])
		case len(keys) == 2 && (n == 20 || n == 22):
			return put64(4, keys[0]) && put64(12, keys[1])
		}
		return false
	case 1: // join
		if n == 24 {
			if len(a) != 2 || a[0] != "hmac" || !strings.HasPrefix(a[1], "0x") {
				return false
			}
			h, ok := unhex(a[1][2:], 20)
			copy(o[4:], h)
			return ok
		}
		if len(a) > 0 && a[0] == "backup" {
			o[2] |= 1
			a = a[1:]
		}
		if len(a) != 6 || a[0] != "id" || a[4] != "nonce" {
			return false
		}
		id, ok := num(a, 1, 0xff)
		if !ok {
			return false
		}
		o[3] = byte(id)
		switch {
		case n == 12 && a[2] == "token":
			return put32(4, a[3], true) && put32(8, a[5], true)
		case n == 16 && a[2] == "hmac":
			return put64(4, a[3]) && put32(12, a[5], true)
		}
		return false
	case 2: // dss: "[fin][ ack N][ seq N subseq N len N[ csum 0xN]]"
		return mptcpDSS(o, a)
	case 3: // add-addr: "VERSION id N ADDR[:PORT][ hmac 0xN]"
		if len(a) != 4 && len(a) != 6 {
			return false
		}
		v, ok := addAddrVersions[a[0]]
		id, ok2 := num(a, 2, 0xff)
		if !ok || a[1] != "id" || !ok2 {
			return false
		}
		o[2] |= v
		o[3] = byte(id)
		bare := 8
		if n > 18 {
			bare = 20
		}
		port := n == bare+2 || n == bare+10
		hmac := n == bare+8 || n == bare+10
		if n != bare && !port && !hmac || hmac != (len(a) == 6) {
			return false
		}
		addr, ps := a[3], ""
		if port {
			i := strings.LastIndexByte(addr, ':')
			if i < 0 {
				return false
			}
			addr, ps = addr[:i], addr[i+1:]
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil || ip.Is4() != (bare == 8) || ip.Zone() != "" {
			return false
		}
		copy(o[4:], ip.AsSlice())
		i := bare
		if port {
			p, ok := atou(ps)
			if !ok || p > 0xffff {
				return false
			}
			binary.BigEndian.PutUint16(o[i:], uint16(p))
			i += 2
		}
		if hmac {
			return a[4] == "hmac" && put64(i, a[5])
		}
		return true
	case 4: // rem-addr: "id N N ..."
		if len(a) != n-3+1 || a[0] != "id" {
			return false
		}
		for i := range a[1:] {
			id, ok := num(a, i+1, 0xff)
			if !ok {
				return false
			}
			o[3+i] = byte(id)
		}
		return true
	case 5: // prio: "backup|non-backup[ id N]"
		if len(a) == 0 || (a[0] != "backup" && a[0] != "non-backup") {
			return false
		}
		if a[0] == "backup" {
			o[2] |= 1
		}
		if n == 3 {
			return len(a) == 1
		}
		id, ok := num(a, 2, 0xff)
		o[3] = byte(id)
		return ok && len(a) == 3 && a[1] == "id" && n == 4
	case 6: // fail: "seq N"
		v, ok := atou64(a, 1)
		if !ok || len(a) != 2 || a[0] != "seq" || n != 12 {
			return false
		}
		binary.BigEndian.PutUint64(o[4:], v)
		return true
	case 7: // fast-close: "key 0xN"
		return len(a) == 2 && a[0] == "key" && n == 12 && put64(4, a[1])
	}
	return len(a) == 0 // tcprst and unknown subtypes print nothing more
}

// mptcpDSS fills a DSS option from "[fin][ ack N][ seq N subseq N len
// N[ csum 0xN]]". Whether a number took 4 or 8 bytes is not printed: the
// option's length decides, and a number too large for 4 bytes.
func mptcpDSS(o []byte, a []string) bool {
	n := len(o)
	if len(a) > 0 && a[0] == "fin" {
		o[3] |= 0x10
		a = a[1:]
	}
	var ack, seq, sub, dl, ck uint64
	hasAck, hasSeq, hasCk := false, false, false
	ok := true
	if len(a) >= 2 && a[0] == "ack" {
		ack, ok = atou64(a, 1)
		hasAck, a = true, a[2:]
	}
	if ok && len(a) >= 6 && a[0] == "seq" && a[2] == "subseq" && a[4] == "len" {
		var ok1, ok2, ok3 bool
		seq, ok1 = atou64(a, 1)
		sub, ok2 = atou(a[3])
		dl, ok3 = atou(a[5])
		ok = ok1 && ok2 && ok3 && sub <= 0xffffffff && dl <= 0xffff
		hasSeq, a = true, a[6:]
		if ok && len(a) == 2 && a[0] == "csum" {
			ck, ok = hex0x(a[1])
			ok = ok && ck <= 0xffff
			hasCk, a = true, a[2:]
		}
	}
	if !ok || len(a) != 0 {
		return false
	}
	// Sizes: 4 + ack (4|8) + seq (4|8) + 4 + 2 + csum 2.
	fixed := 4
	if hasSeq {
		fixed += 6
		if hasCk {
			fixed += 2
		}
	}
	var ackW, seqW int
	found := false
	for _, aw := range [...]int{8, 4} {
		for _, sw := range [...]int{8, 4} {
			if found || (!hasAck && aw == 4) || (!hasSeq && sw == 4) {
				continue
			}
			w := fixed
			if hasAck {
				w += aw
			}
			if hasSeq {
				w += sw
			}
			if w == n && (aw == 8 || ack <= 0xffffffff) && (sw == 8 || seq <= 0xffffffff) {
				ackW, seqW, found = aw, sw, true
			}
		}
	}
	if !found {
		return false
	}
	i := 4
	put := func(v uint64, w int) {
		if w == 8 {
			binary.BigEndian.PutUint64(o[i:], v)
		} else {
			binary.BigEndian.PutUint32(o[i:], uint32(v))
		}
		i += w
	}
	if hasAck {
		o[3] |= 0x01
		if ackW == 8 {
			o[3] |= 0x02
		}
		put(ack, ackW)
	}
	if hasSeq {
		o[3] |= 0x04
		if seqW == 8 {
			o[3] |= 0x08
		}
		put(seq, seqW)
		put(sub, 4)
		binary.BigEndian.PutUint16(o[i:], uint16(dl))
		i += 2
		if hasCk {
			binary.BigEndian.PutUint16(o[i:], uint16(ck))
		}
	}
	return true
}

// atou64 parses a[i] as a decimal number of up to 64 bits.
func atou64(a []string, i int) (uint64, bool) {
	if i >= len(a) || a[i] == "" || a[i][0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(a[i], 10, 64)
	return v, err == nil
}

// hex0x parses "0x" and up to 16 hex digits.
func hex0x(s string) (uint64, bool) {
	if !strings.HasPrefix(s, "0x") {
		return 0, false
	}
	return hexu(s[2:])
}
