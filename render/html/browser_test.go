package html_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	gocmp "github.com/google/go-cmp/cmp"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/render/explain"
	"synfin/render/explain/explaintest"
	"synfin/render/html"
	"synfin/render/tsg"
	"synfin/summary"
	"synfin/tcpstate"
)

var updateShot = flag.Bool("update", false, "refresh testdata/report.png, the screenshot in the README")

// browser starts a headless Chromium with a fresh profile and collects
// console errors and uncaught exceptions.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	bin := testenv.NeedTool(t, "chromium")
	// Not t.TempDir: chromium's helper processes may still write to the
	// profile after the browser is gone, and that would fail the test.
	profile, err := os.MkdirTemp("", "synfin-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelT()
		cancelC()
		cancelA()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	var mu sync.Mutex
	var errs []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				var b strings.Builder
				for _, a := range e.Args {
					b.Write(a.Value)
				}
				errs = append(errs, string(e.Type)+": "+b.String())
			}
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

func writeReport(t *testing.T, conns []*tcpstate.Conn, title string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := html.Write(f, conns, html.Options{Title: title}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func hasClass(sel, class string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var ok bool
		if err := chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.classList.contains(%q); })()`, sel, class), &ok).Do(ctx); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s has no class %q", sel, class)
		}
		return nil
	})
}

// TestReportInBrowser loads a report of the seed capture, a corpus capture
// and the synthetic lifecycles, clicks an arrow and a row, switches
// language and saves a screenshot.
func TestReportInBrowser(t *testing.T) {
	ctx, errs := browser(t)
	var conns []*tcpstate.Conn
	conns = append(conns, explaintest.Track(t, corpus.Seed(t, "capture.txt"))...)
	dns := explaintest.Track(t, corpus.Dir(t, "tcpdump", "dns_tcp.pcap"))
	dir := t.TempDir()
	var synth []*tcpstate.Conn
	for _, s := range explaintest.Scenarios() {
		synth = append(synth, explaintest.Track(t, explaintest.ScenarioFile(t, dir, s))...)
	}
	// Renumber so that every connection of the report has its own id.
	for _, c := range append(dns, synth...) {
		c.ID = uint64(len(conns) + 1)
		conns = append(conns, c)
	}
	p := writeReport(t, conns, "capture.txt + dns_tcp.pcap + synthetic")

	var total, detail, detailZH, rowCount string
	err := chromedp.Run(ctx,
		chromedp.Navigate("file://"+p+"#conn=1"),
		chromedp.WaitVisible(`#detail[data-conn="1"] #segtable`, chromedp.ByQuery),
		chromedp.AttributeValue(`#count`, "data-total", &total, nil, chromedp.ByQuery),
		chromedp.Evaluate(`String(document.querySelectorAll("#rows .crow").length)`, &rowCount),
		chromedp.Text(`#detail`, &detail, chromedp.ByQuery),
		// An arrow selects its row...
		chromedp.Click(`#ladder g.seg[data-seg="3"] line.hit`, chromedp.ByQuery),
		hasClass(`#segtable tr[data-seg="3"]`, "sel"),
		hasClass(`#ladder g.seg[data-seg="3"]`, "sel"),
		// ... and a row its arrow.
		chromedp.Click(`#segtable tr[data-seg="6"] td`, chromedp.ByQuery),
		hasClass(`#ladder g.seg[data-seg="6"]`, "sel"),
		hasClass(`#segtable tr[data-seg="6"]`, "sel"),
		chromedp.Click(`#lang-zh`, chromedp.ByQuery),
		chromedp.WaitVisible(`#lang-zh.on`, chromedp.ByQuery),
		chromedp.Text(`#detail`, &detailZH, chromedp.ByQuery),
		hasClass(`#segtable tr[data-seg="6"]`, "sel"),
		chromedp.Click(`#lang-en`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(len(conns)); total != want {
		t.Errorf("report shows %s connections, want %s", total, want)
	}
	if rowCount != fmt.Sprint(len(conns)) {
		t.Errorf("list draws %s rows, want %d", rowCount, len(conns))
	}
	for _, want := range []string{"127.0.0.1:41631", "FIN-WAIT-2", "CLOSE-WAIT", "SYN-RECEIVED", "2970024578", "ack 2970024579 = client ISN + 1 ✓", "FIN consumes one sequence number"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail of connection 1 lacks %q", want)
		}
	}
	for _, want := range []string{"连接 1", "三次握手", "客户端", "确认号 2970024579 = 客户端 ISN + 1 ✓", "FIN-WAIT-2"} {
		if !strings.Contains(detailZH, want) {
			t.Errorf("Chinese detail lacks %q", want)
		}
	}
	if strings.Contains(detail, "[") && strings.Contains(detail, "[note.") {
		t.Errorf("detail shows an untranslated key")
	}

	// The three-segment close of the synthetic set, for the screenshot.
	three := 0
	for _, c := range conns {
		if c.Teardown.Pattern == tcpstate.PatternThreeSegment && three == 0 {
			three = int(c.ID)
		}
	}
	var png []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate("about:blank"), // a change of the hash alone does not load the page
		chromedp.Navigate("file://"+p+fmt.Sprintf("#conn=%d", three)),
		chromedp.WaitVisible(fmt.Sprintf(`#detail[data-conn="%d"] #segtable`, three), chromedp.ByQuery),
		chromedp.Click(`#ladder g.seg[data-seg="9"] line.hit`, chromedp.ByQuery),
		hasClass(`#segtable tr[data-seg="9"]`, "sel"),
		chromedp.Evaluate(`window.scrollTo(0, 0)`, nil),
		chromedp.CaptureScreenshot(&png),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The screenshot is kept with the test's output; -update refreshes the
	// copy the README shows.
	shot := filepath.Join(t.TempDir(), "report.png")
	if *updateShot {
		shot = filepath.Join("testdata", "report.png")
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestSummarySlot: with a summary the page shows it first, a count for
// each teardown pattern of the connections; without one the slot stays
// hidden. (The numbers against synfin summary's: TestSummaryInReport.)
func TestSummarySlot(t *testing.T) {
	ctx, errs := browser(t)
	conns := explaintest.Track(t, corpus.Seed(t, "capture.txt"))
	for _, sum := range []*summary.Page{summary.Of(conns).Page(), nil} {
		p := filepath.Join(t.TempDir(), "report.html")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := html.Write(f, conns, html.Options{Summary: sum}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		var hidden bool
		var n int
		err = chromedp.Run(ctx,
			chromedp.Navigate("file://"+p),
			chromedp.WaitVisible(`#rows .crow`, chromedp.ByQuery),
			chromedp.Evaluate(`document.getElementById("summary").hidden`, &hidden),
			chromedp.Evaluate(`[...document.querySelectorAll("#summary .sum-teardown .n")].reduce((a, e) => a + +e.textContent, 0)`, &n),
		)
		if err != nil {
			t.Fatal(err)
		}
		if sum == nil && !hidden {
			t.Errorf("no summary, and the slot is shown")
		} else if sum != nil && (hidden || n != len(conns)) {
			t.Errorf("summary: hidden %v, teardowns add up to %d, want %d", hidden, n, len(conns))
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// shownSummary is what the page's summary section shows: each box's
// items as [key, number shown], the findings and the heading.
type shownSummary struct {
	Boxes    map[string][][2]string `json:"boxes"`
	Findings []struct {
		Kind string   `json:"kind"`
		Text string   `json:"text"`
		IDs  []uint64 `json:"ids"`
		More string   `json:"more"`
	} `json:"findings"`
	Head string `json:"head"`
}

const readSummary = `(() => {
	const out = {boxes: {}, findings: [], head: document.querySelector("#summary h2").textContent};
	document.querySelectorAll("#summary .box").forEach(b => {
		out.boxes[b.classList[1]] = [...b.querySelectorAll("li")].map(li => [li.dataset.key, li.querySelector(".n").textContent]);
	});
	document.querySelectorAll("#summary .finding").forEach(f => out.findings.push({kind: f.dataset.kind,
		text: f.querySelector("p").textContent, ids: [...f.querySelectorAll("a[data-conn]")].map(a => +a.textContent),
		more: f.querySelector(".ids").textContent}));
	return JSON.stringify(out);
})()`

// wantShown is what the page should show of s, by what synfin summary
// --json says: the counts as numbers, the percentiles as explain.Dur
// writes them (the text summary's form), each finding's explanation and
// evidence.
func wantShown(s *summary.Summary) shownSummary {
	w := shownSummary{Boxes: map[string][][2]string{}}
	add := func(box, key string, n int) { w.Boxes[box] = append(w.Boxes[box], [2]string{key, fmt.Sprint(n)}) }
	for _, c := range s.Teardown {
		add("sum-teardown", c.Name, c.Conns)
	}
	for _, c := range s.Final {
		add("sum-final", c.Name, c.Conns)
	}
	for _, a := range s.Anomalies {
		add("sum-anomalies", a.Name, a.Conns)
	}
	for box, d := range map[string]summary.Dist{"sum-rtt": s.HandshakeRTT, "sum-duration": s.Duration} {
		w.Boxes[box] = nil
		for _, q := range []struct {
			k string
			v float64
		}{{"p50", d.P50}, {"p90", d.P90}, {"p99", d.P99}, {"max", d.Max}} {
			w.Boxes[box] = append(w.Boxes[box], [2]string{q.k, explain.Dur(time.Duration(math.Round(q.v*1e6)) * time.Microsecond)})
		}
	}
	for box, hs := range map[string][]summary.Host{"sum-cli-conns": s.Clients.ByConns, "sum-cli-fail": s.Clients.ByFailures,
		"sum-srv-conns": s.Servers.ByConns, "sum-srv-fail": s.Servers.ByFailures} {
		w.Boxes[box] = nil
		for _, h := range hs {
			add(box, h.Addr, h.Conns)
		}
	}
	for _, f := range s.Findings {
		w.Findings = append(w.Findings, struct {
			Kind string   `json:"kind"`
			Text string   `json:"text"`
			IDs  []uint64 `json:"ids"`
			More string   `json:"more"`
		}{f.Kind.String(), f.Text, f.Conns, ""})
	}
	w.Head = fmt.Sprintf("Summary · connections: %d", s.Conns)
	return w
}

// TestSummaryInReport writes the reports of a gen capture with every
// ingredient a finding names as users do (diagram --format html, explain
// --html) and reads their summary sections: every count, percentile,
// top host, finding and its evidence is what synfin summary --json says
// of the same capture, and the connections are those conns --json lists.
// A connection id of the evidence selects that connection; in Chinese
// the section keeps no English word but those its findings' Chinese
// explanations name (sysctls, nstat's counters).
func TestSummaryInReport(t *testing.T) {
	ctx, errs := browser(t)
	dir := t.TempDir()
	capture := filepath.Join(dir, "mix.pcap")
	synfin(t, os.Stdout, "gen", "-q", "-w", capture, "--conns", "300", "--synflood", "100", "--scan", "30", "--accept-queue-full", "15",
		"--reset-storm", "150", "--zero-window", "3", "--time-wait-reuse", "3", "--lost-last-ack", "3")
	out := func(name string, args ...string) string {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		synfin(t, f, args...)
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var sum, sumZH summary.Summary
	for _, c := range []struct {
		s    *summary.Summary
		lang string
	}{{&sum, "en"}, {&sumZH, "zh"}} {
		if err := json.Unmarshal([]byte(out("summary-"+c.lang+".json", "summary", "--json", "--lang", c.lang, "-r", capture)), c.s); err != nil {
			t.Fatal(err)
		}
	}
	if len(sum.Findings) != int(summary.NumKinds) {
		t.Fatalf("summary finds %d kinds of trouble, want all %d: the capture changed", len(sum.Findings), summary.NumKinds)
	}
	ids := map[uint64]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out("conns.json", "conns", "--json", "-r", capture)), "\n") {
		var row struct {
			ID uint64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		ids[row.ID] = true
	}
	if len(ids) != sum.Conns {
		t.Fatalf("conns --json lists %d connections, summary %d", len(ids), sum.Conns)
	}
	want := wantShown(&sum)
	// The Chinese explanations' own ASCII words, which the section may show.
	kept := map[string]bool{}
	for _, f := range sumZH.Findings {
		for _, w := range explaintest.EnglishWords(f.Text) {
			kept[w] = true
		}
	}

	diagram := filepath.Join(dir, "diagram.html")
	explained := filepath.Join(dir, "explain.html")
	synfin(t, os.Stdout, "diagram", "--format", "html", "-o", diagram, "-r", capture)
	out("explain.txt", "explain", "--html", explained, "-r", capture)
	for _, report := range []string{diagram, explained} {
		var js, zh string
		var detail, row string
		f0 := sum.Findings[0]
		id := f0.Conns[len(f0.Conns)-1]
		err := chromedp.Run(ctx,
			chromedp.Navigate("about:blank"),
			chromedp.Navigate("file://"+report),
			chromedp.WaitVisible(`#summary .finding`, chromedp.ByQuery),
			chromedp.Evaluate(readSummary, &js),
			// The first finding's last id: a connection past the list's first screen.
			chromedp.Click(fmt.Sprintf(`#summary .finding a[data-conn="%d"]`, id), chromedp.ByQuery),
			chromedp.WaitVisible(fmt.Sprintf(`#detail[data-conn="%d"] #segtable`, id), chromedp.ByQuery),
			chromedp.AttributeValue(`#detail`, "data-conn", &detail, nil, chromedp.ByQuery),
			chromedp.AttributeValue(`#rows .crow.sel`, "data-id", &row, nil, chromedp.ByQuery),
			chromedp.Click(`#lang-zh`, chromedp.ByQuery),
			chromedp.WaitVisible(`#lang-zh.on`, chromedp.ByQuery),
			chromedp.Evaluate(`document.getElementById("summary").innerText`, &zh),
		)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(report), err)
		}
		var got shownSummary
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatal(err)
		}
		for i := range got.Findings {
			f := &got.Findings[i]
			if m := sum.Findings[i].More; m > 0 != strings.Contains(f.More, fmt.Sprintf("and %d more", m)) {
				t.Errorf("%s: finding %s: evidence %q, summary says %d more", filepath.Base(report), f.Kind, f.More, m)
			}
			f.More = ""
		}
		if d := gocmp.Diff(want, got); d != "" {
			t.Errorf("%s: the page's summary differs from synfin summary --json (-summary +page):\n%s", filepath.Base(report), d)
		}
		if detail != fmt.Sprint(id) || row != fmt.Sprint(id) {
			t.Errorf("%s: clicking evidence %d shows connection %s, selects row %s", filepath.Base(report), id, detail, row)
		}
		if !strings.Contains(zh, "概要") {
			t.Fatalf("%s: the summary did not switch to Chinese:\n%s", filepath.Base(report), zh)
		}
		var left []string
		for _, w := range explaintest.EnglishWords(zh) {
			if !kept[w] {
				left = append(left, w)
			}
		}
		if len(left) > 0 {
			t.Errorf("%s: the summary in Chinese leaves English words: %s", filepath.Base(report), strings.Join(left, " "))
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestTSGInReport draws the time-sequence graph of a connection in a
// report written as users write it (diagram --format html) and counts
// what each layer draws, for each direction, against the points
// tsg.Compute gives for the same connection (what diagram --format tsg
// draws; TestTSGAgreesWithTcptrace checks them against tcptrace -G):
// segments by their mark, ACK and window points, SACK blocks, zero
// windows, throughput and RTT samples. The captures: a transfer with
// retransmissions and SACK blocks (the corpus's retransmit-fast009) and
// gen's zero-window stalls.
func TestTSGInReport(t *testing.T) {
	ctx, errs := browser(t)
	dir := t.TempDir()
	zw := filepath.Join(dir, "zero-window.pcap")
	synfin(t, os.Stdout, "gen", "-q", "-w", zw, "--conns", "20", "--zero-window", "2")
	sack := filepath.Join(corpus.Dir(t, "zeek", "core.tcp.rxmit-history-1"), "retransmit-fast009.pcap")
	for _, c := range []struct {
		file string
		need []string // layers the connection drawn must have points in
	}{{sack, []string{"retrans", "sack", "tput", "rtt", "seg", "synfin"}}, {zw, []string{"zero", "rtt"}}} {
		// The first connection with points in every layer needed.
		var g *tsg.Graph
		for _, conn := range explaintest.Track(t, c.file) {
			x := tsg.Compute(conn)
			a, b := layers(&x.Flows[0]), layers(&x.Flows[1])
			if !slices.ContainsFunc(c.need, func(k string) bool { return a[k]+b[k] == 0 }) {
				g = x
				break
			}
		}
		if g == nil {
			t.Fatalf("%s: no connection draws %v: the capture changed", filepath.Base(c.file), c.need)
		}
		report := filepath.Join(dir, filepath.Base(c.file)+".html")
		synfin(t, os.Stdout, "diagram", "--format", "html", "-o", report, "-r", c.file)
		for d := range g.Flows {
			var js string
			err := chromedp.Run(ctx,
				chromedp.Navigate("about:blank"),
				chromedp.Navigate(fmt.Sprintf("file://%s#conn=%d", report, g.Conn)),
				chromedp.WaitVisible(fmt.Sprintf(`#detail[data-conn="%d"] #tsg-svg`, g.Conn), chromedp.ByQuery),
				chromedp.Click(fmt.Sprintf(`[data-tsg="%d"]`, d), chromedp.ByQuery),
				chromedp.WaitVisible(fmt.Sprintf(`#tsg-svg[data-dir="%d"]`, d), chromedp.ByQuery),
				chromedp.Evaluate(`JSON.stringify(Object.fromEntries([...document.querySelectorAll("#tsg-svg [data-n]")].map(e => [e.getAttribute("class"), +e.dataset.n])))`, &js),
			)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			if err := json.Unmarshal([]byte(js), &got); err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(layers(&g.Flows[d]), got); diff != "" {
				t.Errorf("%s, connection %d, %s: the page's graph differs from tsg.Compute's (-Compute +page):\n%s", filepath.Base(c.file), g.Conn, g.Flows[d].Dir, diff)
			}
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// layers counts the points of f the way tsg.WriteSVG draws them: the
// segments by their mark, and each other kind of point.
func layers(f *tsg.Flow) map[string]int {
	n := map[string]int{"ack": len(f.ACKs), "win": len(f.Windows), "sack": len(f.SACKs), "zero": len(f.Zero),
		"tput": len(f.Throughput), "rtt": len(f.RTT), "seg": 0, "retrans": 0, "ooo": 0, "synfin": 0}
	for _, s := range f.Segs {
		switch {
		case s.Retrans:
			n["retrans"]++
		case s.OutOfOrder:
			n["ooo"]++
		case s.Probe || s.Hi-s.Lo > int64(s.Len):
			n["synfin"]++
		default:
			n["seg"]++
		}
	}
	return n
}
