package html

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"io"
	"strings"
	"time"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/wire"
)

// Options control Write.
type Options struct {
	Title string // shown in the heading, e.g. the capture's file name
	Lang  string // language shown first: "en" (default) or "zh"
	// Sections are shown after the connections, each as a heading and
	// preformatted text (the lab's table of kernel states, say).
	Sections []Section
}

// Section is extra preformatted text for the report.
type Section struct {
	Title, Text string
}

//go:embed report.js
var script string

//go:embed report.css
var style string

// Write writes the report of conns. The connections' data is written one
// connection at a time, so that a large report costs the memory of one
// connection's data, not of all of them.
func Write(w io.Writer, conns []*tcpstate.Conn, opt Options) error {
	if err := explain.CheckLang(opt.Lang); err != nil {
		return err
	}
	lang := opt.Lang
	if lang == "" {
		lang = explain.English
	}
	d := data{Title: opt.Title, Lang: lang, Geom: ladder.SVGGeometry,
		Bands: ladder.BandColors[:], Classes: ladder.ClassColors[:], Cat: map[string][2]string{}}
	for _, k := range explain.Keys() {
		m, _ := explain.Catalogue(k)
		d.Cat[k] = [2]string{m[explain.English], m[explain.Chinese]}
	}
	head, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("html: %w", err)
	}
	title := "synfin"
	if opt.Title != "" {
		title = "synfin: " + opt.Title
	}
	var extra strings.Builder
	for _, sec := range opt.Sections {
		fmt.Fprintf(&extra, "<section class=\"extra\"><h2>%s</h2><pre>%s</pre></section>\n",
			stdhtml.EscapeString(sec.Title), stdhtml.EscapeString(sec.Text))
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprintf(bw, pageTop, lang, htmlEscape(title), style, extra.String())
	// The data object without its closing brace, then "conns".
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"conns":[`)
	for i, c := range conns {
		if i > 0 {
			bw.WriteByte(',')
		}
		// json.Marshal escapes <, > and &, so no "</script>" can occur.
		js, err := json.Marshal(connOf(c))
		if err != nil {
			return fmt.Errorf("html: %w", err)
		}
		bw.Write(js)
	}
	bw.WriteString("]}")
	fmt.Fprintf(bw, pageBottom, script)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return nil
}

// The page around the data, which Write puts between pageTop and
// pageBottom.
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
<main>
<section id="list">
<div id="filters">
<input id="q" type="search">
<select id="f-pattern"></select>
<select id="f-state"></select>
<label><input id="f-anom" type="checkbox"> <span id="f-anom-l"></span></label>
</div>
<div id="count"></div>
<div id="rows"><div id="rows-inner"></div></div>
</section>
<section id="detail"></section>
</main>
%s<script type="application/json" id="synfin-data">`

const pageBottom = `</script>
<script>%s</script>
</body>
</html>
`

func htmlEscape(s string) string {
	b, _ := json.Marshal(s) // escapes <, >, &
	return string(b[1 : len(b)-1])
}

type data struct {
	Title   string               `json:"title"`
	Lang    string               `json:"lang"`
	Geom    map[string]int       `json:"geom"`
	Bands   []string             `json:"bands"`
	Classes []string             `json:"classes"`
	Cat     map[string][2]string `json:"cat"`
	// The connections follow as "conns", written one at a time.
}

// msg is a message as [key, name, value, name, value, ...].
type msg []string

func msgOf(m explain.Msg) msg {
	out := msg{m.Key}
	for _, a := range m.Args {
		out = append(out, a.Name, a.Value)
	}
	return out
}

func msgs(ms []explain.Msg) []msg {
	out := make([]msg, len(ms))
	for i, m := range ms {
		out[i] = msgOf(m)
	}
	return out
}

type connData struct {
	ID        uint64    `json:"id"`
	Client    string    `json:"c"`
	Server    string    `json:"s"`
	Final     [2]string `json:"fin"`
	Initial   [2]string `json:"ini"`
	Pattern   string    `json:"p"`
	Anomalies []string  `json:"an"`
	Start     string    `json:"t0"`
	Dur       string    `json:"dur"`
	Title     msg       `json:"title"`
	Header    []msg     `json:"hdr"`
	Verdict   []msg     `json:"v"`
	Missing   []msg     `json:"miss"`
	Summary   []msg     `json:"sum"`
	Phases    [][3]any  `json:"ph"`
	Rows      []rowData `json:"rows"`
	Segs      []segData `json:"segs"`
	Verd      string    `json:"vl"`
}

// rowData is a ladder row: [kind, seg index into segs (-1 for none), gap
// text, time-wait break, client state, server state, changed bits, label,
// class, marks].
type rowData [10]any

// segData is a segment: [frame, clock, since start, dir, flags, relseq,
// seq, relack, ack (-1 without ACK), len, window, phase, notes, changes].
type segData [14]any

func connOf(c *tcpstate.Conn) connData {
	e := explain.Explain(c)
	m := ladder.Layout(c)
	d := connData{ID: c.ID, Client: c.Client.AddrPort().String(), Server: c.Server.AddrPort().String(),
		Final:   [2]string{c.Client.State.String(), c.Server.State.String()},
		Initial: [2]string{c.Client.Initial.String(), c.Server.Initial.String()},
		Pattern: c.Teardown.Pattern.String(), Anomalies: []string{},
		Start: explain.Clock(c.First.Time), Dur: explain.Dur(c.Duration()),
		Title: msgOf(e.Title), Header: msgs(e.Header), Verdict: msgs(e.Verdict),
		Missing: msgs(e.Missing), Summary: msgs(e.Summary),
		Verd: ladder.Verdict(c, explain.English)}
	for _, a := range c.Anomalies.List() {
		d.Anomalies = append(d.Anomalies, a.Anomaly.String())
	}
	for _, sp := range m.Phases {
		d.Phases = append(d.Phases, [3]any{sp.Phase.String(), sp.First, sp.Last})
	}
	segIndex := map[*tcpstate.Segment]int{}
	var first int64
	if len(c.Segments) > 0 {
		first = c.Segments[0].Time
	}
	for i, st := range e.Steps {
		s := st.Seg
		segIndex[s] = i
		ack := int64(-1)
		if s.Flags&wire.ACK != 0 {
			ack = int64(s.Ack)
		}
		changes := make([][5]any, 0, len(st.Changes))
		for _, ch := range st.Changes {
			changes = append(changes, [5]any{int(ch.Side) - 1, ch.From.String(), ch.To.String(), ch.Sending, ch.Why.Key})
		}
		d.Segs = append(d.Segs, segData{s.Index, explain.TimeOfDay(s.Time), sinceText(time.Duration(s.Time - first)),
			s.Dir.String(), string(s.Flags.AppendTcpdump(nil)), s.RelSeq, s.Seq, s.RelAck, ack, s.Len, s.WindowScaled,
			s.Phase.String(), msgs(st.Notes), changes})
	}
	for _, r := range m.Rows {
		seg := -1
		if r.Seg != nil {
			seg = segIndex[r.Seg]
		}
		changed := 0
		if r.Changed[0] {
			changed |= 1
		}
		if r.Changed[1] {
			changed |= 2
		}
		gap := ""
		if r.Kind == ladder.KindBreak {
			gap = explain.Dur(r.Gap)
		}
		marks := r.Marks
		if marks == nil {
			marks = []string{}
		}
		d.Rows = append(d.Rows, rowData{r.Kind.String(), seg, gap, r.TimeWait, r.States[0].String(), r.States[1].String(),
			changed, r.Label, r.Class.String(), marks})
	}
	return d
}

func sinceText(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return explain.Dur(d)
}
