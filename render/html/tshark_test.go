package html_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/render/explain/explaintest"
)

// TestSegmentsAgainstTshark reads the segment tables the page draws from
// its packed segments, for connections of a generated workload (both
// address families, every lifecycle) and of some explained and some not,
// and compares each segment's frame, relative and absolute sequence
// number, absolute acknowledgment and length with tshark's.
func TestSegmentsAgainstTshark(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	ctx, errs := browser(t)
	pcap := pcaptest.GeneratedFile(t, gen.Config{Conns: 300, Seed: 3})
	conns := explaintest.Track(t, pcap)
	p := writeReport(t, conns, "gen 300")

	out, err := exec.Command(tshark, "-n", "-r", pcap, "-o", "tcp.analyze_sequence_numbers:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE",
		"-T", "fields", "-e", "frame.number", "-e", "tcp.seq", "-e", "tcp.seq_raw", "-e", "tcp.flags.ack", "-e", "tcp.ack_raw", "-e", "tcp.len").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // frame: the page's cells as tshark gives them
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		ack := ""
		if f[3] == "1" || f[3] == "True" {
			ack = "[" + f[4] + "]"
		}
		want[f[0]] = fmt.Sprintf("#%s %s [%s] %s %s", f[0], f[1], f[2], ack, f[5])
	}
	checked := 0
	for _, c := range conns {
		if c.ID%23 != 1 && c.ID != uint64(len(conns)) {
			continue
		}
		var rows [][]string
		err := chromedp.Run(ctx,
			chromedp.Navigate("about:blank"),
			chromedp.Navigate(fmt.Sprintf("file://%s#conn=%d", p, c.ID)),
			chromedp.WaitVisible(fmt.Sprintf(`#detail[data-conn="%d"] #segtable`, c.ID), chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#segtable tbody tr[data-seg]")].map(tr =>
				[...tr.cells].map(td => td.innerText))`, &rows),
		)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(c.Segments) {
			t.Errorf("connection %d: %d rows, %d segments", c.ID, len(rows), len(c.Segments))
		}
		for _, r := range rows {
			// Cells: #frame, time, direction, [flags], rel [abs], rel [abs] or "", len, ...
			ack := ""
			if f := strings.Fields(r[5]); len(f) == 2 {
				ack = f[1]
			}
			got := fmt.Sprintf("%s %s %s %s", r[0], r[4], ack, r[6])
			if w := want[strings.TrimPrefix(r[0], "#")]; got != w {
				t.Errorf("connection %d: page shows %q, tshark %q", c.ID, got, w)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d segments", checked)
	}
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestTransferInBrowser opens the report of one long upload, out of
// order: the ladder sums up its data phase, the table lists the rest,
// and the time-sequence graph draws a bar for every segment the client
// sent, as many as tshark counts, with as many marked retransmitted and
// out of order as tshark marks.
func TestTransferInBrowser(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	ctx, errs := browser(t)
	path := pcaptest.GeneratedFile(t, gen.Config{Transfer: 3000, Seed: 5, Reorder: true})
	p := writeReport(t, explaintest.Track(t, path), "transfer")
	count := func(filter string) int {
		out, err := exec.Command(tshark, "-n", "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatal(err)
		}
		return len(strings.Fields(string(out)))
	}
	// The client is the end that sent the SYN.
	client := "tcp.srcport == " + strings.TrimSpace(func() string {
		out, err := exec.Command(tshark, "-n", "-r", path, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields", "-e", "tcp.srcport", "-c", "1").Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}())
	sent := count(client)
	re := count(client + " && tcp.analysis.retransmission")
	ooo := count(client + " && tcp.analysis.out_of_order")

	var boxes, bars, reBars, oooBars int
	err := chromedp.Run(ctx,
		chromedp.Navigate("file://"+p),
		chromedp.WaitVisible(`#detail[data-conn="1"] #tsg svg`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#ladder g.data").length`, &boxes),
		chromedp.Evaluate(`+document.querySelector("#tsg path.seg").dataset.n + +document.querySelector("#tsg path.synfin").dataset.n`, &bars),
		chromedp.Evaluate(`+document.querySelector("#tsg path.retrans").dataset.n`, &reBars),
		chromedp.Evaluate(`+document.querySelector("#tsg path.ooo").dataset.n`, &oooBars),
	)
	if err != nil {
		t.Fatal(err)
	}
	if boxes != 1 {
		t.Errorf("ladder draws %d summed-up data phases, want 1", boxes)
	}
	if bars+reBars+oooBars != sent || reBars != re || oooBars != ooo {
		t.Errorf("graph draws %d bars, %d retransmissions and %d out of order; tshark: %d segments from the client, %d retransmissions, %d out of order",
			bars+reBars+oooBars, reBars, oooBars, sent, re, ooo)
	}
	t.Logf("%d bars, %d retransmissions, %d out of order", bars+reBars+oooBars, reBars, oooBars)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
