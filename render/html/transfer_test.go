package html_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/render/explain/explaintest"
)

// TestTransferInBrowser opens the report of one long upload, out of
// order: the ladder sums up its data phase, the table lists the rest,
// and the time-sequence graph draws a bar for every segment the client
// sent that takes sequence space, retransmissions apart, as many as
// tshark counts.
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
	sent := count(client + " && (tcp.len > 0 || tcp.flags.syn == 1 || tcp.flags.fin == 1)")
	re := count(client + " && tcp.analysis.retransmission")

	var boxes, bars, reBars int
	err := chromedp.Run(ctx,
		chromedp.Navigate("file://"+p),
		chromedp.WaitVisible(`#detail[data-conn="1"] #tsg svg`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#ladder g.data").length`, &boxes),
		chromedp.Evaluate(`(document.querySelector("#tsg path.seg").getAttribute("d").match(/M/g) || []).length`, &bars),
		chromedp.Evaluate(`(document.querySelector("#tsg path.re").getAttribute("d").match(/M/g) || []).length`, &reBars),
	)
	if err != nil {
		t.Fatal(err)
	}
	if boxes != 1 {
		t.Errorf("ladder draws %d summed-up data phases, want 1", boxes)
	}
	if bars+reBars != sent || reBars != re {
		t.Errorf("graph draws %d bars and %d retransmissions; tshark: %d segments from the client, %d retransmissions", bars, reBars, sent, re)
	}
	t.Logf("%d bars, %d retransmissions", bars, reBars)
	if e := errs(); len(e) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(e, "\n"))
	}
}
