package tcpdumptext

import (
	"encoding/binary"
	"errors"
	"strings"

	"synfin/wire"
)

// maxOptLen is the most option bytes a TCP header can carry.
const maxOptLen = 40

var (
	errOptions  = errors.New("tcpdumptext: unparsable TCP option")
	errOptLong  = errors.New("tcpdumptext: TCP options longer than 40 bytes")
	errTruncTCP = errors.New("tcpdumptext: truncated TCP header ([|tcp])")
	errBadOpt   = errors.New("tcpdumptext: tcpdump reported a bad option")
	// errBadOptEnd: a bad option tcpdump printed, and the line ends with
	// it; the bytes it was printed from are appended.
	errBadOptEnd = errors.New("tcpdumptext: the options end with a bad option")
)

// appendOptions encodes the text inside "options [...]" as option bytes.
// sacks receives the offsets of SACK edges (4-byte numbers) within the
// appended bytes, so relative SACK blocks can be made absolute later.
func appendOptions(b []byte, text string, sacks []int) ([]byte, []int, error) {
	start := len(b)
	for text != "" {
		item := text
		depth := 0
		for i := 0; i < len(text); i++ {
			switch text[i] {
			case '[', '{', '(':
				depth++
			case ']', '}', ')':
				depth--
			case ',':
				if depth == 0 {
					item, text = text[:i], text[i+1:]
					goto have
				}
			}
		}
		text = ""
	have:
		var err error
		b, sacks, err = appendOption(b, item, sacks, start)
		if err == errBadOptEnd && text != "" {
			err = errBadOpt
		}
		if err != nil {
			return b, sacks, err
		}
		if len(b)-start > maxOptLen {
			return b, sacks, errOptLong
		}
	}
	return b, sacks, nil
}

func appendOption(b []byte, item string, sacks []int, base int) ([]byte, []int, error) {
	if t, ok := strings.CutSuffix(item, "[bad opt]"); ok && (t == "mptcp" || strings.HasPrefix(t, "mptcp ")) {
		var words [4]string
		if b2, ok := appendBadMPTCP(b, fields(&words, strings.TrimPrefix(t, "mptcp"))); ok {
			return b2, sacks, errBadOptEnd
		}
	}
	if strings.Contains(item, "[bad opt]") {
		return b, sacks, errBadOpt
	}
	if strings.Contains(item, "[|") {
		return b, sacks, errTruncTCP
	}
	if strings.Contains(item, "[len ") {
		return b, sacks, errOptions
	}
	name, rest, _ := strings.Cut(item, " ")
	var words [4]string
	f := fields(&words, rest)
	switch name {
	case "nop":
		return append(b, wire.OptNOP), sacks, nil
	case "eol":
		return append(b, wire.OptEOL), sacks, nil
	case "sackOK":
		return append(b, wire.OptSACKPerm, 2), sacks, nil
	case "mss":
		if v, ok := num(f, 0, 0xffff); ok && len(f) == 1 {
			return binary.BigEndian.AppendUint16(append(b, wire.OptMSS, 4), uint16(v)), sacks, nil
		}
	case "wscale":
		if v, ok := num(f, 0, 0xff); ok && len(f) == 1 {
			return append(b, wire.OptWScale, 3, byte(v)), sacks, nil
		}
	case "TS":
		if len(f) == 4 && f[0] == "val" && f[2] == "ecr" {
			v, ok1 := num(f, 1, 0xffffffff)
			e, ok2 := num(f, 3, 0xffffffff)
			if ok1 && ok2 {
				b = append(b, wire.OptTimestamp, 10)
				b = binary.BigEndian.AppendUint32(b, uint32(v))
				return binary.BigEndian.AppendUint32(b, uint32(e)), sacks, nil
			}
		}
	case "sack":
		n, ok := num(f, 0, 4)
		if !ok {
			break
		}
		blocks := strings.Join(f[1:], "")
		b = append(b, wire.OptSACK, byte(2+8*n))
		for i := uint64(0); i < n; i++ {
			if !strings.HasPrefix(blocks, "{") {
				return b, sacks, errOptions
			}
			end := strings.IndexByte(blocks, '}')
			if end < 0 {
				return b, sacks, errOptions
			}
			l, r, ok := strings.Cut(blocks[1:end], ":")
			lv, ok1 := atou(l)
			rv, ok2 := atou(r)
			if !ok || !ok1 || !ok2 || lv > 0xffffffff || rv > 0xffffffff {
				return b, sacks, errOptions
			}
			sacks = append(sacks, len(b)-base, len(b)-base+4)
			b = binary.BigEndian.AppendUint32(b, uint32(lv))
			b = binary.BigEndian.AppendUint32(b, uint32(rv))
			blocks = blocks[end+1:]
		}
		if blocks == "" {
			return b, sacks, nil
		}
	case "md5":
		b = append(b, wire.OptMD5, 18)
		if h, ok := unhex(rest, 16); ok {
			return append(b, h...), sacks, nil
		}
		// Printed as a verdict (valid, invalid, can't check): bytes unknown.
		return append(b, make([]byte, 16)...), sacks, nil
	case "uto":
		if len(f) == 2 && strings.HasPrefix(f[0], "0x") {
			if v, ok := hexu(f[0][2:]); ok && v <= 0xffff {
				return binary.BigEndian.AppendUint16(append(b, wire.OptUserTO, 4), uint16(v)), sacks, nil
			}
		}
	case "tcp-ao":
		if len(f) >= 4 && f[0] == "keyid" && f[2] == "rnextkeyid" {
			k, ok1 := num(f, 1, 0xff)
			r, ok2 := num(f, 3, 0xff)
			var mac []byte
			ok3 := true
			if len(f) == 6 && f[4] == "mac" && strings.HasPrefix(f[5], "0x") {
				mac, ok3 = unhex(f[5][2:], -1)
			} else if len(f) != 4 {
				ok3 = false
			}
			if ok1 && ok2 && ok3 {
				b = append(b, wire.OptAuth, byte(4+len(mac)), byte(k), byte(r))
				return append(b, mac...), sacks, nil
			}
		}
	case "mptcp":
		if b2, ok := appendMPTCP(b, f); ok {
			return b2, sacks, nil
		}
	case "tfo", "exp-tfo":
		if name == "tfo" {
			b = append(b, wire.OptTFO, 2)
		} else {
			b = append(b, wire.OptExp2, 4, 0xf9, 0x89)
		}
		at := len(b) - 1 - 2*boolInt(name == "exp-tfo")
		switch {
		case len(f) == 1 && f[0] == "cookiereq":
			return b, sacks, nil
		case len(f) == 2 && f[0] == "cookie":
			if h, ok := unhex(f[1], -1); ok && len(h) <= 32 {
				b[at] += byte(len(h))
				return append(b, h...), sacks, nil
			}
		}
	case "scps":
		if len(f) == 4 && f[0] == "cap" && f[2] == "id" {
			c, ok1 := hexu(f[1])
			id, ok2 := num(f, 3, 0xff)
			if ok1 && ok2 && c <= 0xff {
				return append(b, 20, 4, byte(c), byte(id)), sacks, nil
			}
		}
	case "cc", "ccnew":
		if v, ok := num(f, 0, 0xffffffff); ok && len(f) == 1 {
			k := byte(11)
			if name == "ccnew" {
				k = 12
			}
			return binary.BigEndian.AppendUint32(append(b, k, 6), uint32(v)), sacks, nil
		}
	default:
		kind := -1
		switch {
		case name == "echo":
			kind = 6
		case name == "echoreply":
			kind = 7
		case strings.HasPrefix(name, "unknown-"):
			if v, ok := atou(name[len("unknown-"):]); ok && v <= 0xff {
				kind = int(v)
			}
		case strings.HasPrefix(name, "exp-") && len(name) == 8: // RFC 6994 magic
			if m, ok := hexu(name[4:]); ok {
				return append(b, wire.OptExp2, 4, byte(m>>8), byte(m)), sacks, nil
			}
		}
		if kind < 0 {
			break
		}
		var data []byte
		ok := true
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "0x"):
			data, ok = unhex(f[0][2:], -1)
		case len(f) != 0:
			ok = false
		}
		if ok && len(data) <= maxOptLen-2 {
			b = append(b, byte(kind), byte(2+len(data)))
			return append(b, data...), sacks, nil
		}
	}
	return b, sacks, errOptions
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// fields splits on spaces into a; most options have at most four words,
// which fit the caller's array and need no allocation.
func fields(a *[4]string, s string) []string {
	if s == "" {
		return nil
	}
	f := a[:0]
	for s != "" {
		w, rest, _ := strings.Cut(s, " ")
		s = rest
		if w != "" {
			f = append(f, w)
		}
	}
	return f
}

// num parses f[i] as a decimal number no larger than max.
func num(f []string, i int, max uint64) (uint64, bool) {
	if i >= len(f) {
		return 0, false
	}
	v, ok := atou(f[i])
	return v, ok && v <= max
}

// atou parses a decimal number of at most 19 digits.
func atou(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		v = v*10 + uint64(c)
	}
	return v, true
}

// hexu parses up to 16 hex digits.
func hexu(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unhex decodes an even-length hex string; n >= 0 demands n bytes.
func unhex(s string, n int) ([]byte, bool) {
	if len(s)%2 != 0 || (n >= 0 && len(s) != 2*n) || len(s) > 2*maxOptLen {
		return nil, false
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}
