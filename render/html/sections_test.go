package html_test

import (
	"bytes"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"

	"synfin/render/html"
)

// TestSections parses the report with an HTML parser and checks that each
// extra section's text comes back as written, markup and all, and that a
// report without sections has none.
func TestSections(t *testing.T) {
	tests := []struct {
		name     string
		sections []html.Section
	}{
		{"none", nil},
		{"table", []html.Section{{Title: "kernel <states>", Text: "  1  LISTEN   LISTEN  ✓\n  2  </pre><script>x</script> & more\n"}}},
		{"two", []html.Section{{Title: "a", Text: "x"}, {Title: "b & c", Text: "y\nz"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := html.Write(&b, nil, html.Options{Title: "t", Sections: tt.sections}); err != nil {
				t.Fatal(err)
			}
			doc, err := xhtml.Parse(&b)
			if err != nil {
				t.Fatal(err)
			}
			var got []html.Section
			for n := range doc.Descendants() {
				if n.Type != xhtml.ElementNode || n.Data != "section" || attr(n, "class") != "extra" {
					continue
				}
				var s html.Section
				for c := range n.Descendants() {
					switch {
					case c.Type == xhtml.ElementNode && c.Data == "h2":
						s.Title = text(c)
					case c.Type == xhtml.ElementNode && c.Data == "pre":
						s.Text = text(c)
					case c.Type == xhtml.ElementNode && c.Data == "script":
						t.Errorf("a script element inside a section: text was not escaped")
					}
				}
				got = append(got, s)
			}
			if len(got) != len(tt.sections) {
				t.Fatalf("parsed %d sections, want %d", len(got), len(tt.sections))
			}
			for i := range got {
				// The parser drops a newline right after <pre>, as browsers do.
				if got[i].Title != tt.sections[i].Title || got[i].Text != strings.TrimPrefix(tt.sections[i].Text, "\n") {
					t.Errorf("section %d: %q, want %q", i, got[i], tt.sections[i])
				}
			}
		})
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *xhtml.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == xhtml.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
