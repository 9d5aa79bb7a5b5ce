package tsg

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
)

// Geometry of the drawing, in pixels: the time-sequence graph on the left
// and the throughput and RTT plots beside it, one row a flow.
const (
	plotW    = 600 // the graph's plot area; its columns are the decimation's
	plotH    = 400
	sideW    = 300
	sideH    = 150
	marginL  = 90
	marginT  = 40
	sideGap  = 100 // between the graph and the side plots
	rowH     = plotH + marginT + 70
	drawW    = marginL + plotW + sideGap + sideW + 20
	maxMarks = 3 // marks of one kind in one column: more say nothing more
)

// Colours, tcptrace's by meaning (xplot's white on black becomes dark on
// white).
const (
	colData    = "#111827"
	colRetrans = "#dc2626"
	colOOO     = "#db2777"
	colProbe   = "#ea580c"
	colSynFin  = "#ea580c"
	colACK     = "#16a34a"
	colWindow  = "#ca8a04"
	colSACK    = "#7c3aed"
	colZero    = "#c026d3"
	colTput    = "#dc2626"
	colRTT     = "#2563eb"
)

var words = map[string]map[string]string{
	"en": {"title": "time-sequence graph", "time": "time (s)", "seq": "relative sequence number", "tput": "throughput (bytes/s)", "rtt": "RTT (ms)",
		"data": "data", "retrans": "retransmission", "ooo": "out of order", "ack": "ACK", "win": "window", "sack": "SACK", "zero": "zero window", "synfin": "SYN, FIN, probe", "none": "no data sent"},
	"zh": {"title": "时间-序列号图", "time": "时间（秒）", "seq": "相对序列号", "tput": "吞吐量（字节/秒）", "rtt": "往返时间（毫秒）",
		"data": "数据", "retrans": "重传", "ooo": "乱序", "ack": "确认", "win": "窗口", "sack": "SACK", "zero": "零窗口", "synfin": "SYN、FIN、零窗口探测", "none": "未发送数据"},
}

// Options are the drawing's options.
type Options struct {
	Lang string // en (default) or zh
}

// WriteSVG draws g as one self-contained SVG document: each flow that
// carried data (the client's if none did) as a time-sequence graph with
// its throughput and RTT beside it. However many segments, the drawing
// holds a bounded number of elements: points are decimated by pixel
// column (see the package documentation).
func WriteSVG(w io.Writer, g *Graph, opt Options) error {
	lang := opt.Lang
	if lang == "" {
		lang = "en"
	}
	wd, ok := words[lang]
	if !ok {
		return fmt.Errorf("tsg: unknown language %q (en or zh)", opt.Lang)
	}
	var flows []*Flow
	for i := range g.Flows {
		if g.Flows[i].Bytes > 0 {
			flows = append(flows, &g.Flows[i])
		}
	}
	if len(flows) == 0 {
		flows = append(flows, &g.Flows[0])
	}
	bw := bufio.NewWriter(w)
	h := rowH * len(flows)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", drawW, h, drawW, h)
	bw.WriteString(`<style>text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;fill:#374151}` +
		`.title{font-size:13px;font-weight:bold;fill:#111827}.ax{stroke:#9ca3af;fill:none}.grid{stroke:#f3f4f6}` +
		`path,line{fill:none;stroke-width:1}</style>` + "\n")
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", drawW, h)
	for i, f := range flows {
		d := drawer{b: bw, w: wd, y0: float64(i * rowH)}
		d.flow(g, f, i)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

type drawer struct {
	b  *bufio.Writer
	w  map[string]string
	y0 float64
	// the time axis, common to the three plots
	t0, t1 float64
}

// scale maps [lo, hi] onto [a, a+n] pixels (upwards when flip).
type scale struct {
	lo, hi, a, n float64
	flip         bool
}

func (s scale) at(v float64) float64 {
	r := 0.0
	if s.hi > s.lo {
		r = (v - s.lo) / (s.hi - s.lo)
	}
	if s.flip {
		return s.a + s.n - r*s.n
	}
	return s.a + r*s.n
}

// col is v's pixel column of n.
func (s scale) col(v float64, n int) int {
	c := int((s.at(v) - s.a) * float64(n) / s.n)
	return min(max(c, 0), n-1)
}

func (d *drawer) flow(g *Graph, f *Flow, row int) {
	// Time runs over the whole connection, the same for both flows.
	d.t0, d.t1 = 0, 0
	for i := range g.Flows {
		for _, s := range g.Flows[i].Segs {
			d.t1 = math.Max(d.t1, s.T)
		}
	}
	if d.t1 == d.t0 {
		d.t1 = d.t0 + 1e-3
	}
	// Sequence numbers run over the segments, ACKs and SACK blocks; the
	// window line may reach a quarter above them, and is cut there: a
	// window far above a small flow would flatten it.
	lo, hi, top := int64(0), int64(0), int64(0)
	first := true
	ext := func(a, b int64) {
		if first {
			lo, hi, first = a, b, false
		}
		lo, hi = min(lo, a), max(hi, b)
	}
	for _, s := range f.Segs {
		ext(s.Lo, s.Hi)
	}
	for _, p := range f.ACKs {
		ext(p.Seq, p.Seq)
	}
	for _, p := range f.SACKs {
		ext(p.Lo, p.Hi)
	}
	for _, p := range f.Windows {
		top = max(top, p.Seq)
	}
	hi = max(hi, min(top, hi+(hi-lo)/4))
	if hi == lo {
		hi = lo + 1
	}
	x := scale{d.t0, d.t1, marginL, plotW, false}
	y := scale{float64(lo), float64(hi), d.y0 + marginT, plotH, true}
	fmt.Fprintf(d.b, `<text class="title" x="%d" y="%.0f">%s → %s  %s</text>`+"\n", marginL, d.y0+18, html.EscapeString(f.From), html.EscapeString(f.To), d.w["title"])
	d.axes(x, y, d.w["time"], d.w["seq"], true)
	if f.Bytes == 0 {
		fmt.Fprintf(d.b, `<text x="%d" y="%.0f">%s</text>`+"\n", marginL+10, d.y0+marginT+20, d.w["none"])
	}
	fmt.Fprintf(d.b, `<clipPath id="plot%d"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath><g clip-path="url(#plot%d)">`+"\n",
		row, x.a-3, y.a-12, x.n+6, y.n+15, row)
	d.steps(f.ACKs, x, y, colACK)
	d.steps(f.Windows, x, y, colWindow)
	d.segs(f.Segs, x, y)
	d.sacks(f.SACKs, x, y)
	d.zero(f.Zero, x, y)
	d.b.WriteString("</g>\n")
	d.legend()
	sx := float64(marginL + plotW + sideGap)
	xs := scale{d.t0, d.t1, sx, sideW, false}
	d.side(f.Throughput, xs, d.y0+marginT, d.w["tput"], colTput, 1, false)
	d.side(f.RTT, xs, d.y0+marginT+sideH+60, d.w["rtt"], colRTT, 1000, true)
}

// axes draws the frame, ticks at round values on each axis and their
// labels.
func (d *drawer) axes(x, y scale, xl, yl string, grid bool) {
	fmt.Fprintf(d.b, `<rect class="ax" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`+"\n", x.a, y.a, x.n, y.n)
	for _, tv := range ticks(x.lo, x.hi) {
		px := x.at(tv)
		if grid {
			fmt.Fprintf(d.b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, px, y.a, px, y.a+y.n)
		}
		fmt.Fprintf(d.b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, px, y.a+y.n+14, num(tv))
	}
	for _, yv := range ticks(y.lo, y.hi) {
		py := y.at(yv)
		if grid {
			fmt.Fprintf(d.b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x.a, py, x.a+x.n, py)
		}
		fmt.Fprintf(d.b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, x.a-4, py+4, num(yv))
	}
	fmt.Fprintf(d.b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, x.a+x.n/2, y.a+y.n+30, xl)
	fmt.Fprintf(d.b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x.a, y.a-6, yl)
}

// ticks returns round values from lo to hi, four to ten of them: multiples
// of 1, 2 or 5 times a power of ten.
func ticks(lo, hi float64) []float64 {
	if !(hi > lo) {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/4)))
	for _, m := range []float64{1, 2, 5} {
		if (hi-lo)/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var ts []float64
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		ts = append(ts, i*step)
	}
	return ts
}

// column is what decimation keeps of the points in one pixel column.
type column struct {
	n                  int
	first, lo, hi, end float64
}

func (c *column) add(v float64) {
	if c.n == 0 {
		c.first, c.lo, c.hi = v, v, v
	}
	c.n++
	c.lo, c.hi, c.end = math.Min(c.lo, v), math.Max(c.hi, v), v
}

// steps draws a step line (the ACK line, the window line): flat until the
// next point's time, then up or down to it; each pixel column keeps its
// first, lowest, highest and last value, so the envelope stays exact.
func (d *drawer) steps(ps []Point, x, y scale, color string) {
	if len(ps) == 0 {
		return
	}
	cols := make([]column, plotW)
	for _, p := range ps {
		cols[x.col(p.T, plotW)].add(float64(p.Seq))
	}
	b := append([]byte(nil), `<path stroke="`+color+`" d="`...)
	started := false
	for i, c := range cols {
		if c.n == 0 {
			continue
		}
		px := x.a + float64(i) + 0.5
		if !started {
			b = fmt.Appendf(b, "M%.1f %.1f", px, y.at(c.first))
			started = true
		} else {
			b = fmt.Appendf(b, "H%.1fV%.1f", px, y.at(c.first))
		}
		if c.n > 1 {
			b = fmt.Appendf(b, "V%.1fV%.1fV%.1f", y.at(c.lo), y.at(c.hi), y.at(c.end))
		}
	}
	b = fmt.Appendf(b, "H%.1f\"/>\n", x.a+x.n)
	d.b.Write(b)
}

// segs draws the segments as vertical bars over their sequence range: in
// each pixel column, one bar from the lowest to the highest number sent
// anew, and at most maxMarks bars of each mark (retransmission, out of
// order, probe, SYN or FIN).
func (d *drawer) segs(segs []Seg, x, y scale) {
	type bar struct {
		lo, hi float64
		n      int
	}
	var cols [5][plotW]bar
	colors := [5]string{colData, colRetrans, colOOO, colProbe, colSynFin}
	var marks [5][plotW][]bar
	for _, s := range segs {
		k := 0
		switch {
		case s.Retrans:
			k = 1
		case s.OutOfOrder:
			k = 2
		case s.Probe:
			k = 3
		case s.Hi-s.Lo > int64(s.Len):
			k = 4 // SYN or FIN
		}
		c := x.col(s.T, plotW)
		lo, hi := float64(s.Lo), float64(s.Hi)
		if k == 0 {
			b := &cols[0][c]
			if b.n == 0 {
				b.lo, b.hi = lo, hi
			}
			b.n++
			b.lo, b.hi = math.Min(b.lo, lo), math.Max(b.hi, hi)
			continue
		}
		if m := &marks[k][c]; len(*m) < maxMarks {
			*m = append(*m, bar{lo, hi, 1})
		}
	}
	for k := range colors {
		// Marked segments are drawn thicker, beside the others.
		fmt.Fprintf(d.b, `<g stroke="%s" stroke-width="%d">`, colors[k], 1+btoi(k > 0))
		for i := range plotW {
			px := x.a + float64(i) + 0.5 + 1.5*float64(btoi(k > 0))
			bars := marks[k][i]
			if k == 0 && cols[0][i].n > 0 {
				bars = []bar{cols[0][i]}
			}
			for _, b := range bars {
				y1, y2 := y.at(b.lo), y.at(b.hi)
				if y1-y2 < 2 { // a zero-length segment stays visible
					y1, y2 = y1+1, y2-1
				}
				fmt.Fprintf(d.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, px, y1, px, y2)
			}
		}
		d.b.WriteString("</g>\n")
	}
}

// sacks draws the SACK blocks: in each pixel column, one bar from the
// lowest left edge to the highest right edge.
func (d *drawer) sacks(bs []Block, x, y scale) {
	if len(bs) == 0 {
		return
	}
	cols := make([]column, plotW)
	for _, b := range bs {
		c := &cols[x.col(b.T, plotW)]
		c.add(float64(b.Lo))
		c.add(float64(b.Hi))
	}
	fmt.Fprintf(d.b, `<g stroke="%s" stroke-width="2">`, colSACK)
	for i, c := range cols {
		if c.n > 0 {
			px := x.a + float64(i) + 2.5
			fmt.Fprintf(d.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, px, y.at(c.lo), px, y.at(c.hi))
		}
	}
	d.b.WriteString("</g>\n")
}

// zero marks the zero windows with a Z, one per pixel column.
func (d *drawer) zero(ps []Point, x, y scale) {
	last := -1
	for _, p := range ps {
		if c := x.col(p.T, plotW); c != last {
			last = c
			fmt.Fprintf(d.b, `<text x="%.1f" y="%.1f" style="fill:%s;font-weight:bold" text-anchor="middle">Z</text>`+"\n", x.a+float64(c)+0.5, y.at(float64(p.Seq))-3, colZero)
		}
	}
}

func (d *drawer) legend() {
	items := []struct{ k, c string }{{"data", colData}, {"retrans", colRetrans}, {"ooo", colOOO}, {"synfin", colSynFin}, {"ack", colACK}, {"win", colWindow}, {"sack", colSACK}, {"zero", colZero}}
	px := float64(marginL)
	py := d.y0 + marginT + plotH + 50
	for _, it := range items {
		fmt.Fprintf(d.b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`, px, py-9, it.c, px+14, py, d.w[it.k])
		px += 14 + 7*float64(len([]rune(d.w[it.k]))) + 16
	}
	d.b.WriteString("\n")
}

// side draws a small plot of vs over the common time axis, values times
// mul; each pixel column keeps its lowest and highest value. dots draws
// samples rather than a line.
func (d *drawer) side(vs []Value, x scale, top float64, label, color string, mul float64, dots bool) {
	vmax := 0.0
	for _, v := range vs {
		vmax = math.Max(vmax, v.V*mul)
	}
	if vmax == 0 {
		vmax = 1
	}
	y := scale{0, vmax, top, sideH, true}
	d.axes(x, y, "", label, false)
	cols := make([]column, sideW)
	for _, v := range vs {
		cols[x.col(v.T, sideW)].add(v.V * mul)
	}
	b := fmt.Appendf(nil, `<path stroke="%s" d="`, color)
	started := false
	for i, c := range cols {
		if c.n == 0 {
			continue
		}
		px := x.a + float64(i) + 0.5
		y1, y2 := y.at(c.lo), y.at(c.hi)
		switch {
		case dots:
			b = fmt.Appendf(b, "M%.1f %.1fV%.1f", px, y1+1, y2-1)
		case !started:
			b = fmt.Appendf(b, "M%.1f %.1fV%.1fV%.1fV%.1f", px, y.at(c.first), y1, y2, y.at(c.end))
		default:
			b = fmt.Appendf(b, "L%.1f %.1fV%.1fV%.1fV%.1f", px, y.at(c.first), y1, y2, y.at(c.end))
		}
		started = true
	}
	b = append(b, "\"/>\n"...)
	d.b.Write(b)
}

// num formats an axis value shortly: 1.5k, 2.25M, 0.013.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	return s[:len(s)-btoi(s[len(s)-1] == '.')]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
