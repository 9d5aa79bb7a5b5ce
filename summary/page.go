package summary

import (
	"strings"

	"synfin/render/explain"
	"synfin/tcpstate"
)

// Page is a Summary as the HTML report shows it: the numbers, each
// finding's explanation in both languages, and the summary's own words
// (headings, the names of findings) in both, so that the page switches
// language as the rest of it does, with the words WriteText uses.
type Page struct {
	*Summary
	Findings []PageFinding `json:"findings"`
	// Words holds the catalogue's headings and words, each in English
	// and Chinese, with {name} for an argument; not the explanations,
	// which Findings carry filled in.
	Words map[string][2]string `json:"words"`
}

// PageFinding is a finding with its explanation in English and Chinese.
type PageFinding struct {
	Finding
	Texts [2]string `json:"texts"`
}

// Page returns s as the HTML report shows it.
func (s *Summary) Page() *Page {
	p := &Page{Summary: s, Findings: make([]PageFinding, len(s.Findings)), Words: map[string][2]string{}}
	for i := range s.Findings {
		f := &s.Findings[i]
		p.Findings[i] = PageFinding{*f, [2]string{f.Explain(explain.English), f.Explain(explain.Chinese)}}
	}
	for k, w := range catalogue {
		if !strings.HasPrefix(k, "f.") {
			p.Words[k] = w
		}
	}
	return p
}

// Of sums up conns, as a Collector given them in order does.
func Of(conns []*tcpstate.Conn) *Summary {
	c := New()
	for _, x := range conns {
		c.Add(x)
	}
	return c.Summary()
}
