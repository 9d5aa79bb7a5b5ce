package ladder_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/corpus"
	"synfin/render/explain"
	"synfin/render/explain/explaintest"
	"synfin/render/ladder"
	"synfin/tcpstate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// conns are the seed capture's connections, then one per synthetic
// lifecycle.
func conns(t *testing.T) []*tcpstate.Conn {
	t.Helper()
	out := explaintest.Track(t, corpus.Seed(t, "capture.txt"))
	dir := t.TempDir()
	for _, s := range explaintest.Scenarios() {
		out = append(out, explaintest.Track(t, explaintest.ScenarioFile(t, dir, s))...)
	}
	return out
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", p, diff)
	}
}

func TestTextGolden(t *testing.T) {
	cs := conns(t)
	tests := []struct {
		name string
		opt  ladder.Options
	}{
		{"all.box80.txt", ladder.Options{}},
		{"all.ascii72.txt", ladder.Options{ASCII: true, Width: 72}},
		{"all.zh100.txt", ladder.Options{Width: 100, Lang: "zh"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, c := range cs {
				if err := ladder.WriteText(&b, c, tt.opt); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, tt.name, b.Bytes())
			width := tt.opt.Width
			if width == 0 {
				width = 80
			}
			for _, l := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(l, "Connection") || strings.HasPrefix(l, "连接") || strings.HasPrefix(l, "teardown") || strings.HasPrefix(l, "挥手") {
					continue // title and verdict lines are not drawn
				}
				if w := explain.Width(l); w > width {
					t.Errorf("line of %d columns, more than %d: %q", w, width, l)
				}
				if tt.opt.ASCII {
					for _, r := range l {
						if r > 0x7e {
							t.Errorf("non-ASCII %q in --ascii output: %q", r, l)
							break
						}
					}
				}
			}
		})
	}
}

// TestTextShowsFacts checks the seed's first connection against what the
// capture shows: its frames, their flags and relative numbers, and RFC
// 9293's states on the segments that cause them.
func TestTextShowsFacts(t *testing.T) {
	c := conns(t)[0]
	var b bytes.Buffer
	if err := ladder.WriteText(&b, c, ladder.Options{ASCII: true}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, re := range []string{
		`#1 .* SYN-SENT \|-- S 0 -+>\| SYN-RECEIVED`,
		`#2 .* ESTABLISHED #<-+ S\. 0 ack 1 --\|`,
		`#3 .*#-- \. 1 ack 1 -+># ESTABLISHED`,
		`#6 .* FIN-WAIT-1 !-- F\. 1 ack 1 -+>! CLOSE-WAIT`,
		`#7 .* FIN-WAIT-2 !<-+ \. 1 ack 2 --!`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("no line matches %s in:\n%s", re, text)
		}
	}
	if strings.Contains(text, "#4") || strings.Contains(text, "#5") {
		t.Errorf("frames 4 and 5 belong to the other connection:\n%s", text)
	}
}

func TestSVGGolden(t *testing.T) {
	cs := conns(t)
	var b, again bytes.Buffer
	if err := ladder.WriteSVG(&b, cs, ladder.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := ladder.WriteSVG(&again, cs, ladder.Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two drawings of the same connections differ")
	}
	golden(t, "all.svg", b.Bytes())
	// Well-formed XML, one arrow per segment.
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	arrows := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "g" {
			for _, a := range se.Attr {
				if a.Name.Local == "data-seg" {
					arrows++
				}
			}
		}
	}
	segs := 0
	for _, c := range cs {
		segs += len(c.Segments)
	}
	if arrows != segs {
		t.Errorf("%d arrows for %d segments", arrows, segs)
	}
	if bytes.Contains(b.Bytes(), []byte("http:")) && bytes.Count(b.Bytes(), []byte("http:")) != 1 {
		t.Error("SVG refers to something outside itself")
	}
}

// mermaidLine is every statement synfin writes; Mermaid's sequence
// diagram grammar accepts each (checked once with mermaid 11 in Chromium).
var mermaidLine = regexp.MustCompile(`^(sequenceDiagram|    title [^;]+|    participant [CS] as [^;]+|    Note over (C|S|C,S): [^;]+|    rect rgb\(\d+, \d+, \d+\)|    end|    (C|S)(->>|-->>|-x)(C|S): \d+: [^;]+)$`)

func TestMermaid(t *testing.T) {
	cs := conns(t)
	var b bytes.Buffer
	if err := ladder.WriteMermaid(&b, cs, ladder.Options{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "all.mmd", b.Bytes())
	diagrams := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n\n")
	if len(diagrams) != len(cs) {
		t.Fatalf("%d diagrams for %d connections", len(diagrams), len(cs))
	}
	for i, d := range diagrams {
		depth, arrows := 0, 0
		for _, l := range strings.Split(d, "\n") {
			if !mermaidLine.MatchString(l) {
				t.Errorf("diagram %d: unexpected line %q", i+1, l)
			}
			switch {
			case strings.HasPrefix(l, "    rect "):
				depth++
			case l == "    end":
				depth--
			case strings.Contains(l, ">>") || strings.Contains(l, "-x"):
				arrows++
			}
			if depth < 0 || depth > 1 {
				t.Errorf("diagram %d: unbalanced rect/end", i+1)
			}
		}
		if depth != 0 {
			t.Errorf("diagram %d: rect not closed", i+1)
		}
		if arrows != len(cs[i].Segments) {
			t.Errorf("diagram %d: %d arrows for %d segments", i+1, arrows, len(cs[i].Segments))
		}
	}
}

func TestBreaks(t *testing.T) {
	// The SYN retransmitted after 1 s and 2 s, and TIME-WAIT, are breaks;
	// the handshake's 10 ms gaps are not.
	var syn *tcpstate.Conn
	for _, c := range conns(t) {
		if c.Handshake.SYNRetransmits != nil {
			syn = c
		}
	}
	m := ladder.Layout(syn)
	var got []string
	for _, r := range m.Rows {
		if r.Kind == ladder.KindBreak {
			got = append(got, explain.Dur(r.Gap))
		}
	}
	if diff := cmp.Diff([]string{"1 s", "2 s", "60 s"}, got); diff != "" {
		t.Errorf("breaks (-want +got):\n%s", diff)
	}
}
