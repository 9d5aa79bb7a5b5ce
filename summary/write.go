package summary

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"synfin/render/explain"
)

// Name is k's name in lang (explain.English or explain.Chinese).
func (k Kind) Name(lang string) string { return text("k."+k.String(), lang) }

// Explain is f's explanation in lang (explain.English or explain.Chinese).
func (f *Finding) Explain(lang string) string {
	return text("f."+f.Kind.String(), lang, "addr", f.Addr, "n", strconv.Itoa(f.Count),
		"a", strconv.Itoa(f.Answered), "d", strconv.Itoa(f.Distinct))
}

// WriteJSON writes s as one JSON object and a newline, each finding's
// Text in lang.
func WriteJSON(w io.Writer, s *Summary, lang string) error {
	c := *s
	c.Findings = make([]Finding, len(s.Findings))
	for i, f := range s.Findings {
		f.Text = f.Explain(lang)
		c.Findings[i] = f
	}
	return json.NewEncoder(w).Encode(&c)
}

// width is where the text wraps.
const width = 80

// WriteText writes s as text in lang.
func WriteText(w io.Writer, s *Summary, lang string) error {
	b := bufio.NewWriter(w)
	sep := explain.Phrase("w.list", lang)
	// A list wraps between its items, the lines after the first indented.
	line := func(head string, items []string) {
		if len(items) == 0 {
			items = []string{text("w.none", lang)}
		}
		cur := head + text("w.colon", lang)
		for i, it := range items {
			join := ""
			if i > 0 {
				join = sep
				if explain.Width(cur+join+it) > width {
					fmt.Fprintln(b, cur+strings.TrimRight(sep, " "))
					cur, join = "   ", ""
				}
			}
			cur += join + it
		}
		fmt.Fprintln(b, cur)
	}
	fmt.Fprintln(b, text("h.title", lang, "n", strconv.Itoa(s.Conns)))
	var items []string
	for _, c := range s.Teardown {
		items = append(items, explain.Name("pn", c.Name, lang)+" "+strconv.Itoa(c.Conns))
	}
	line(text("h.teardown", lang), items)
	items = nil
	for _, c := range s.Final {
		items = append(items, c.Name+" "+strconv.Itoa(c.Conns))
	}
	line(text("h.final", lang), items)
	items = nil
	for _, a := range s.Anomalies {
		items = append(items, fmt.Sprintf("%s %d (%d)", explain.Name("ann", a.Name, lang), a.Conns, a.Count))
	}
	line(text("h.anomalies", lang), items)
	dist := func(head string, d Dist) {
		if d.N == 0 {
			line(head, nil)
			return
		}
		f := func(s float64) string { return explain.Dur(time.Duration(s * 1e9)) }
		p := func(n string) string { return text("w.pct", lang, "p", n) + " " }
		line(head, []string{p("50") + f(d.P50), p("90") + f(d.P90), p("99") + f(d.P99), text("w.max", lang) + " " + f(d.Max)})
	}
	dist(text("h.rtt", lang, "n", strconv.Itoa(s.HandshakeRTT.N)), s.HandshakeRTT)
	dist(text("h.duration", lang), s.Duration)
	hosts := func(key string, hs []Host) {
		items := make([]string, len(hs))
		for i, h := range hs {
			items[i] = h.Addr + " " + strconv.Itoa(h.Conns)
			if h.Over > 0 {
				items[i] += " (" + text("w.over", lang, "n", strconv.Itoa(h.Over)) + ")"
			}
		}
		line(text(key, lang), items)
	}
	hosts("h.cliConns", s.Clients.ByConns)
	hosts("h.cliFail", s.Clients.ByFailures)
	hosts("h.srvConns", s.Servers.ByConns)
	hosts("h.srvFail", s.Servers.ByFailures)
	if len(s.Findings) == 0 {
		line(text("h.findings", lang), nil)
	} else {
		fmt.Fprintln(b, strings.TrimRight(text("h.findings", lang)+text("w.colon", lang), " "))
	}
	for _, f := range s.Findings {
		head := "  " + f.Kind.Name(lang)
		if f.Addr != "" {
			head += "  " + f.Addr
		}
		if f.Span > 0 {
			head += "  " + text("w.at", lang, "t", time.Unix(f.T, 0).UTC().Format("2006-01-02 15:04:05"), "span", strconv.FormatInt(f.Span, 10))
		}
		fmt.Fprintln(b, head)
		for _, l := range explain.Wrap(f.Explain(lang), width-4) {
			fmt.Fprintln(b, "    "+l)
		}
		ids := make([]string, len(f.Conns))
		for i, id := range f.Conns {
			ids[i] = strconv.FormatUint(id, 10)
		}
		list := strings.Join(ids, " ")
		if f.More > 0 {
			list += " " + text("w.more", lang, "n", strconv.Itoa(f.More))
		}
		for _, l := range explain.Wrap(text("w.conns", lang, "ids", list), width-4) {
			fmt.Fprintln(b, "    "+l)
		}
	}
	if s.LeftOut > 0 {
		fmt.Fprintln(b, text("w.leftout", lang, "n", strconv.Itoa(s.LeftOut)))
	}
	if s.Skipped > 0 {
		fmt.Fprintln(b, text("w.skipped", lang, "n", strconv.Itoa(s.Skipped)))
	}
	return b.Flush()
}
