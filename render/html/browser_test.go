package html_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/render/explain/explaintest"
	"synfin/render/html"
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

// TestSummarySlot gives the report a summary object: the page shows it
// first, its keys and values, tables for lists of objects; without one
// the slot stays hidden.
func TestSummarySlot(t *testing.T) {
	ctx, errs := browser(t)
	conns := explaintest.Track(t, corpus.Seed(t, "capture.txt"))
	sum := map[string]any{"findings": []map[string]any{{"name": "syn-flood", "conns": []int{1, 2}}}, "teardown": map[string]int{"four-segment": 1}}
	for _, tc := range []struct {
		summary any
		want    string
	}{{sum, "syn-flood"}, {nil, ""}} {
		p := filepath.Join(t.TempDir(), "report.html")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := html.Write(f, conns, html.Options{Summary: tc.summary}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		var text string
		var hidden bool
		err = chromedp.Run(ctx,
			chromedp.Navigate("file://"+p),
			chromedp.WaitVisible(`#rows .crow`, chromedp.ByQuery),
			chromedp.Evaluate(`document.getElementById("summary").hidden`, &hidden),
			chromedp.Evaluate(`document.getElementById("summary").innerText`, &text),
		)
		if err != nil {
			t.Fatal(err)
		}
		if hidden != (tc.summary == nil) || !strings.Contains(text, tc.want) || tc.summary != nil && !strings.Contains(text, "four-segment") {
			t.Errorf("summary %v: hidden %v, text %q", tc.summary, hidden, text)
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
