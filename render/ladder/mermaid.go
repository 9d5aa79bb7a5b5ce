package ladder

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"synfin/render/explain"
	"synfin/tcpstate"
)

// Phase tints of the Mermaid drawing, by tcpstate.Phase.
var mermaidTints = [...]string{"rgb(239, 246, 255)", "rgb(240, 253, 244)", "rgb(255, 247, 237)"}

// mermaidText makes text safe inside a Mermaid message or note: ";" ends a
// statement there (and completes "#name;" entities), and so does a newline.
func mermaidText(s string) string {
	r := strings.NewReplacer(";", ",", "\n", " ", "%%", "%")
	return r.Replace(s)
}

// WriteMermaid writes each connection as a Mermaid sequenceDiagram, one
// after the other, separated by a blank line.
func WriteMermaid(w io.Writer, conns []*tcpstate.Conn, opt Options) error {
	if err := explain.CheckLang(opt.Lang); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for i, c := range conns {
		if i > 0 {
			bw.WriteByte('\n')
		}
		writeMermaid(bw, opt.layout(c), opt.lang())
	}
	return bw.Flush()
}

func writeMermaid(w *bufio.Writer, m *Model, lang string) {
	c := m.Conn
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	word := func(k string) string { return explain.M(k).Text(lang) }
	p("sequenceDiagram\n")
	p("    title %s\n", mermaidText(Title(c, lang)))
	p("    participant C as %s\n", mermaidText(word("w.client")+" "+c.Client.AddrPort().String()))
	p("    participant S as %s\n", mermaidText(word("w.server")+" "+c.Server.AddrPort().String()))
	p("    Note over C: %s\n", m.Initial[0])
	p("    Note over S: %s\n", m.Initial[1])
	phaseAt := map[int]Span{}
	lastOf := map[int]bool{}
	for _, sp := range m.Phases {
		phaseAt[sp.First] = sp
		lastOf[sp.Last] = true
	}
	for i := range m.Rows {
		r := &m.Rows[i]
		if sp, ok := phaseAt[i]; ok {
			p("    rect %s\n", mermaidTints[sp.Phase])
			p("    Note over C,S: %s\n", mermaidText(word("w.phase."+sp.Phase.String())))
		}
		switch r.Kind {
		case KindSeg:
			s := r.Seg
			from, to := "C", "S"
			if s.Dir == tcpstate.S2C {
				from, to = "S", "C"
			}
			arrow := "->>"
			switch r.Class {
			case Retrans:
				arrow = "-->>"
			case Reset:
				arrow = "-x"
			}
			label := fmt.Sprintf("%d: %s", s.Index, r.Label)
			if len(r.Marks) > 0 {
				label += " ⚠ " + explain.Names("ann", r.Marks, lang)
			}
			p("    %s%s%s: %s\n", from, arrow, to, mermaidText(label))
			// The sender's change first, as it happens on sending.
			order := [2]int{0, 1}
			if s.Dir == tcpstate.S2C {
				order = [2]int{1, 0}
			}
			for _, side := range order {
				if r.Changed[side] {
					p("    Note over %s: %s\n", [2]string{"C", "S"}[side], r.States[side])
				}
			}
		case KindData:
			d := r.Data
			p("    Note over C,S: %s\n", mermaidText(fmt.Sprintf("#%d-#%d: %s", c.Segments[d.First].Index, c.Segments[d.Last].Index,
				strings.Join(dataLines(r, lang), "<br/>"))))
			for side := range r.Changed {
				if r.Changed[side] {
					p("    Note over %s: %s\n", [2]string{"C", "S"}[side], r.States[side])
				}
			}
		case KindBreak:
			text := "⋯ " + breakText(r, lang) + " ⋯"
			p("    Note over C,S: %s\n", mermaidText(text))
		case KindLost:
			p("    Note over C,S: ✂ %s\n", mermaidText(word("lg.lost")))
		case KindEnd:
			p("    Note over C: %s\n", r.States[0])
			p("    Note over S: %s\n", r.States[1])
		}
		if lastOf[i] {
			p("    end\n")
		}
	}
}
