package verdict

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/lab"
	"synfin/render/explain"
	"synfin/render/explain/explaintest"
)

// A recorded run: testdata/<k|u>-<scenario>.pcap is a lab run's capture
// (k: the kernel, u: netstack) and .json the previous build's `lab
// --json` of the same run, cut to its scenario and comparison. Its
// reported states are the stack's (the kernel's tracepoint and
// sock_diag, netstack's samples); its inferred states and verdicts are
// the previous build's.
type recorded struct {
	Scenario   string          `json:"scenario"`
	Comparison json.RawMessage `json:"comparison"`
}

// TestCompare compares each recorded run again, from its capture (and
// the time it stopped) and the stack's reported states, and checks that
// the comparison, as JSON, is the previous build's to the byte. The runs
// cover the rules: a connect that gives up, inferred from a capture
// that ran past its last SYN (syn-timeout), a capture started after a
// FIN, whose stack states before it are set apart (seed-as-posted), rows
// with no socket (old-duplicate-syn), a sampling stack missing brief
// states (u-*), TIME-WAIT on both ends (simultaneous-close) and a reused
// TIME-WAIT (time-wait-reuse).
func TestCompare(t *testing.T) {
	files, err := filepath.Glob("testdata/[ku]-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded runs: %v", err)
	}
	for _, name := range files {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".json"), func(t *testing.T) {
			var rec recorded
			readJSON(t, name, &rec)
			var want Report
			if err := json.Unmarshal(rec.Comparison, &want); err != nil {
				t.Fatal(err)
			}
			sc, err := lab.Lookup(rec.Scenario)
			if err != nil {
				t.Fatal(err)
			}
			conns, err := explaintest.TrackUntil(strings.TrimSuffix(name, ".json")+".pcap", want.CaptureEnd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(Compare(sc, viewOf(t, want), conns))
			if err != nil {
				t.Fatal(err)
			}
			var wantJSON bytes.Buffer
			if err := json.Compact(&wantJSON, rec.Comparison); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantJSON.String(), string(got)); diff != "" {
				t.Errorf("comparison (-previous build +Compare):\n%s", diff)
			}
		})
	}
}

// viewOf rebuilds what the stack reported from a recorded comparison.
func viewOf(t *testing.T, rep Report) View {
	v := View{Source: rep.Source, Sampled: rep.Sampled, TimeWait: rep.TimeWaitReported, Until: rep.CaptureEnd}
	for _, r := range rep.Rows {
		if r.Role == string(lab.Client) {
			ap, err := netip.ParseAddrPort(r.Addr)
			if err != nil {
				t.Fatal(err)
			}
			v.Clients = append(v.Clients, ap)
		}
	}
	v.States = func(n int, role lab.Role) ([]string, string) {
		for _, r := range rep.Rows {
			if r.Conn == n && r.Role == string(role) && len(r.Reported) > 0 {
				return r.Reported, r.Addr
			}
		}
		return nil, ""
	}
	return v
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(read(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

var update = flag.Bool("update", false, "rewrite the tables' golden files")

// TestWrite prints each recorded comparison, and one that differs
// (x-differ), as the lab's table in both languages and checks it against
// the previous build's table of the same comparison.
func TestWrite(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no comparisons: %v", err)
	}
	for _, name := range files {
		var rec struct {
			Comparison Report `json:"comparison"`
		}
		readJSON(t, name, &rec)
		for _, lang := range []string{"en", "zh"} {
			golden := strings.TrimSuffix(name, ".json") + "." + lang + ".txt"
			want := read(t, golden)
			var got strings.Builder
			rec.Comparison.Write(&got, lang)
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s (-previous build +Write):\n%s", golden, diff)
			}
			if w := explaintest.EnglishWords(got.String()); lang == "zh" && len(w) > 0 {
				t.Errorf("%s: English words left in the Chinese table: %s", golden, strings.Join(w, " "))
			}
		}
	}
}

// TestSampledAgree checks the rule for sampled states on RFC 9293's
// sequences (section 3.3.2): samples may miss states, never add or
// reorder them, and must end where the packets end.
func TestSampledAgree(t *testing.T) {
	passive := []string{"LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"}
	tests := []struct {
		name             string
		inferred, sample []string
		agree            bool
		missing          []string
	}{
		{"all sampled", passive, passive, true, nil},
		{"brief states missed", passive, []string{"ESTABLISHED", "CLOSE-WAIT", "CLOSED"}, true, []string{"LISTEN", "SYN-RECEIVED", "LAST-ACK"}},
		{"a state the packets lack", passive, []string{"ESTABLISHED", "FIN-WAIT-1", "CLOSED"}, false, nil},
		{"reordered", passive, []string{"CLOSE-WAIT", "ESTABLISHED", "CLOSED"}, false, nil},
		{"ends elsewhere", passive, []string{"ESTABLISHED", "CLOSE-WAIT"}, false, nil},
		{"nothing sampled", passive, nil, false, nil},
		{"nothing inferred", nil, []string{"CLOSED"}, false, nil},
	}
	for _, tt := range tests {
		agree, missing := sampledAgree(tt.inferred, tt.sample)
		if agree != tt.agree || !slices.Equal(missing, tt.missing) {
			t.Errorf("%s: sampledAgree = %v, %v; want %v, %v", tt.name, agree, missing, tt.agree, tt.missing)
		}
	}
}

// TestAlign checks the alignment against longest common subsequences
// worked out by hand.
func TestAlign(t *testing.T) {
	tests := []struct {
		a, b []string
		want [][2]string
	}{
		{nil, nil, nil},
		{[]string{"A"}, nil, [][2]string{{"A", ""}}},
		{nil, []string{"B"}, [][2]string{{"", "B"}}},
		{[]string{"A", "B", "C"}, []string{"A", "C"}, [][2]string{{"A", "A"}, {"B", ""}, {"C", "C"}}},
		{[]string{"A", "C"}, []string{"B", "C", "D"}, [][2]string{{"A", ""}, {"", "B"}, {"C", "C"}, {"", "D"}}},
		{[]string{"X", "Y"}, []string{"Y", "X"}, [][2]string{{"X", ""}, {"Y", "Y"}, {"", "X"}}},
	}
	for _, tt := range tests {
		if got := align(tt.a, tt.b); !slices.Equal(got, tt.want) {
			t.Errorf("align(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestWrap checks the wrapping of scenario texts: no line wider than
// asked (in terminal columns, Chinese characters taking two), nothing
// lost or reordered, and no line starting with closing punctuation.
func TestWrap(t *testing.T) {
	var texts []string
	for _, sc := range lab.Scenarios() {
		texts = append(texts, sc.Description.En, sc.Description.Zh)
	}
	texts = append(texts, "short", "a-very-long-word-with-no-spaces-at-all-that-cannot-be-broken-anywhere-at-all")
	for _, width := range []int{40, 80, 100} {
		for _, s := range texts {
			got := Wrap(s, width)
			for _, l := range strings.Split(got, "\n") {
				// Only a word with no place to break may be wider.
				unbreakable := !strings.Contains(l, " ") && explain.Width(l) == len([]rune(l))
				if explain.Width(l) > width && !unbreakable {
					t.Errorf("width %d: line of %d columns: %q", width, explain.Width(l), l)
				}
				if r := []rune(l); len(r) > 0 && strings.ContainsRune("，。、：；！？）》」』】", r[0]) {
					t.Errorf("width %d: line starts with closing punctuation: %q", width, l)
				}
			}
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if squash(got) != squash(s) {
				t.Errorf("width %d: text changed:\n%s\n%s", width, s, got)
			}
		}
	}
}

// TestVerdictFollowsTheRows: a table whose rows show a difference never
// ends in an agreeing verdict, whatever the report's own flag says (the
// syn-timeout lab printed "✗ DIFFER" rows under "✓ agree").
func TestVerdictFollowsTheRows(t *testing.T) {
	rep := Report{Source: "kernel", Agree: true, TimeWaitAgree: true, PatternsAgree: true,
		Patterns: []string{"none"}, PatternsExpected: []string{"none"},
		Rows: []Row{{Conn: 1, Role: "client", Addr: "127.0.0.1:40000", Agree: true,
			Inferred: []string{"CLOSED", "SYN-SENT"}, Reported: []string{"CLOSED", "SYN-SENT", "CLOSED"}}}}
	for _, lang := range []string{"en", "zh"} {
		var b strings.Builder
		rep.Write(&b, lang)
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(b.String(), "✗") || !strings.Contains(last, "✗") || strings.Contains(last, "✓") {
			t.Errorf("%s: the verdict line %q agrees over a differing row:\n%s", lang, last, b.String())
		}
	}
}
