package ladder_test

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"synfin/render/explain/explaintest"
	"synfin/render/ladder"
	"synfin/tcpstate"
)

// everyName is every connection of conns, then copies of the synthetic
// lost-last-ack (a TIME-WAIT break) and retransmission (a missing segment)
// connections with every teardown pattern and every anomaly.
func everyName(t *testing.T) []*tcpstate.Conn {
	cs := conns(t)
	out := append([]*tcpstate.Conn(nil), cs...)
	for _, c := range cs {
		if c.Teardown.TimeWait.Side != tcpstate.SideNone && c.Anomalies[tcpstate.LostLastACK].Count > 0 ||
			c.Anomalies[tcpstate.PrevSegmentNotCaptured].Count > 0 {
			out = append(out, explaintest.EveryName(c)...)
		}
	}
	if len(out) < len(cs)+16 {
		t.Fatalf("found %d connections to give every name, want 2", (len(out)-len(cs))/8)
	}
	return out
}

var (
	svgText     = regexp.MustCompile(`<(?:text|title)[^>]*>([^<]*)<`)
	mermaidWord = regexp.MustCompile(`^\s*(?:title |participant \w+ as |Note over [CS,]+: |[CS][-x>]+[CS]: )(.*)$`)
)

// TestChineseHasNoEnglish draws every teardown pattern, every anomaly and
// every ladder label in Chinese, as explain's text with its ladder (box
// and ASCII), SVG and Mermaid, and fails on any word of ASCII letters that
// explaintest.Kept does not list (RFC state names, flags, header fields,
// units, names).
func TestChineseHasNoEnglish(t *testing.T) {
	cs := everyName(t)
	check := func(what, text string) {
		t.Helper()
		if w := explaintest.EnglishWords(text); len(w) > 0 {
			t.Errorf("%s in Chinese leaves English words: %s", what, strings.Join(w, " "))
		}
	}
	for _, ascii := range []bool{false, true} {
		var b bytes.Buffer
		if err := ladder.WriteExplained(&b, cs, ladder.Options{Lang: "zh", ASCII: ascii}); err != nil {
			t.Fatal(err)
		}
		check("explain with its ladder", b.String())
		for _, c := range cs {
			b.Reset()
			if err := ladder.WriteText(&b, c, ladder.Options{Lang: "zh", ASCII: ascii, Width: 100}); err != nil {
				t.Fatal(err)
			}
			check("the text ladder", b.String())
		}
	}
	var b bytes.Buffer
	if err := ladder.WriteSVG(&b, cs, ladder.Options{Lang: "zh"}); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range svgText.FindAllStringSubmatch(b.String(), -1) {
		texts = append(texts, html.UnescapeString(m[1]))
	}
	check("the SVG ladder", strings.Join(texts, "\n"))
	b.Reset()
	if err := ladder.WriteMermaid(&b, cs, ladder.Options{Lang: "zh"}); err != nil {
		t.Fatal(err)
	}
	texts = texts[:0]
	for _, l := range strings.Split(b.String(), "\n") {
		if m := mermaidWord.FindStringSubmatch(l); m != nil {
			texts = append(texts, m[1])
		}
	}
	if len(texts) < len(cs)*4 {
		t.Fatalf("found the text of only %d Mermaid lines", len(texts))
	}
	check("the Mermaid ladder", strings.Join(texts, "\n"))
}
