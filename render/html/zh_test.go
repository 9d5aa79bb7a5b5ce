package html_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"synfin/render/explain/explaintest"
	"synfin/tcpstate"
)

// TestChineseReportHasNoEnglish switches a report to Chinese and reads
// what it shows of connections with every teardown pattern and every
// anomaly (their names in the list, the filter and the ladder's marks, a
// TIME-WAIT break, a missing segment): no word of ASCII letters may be
// left but those explaintest.Kept lists and the switch's own "EN".
func TestChineseReportHasNoEnglish(t *testing.T) {
	ctx, errs := browser(t)
	dir := t.TempDir()
	var conns []*tcpstate.Conn
	for _, s := range explaintest.Scenarios() {
		cs := explaintest.Track(t, explaintest.ScenarioFile(t, dir, s))
		conns = append(conns, cs...)
		if s.Name == "lost-last-ack" || s.Name == "retransmission" {
			conns = append(conns, explaintest.EveryName(cs[0])...)
		}
	}
	for i, c := range conns {
		c.ID = uint64(i + 1)
	}
	p := writeReport(t, conns, "")
	for _, c := range conns {
		var text, extra string
		err := chromedp.Run(ctx,
			chromedp.Navigate("about:blank"),
			chromedp.Navigate(fmt.Sprintf("file://%s#conn=%d", p, c.ID)),
			chromedp.WaitVisible(fmt.Sprintf(`#detail[data-conn="%d"] #segtable`, c.ID), chromedp.ByQuery),
			chromedp.Click(`#lang-zh`, chromedp.ByQuery),
			chromedp.WaitVisible(`#lang-zh.on`, chromedp.ByQuery),
			chromedp.Evaluate(`document.body.innerText`, &text),
			chromedp.Evaluate(`[...document.querySelectorAll("option")].map(o => o.textContent).concat(
				[...document.querySelectorAll("[title], [placeholder]")].map(e => e.title + " " + (e.placeholder || ""))).join("\n")`, &extra),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "连接") {
			t.Fatalf("connection %d: the report did not switch to Chinese:\n%s", c.ID, text)
		}
		var left []string
		for _, w := range explaintest.EnglishWords(text + "\n" + extra) {
			if w != "EN" {
				left = append(left, w)
			}
		}
		if len(left) > 0 {
			t.Errorf("connection %d (%s) in Chinese leaves English words: %s", c.ID, c.Teardown.Pattern, strings.Join(left, " "))
		}
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
