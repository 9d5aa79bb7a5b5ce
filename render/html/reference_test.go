package html_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"synfin/internal/cli"
	"synfin/tcpstate"
)

// synfin runs the command line in process and fails the test if it fails.
func synfin(t *testing.T, stdout *os.File, args ...string) string {
	t.Helper()
	var errs bytes.Buffer
	w := bufio.NewWriterSize(stdout, 1<<16)
	if code := cli.Main(context.Background(), args, nil, w, &errs); code != 0 {
		t.Fatalf("synfin %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return errs.String()
}

// TestReferenceReportInBrowser writes the report of the reference
// workload (synfin gen: 200,000 connections) as a user does (diagram
// --format html) and opens it: the first rows show, the filters narrow
// the list to the count conns --json gives, and a click draws a
// connection's ladder and time-sequence graph, with no console error.
// The times are logged, not checked: the machine may be busy.
func TestReferenceReportInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 600 MB capture; not with -short")
	}
	ctx, errs := browser(t)
	dir := t.TempDir()
	ref, report := filepath.Join(dir, "ref.pcap"), filepath.Join(dir, "ref.html")
	synfin(t, os.Stdout, "gen", "-q", "-w", ref)

	// The oracle: conns --json's connections refused by port 9989, and
	// those with a retransmitted SYN, counted by their ids.
	js, err := os.Create(filepath.Join(dir, "conns.json"))
	if err != nil {
		t.Fatal(err)
	}
	synfin(t, js, "conns", "--json", "-r", ref)
	js.Seek(0, 0)
	refused, synRe, all := map[int]bool{}, map[int]bool{}, map[int]bool{}
	sc := bufio.NewScanner(js)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row struct {
			ID       int `json:"id"`
			RespPort int `json:"id.resp_p"`
			Teardown struct {
				Pattern string `json:"pattern"`
			} `json:"teardown"`
			Anomalies []struct {
				Name string `json:"name"`
			} `json:"anomalies"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		all[row.ID] = true
		if row.Teardown.Pattern == "refused" && row.RespPort == 9989 {
			refused[row.ID] = true
		}
		for _, a := range row.Anomalies {
			if a.Name == "syn-retransmit" {
				synRe[row.ID] = true
			}
		}
	}
	js.Close()
	if len(refused) == 0 || len(synRe) == 0 {
		t.Fatalf("conns --json lists %d refused by 9989 and %d with a SYN retransmitted: the workload changed", len(refused), len(synRe))
	}

	start := time.Now()
	stderr := synfin(t, os.Stdout, "diagram", "--format", "html", "-o", report, "-r", ref)
	fi, err := os.Stat(report)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("written in %v: %d bytes; stderr: %s", time.Since(start).Round(time.Millisecond), fi.Size(), stderr)
	if want := fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6); !strings.Contains(stderr, want) {
		t.Errorf("stderr does not say the report's size (%s): %q", want, stderr)
	}

	start = time.Now()
	var total string
	var inPage float64
	err = chromedp.Run(ctx,
		chromedp.Navigate("file://"+report),
		chromedp.WaitVisible(`#rows .crow`, chromedp.ByQuery),
		chromedp.Evaluate(`performance.now()`, &inPage),
		chromedp.AttributeValue(`#count`, "data-total", &total, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first rows after %v (%.0f ms by the page's clock)", time.Since(start).Round(time.Millisecond), inPage)
	if total != fmt.Sprint(len(all)) {
		t.Errorf("report lists %s connections, conns --json %d", total, len(all))
	}

	// Teardown "refused" and port 9989; then anomaly syn-retransmit.
	pick := func(sel, value string) chromedp.Action {
		return chromedp.Evaluate(fmt.Sprintf(`(() => { const s = document.querySelector(%q);
			s.value = [...s.options].find(o => o.textContent === %q || o.value === %q).value;
			s.dispatchEvent(new Event("change")); })()`, sel, value, value), nil)
	}
	var shownRefused, shownSynRe string
	err = chromedp.Run(ctx,
		pick(`#f-pattern`, fmt.Sprint(int(tcpstate.PatternRefused))),
		chromedp.SendKeys(`#f-port`, "9989", chromedp.ByQuery),
		chromedp.AttributeValue(`#count`, "data-shown", &shownRefused, nil, chromedp.ByQuery),
		pick(`#f-pattern`, ""),
		chromedp.Evaluate(`(() => { const p = document.getElementById("f-port"); p.value = ""; p.dispatchEvent(new Event("input")); })()`, nil),
		pick(`#f-anom`, fmt.Sprint(int(tcpstate.SYNRetransmit))),
		chromedp.AttributeValue(`#count`, "data-shown", &shownSynRe, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if shownRefused != fmt.Sprint(len(refused)) {
		t.Errorf("refused by 9989: the report shows %s connections, conns --json lists %d", shownRefused, len(refused))
	}
	if shownSynRe != fmt.Sprint(len(synRe)) {
		t.Errorf("SYN retransmitted: the report shows %s connections, conns --json lists %d", shownSynRe, len(synRe))
	}

	// The last row by start time, clicked, draws its ladder and graph.
	var id, detail string
	var arrows, bars int
	err = chromedp.Run(ctx,
		chromedp.Click(`#cols .sort[data-sort="start"]`, chromedp.ByQuery),
		chromedp.Click(`#rows .crow`, chromedp.ByQuery),
		chromedp.WaitVisible(`#detail #ladder svg`, chromedp.ByQuery),
		chromedp.AttributeValue(`#detail`, "data-conn", &id, nil, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#ladder g.seg").length`, &arrows),
		chromedp.Evaluate(`(document.querySelector("#tsg path.seg").getAttribute("d").match(/M/g) || []).length`, &bars),
		chromedp.Click(`#ladder g.seg line.hit`, chromedp.ByQuery),
		hasClass(`#ladder g.seg`, "sel"),
		chromedp.Text(`#detail`, &detail, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !synRe[atoi(id)] {
		t.Errorf("clicked connection %s, not one with a SYN retransmitted", id)
	}
	if arrows == 0 || !strings.Contains(detail, "Connection "+id) {
		t.Errorf("connection %s: %d arrows drawn; detail:\n%.300s", id, arrows, detail)
	}
	t.Logf("connection %s: %d arrows, %d bars in its time-sequence graph", id, arrows, bars)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}
