package html_test

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestZZTiming(t *testing.T) {
	p := os.Getenv("ZZ_REPORT")
	if p == "" {
		t.Skip()
	}
	ctx, _ := browser(t)
	start := time.Now()
	var nav, marks string
	err := chromedp.Run(ctx,
		chromedp.Navigate("file://"+p),
		chromedp.WaitVisible(`#rows .crow`, chromedp.ByQuery),
		chromedp.Evaluate(`JSON.stringify(performance.getEntriesByType("navigation")[0])`, &nav),
		chromedp.Evaluate(`JSON.stringify(window.zz || {})`, &marks),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v\n%s\n%s", time.Since(start), nav, marks)
}
