package filter

import (
	"strconv"
	"strings"
)

// tokKind classifies a token.
type tokKind uint8

const (
	tEOF   tokKind = iota
	tWord          // keyword, name, number or address
	tPunct         // operator or bracket
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the expression, 0-based
}

// lex splits an expression the way libpcap's scanner does for the subset:
// words may contain '-', '.', ':' and '_' (so "tcp-syn", "80-90",
// "fe80::1" and "00:11:22:33:44:55" are one word), except inside brackets,
// where ':' separates the offset from the size.
func lex(s string) ([]token, error) {
	var toks []token
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isWordStart(c) || c == ':' && depth == 0 && i+1 < len(s) && s[i+1] == ':':
			j := i + 1
			for j < len(s) && isWordByte(s[j], depth > 0) {
				j++
			}
			// A word never ends with '-' or '.': leave it for the operator.
			for j > i+1 && (s[j-1] == '-' || s[j-1] == '.') {
				j--
			}
			toks = append(toks, token{tWord, s[i:j], i})
			i = j
		default:
			op := ""
			for _, o := range []string{"&&", "||", "<<", ">>", "==", "!=", "<=", ">=",
				"(", ")", "[", "]", ":", "!", "&", "|", "+", "-", "*", "/", "%", "^", "=", "<", ">", "\\"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, errAt(i, "unexpected character %q", string(c))
			}
			switch op {
			case "[":
				depth++
			case "]":
				if depth > 0 {
					depth--
				}
			}
			toks = append(toks, token{tPunct, op, i})
			i += len(op)
		}
	}
	toks = append(toks, token{tEOF, "", len(s)})
	return toks, nil
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isWordByte(c byte, inBrackets bool) bool {
	if isWordStart(c) || c == '.' || c == '-' {
		return !(inBrackets && c == '-')
	}
	return c == ':' && !inBrackets
}

// parseNum parses a number as libpcap does: decimal, 0x hex, or octal
// with a leading 0.
func parseNum(s string) (uint32, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	base := 10
	t := s
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, t = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, t = 8, s[1:]
	}
	n, err := strconv.ParseUint(t, base, 32)
	if err != nil {
		return 0, false
	}
	return uint32(n), true
}
