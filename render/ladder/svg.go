package ladder

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"synfin/render/explain"
	"synfin/tcpstate"
)

// SVG geometry, in pixels. The HTML report's script draws with the same
// numbers (see SVGGeometry).
const (
	svgW       = 700
	svgClientX = 280
	svgServerX = 560
	svgHead    = 104 // title, verdict, lifeline heads, initial states
	svgRowSeg  = 32
	svgRowMark = 14
	svgRowBrk  = 28
	svgRowLost = 22
	svgArrowY  = 14 // the arrow starts this far below its row's top; the label sits above it
	svgRowEnd  = 30
	svgPhase   = 18
	svgSlant   = 12
	svgBandW   = 10
	svgGap     = 24 // between stacked connections
	svgLine    = 14 // a line of a summed-up data phase
	svgCols    = 38 // its width in columns, between the lifelines
)

// SVGGeometry is the SVG drawing's geometry, for other drawings of the
// same model to match.
var SVGGeometry = map[string]int{
	"width": svgW, "clientX": svgClientX, "serverX": svgServerX, "head": svgHead,
	"rowSeg": svgRowSeg, "rowMark": svgRowMark, "rowBreak": svgRowBrk, "rowLost": svgRowLost,
	"rowEnd": svgRowEnd, "phase": svgPhase, "arrowY": svgArrowY, "slant": svgSlant, "bandW": svgBandW,
}

// BandColors are the fills of the state bands, by Band.
var BandColors = [...]string{"#e5e7eb", "#fde68a", "#86efac", "#fdba74", "#c4b5fd"}

// ClassColors are the arrow colours, by Class.
var ClassColors = [...]string{"#1f2937", "#6b7280", "#dc2626", "#b45309"}

const svgStyle = `text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;fill:#111827}` +
	`.title{font-size:14px;font-weight:bold}.verdict{fill:#374151}.head{font-weight:bold}` +
	`.state{font-size:11px;font-weight:bold}.t{fill:#6b7280;font-size:11px}.mark{fill:#b91c1c;font-size:11px}` +
	`.phase{font-size:11px;font-weight:bold;fill:#1d4ed8}.brk{fill:#4b5563;font-size:11px}.lost{fill:#6b7280;font-style:italic;font-size:11px}` +
	`.lbl{font-size:11px}.seg line.hit{stroke:transparent;stroke-width:12}`

// WriteSVG draws the connections one below the other as one SVG document.
func WriteSVG(w io.Writer, conns []*tcpstate.Conn, opt Options) error {
	if err := explain.CheckLang(opt.Lang); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	var blocks []string
	total := 0
	for i, c := range conns {
		body, h := svgBlock(opt.layout(c), opt.lang())
		if i > 0 {
			total += svgGap
		}
		blocks = append(blocks, fmt.Sprintf("<g transform=\"translate(0,%d)\">\n%s</g>\n", total, body))
		total += h
	}
	fmt.Fprintf(bw, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">\n", svgW, total, svgW, total)
	bw.WriteString("<style>" + svgStyle + "</style>\n")
	bw.WriteString(svgDefs())
	fmt.Fprintf(bw, "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", svgW, total)
	for _, b := range blocks {
		bw.WriteString(b)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// svgDefs are the arrowheads, one per class.
func svgDefs() string {
	var b strings.Builder
	b.WriteString("<defs>\n")
	for cl, col := range ClassColors {
		name := Class(cl).String()
		if Class(cl) == Reset {
			fmt.Fprintf(&b, "<marker id=\"ah-%s\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M1 1L9 9M9 1L1 9\" stroke=\"%s\" stroke-width=\"2\"/></marker>\n", name, col)
			continue
		}
		fmt.Fprintf(&b, "<marker id=\"ah-%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"%s\"/></marker>\n", name, col)
	}
	b.WriteString("</defs>\n")
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// rowHeight is the height of a row of the SVG drawing.
func rowHeight(r *Row, lang string) int {
	switch r.Kind {
	case KindData:
		return svgArrowY + svgLine*len(dataLines(r, lang))
	case KindSeg:
		if len(r.Marks) > 0 {
			return svgRowSeg + svgRowMark
		}
		return svgRowSeg
	case KindBreak:
		return svgRowBrk
	case KindLost:
		return svgRowLost
	}
	return svgRowEnd
}

// svgBlock draws one connection from y = 0 and returns its height.
func svgBlock(m *Model, lang string) (string, int) {
	c := m.Conn
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("<g class=\"conn\" data-conn=\"%d\">\n", c.ID)
	p("<text class=\"title\" x=\"12\" y=\"22\">%s</text>\n", esc(Title(c, lang)))
	p("<text class=\"verdict\" x=\"12\" y=\"40\">%s</text>\n", esc(Verdict(c, lang)))
	p("<text class=\"head\" x=\"%d\" y=\"68\" text-anchor=\"middle\">%s</text>\n", svgClientX, esc(explain.M("w.client").Text(lang)+" "+c.Client.AddrPort().String()))
	p("<text class=\"head\" x=\"%d\" y=\"68\" text-anchor=\"middle\">%s</text>\n", svgServerX, esc(explain.M("w.server").Text(lang)+" "+c.Server.AddrPort().String()))
	p("<text class=\"state\" x=\"%d\" y=\"94\" text-anchor=\"end\">%s</text>\n", svgClientX-12, m.Initial[0])
	p("<text class=\"state\" x=\"%d\" y=\"94\">%s</text>\n", svgServerX+12, m.Initial[1])

	// Row positions, with room for phase labels.
	ys := make([]int, len(m.Rows))
	phaseAt := map[int]Span{}
	for _, sp := range m.Phases {
		phaseAt[sp.First] = sp
	}
	y := svgHead
	var phaseY []int
	for i := range m.Rows {
		if _, ok := phaseAt[i]; ok {
			phaseY = append(phaseY, y)
			y += svgPhase
		}
		ys[i] = y
		y += rowHeight(&m.Rows[i], lang)
	}
	height := y + 8

	// State bands: each side's state holds from one change to the next.
	for side, x := range [2]int{svgClientX, svgServerX} {
		start, st := svgHead-8, m.Initial[side]
		for i := range m.Rows {
			r := &m.Rows[i]
			if r.States[side] == st && !(r.Changed[side] && r.Kind == KindSeg) {
				continue
			}
			at := ys[i] + svgArrowY + svgSlant/2
			p("<rect class=\"band b-%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>\n",
				BandOf(st), x-svgBandW/2, start, svgBandW, at-start, BandColors[BandOf(st)], st)
			start, st = at, r.States[side]
		}
		end := ys[len(ys)-1] + 10
		p("<rect class=\"band b-%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>\n",
			BandOf(st), x-svgBandW/2, start, svgBandW, end-start, BandColors[BandOf(st)], st)
		p("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#374151\"/>\n", x-14, end, x+14, end)
	}

	// Phase brackets.
	for i, sp := range m.Phases {
		top := phaseY[i]
		bot := ys[sp.Last] + rowHeight(&m.Rows[sp.Last], lang) - 6
		p("<text class=\"phase\" x=\"12\" y=\"%d\">%s</text>\n", top+13, esc(explain.M("w.phase."+sp.Phase.String()).Text(lang)))
		p("<path class=\"bracket\" d=\"M10 %dH4V%dH10\" fill=\"none\" stroke=\"#1d4ed8\"/>\n", top+16, bot)
	}

	var first int64
	tx := 60 // the time column, after the frame number's
	if n := len(c.Segments); n > 0 {
		first = c.Segments[0].Time
		tx += 7 * max(0, len(strconv.Itoa(c.Segments[n-1].Index))-5)
	}
	frame := func(s *tcpstate.Segment, y int) {
		p("<text class=\"t\" x=\"12\" y=\"%d\">#%d</text><text class=\"t\" x=\"%d\" y=\"%d\">%s</text>\n", y, s.Index, tx, y, esc(since(time.Duration(s.Time-first))))
	}
	for i := range m.Rows {
		r := &m.Rows[i]
		y := ys[i]
		switch r.Kind {
		case KindSeg:
			s := r.Seg
			ay := y + svgArrowY
			x1, x2 := svgClientX+svgBandW/2, svgServerX-svgBandW/2
			if s.Dir == tcpstate.S2C {
				x1, x2 = x2, x1
			}
			col := ClassColors[r.Class]
			dash := ""
			if r.Class == Retrans {
				dash = " stroke-dasharray=\"6 4\""
			}
			p("<g class=\"seg c-%s\" data-seg=\"%d\">\n", r.Class, s.Index)
			frame(s, ay+8)
			p("<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\"%s marker-end=\"url(#ah-%s)\"/>\n", x1, ay, x2, ay+svgSlant, col, dash, r.Class)
			p("<line class=\"hit\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", x1, ay, x2, ay+svgSlant)
			p("<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", (svgClientX+svgServerX)/2, y+10, col, esc(r.Label))
			if len(r.Marks) > 0 {
				p("<text class=\"mark\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">⚠ %s</text>\n", (svgClientX+svgServerX)/2, ay+svgSlant+14, esc(explain.Names("ann", r.Marks, lang)))
			}
			p("</g>\n")
		case KindBreak:
			mid := y + svgRowBrk/2
			for _, x := range [2]int{svgClientX, svgServerX} {
				p("<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"8\" fill=\"#ffffff\"/>\n", x-svgBandW, mid-4, 2*svgBandW)
				p("<path d=\"M%d %dl5 -3l5 3l5 -3l5 3M%d %dl5 -3l5 3l5 -3l5 3\" fill=\"none\" stroke=\"#4b5563\"/>\n", x-10, mid-3, x-10, mid+5)
			}
			text := "⋯ " + breakText(r, lang) + " ⋯"
			p("<text class=\"brk\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (svgClientX+svgServerX)/2, mid+4, esc(text))
		case KindData:
			svgData(&b, r, y, lang, c.Segments, frame)
		case KindLost:
			p("<text class=\"lost\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">✂ %s</text>\n", (svgClientX+svgServerX)/2, y+15, esc(explain.M("lg.lost").Text(lang)))
		case KindEnd:
			p("<text class=\"t\" x=\"12\" y=\"%d\">%s</text>\n", y+18, esc(explain.M("lg.end").Text(lang)))
			p("<text class=\"state\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", svgClientX-12, y+18, r.States[0])
			p("<text class=\"state\" x=\"%d\" y=\"%d\">%s</text>\n", svgServerX+12, y+18, r.States[1])
		}
		if r.Kind != KindSeg && r.Kind != KindData {
			continue
		}
		for side, x := range [2]int{svgClientX - 12, svgServerX + 12} {
			if !r.Changed[side] {
				continue
			}
			anchor := ""
			if side == 0 {
				anchor = " text-anchor=\"end\""
			}
			p("<text class=\"state\" x=\"%d\" y=\"%d\"%s>%s</text>\n", x, y+svgArrowY+svgSlant/2+4, anchor, r.States[side])
		}
	}
	p("</g>\n")
	return b.String(), height
}

// dataLines are the lines of a summed-up data phase (KindData), in the
// SVG and Mermaid drawings: how many segments over how long, by
// direction segments, bytes and retransmissions, and how to see them all.
func dataLines(r *Row, lang string) []string {
	d := r.Data
	lines := []string{"⋯ " + explain.M("lg.data", "n", strconv.Itoa(d.Count()), "dur", explain.Dur(d.Duration)).Text(lang) + " ⋯"}
	for _, m := range d.DirLines(false) {
		lines = append(lines, explain.Wrap(m.Text(lang), svgCols)...)
	}
	return append(lines, explain.M("lg.full").Text(lang))
}

// svgData draws a summed-up data phase in a dashed box between the
// lifelines, its first and last frames on the left as frame draws a
// segment's.
func svgData(b *strings.Builder, r *Row, y int, lang string, segs []tcpstate.Segment, frame func(*tcpstate.Segment, int)) {
	lines := dataLines(r, lang)
	h := svgLine * len(lines)
	fmt.Fprintf(b, "<g class=\"data\">\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f9fafb\" stroke=\"#9ca3af\" stroke-dasharray=\"4 3\"/>\n",
		svgClientX+svgBandW, y+4, svgServerX-svgClientX-2*svgBandW, h+4)
	for i, l := range lines {
		fmt.Fprintf(b, "<text class=\"lbl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", (svgClientX+svgServerX)/2, y+16+i*svgLine, esc(l))
	}
	frame(&segs[r.Data.First], y+16)
	frame(&segs[r.Data.Last], y+16+(len(lines)-1)*svgLine)
	b.WriteString("</g>\n")
}
