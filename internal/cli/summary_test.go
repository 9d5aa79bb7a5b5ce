package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	gocmp "github.com/google/go-cmp/cmp"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/summary"
)

// endpoint is a conns --json row's client or server, as addr:port.
type endpoint struct {
	Addr string `json:"addr"`
	Port uint16 `json:"port"`
}

func (e endpoint) String() string {
	return netip.AddrPortFrom(netip.MustParseAddr(e.Addr), e.Port).String()
}

// connRow is the part of a conns --json row the summary is checked on.
type connRow struct {
	ID        uint64   `json:"id"`
	TS        float64  `json:"ts"`
	Duration  float64  `json:"duration"`
	Client    endpoint `json:"client"`
	Server    endpoint `json:"server"`
	CFinal    string   `json:"client_final"`
	SFinal    string   `json:"server_final"`
	Handshake struct {
		RTT *float64 `json:"rtt"`
	} `json:"handshake"`
	Teardown struct {
		Pattern string `json:"pattern"`
		RST     *struct {
			T    float64 `json:"t"`
			From string  `json:"from"`
		} `json:"rst"`
	} `json:"teardown"`
	Anomalies []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"anomalies"`
	dur float64 // the conns table's duration (Zeek's, in the JSON, ends otherwise)
}

// connsJSON runs conns --json on file and returns its connections by id,
// each from its first row, with the duration the conns table shows.
func connsJSON(t *testing.T, file string) map[uint64]*connRow {
	t.Helper()
	rows := map[uint64]*connRow{}
	dur := map[uint64]float64{}
	for _, l := range strings.Split(strings.TrimSpace(runOK(t, "conns", "-r", file, "--jobs", "1")), "\n")[1:] {
		var id uint64
		var c, s, st, pat string
		var start, d float64
		if _, err := fmt.Sscan(l, &id, &start, &c, &s, &st, &pat, &d); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		dur[id] = d
	}
	for _, l := range strings.Split(strings.TrimSpace(runOK(t, "conns", "-r", file, "--json", "--jobs", "1")), "\n") {
		if l == "" {
			continue
		}
		var r connRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if _, ok := rows[r.ID]; !ok {
			r.dur = dur[r.ID]
			rows[r.ID] = &r
		}
	}
	return rows
}

// expected sums up conns --json's rows as the summary should.
func expected(rows map[uint64]*connRow) (s summary.Summary, rtt, dur []float64) {
	s.Conns = len(rows)
	teardown, final, cli, cliF, srv, srvF := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	anom := map[string][2]int{}
	for _, r := range rows {
		teardown[r.Teardown.Pattern]++
		final[r.CFinal+"/"+r.SFinal]++
		for _, a := range r.Anomalies {
			n := anom[a.Name]
			anom[a.Name] = [2]int{n[0] + 1, n[1] + a.Count}
		}
		if r.Handshake.RTT != nil {
			rtt = append(rtt, *r.Handshake.RTT)
		}
		dur = append(dur, r.dur)
		c := r.Client.Addr
		cli[c]++
		srv[r.Server.String()]++
		if r.Teardown.Pattern == "none" || r.Teardown.Pattern == "refused" {
			cliF[c]++
			srvF[r.Server.String()]++
		}
	}
	counts := func(m map[string]int) (out []summary.Count) {
		for k, n := range m {
			out = append(out, summary.Count{Name: k, Conns: n})
		}
		return out
	}
	s.Teardown, s.Final = counts(teardown), counts(final)
	for k, n := range anom {
		s.Anomalies = append(s.Anomalies, summary.AnomalyCount{Name: k, Conns: n[0], Count: n[1]})
	}
	top := func(m map[string]int) []summary.Host {
		var out []summary.Host
		for k, n := range m {
			out = append(out, summary.Host{Addr: k, Conns: n})
		}
		slices.SortFunc(out, func(a, b summary.Host) int {
			return cmp.Or(-cmp.Compare(a.Conns, b.Conns), cmp.Compare(a.Addr, b.Addr))
		})
		return out[:min(len(out), summary.TopN)]
	}
	s.Clients = summary.Top{ByConns: top(cli), ByFailures: top(cliF)}
	s.Servers = summary.Top{ByConns: top(srv), ByFailures: top(srvF)}
	return s, rtt, dur
}

// checkSummary runs summary --json on file and compares its counts with
// what conns --json lists (the same tracker's connections, through
// another encoder), its percentiles with the exact ones of the rows
// (nearest rank), and each finding's evidence with the rows it names.
func checkSummary(t *testing.T, file string) (*summary.Summary, map[uint64]*connRow) {
	t.Helper()
	var got summary.Summary
	if err := json.Unmarshal([]byte(runOK(t, "summary", "-r", file, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	rows := connsJSON(t, file)
	want, rtt, dur := expected(rows)
	byName := func(a, b summary.Count) bool { return a.Name < b.Name }
	if d := gocmp.Diff(want, got, cmpopts.SortSlices(byName), cmpopts.EquateEmpty(),
		cmpopts.SortSlices(func(a, b summary.AnomalyCount) bool { return a.Name < b.Name }),
		cmpopts.IgnoreFields(summary.Summary{}, "HandshakeRTT", "Duration", "Findings")); d != "" {
		t.Errorf("%s: summary and conns --json differ (-conns +summary):\n%s", file, d)
	}
	for _, c := range []struct {
		name string
		d    summary.Dist
		v    []float64
	}{{"handshake_rtt", got.HandshakeRTT, rtt}, {"duration", got.Duration, dur}} {
		slices.Sort(c.v)
		if c.d.N != len(c.v) {
			t.Errorf("%s: %s of %d, conns --json has %d", file, c.name, c.d.N, len(c.v))
			continue
		}
		for _, q := range []struct {
			p   float64
			got float64
		}{{0.5, c.d.P50}, {0.9, c.d.P90}, {0.99, c.d.P99}, {1, c.d.Max}} {
			if len(c.v) == 0 {
				break
			}
			// Within the histogram's 1/256, and the JSON's microsecond.
			exact := c.v[int(math.Ceil(q.p*float64(len(c.v))))-1]
			if math.Abs(q.got-exact) > exact/256+1e-6 {
				t.Errorf("%s: %s p%v = %v, conns --json's rows give %v", file, c.name, q.p*100, q.got, exact)
			}
		}
	}
	for _, f := range got.Findings {
		if len(f.Conns) != min(f.Count, summary.MaxEvidence) || f.More != f.Count-len(f.Conns) {
			t.Errorf("%s: %s lists %d of %d connections, %d more", file, f.Kind, len(f.Conns), f.Count, f.More)
		}
		for _, id := range f.Conns {
			if rows[id] == nil {
				t.Errorf("%s: %s names connection %d, which conns does not list", file, f.Kind, id)
			}
		}
	}
	return &got, rows
}

// findingsOf lists the findings as kind and address.
func findingsOf(s *summary.Summary) []string {
	var out []string
	for _, f := range s.Findings {
		out = append(out, strings.TrimSpace(f.Kind.String()+" "+f.Addr))
	}
	return out
}

// TestSummaryIngredients reads one gen capture with every ingredient
// beside 2,000 reference connections: each finding is made once, for
// the population gen put in, and the counts agree with conns --json and
// with tshark (conversations, zero windows, SYN and SYN-ACK
// retransmissions). The reference workload alone makes no finding.
func TestSummaryIngredients(t *testing.T) {
	t.Parallel()
	file := generated("--conns", "2000", "--synflood", "600", "--scan", "100", "--accept-queue-full", "15",
		"--reset-storm", "200", "--zero-window", "5", "--time-wait-reuse", "5", "--lost-last-ack", "5")(t)
	s, rows := checkSummary(t, file)
	want := []string{"syn-flood 192.168.0.10:9988", "scan 203.0.113.7", "accept-queue-full 192.168.0.12:8080",
		"lost-last-ack", "time-wait-reuse", "reset-storm 192.168.0.10", "zero-window-stall"}
	if d := gocmp.Diff(want, findingsOf(s)); d != "" {
		t.Fatalf("findings (-want +got):\n%s", d)
	}
	// The populations gen was asked for; a reset storm also counts the
	// reference connections the same server reset in that second, which
	// conns --json lists.
	storm := 0
	for _, r := range rows {
		if rst := r.Teardown.RST; r.Teardown.Pattern == "abort-rst" && rst != nil && rst.From == "server" &&
			r.Server.Addr == "192.168.0.10" && int64(rst.T) == s.Findings[5].T {
			storm++
		}
	}
	for i, w := range []struct{ count, answered, distinct int }{
		{600, 0, 600}, {100, 0, 100}, {4, 11, 0}, {5, 0, 0}, {5, 0, 0}, {storm, 0, 0}, {5, 5, 0},
	} {
		f := s.Findings[i]
		if f.Count != w.count || f.Answered != w.answered || f.Distinct != w.distinct {
			t.Errorf("%s: count %d, answered %d, distinct %d; want %d, %d, %d", f.Kind, f.Count, f.Answered, f.Distinct, w.count, w.answered, w.distinct)
		}
	}
	if storm < 200 {
		t.Errorf("the reset storm's second has %d resets by the server in conns --json, want at least 200", storm)
	}

	tshark := testenv.NeedTool(t, "tshark")
	// One pass of tshark: its conversations, and the frames each filter
	// of io,stat matches over the whole capture.
	filters := []string{"tcp.analysis.zero_window", "tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.analysis.retransmission",
		"tcp.flags.syn==1 && tcp.flags.ack==1 && tcp.analysis.retransmission"}
	out, err := exec.Command(tshark, "-n", "-q", "-r", file, "-z", "conv,tcp", "-z", "io,stat,0,"+strings.Join(filters, ",")).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	frames := make([]int, len(filters))
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, "|"); len(f) > 2*len(filters)+1 && strings.Contains(f[1], " <> ") {
			for i := range frames {
				frames[i], _ = strconv.Atoi(strings.TrimSpace(f[2+2*i]))
			}
		}
	}
	anomaly := func(name string) int {
		for _, a := range s.Anomalies {
			if a.Name == name {
				return a.Count
			}
		}
		return 0
	}
	for _, c := range []struct {
		what       string
		got, tshrk int
	}{
		{"conversations", s.Conns, strings.Count(string(out), "<->")},
		{"zero windows", anomaly("zero-window"), frames[0]},
		{"retransmitted SYNs", anomaly("syn-retransmit"), frames[1]},
		{"retransmitted SYN-ACKs", anomaly("syn-ack-retransmit"), frames[2]},
	} {
		if c.got != c.tshrk {
			t.Errorf("%s: summary %d, tshark %d", c.what, c.got, c.tshrk)
		}
	}
}

// TestSummaryNoFalseFindings: the reference workload (20,000
// connections), the lab's captures (the kernel's and the user stack's)
// and the corpus's make only the findings their packets show, and their
// counts agree with conns --json. The lost last ACK and the TIME-WAIT
// reuse are what tcpdump shows of the lab's last-ack-lost (the server's
// FIN twice) and time-wait-reuse (a second SYN from the same port within
// 2MSL), and what tshark flags in Arkime's capture
// (tcp.analysis.reused_ports, frame 90, the SYN of connection 9).
func TestSummaryNoFalseFindings(t *testing.T) {
	t.Parallel()
	lab, err := filepath.Glob("../../lab/verdict/testdata/*.pcap")
	if err != nil || len(lab) == 0 {
		t.Fatalf("no lab captures: %v", err)
	}
	want := map[string][]string{
		"u-last-ack-lost.pcap":          {"lost-last-ack 1"},
		"k-time-wait-reuse.pcap":        {"time-wait-reuse 2"},
		"tcp-reassembly-synthetic.pcap": {"time-wait-reuse 9"},
	}
	files := append(append([]string{generated("--conns", "20000")(t)}, lab...), corpus.Captures(t, ".pcap", ".pcapng")...)
	for _, file := range files {
		s, _ := checkSummary(t, file)
		var got []string
		for _, f := range s.Findings {
			got = append(got, fmt.Sprint(f.Kind, " ", strings.Trim(fmt.Sprint(f.Conns), "[]")))
		}
		if d := gocmp.Diff(want[filepath.Base(file)], got); d != "" {
			t.Errorf("%s: findings (-want +got):\n%s", file, d)
		}
	}
}

// TestConnsSummary: conns --summary is conns's own output, unchanged,
// then what summary prints (a blank line between in text, a last JSON
// line with --json); bad options are one line and a non-zero exit.
func TestConnsSummary(t *testing.T) {
	t.Parallel()
	file := "../../lab/verdict/testdata/u-last-ack-lost.pcap"
	for _, f := range [][]string{nil, {"--json"}} {
		sum := runOK(t, append([]string{"summary", "-r", file}, f...)...)
		sep := "\n"
		if f != nil {
			sep = ""
		}
		want := runOK(t, append([]string{"conns", "-r", file}, f...)...) + sep + sum
		if got := runOK(t, append([]string{"conns", "-r", file, "--summary"}, f...)...); got != want {
			t.Errorf("conns --summary %v:\n%s\nwant conns's output, then summary's:\n%s", f, got, want)
		}
	}
	// Cut short inside a record: what was read before is summed up,
	// as conns lists it, then the damage is said in one line.
	cut := cutShort(t, file, 30)
	out, stderr, code := runCLI(t, "summary", "-r", cut, "--json")
	rows, _, _ := runCLI(t, "conns", "-r", cut, "--json")
	var s summary.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil || code == 0 || strings.Count(stderr, "\n") != 1 || s.Conns != strings.Count(rows, "\n") || s.Conns == 0 {
		t.Errorf("damaged: exit %d, %q, %d connections (conns lists %d), %v", code, stderr, s.Conns, strings.Count(rows, "\n"), err)
	}
	for _, args := range [][]string{
		{"summary", "-r", file, "--lang", "fr"},
		{"summary"},
		{"summary", "-r", file, "port"},
		{"gen", "-w", "-", "--synflood", "-1"},
	} {
		_, stderr, code := runCLI(t, args...)
		if code == 0 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("synfin %v: exit %d, stderr %q; want an error in one line", args, code, stderr)
		}
	}
}
