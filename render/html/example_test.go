package html_test

import (
	"bytes"
	"fmt"
	"strings"

	"synfin/render/html"
	"synfin/summary"
)

// A report is written as the connections come (Add, here none), and
// the summary, known at the end, goes in its slot at Close.
func ExampleWriter() {
	var b bytes.Buffer
	rw, err := html.NewWriter(&b, html.Options{Title: "trace.pcap", Lang: "zh"})
	if err != nil {
		panic(err)
	}
	rw.SetSummary(summary.New().Summary().Page())
	if err := rw.Close(); err != nil {
		panic(err)
	}
	fmt.Println(rw.Conns(), strings.Contains(b.String(), `<script type="application/json" id="synfin-summary">{"conns":0,`))
	fmt.Println(rw.Said("report.html") == fmt.Sprintf("wrote report.html: %.1f MB, 0 connections", float64(b.Len())/1e6))
	// Output:
	// 0 true
	// true
}
