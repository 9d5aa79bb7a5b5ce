package explaintest

import (
	"regexp"
	"sort"
	"strings"

	"synfin/tcpstate"
)

// Kept lists the ASCII words Chinese text keeps, by why. Any other word of
// ASCII letters in Chinese output is English left untranslated.
var Kept = map[string][]string{
	// RFC 9293's state names (and the family FIN-WAIT the ladder's legend
	// names), and tcpstate's UNKNOWN for a state the capture cannot tell.
	"state": {"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
		"FIN-WAIT", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "UNKNOWN"},
	// Control bits and segments named by them, and tcpdump's flag letters
	// ("[S.]", and the ladder's arrow labels; combined as in "[FP.]", see
	// flagLetters); X is --ascii's reset head.
	"flag": {"SYN", "ACK", "FIN", "RST", "PSH", "URG", "ECE", "CWR", "SYN-ACK",
		"S", "F", "P", "R", "U", "E", "W", "X"},
	// Header fields and options as RFC 9293 and tcpdump name them (the
	// timeline's seq and ack, the arrows' "ack"), and RFC terms.
	"field": {"seq", "ack", "ISN", "MSS", "SACK", "TFO", "TCP", "MSL", "2MSL"},
	// Units of Dur ("µs" leaves "s"; --ascii writes "us").
	"unit": {"s", "ms", "us"},
	// Names: of programs, systems calls, errors and options, and synfin's
	// own command-line flags.
	"name": {"Linux", "netstack", "gVisor", "nmap", "sS", "connect", "close", "EOF", "ECONNREFUSED",
		"SO_LINGER", "hold", "max-conns", "full", "explain", "IP", "HTML", "synfin", "tcpdump", "lo", "n"},
	// English terms given after their Chinese, in parentheses, as
	// Wireshark names them: "保活探测（keep-alive）".
	"gloss": {"keep-alive"},
}

var keptSet = func() map[string]bool {
	m := map[string]bool{}
	for _, ws := range Kept {
		for _, w := range ws {
			m[w] = true
		}
	}
	return m
}()

// flagLetters are tcpdump's flag letters run together, as "[FP.]" shows
// them.
var flagLetters = regexp.MustCompile(`^[SFPRUEW]+$`)

// ipv6 matches IPv6 addresses, which are not words.
var ipv6 = regexp.MustCompile(`(?:[0-9a-fA-F]{0,4}:){2,}[0-9a-fA-F.]*`)

var asciiWord = regexp.MustCompile(`[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*`)

// EnglishWords returns the words of ASCII letters in s that Kept does not
// list, each once, sorted: what a Chinese text left in English. Numbers
// (and words of digits with a dash, like frame ranges) are not words.
func EnglishWords(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range asciiWord.FindAllString(ipv6.ReplaceAllString(s, " "), -1) {
		if !strings.ContainsFunc(w, isLetter) || keptSet[w] || flagLetters.MatchString(w) || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// EveryName returns copies of c, one per teardown pattern, each with every
// anomaly counted on the connection and marked on its segments, so that a
// renderer shows every name tcpstate has. c should have segments.
func EveryName(c *tcpstate.Conn) []*tcpstate.Conn {
	var all tcpstate.Anomalies
	for a := tcpstate.Anomaly(0); a < tcpstate.NumAnomalies; a++ {
		all = all.With(a)
	}
	var out []*tcpstate.Conn
	for p := tcpstate.PatternNone; p <= tcpstate.PatternRefused; p++ {
		d := c.Clone()
		d.Teardown.Pattern = p
		for a := range d.Anomalies {
			d.Anomalies[a].Count, d.Anomalies[a].First = 1, d.Segments[0].Index
		}
		for i := range d.Segments {
			d.Segments[i].Anomalies = all
		}
		out = append(out, d)
	}
	return out
}
