package tcpdumpcmp

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Record is one packet's output: the line starting with its number and
// the continuation lines after it.
type Record struct {
	N    int
	Text string // without the final newline
}

var recStart = regexp.MustCompile(`^ {0,4}(\d+)  `)

// Split splits "-#" output into records keyed by packet number. Lines
// before the first record are dropped.
func Split(out string) map[int]Record {
	recs := map[int]Record{}
	cur := -1
	var b strings.Builder
	flush := func() {
		if cur >= 0 {
			recs[cur] = Record{N: cur, Text: strings.TrimSuffix(b.String(), "\n")}
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		if m := recStart.FindStringSubmatch(line); m != nil {
			flush()
			cur, _ = strconv.Atoi(m[1])
		}
		if cur >= 0 {
			b.WriteString(line)
		}
	}
	flush()
	return recs
}

// LooksTCP reports whether a record is tcpdump's output for a TCP segment.
func LooksTCP(text string) bool {
	first, _, _ := strings.Cut(text, "\n")
	line := text
	if i := strings.Index(text, "\n\t0x"); i >= 0 {
		line = text[:i]
	}
	_ = first
	return strings.Contains(line, ": Flags [") || strings.Contains(line, "[|tcp]") ||
		tcpQuiet.MatchString(line)
}

var tcpQuiet = regexp.MustCompile(`: tcp \d+`)

var lengthN = regexp.MustCompile(`, length \d+`)

// CutApp removes what tcpdump printed after the TCP segment's "length N"
// for an application protocol: the rest of that line (unless it is TCP's
// own " [RST ...]", " [|tcp]" or " [bad ...]"), and the lines that follow
// up to a hex dump; with ascii (an -A dump follows), only the lines that
// start with a tab. It reports whether anything was cut.
func CutApp(text string, ascii bool) (string, bool) {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		f := strings.Index(line, ": Flags [")
		if f < 0 {
			continue
		}
		locs := lengthN.FindAllStringIndex(line[f:], -1)
		if locs == nil {
			return text, false
		}
		end := f + locs[len(locs)-1][1]
		if end < len(line) && !appSuffix(line[end:]) {
			return text, false
		}
		out := append([]string{}, lines[:i]...)
		out = append(out, line[:end])
		j := i + 1
		if ascii {
			for j < len(lines) && strings.HasPrefix(lines[j], "\t") {
				j++
			}
		} else {
			// Decoders may print any lines (OpenFlow prints the frames
			// it carries); a hex dump starts with "\t0x".
			for j < len(lines) && !strings.HasPrefix(lines[j], "\t0x") {
				j++
			}
		}
		if end == len(line) && j == i+1 {
			return text, false
		}
		out = append(out, lines[j:]...)
		return strings.Join(out, "\n"), true
	}
	return text, false
}

func appSuffix(s string) bool {
	if !strings.HasPrefix(s, " [") {
		return true
	}
	return strings.HasPrefix(s, " [|") && !strings.HasPrefix(s, " [|tcp]") && !strings.HasPrefix(s, " [|mptcp]")
}

// Result of comparing one record.
type Result struct {
	N        int
	Want     string
	Got      string
	Match    bool
	Prefix   bool // matched after cutting tcpdump's application decoding
	Missing  bool // tcpdump printed a TCP record that synfin did not
	NotInRef bool // synfin printed a record tcpdump did not
}

// Compare compares the TCP records of want (tcpdump) and got (synfin):
// the records synfin printed, and the records of want that look like TCP.
// ascii tells CutApp about -A dumps. Records synfin printed that want
// lacks are reported with NotInRef (a filter synfin did not apply).
func Compare(want, got string, ascii bool) []Result {
	w, g := Split(want), Split(got)
	nums := map[int]bool{}
	for n := range g {
		nums[n] = true
	}
	for n, r := range w {
		if LooksTCP(r.Text) {
			nums[n] = true
		}
	}
	var res []Result
	for n := range nums {
		wr, wok := w[n]
		gr, gok := g[n]
		r := Result{N: n, Want: wr.Text, Got: gr.Text}
		switch {
		case !wok:
			r.NotInRef = true
		case !gok:
			r.Missing = true
		case wr.Text == gr.Text:
			r.Match = true
		default:
			if cut, ok := CutApp(wr.Text, ascii); ok && cut == gr.Text {
				r.Match, r.Prefix = true, true
			}
		}
		res = append(res, r)
	}
	sort.Slice(res, func(i, j int) bool { return res[i].N < res[j].N })
	return res
}

// Count returns the compared records (those in want) and the matches.
func Count(rs []Result) (total, match int) {
	for _, r := range rs {
		if r.NotInRef {
			continue
		}
		total++
		if r.Match {
			match++
		}
	}
	return total, match
}

// Rate is the matching TCP records of one test out of those compared.
type Rate struct{ Match, Total int }

// CheckRates compares per-test rates with those recorded in a golden file
// ("name match total" lines) and fails the test for every test whose rate
// fell below its record or that is new. With update it rewrites the file.
func CheckRates(t testing.TB, path string, got map[string]Rate, update bool) {
	t.Helper()
	names := make([]string, 0, len(got))
	var m, n int
	for k, r := range got {
		names = append(names, k)
		m += r.Match
		n += r.Total
	}
	sort.Strings(names)
	if update {
		var b strings.Builder
		b.WriteString("# test\tmatching TCP records\tcompared TCP records (regenerate with -update)\n")
		for _, k := range names {
			fmt.Fprintf(&b, "%s\t%d\t%d\n", k, got[k].Match, got[k].Total)
		}
		fmt.Fprintf(&b, "TOTAL\t%d\t%d\n", m, n)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to record rates)", err)
	}
	want := map[string]Rate{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.HasPrefix(line, "#") {
			continue
		}
		a, _ := strconv.Atoi(f[1])
		c, _ := strconv.Atoi(f[2])
		want[f[0]] = Rate{a, c}
	}
	for _, k := range names {
		w, ok := want[k]
		g := got[k]
		switch {
		case !ok:
			t.Errorf("%s: %d/%d matching, not recorded (run with -update)", k, g.Match, g.Total)
		case g.Match < w.Match || g.Total != w.Total:
			t.Errorf("%s: %d/%d matching TCP records, recorded %d/%d", k, g.Match, g.Total, w.Match, w.Total)
		}
	}
	t.Logf("total: %d/%d TCP records match (%.2f%%)", m, n, 100*float64(m)/float64(max(n, 1)))
}

// CompareUnnumbered compares records by their text without the packet
// number, for outputs numbered differently (tcpdump numbers only the
// packets its filter keeps). It returns the TCP records of want and how
// many of them got has.
func CompareUnnumbered(want, got string, ascii bool) (total, match int) {
	have := map[string]bool{}
	for _, r := range Split(got) {
		have[strip(r.Text)] = true
	}
	for _, r := range Split(want) {
		if !LooksTCP(r.Text) {
			continue
		}
		total++
		w := strip(r.Text)
		if cut, ok := CutApp(r.Text, ascii); have[w] || ok && have[strip(cut)] {
			match++
		}
	}
	return total, match
}

func strip(s string) string {
	if m := recStart.FindStringIndex(s); m != nil {
		return s[m[1]:]
	}
	return s
}
