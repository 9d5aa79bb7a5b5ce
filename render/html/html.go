package html

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"io"
	"net/netip"
	"strings"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/render/tsg"
	"synfin/summary"
	"synfin/tcpstate"
	"synfin/wire"
)

// Options control Write and NewWriter.
type Options struct {
	Title string // shown in the heading, e.g. the capture's file name
	Lang  string // language shown first: "en" (default) or "zh"
	// Sections are shown after the connections, each as a heading and
	// preformatted text (the lab's table of kernel states, say).
	Sections []Section
	// Summary, when not nil, is written as JSON into the page's summary
	// slot (script#synfin-summary), which the page shows first, above the
	// connections, in the language of the rest; each finding's evidence
	// selects its connection in the list. SetSummary replaces it until
	// Close.
	Summary *summary.Page
}

// Section is extra preformatted text for the report.
type Section struct {
	Title, Text string
}

//go:embed report.js
var script string

//go:embed report.css
var style string

// chunkConns and chunkBytes bound a chunk: the connections whose list
// entries and details are written together. The page parses every list
// entry when it opens and a chunk's details only when one of its
// connections is selected, so a chunk is small enough to parse at a click.
const (
	chunkConns = 256
	chunkBytes = 1 << 20
)

// explainBytes bounds the explanations' messages in a report: past it, a
// connection comes with its verdict, ladder, segments and time-sequence
// graph but without the messages of its explanation, which take eight
// times the room of the rest packed and most of the time to make. Some
// 4,500 ordinary connections are explained in full; the page says how
// to explain the others (explain --conn).
const explainBytes = 8 << 20

// Writer writes a report one connection at a time, in the order they
// come (a tracker hands them out as they end; the page sorts them), so
// that writing it costs the memory of one chunk of connections, not of
// the whole report.
type Writer struct {
	w       *countWriter
	bw      *bufio.Writer
	opt     Options
	list    listChunk
	detail  []byte
	packed  []byte
	scratch []byte
	shapes  shapes
	// flags numbers the flags of segments (flagsIndex).
	flags     map[wire.Flags]int
	flagNames []string
	conns     int
	// explained is the bytes of the explanations written, and
	// explainedConns how many connections they explain.
	explained, explainedConns int
	err                       error
}

// NewWriter starts a report on w: it writes the top of the page.
func NewWriter(w io.Writer, opt Options) (*Writer, error) {
	if err := explain.CheckLang(opt.Lang); err != nil {
		return nil, err
	}
	if opt.Lang == "" {
		opt.Lang = explain.English
	}
	cw := &countWriter{w: w}
	rw := &Writer{w: cw, bw: bufio.NewWriterSize(cw, 1<<16), opt: opt, shapes: shapes{byKey: map[string][]int{}}, flags: map[wire.Flags]int{},
		list: listChunk{addrs: map[netip.Addr]int{}}}
	title := "synfin"
	if opt.Title != "" {
		title = "synfin: " + opt.Title
	}
	var extra strings.Builder
	for _, sec := range opt.Sections {
		fmt.Fprintf(&extra, "<section class=\"extra\"><h2>%s</h2><pre>%s</pre></section>\n",
			stdhtml.EscapeString(sec.Title), stdhtml.EscapeString(sec.Text))
	}
	fmt.Fprintf(rw.bw, pageTop, opt.Lang, htmlEscape(title), style, extra.String())
	return rw, nil
}

// Add adds c to the report. The first error is returned by Close too.
func (rw *Writer) Add(c *tcpstate.Conn) error {
	if rw.err != nil {
		return rw.err
	}
	rw.list.add(c)
	rw.detail = rw.appendDetail(rw.detail, c)
	rw.detail = append(rw.detail, '\n')
	rw.conns++
	if rw.list.n >= chunkConns || len(rw.detail) >= chunkBytes {
		rw.flushChunk()
	}
	return rw.err
}

// SetSummary sets the summary shown first (Options.Summary).
func (rw *Writer) SetSummary(p *summary.Page) { rw.opt.Summary = p }

// Conns is how many connections were added.
func (rw *Writer) Conns() int { return rw.conns }

// Explained is how many of the connections come with their explanation.
func (rw *Writer) Explained() int { return rw.explainedConns }

// Size is how many bytes were written so far; after Close, the size of
// the report.
func (rw *Writer) Size() int64 { return rw.w.n + int64(rw.bw.Buffered()) }

// Said is the line that tells of a report written to path ("" or "-":
// standard output): its size, the connections and how many come with
// their explanation.
func (rw *Writer) Said(path string) string {
	if path == "" || path == "-" {
		path = "standard output"
	}
	s := fmt.Sprintf("wrote %s: %.1f MB, %d connections", path, float64(rw.Size())/1e6, rw.conns)
	if rw.explainedConns < rw.conns {
		s += fmt.Sprintf(", the first %d explained in full (explain --conn ID explains any)", rw.explainedConns)
	}
	return s
}

// flushChunk writes the chunk's list entries and its details, each in a
// script element of its own: the page parses the first as it opens and
// the second when one of its connections is selected.
func (rw *Writer) flushChunk() {
	if rw.list.n == 0 {
		return
	}
	rw.bw.WriteString(`<script type="application/json" class="synfin-list">`)
	rw.scratch = rw.list.appendJSON(rw.scratch[:0])
	rw.bw.Write(rw.scratch)
	rw.bw.WriteString("</script>\n<script type=\"text/plain\" class=\"synfin-detail\">\n")
	rw.bw.Write(rw.detail)
	if _, err := rw.bw.WriteString("</script>\n"); err != nil && rw.err == nil {
		rw.err = fmt.Errorf("html: %w", err)
	}
	rw.list.reset()
	rw.detail = rw.detail[:0]
}

// Close writes the rest of the page: the last chunk, the tables the
// page reads the data with, the summary and the script.
func (rw *Writer) Close() error {
	if rw.err != nil {
		return rw.err
	}
	rw.flushChunk()
	meta := metaOf(rw.opt, rw.shapes.list)
	meta.Flags, meta.Conns = rw.flagNames, rw.conns
	head, err := json.Marshal(meta) // escapes <, > and &: no "</script>"
	if err != nil {
		return fmt.Errorf("html: %w", err)
	}
	sum, err := json.Marshal(rw.opt.Summary)
	if err != nil {
		return fmt.Errorf("html: summary: %w", err)
	}
	fmt.Fprintf(rw.bw, pageBottom, head, sum, script)
	if err := rw.bw.Flush(); err != nil {
		rw.err = fmt.Errorf("html: %w", err)
	}
	return rw.err
}

// Write writes the report of conns.
func Write(w io.Writer, conns []*tcpstate.Conn, opt Options) error {
	rw, err := NewWriter(w, opt)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if err := rw.Add(c); err != nil {
			return err
		}
	}
	return rw.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// The page: the summary's slot, the list and the detail, then the
// extra sections, the chunks (Writer.Add) and pageBottom.
const pageTop = `<!DOCTYPE html>
<html lang="%s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>%s</style>
</head>
<body>
<header>
<h1 id="title"></h1>
<div id="langs"><button id="lang-en" data-lang="en">EN</button><button id="lang-zh" data-lang="zh">中文</button></div>
</header>
<section id="summary" hidden></section>
<section id="list">
<div id="filters">
<input id="q" type="search">
<input id="f-port" type="search" inputmode="numeric" size="8">
<select id="f-pattern"></select>
<select id="f-state"></select>
<select id="f-anom"></select>
<span id="count"></span>
</div>
<div id="cols"></div>
<div id="rows"><div id="rows-inner"></div></div>
</section>
<section id="detail"></section>
%s`

const pageBottom = `<script type="application/json" id="synfin-meta">%s</script>
<script type="application/json" id="synfin-summary">%s</script>
<script>%s</script>
</body>
</html>
`

func htmlEscape(s string) string {
	b, _ := json.Marshal(s) // escapes <, >, &
	return string(b[1 : len(b)-1])
}

// meta is what the page needs besides the chunks: the catalogue of
// messages in both languages, the names the chunks give as numbers, the
// shapes of the messages, and the ladder's geometry.
type meta struct {
	Title     string               `json:"title"`
	Lang      string               `json:"lang"`
	Geom      map[string]int       `json:"geom"`
	Bands     []string             `json:"bands"`
	Classes   []string             `json:"classes"`
	Cat       map[string][2]string `json:"cat"`
	States    []string             `json:"states"`
	Patterns  []string             `json:"patterns"`
	Anomalies []string             `json:"anomalies"`
	Phases    []string             `json:"phases"`
	Kinds     []string             `json:"kinds"`
	Shapes    [][]string           `json:"shapes"`
	Flags     []string             `json:"flags"`
	Conns     int                  `json:"conns"`
	Collapse  int                  `json:"collapse"`
	TSG       map[string][2]string `json:"tsg"` // the time-sequence graph's words
}

func metaOf(opt Options, shapes [][]string) meta {
	m := meta{Title: opt.Title, Lang: opt.Lang, Geom: ladder.SVGGeometry,
		Bands: ladder.BandColors[:], Classes: ladder.ClassColors[:], Cat: map[string][2]string{},
		Shapes: shapes, Collapse: explain.CollapseAbove, TSG: tsg.Words()}
	for _, k := range explain.Keys() {
		t, _ := explain.Catalogue(k)
		m.Cat[k] = [2]string{t[explain.English], t[explain.Chinese]}
	}
	for s := tcpstate.State(0); !strings.HasPrefix(s.String(), "State("); s++ {
		m.States = append(m.States, s.String())
	}
	for p := tcpstate.Pattern(0); p <= tcpstate.PatternRefused; p++ {
		m.Patterns = append(m.Patterns, p.String())
	}
	for a := tcpstate.Anomaly(0); a < tcpstate.NumAnomalies; a++ {
		m.Anomalies = append(m.Anomalies, a.String())
	}
	for p := tcpstate.PhaseHandshake; p <= tcpstate.PhaseTeardown; p++ {
		m.Phases = append(m.Phases, p.String())
	}
	for k := ladder.KindSeg; k <= ladder.KindData; k++ {
		m.Kinds = append(m.Kinds, k.String())
	}
	return m
}
