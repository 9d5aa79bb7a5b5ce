package explain_test

import (
	"bytes"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/render/explain"
	"synfin/render/explain/explaintest"
	"synfin/tcpstate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// tcpstateNotes reads tcpstate's Note constants from its source, so that a
// note added there without a message here fails this test.
func tcpstateNotes(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join("..", "..", "tcpstate", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Note" {
				return true
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					notes = append(notes, s)
				}
			}
			return true
		})
	}
	if len(notes) < 20 {
		t.Fatalf("found only %d notes in tcpstate", len(notes))
	}
	sort.Strings(notes)
	return notes
}

func names[T interface{ String() string }](n int, f func(int) T) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, f(i).String())
	}
	return out
}

var placeholder = regexp.MustCompile(`\{[a-z0-9]+\}`)

func TestCatalogueComplete(t *testing.T) {
	var want []string
	for _, n := range tcpstateNotes(t) {
		want = append(want, "note."+n)
	}
	for _, a := range names(int(tcpstate.NumAnomalies), func(i int) tcpstate.Anomaly { return tcpstate.Anomaly(i) }) {
		want = append(want, "an."+a)
	}
	for _, p := range names(8, func(i int) tcpstate.Pattern { return tcpstate.Pattern(i) }) {
		want = append(want, "p."+p)
	}
	for _, e := range names(5, func(i int) tcpstate.End { return tcpstate.End(i) }) {
		want = append(want, "end."+e)
	}
	for _, g := range tcpstate.Gaps(0xffff).Names() {
		want = append(want, "gap."+g)
	}
	for _, s := range names(12, func(i int) tcpstate.State { return tcpstate.State(i) }) {
		want = append(want, "st."+s)
	}
	for _, p := range names(3, func(i int) tcpstate.Phase { return tcpstate.Phase(i) }) {
		want = append(want, "w.phase."+p)
	}
	// Names shown as names: English is tcpstate's own, which JSON keeps.
	for _, a := range names(int(tcpstate.NumAnomalies), func(i int) tcpstate.Anomaly { return tcpstate.Anomaly(i) }) {
		if m, ok := explain.Catalogue("ann." + a); !ok || m["en"] != a {
			t.Errorf("catalogue's ann.%s is %q, want tcpstate's name", a, m["en"])
		}
	}
	for _, p := range names(8, func(i int) tcpstate.Pattern { return tcpstate.Pattern(i) }) {
		if m, ok := explain.Catalogue("pn." + p); !ok || m["en"] != p {
			t.Errorf("catalogue's pn.%s is %q, want tcpstate's name", p, m["en"])
		}
	}
	for _, k := range want {
		if _, ok := explain.Catalogue(k); !ok {
			t.Errorf("catalogue lacks %q", k)
		}
	}
	for _, k := range explain.Keys() {
		m, _ := explain.Catalogue(k)
		for _, l := range explain.Langs {
			if strings.TrimSpace(m[l]) == "" {
				t.Errorf("%s has no %s text", k, l)
			}
		}
		en := placeholder.FindAllString(m["en"], -1)
		zh := placeholder.FindAllString(m["zh"], -1)
		sort.Strings(en)
		sort.Strings(zh)
		if diff := cmp.Diff(en, zh); diff != "" {
			t.Errorf("%s: placeholders differ between en and zh (-en +zh):\n%s", k, diff)
		}
	}
}

type capture struct {
	name string
	path string
}

func captures(t *testing.T) []capture {
	dir := t.TempDir()
	out := []capture{
		{"seed", corpus.Seed(t, "capture.txt")},
		{"dns_tcp", corpus.Dir(t, "tcpdump", "dns_tcp.pcap")},
	}
	for _, s := range explaintest.Scenarios() {
		out = append(out, capture{s.Name, explaintest.ScenarioFile(t, dir, s)})
	}
	// A connection past CollapseAbove, its data phase summed up (the
	// summary's numbers are those tcpdump and tshark show: see
	// ladder.TestCollapsedGolden, which draws the same capture).
	return append(out, capture{"transfer", pcaptest.GeneratedFile(t, gen.Config{Transfer: explain.CollapseAbove + 101, Seed: 5, Reorder: true})})
}

func render(t *testing.T, conns []*tcpstate.Conn, lang string, width int) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range conns {
		if err := explain.Write(&b, c, explain.Options{Lang: lang, Width: width}); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

var unfilled = regexp.MustCompile(`\[[a-z]+\.[a-zA-Z0-9.-]+\]|\{[a-z0-9]+\}|@w\.`)

// TestGolden compares the text of every capture in both languages with
// files reviewed once against the capture, and checks that nothing is
// left untranslated.
func TestGolden(t *testing.T) {
	for _, c := range captures(t) {
		conns := explaintest.Track(t, c.path)
		for _, lang := range explain.Langs {
			t.Run(c.name+"."+lang, func(t *testing.T) {
				got := render(t, conns, lang, 0)
				if m := unfilled.FindString(got); m != "" {
					t.Errorf("untranslated or unfilled %q in the text", m)
				}
				if w := explaintest.EnglishWords(got); lang == explain.Chinese && len(w) > 0 {
					t.Errorf("English words left in the Chinese text: %s", strings.Join(w, " "))
				}
				golden := filepath.Join("testdata", c.name+"."+lang+".txt")
				if *update {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("%s differs (-want +got):\n%s", golden, diff)
				}
			})
		}
	}
}

// tcpdumpFacts reads `tcpdump -n -S` of a capture: the ISNs of SYNs, the
// acknowledgments of SYN-ACKs and the sequence numbers of FINs.
func tcpdumpFacts(t *testing.T, path string) (syn, synAckAck, fin []uint32) {
	bin := testenv.NeedTool(t, "tcpdump")
	out, err := exec.Command(bin, "-n", "-S", "-r", path, "tcp").Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	num := func(line, key string) uint32 {
		i := strings.Index(line, key)
		if i < 0 {
			t.Fatalf("no %q in %q", key, line)
		}
		f := strings.FieldsFunc(line[i+len(key):], func(r rune) bool { return r == ',' || r == ':' || r == ' ' })
		n, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(n)
	}
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(l, "Flags [S],"):
			syn = append(syn, num(l, " seq "))
		case strings.Contains(l, "Flags [S.],"):
			synAckAck = append(synAckAck, num(l, " ack "))
		case strings.Contains(l, "Flags [F") && strings.Contains(l, " seq "):
			// The FIN follows the payload: seq + length.
			fin = append(fin, num(l, " seq ")+num(l, "length "))
		}
	}
	return
}

// TestFactsAgainstTcpdump checks that the explanation states the numbers
// tcpdump prints for the same file: each client ISN, the SYN-ACK's ack =
// ISN + 1, and that a FIN at seq is acknowledged with seq + 1.
func TestFactsAgainstTcpdump(t *testing.T) {
	for _, c := range captures(t) {
		if c.name == "seed" {
			continue // text, not a capture tcpdump reads
		}
		t.Run(c.name, func(t *testing.T) {
			syns, acks, fins := tcpdumpFacts(t, c.path)
			conns := explaintest.Track(t, c.path)
			en, zh := render(t, conns, "en", -1), render(t, conns, "zh", -1)
			seen := map[uint32]bool{}
			for _, isn := range syns {
				if seen[isn] {
					continue // a retransmitted SYN
				}
				seen[isn] = true
				for _, want := range []string{"picks ISN " + u(isn) + " ", "client " + u(isn)} {
					if !strings.Contains(en, want) {
						t.Errorf("en lacks %q", want)
					}
				}
				if !strings.Contains(zh, "初始序号 ISN "+u(isn)) {
					t.Errorf("zh lacks the ISN %d", isn)
				}
			}
			for i, ack := range acks {
				if i < len(syns) && ack != syns[0]+1 && c.name != "lost-last-ack" {
					t.Errorf("tcpdump shows SYN-ACK ack %d for ISN %d", ack, syns[0])
				}
				if !strings.Contains(en, "ack "+u(ack)+" = client ISN + 1 ✓") {
					t.Errorf("en lacks the SYN-ACK check for ack %d", ack)
				}
				if !strings.Contains(zh, "确认号 "+u(ack)+" = 客户端 ISN + 1 ✓") {
					t.Errorf("zh lacks the SYN-ACK check for ack %d", ack)
				}
			}
			for _, f := range fins {
				if !strings.Contains(en, "("+u(f)+")") && !strings.Contains(en, "seq "+u(f)+")") && !strings.Contains(en, "number "+u(f)) && !strings.Contains(en, "FIN again") {
					t.Errorf("en does not give FIN seq %d", f)
				}
				if strings.Contains(en, "ack "+u(f+1)+" = FIN seq + 1 ✓") != strings.Contains(zh, "确认号 "+u(f+1)+" = FIN 序号 + 1 ✓") {
					t.Errorf("en and zh disagree on the ACK of FIN %d", f)
				}
			}
		})
	}
}

func u(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

var segRef = regexp.MustCompile(` \(#\d+\)`)

// TestStatesFollowRFC checks each lifecycle's state sequences against
// RFC 9293's state diagram (section 3.3.2).
func TestStatesFollowRFC(t *testing.T) {
	const (
		open   = "CLOSED → SYN-SENT → ESTABLISHED"
		listen = "LISTEN → SYN-RECEIVED → ESTABLISHED"
	)
	tests := []struct {
		scenario       string
		client, server string
		pattern        tcpstate.Pattern
	}{
		{"four-segment", open + " → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT", listen + " → CLOSE-WAIT → LAST-ACK → CLOSED", tcpstate.PatternFourSegment},
		{"three-segment", open + " → CLOSE-WAIT → LAST-ACK → CLOSED", listen + " → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT", tcpstate.PatternThreeSegment},
		{"simultaneous-close", open + " → FIN-WAIT-1 → CLOSING → TIME-WAIT", listen + " → FIN-WAIT-1 → CLOSING → TIME-WAIT", tcpstate.PatternSimultaneous},
		{"half-close", open + " → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT", listen + " → CLOSE-WAIT → LAST-ACK → CLOSED", tcpstate.PatternHalfClose},
		{"abort-rst", open + " → CLOSED", listen + " → CLOSED", tcpstate.PatternAbort},
		{"refused", "CLOSED → SYN-SENT → CLOSED", "CLOSED", tcpstate.PatternRefused},
		{"midstream", "UNKNOWN → CLOSE-WAIT", "UNKNOWN → FIN-WAIT-1 → FIN-WAIT-2", tcpstate.PatternIncomplete},
	}
	byName := map[string]explaintest.Scenario{}
	for _, s := range explaintest.Scenarios() {
		byName[s.Name] = s
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			conns := explaintest.Track(t, explaintest.ScenarioFile(t, dir, byName[tt.scenario]))
			c := conns[0]
			e := explain.Explain(c)
			var got []string
			for _, m := range e.Summary {
				if m.Key == "sum.path" {
					p, _ := m.Arg("path")
					got = append(got, segRef.ReplaceAllString(p, ""))
				}
			}
			if diff := cmp.Diff([]string{tt.client, tt.server}, got); diff != "" {
				t.Errorf("state paths (-RFC +explained):\n%s", diff)
			}
			if c.Teardown.Pattern != tt.pattern {
				t.Errorf("pattern %s, want %s", c.Teardown.Pattern, tt.pattern)
			}
		})
	}
}

func TestWrapWidth(t *testing.T) {
	conns := explaintest.Track(t, corpus.Seed(t, "capture.txt"))
	for _, lang := range explain.Langs {
		for _, width := range []int{40, 60, 100} {
			var b bytes.Buffer
			if err := explain.Write(&b, conns[0], explain.Options{Lang: lang, Width: width}); err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(b.String(), "\n") {
				// A single unbreakable word may stick out; none here is
				// longer than 30 columns.
				if w := explain.Width(l); w > width && !strings.Contains(l, "seq ") {
					t.Errorf("%s width %d: line of %d columns: %q", lang, width, w, l)
				}
			}
		}
	}
}

func TestUnknownLanguage(t *testing.T) {
	conns := explaintest.Track(t, corpus.Seed(t, "capture.txt"))
	err := explain.Write(&bytes.Buffer{}, conns[0], explain.Options{Lang: "fr"})
	if err == nil || !strings.HasPrefix(err.Error(), "explain: ") {
		t.Errorf("Write with lang fr: %v, want an explain: error", err)
	}
}

// TestTimeWaitNotOver: when a connection whose end holds TIME-WAIT is let
// go before 2MSL is over, the verdict says why, which only the way it
// ended tells: the capture ended, --hold was shorter, a new connection
// took its ports, or --max-conns made room.
func TestTimeWaitNotOver(t *testing.T) {
	conns := explaintest.Track(t, corpus.Dir(t, "tcpdump", "dns_tcp.pcap"))
	if len(conns) == 0 || conns[0].Teardown.TimeWait.Side == tcpstate.SideNone || conns[0].Teardown.TimeWait.Expired {
		t.Fatal("dns_tcp.pcap's first connection should end with TIME-WAIT running")
	}
	for _, tc := range []struct {
		name    string
		end     tcpstate.End
		held    bool
		expired bool
		want    string
	}{
		{"capture ended", tcpstate.EndClosed, false, false, "the capture ended before 2MSL was over"},
		{"held", tcpstate.EndClosed, true, false, "it is explained before 2MSL is over, as --hold asked"},
		{"reused", tcpstate.EndReused, false, false, "a new connection took its ports before 2MSL was over"},
		{"evicted", tcpstate.EndEvicted, false, false, "it was let go before 2MSL was over, to make room (--max-conns)"},
		{"over", tcpstate.EndClosed, false, true, "2MSL had passed on the capture's clock"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := conns[0].Clone()
			c.End = tc.end
			c.Teardown.TimeWait.Held, c.Teardown.TimeWait.Expired = tc.held, tc.expired
			got := render(t, []*tcpstate.Conn{c}, "en", 0)
			if !strings.Contains(got, "• "+tc.want+"\n") {
				t.Errorf("no line %q in:\n%s", tc.want, got)
			}
			if n := strings.Count(got, "before 2MSL") + strings.Count(got, "2MSL had passed"); n != 1 {
				t.Errorf("%d reasons given, want one:\n%s", n, got)
			}
		})
	}
}
