package ladder

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"synfin/render/explain"
	"synfin/tcpstate"
)

// Options control how ladders are drawn.
type Options struct {
	// Width is the text width in columns; 0 means 80. The arrows take what
	// the fixed columns leave.
	Width int
	// ASCII draws with plain ASCII instead of box-drawing characters.
	ASCII bool
	// Lang is the language of the few words drawn: "en" (default) or "zh".
	Lang string
	// Bare leaves out the title, the verdict and the closing blank line,
	// for a ladder embedded under another heading (explain's text).
	Bare bool
	// Full draws every segment: without it, a connection of more than
	// explain.CollapseAbove segments has its data phase drawn as one
	// summary row (KindData).
	Full bool
}

func (o Options) lang() string {
	if o.Lang == "" {
		return explain.English
	}
	return o.Lang
}

// glyphs are the characters of one drawing style.
type glyphs struct {
	life             [5]rune // lifeline per Band
	shaft            [4]rune // arrow shaft per Class
	right, left, rst rune
	brk              rune // lifeline across a break
	top, mid, bot    rune // phase bracket
	tee              rune
	dash             rune
	warn, lost       string
	dots             string
}

var unicodeGlyphs = glyphs{
	life:  [5]rune{'┆', '│', '║', '┃', '╏'},
	shaft: [4]rune{'─', '┄', '─', '─'},
	right: '▶', left: '◀', rst: '✕', brk: '≈',
	top: '┌', mid: '│', bot: '└', tee: '├', dash: '─',
	warn: "⚠ ", lost: "✂ ", dots: "⋯",
}

var asciiGlyphs = glyphs{
	life:  [5]rune{':', '|', '#', '!', ';'},
	shaft: [4]rune{'-', '~', '-', '-'},
	right: '>', left: '<', rst: 'X', brk: '~',
	top: '+', mid: '|', bot: '+', tee: '+', dash: '-',
	warn: "! ", lost: "? ", dots: "...",
}

// Column widths of the text ladder.
const (
	preW   = 17 // phase bracket, "#seg", time
	stateW = 12 // len("SYN-RECEIVED")
	minArr = 16
)

// ArrowWidth is the width of the arrow area for a text width.
func ArrowWidth(width int) int {
	if width == 0 {
		width = 80
	}
	return max(minArr, width-preW-2*stateW-6)
}

// WriteText draws c as a text ladder. A *bufio.Writer is left for the
// caller to flush, as explain.Write leaves it.
func WriteText(w io.Writer, c *tcpstate.Conn, opt Options) error {
	if err := explain.CheckLang(opt.Lang); err != nil {
		return err
	}
	bw, buffered := w.(*bufio.Writer) // as explain.Write does
	if !buffered {
		bw = bufio.NewWriter(w)
	}
	t, _ := textPool.Get().(*textLadder)
	if t == nil {
		t = &textLadder{buf: make([]byte, 0, 256), label: make([]byte, 0, 64)}
	}
	*t = textLadder{w: bw, opt: opt, g: unicodeGlyphs, pre: preW, num: 5,
		buf: t.buf[:0], label: t.label[:0], blank: t.blank, spaces: t.spaces, model: t.model}
	if opt.ASCII {
		t.g = asciiGlyphs
	}
	if n := len(c.Segments); n > 0 {
		// Frame numbers past four digits widen the first column.
		t.num = max(t.num, 1+len(strconv.Itoa(c.Segments[n-1].Index)))
		t.pre += t.num - 5
	}
	t.n = max(minArr, ArrowWidth(opt.Width)-(t.pre-preW))
	if len(t.blank) < max(t.n, t.pre) {
		t.blank = bytes.Repeat([]byte{' '}, max(t.n, t.pre))
	}
	if len(t.spaces) != t.n {
		t.spaces = string(t.blank[:t.n])
	}
	opt.layoutInto(&t.model, c, &t.dp, false) // labels written straight into the rows
	t.draw(&t.model)
	clear(t.model.Rows)
	if cap(t.model.Rows) > maxPooledRows {
		t.model.Rows = nil
	}
	t.w, t.m, t.model.Conn = nil, nil, nil
	textPool.Put(t)
	if buffered {
		return nil
	}
	return bw.Flush()
}

// textPool keeps the text ladders drawn and done with, for the next: a
// connection's explanation draws one and lets it go. Only the rows of
// ordinary connections are kept, not a long transfer's drawn in full.
var textPool sync.Pool

const maxPooledRows = 4 * explain.CollapseAbove

type textLadder struct {
	w      *bufio.Writer
	opt    Options
	g      glyphs
	n      int // arrow area width
	pre    int // width of the first column: phase bracket, frame number, time
	num    int // width of the frame number in it
	m      *Model
	buf    []byte            // the row being drawn
	label  []byte            // the arrow's label being drawn
	blank  []byte            // spaces, as many as the widest column
	spaces string            // the arrow area's width in spaces
	model  Model             // the connection laid out, in the storage of the one before
	dp     explain.DataPhase // its data phase, when summed up
}

func (t *textLadder) word(k int) string {
	if t.opt.lang() == explain.Chinese {
		return textWords[1][k]
	}
	return textWords[0][k]
}

// The words of text ladders: indexes into textKeys.
const (
	wTime = iota
	wClient
	wServer
	wLost
	wEnd
	wFull
	wPhase       // the phases', in order
	numTextWords = wPhase + 3
)

var textKeys = [numTextWords]string{"lg.time", "w.client", "w.server", "lg.lost", "lg.end", "lg.full",
	explain.PhaseKey(tcpstate.PhaseHandshake), explain.PhaseKey(tcpstate.PhaseData), explain.PhaseKey(tcpstate.PhaseTeardown)}

// textWords are textKeys by language (English, Chinese), found once
// rather than in every ladder.
var textWords = func() (w [2][numTextWords]string) {
	for i, lang := range [2]string{explain.English, explain.Chinese} {
		for k, key := range textKeys {
			w[i][k] = explain.Phrase(key, lang)
		}
	}
	return w
}()

// Title is a connection's one-line heading: id, addresses, teardown
// pattern and final states.
func Title(c *tcpstate.Conn, lang string) string {
	return explain.M("hdr.title", "id", strconv.FormatUint(c.ID, 10),
		"client", c.Client.AddrPort().String(), "server", c.Server.AddrPort().String()).Text(lang)
}

// Verdict is a short verdict line: teardown pattern and final states,
// marked where only inferred.
func Verdict(c *tcpstate.Conn, lang string) string {
	key := "lg.verdict"
	if c.Teardown.Readings != nil {
		key = "lg.verdict.reading"
	}
	final := func(e *tcpstate.Endpoint) string {
		if n := len(e.Transitions); n > 0 && e.Transitions[n-1].Inferred {
			return explain.M("lg.inferred", "s", e.State.String()).Text(lang)
		}
		return e.State.String()
	}
	return explain.M(key, "pattern", explain.PatternWord(c.Teardown.Pattern),
		"c", final(&c.Client), "s", final(&c.Server)).Text(lang)
}

func pad(s string, w int, right bool) string {
	n := explain.Width(s)
	if n > w {
		s = truncate(s, w)
		n = explain.Width(s)
	}
	if right {
		return strings.Repeat(" ", w-n) + s
	}
	return s + strings.Repeat(" ", w-n)
}

func truncate(s string, w int) string {
	if explain.Width(s) <= w {
		return s
	}
	return string(appendTruncated(nil, s, w))
}

// appendTruncated appends the start of s that fits in w-1 columns, then
// "…".
func appendTruncated(b []byte, s string, w int) []byte {
	n := 0
	for i, r := range s {
		if n += explain.RuneWidth(r); n > w-1 {
			s = s[:i]
			break
		}
	}
	return append(append(b, s...), "…"...)
}

// center puts s in the middle of w columns filled with fill.
func center(s string, w int, fill rune) string {
	s = truncate(s, w)
	n := explain.Width(s)
	left := (w - n + 1) / 2
	return strings.Repeat(string(fill), left) + s + strings.Repeat(string(fill), w-n-left)
}

func (t *textLadder) line(pre, cst string, cl rune, mid string, sl rune, sst string) {
	b := appendPad(t.buf[:0], pre, t.pre, false)
	b = appendPad(b, cst, stateW, true)
	b = utf8.AppendRune(append(utf8.AppendRune(append(b, ' '), cl), mid...), sl)
	t.buf = append(append(b, ' '), sst...)
	b = bytes.TrimRight(t.buf, " ")
	if t.opt.ASCII {
		t.w.WriteString(asciiWords.Replace(string(b)))
		t.w.WriteByte('\n')
	} else {
		t.w.Write(append(b, '\n'))
	}
}

// segLine draws a segment's row: what line draws, without making its
// strings (most rows are segments'). In --ascii every part of it is
// ASCII already.
func (t *textLadder) segLine(r *Row, bracket string, first int64, cst string, cl, sl rune, sst string) {
	b := t.appendFrame(t.buf[:0], bracket, r.Seg, first)
	if w := width(b); w <= t.pre {
		b = append(b, t.blank[:t.pre-w]...)
	} else {
		b = appendPad(t.buf[:0], string(b), t.pre, false)
	}
	b = appendPad(b, cst, stateW, true)
	b = utf8.AppendRune(append(b, ' '), cl)
	b = utf8.AppendRune(t.appendArrow(b, r), sl)
	t.buf = append(bytes.TrimRight(append(append(b, ' '), sst...), " "), '\n')
	t.w.Write(t.buf)
}

// appendArrow appends a segment's arrow across the arrow area: its
// shaft, its label near its tail and its head.
func (t *textLadder) appendArrow(b []byte, r *Row) []byte {
	shaft := t.g.shaft[r.Class]
	t.label = appendLabel(t.label[:0], r.Seg)
	label := t.label // ASCII
	lw := len(label)
	if lw > t.n-6 {
		// Cut short, as truncate does, with "…" or, in --ascii, ".".
		label, lw = label[:t.n-7], t.n-6
	}
	head := t.g.right
	if r.Seg.Dir == tcpstate.S2C {
		head = t.g.left
	}
	if r.Class == Reset {
		head = t.g.rst
	}
	fill := t.n - 1 - (lw + 2) - 2
	if r.Seg.Dir == tcpstate.C2S {
		b = t.appendLabel(append(appendRunes(b, shaft, 2), ' '), label, lw)
		return utf8.AppendRune(appendRunes(append(b, ' '), shaft, fill), head)
	}
	b = appendRunes(utf8.AppendRune(b, head), shaft, fill)
	b = t.appendLabel(append(b, ' '), label, lw)
	return appendRunes(append(b, ' '), shaft, 2)
}

// appendLabel appends an arrow's label, cut short to lw columns.
func (t *textLadder) appendLabel(b, label []byte, lw int) []byte {
	b = append(b, label...)
	switch {
	case lw == len(label):
		return b
	case t.opt.ASCII:
		return append(b, '.')
	}
	return append(b, "…"...)
}

// asciiWords keeps --ascii output ASCII in the words that are not.
var asciiWords = strings.NewReplacer("µs", "us", "→", "->", "…", ".")

// blanks is where padding is cut from.
const blanks = "                                                                "

// appendRunes appends r n times: once, then what it appended doubled.
func appendRunes(b []byte, r rune, n int) []byte {
	if n <= 0 {
		return b
	}
	if r == ' ' && n <= len(blanks) {
		return append(b, blanks[:n]...) // padding, the most of it
	}
	start := len(b)
	b = utf8.AppendRune(b, r)
	size := len(b) - start
	for have := 1; have < n; {
		k := min(have, n-have)
		b = append(b, b[start:start+k*size]...)
		have += k
	}
	return b
}

// appendPad appends s padded with spaces to w columns (on the left when
// right), cut short with "…" when wider.
func appendPad(b []byte, s string, w int, right bool) []byte {
	n := explain.Width(s)
	if n > w {
		s = truncate(s, w)
		n = explain.Width(s)
	}
	if right {
		return append(appendRunes(b, ' ', w-n), s...)
	}
	return appendRunes(append(b, s...), ' ', w-n)
}

// width is the number of columns b takes.
func width(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if c := b[i]; c > 0 && c < utf8.RuneSelf {
			n, i = n+1, i+1 // most of it: a column a byte
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		n += explain.RuneWidth(r)
		i += size
	}
	return n
}

func (t *textLadder) draw(m *Model) {
	t.m = m
	c := m.Conn
	lang := t.opt.lang()
	if !t.opt.Bare {
		t.w.WriteString(t.plain(Title(c, lang)) + "\n")
		t.w.WriteString(t.plain(Verdict(c, lang)) + "\n\n")
	}
	life := func(s tcpstate.State) rune { return t.g.life[BandOf(s)] }
	t.line(pad(t.word(wTime), t.pre, false), t.word(wClient), ' ', t.spaces, ' ', t.word(wServer))
	t.line("", m.Initial[0].String(), life(m.Initial[0]), t.spaces, life(m.Initial[1]), m.Initial[1].String())
	phases := m.Phases
	started := false
	var first int64
	if len(c.Segments) > 0 {
		first = c.Segments[0].Time
	}
	prev := m.Initial
	for i := range m.Rows {
		r := &m.Rows[i]
		if len(phases) > 0 && phases[0].First == i {
			sp := phases[0]
			phases = phases[1:]
			corner := t.g.tee
			if !started {
				corner = t.g.top
			}
			started = true
			t.line(string(corner)+string(t.g.dash)+" "+t.word(wPhase+int(sp.Phase)), "", life(prev[0]), t.spaces, life(prev[1]), "")
		}
		bracket := " "
		if started {
			bracket = string(t.g.mid)
		}
		cl, sl := life(r.States[0]), life(r.States[1])
		cst, sst := "", ""
		if r.Changed[0] {
			cst = r.States[0].String()
		}
		if r.Changed[1] {
			sst = r.States[1].String()
		}
		switch r.Kind {
		case KindSeg:
			t.segLine(r, bracket, first, cst, cl, sl, sst)
			if len(r.Marks) > 0 {
				t.line(bracket, "", cl, " "+pad(t.g.warn+explain.Names("ann", r.Marks, lang), t.n-1, false), sl, "")
			}
		case KindBreak:
			text := " " + t.g.dots + " " + breakText(r, lang) + " " + t.g.dots + " "
			t.line(bracket, "", t.g.brk, center(t.plain(text), t.n, ' '), t.g.brk, "")
		case KindLost:
			t.line(bracket, "", cl, center(" "+t.g.lost+t.word(wLost)+" ", t.n, ' '), sl, "")
		case KindData:
			t.data(r, bracket, first, cst, sst, [2]rune{cl, sl})
		case KindEnd:
			pre := " "
			if started {
				pre = string(t.g.bot)
			}
			t.line(pre+string(t.g.dash)+" "+t.word(wEnd), r.States[0].String(), cl, t.spaces, sl, r.States[1].String())
		}
		prev = r.States
	}
	t.w.WriteByte('\n')
	g, lg := 0, 0
	if t.opt.ASCII {
		g = 1
	}
	if lang == explain.Chinese {
		lg = 1
	}
	t.w.WriteString(legends[g][lg])
	if !t.opt.Bare {
		t.w.WriteByte('\n')
	}
}

// legends are the keys under every text ladder, by glyphs (Unicode,
// ASCII) and language (English, Chinese), made once.
var legends = func() (l [2][2]string) {
	for i, g := range [2]glyphs{unicodeGlyphs, asciiGlyphs} {
		for j, lang := range [2]string{explain.English, explain.Chinese} {
			word := func(key string) string { return explain.Phrase(key, lang) }
			l[i][j] = string(g.life[BandIdle]) + " CLOSED/LISTEN  " + string(g.life[BandOpening]) + " SYN-SENT/SYN-RECEIVED  " +
				string(g.life[BandEstablished]) + " ESTABLISHED\n" +
				string(g.life[BandClosing]) + " FIN-WAIT/CLOSE-WAIT/CLOSING/LAST-ACK  " + string(g.life[BandTimeWait]) + " TIME-WAIT\n" +
				string(g.shaft[Retrans]) + string(g.shaft[Retrans]) + " " + word("lg.retrans") + "  " + string(g.rst) + " RST  " +
				strings.TrimSpace(g.warn) + " " + word("lg.anomaly") + "\n" +
				strings.TrimSpace(g.lost) + " " + word("lg.lost") + "  " + string(g.brk) + " " + word("lg.break") + "\n"
		}
	}
	return l
}()

// frame is the first column of a segment's row: the bracket, the frame
// number and the time since the connection's first segment.
func (t *textLadder) frame(bracket string, s *tcpstate.Segment, first int64) string {
	return string(t.appendFrame(nil, bracket, s, first))
}

// appendFrame appends frame's text.
func (t *textLadder) appendFrame(b []byte, bracket string, s *tcpstate.Segment, first int64) []byte {
	b = append(append(b, bracket...), '#')
	n := len(b)
	b = strconv.AppendInt(b, int64(s.Index), 10)
	b = append(appendRunes(b, ' ', t.num-1-(len(b)-n)), ' ')
	if s.Time == first {
		return append(b, '0')
	}
	b = explain.AppendDur(b, time.Duration(s.Time-first))
	if t.opt.ASCII && bytes.HasSuffix(b, []byte("µs")) {
		b = append(b[:len(b)-len("µs")], "us"...)
	}
	return b
}

// data draws the data phase summed up between the lifelines: how many
// segments over how long, then by direction segments, bytes and
// retransmissions, then how to see them all; its first and last lines
// give its first and last frames.
func (t *textLadder) data(r *Row, bracket string, first int64, cst, sst string, life [2]rune) {
	d, segs, lang := r.Data, t.m.Conn.Segments, t.opt.lang()
	var lines []string
	title := explain.M("lg.data", "n", strconv.Itoa(d.Count()), "dur", explain.Dur(d.Duration)).Text(lang)
	if dotted := " " + t.g.dots + " " + title + " " + t.g.dots + " "; explain.Width(dotted) <= t.n {
		lines = append(lines, center(dotted, t.n, ' '))
	} else {
		for _, l := range explain.Wrap(title, t.n-2) {
			lines = append(lines, " "+l)
		}
	}
	for dir, m := range d.DirLines(true) {
		head := string([]rune{t.g.dash, t.g.dash, t.g.right, ' '})
		if dir == int(tcpstate.S2C) {
			head = string([]rune{t.g.left, t.g.dash, t.g.dash, ' '})
		}
		for i, l := range explain.Wrap(m.Text(lang), t.n-6) {
			if i > 0 {
				head = "    "
			}
			lines = append(lines, " "+head+l)
		}
	}
	for _, l := range explain.Wrap(t.word(wFull), t.n-2) {
		lines = append(lines, " "+l)
	}
	for i, l := range lines {
		pre, cs, ss := bracket, "", ""
		switch i {
		case 0:
			pre, cs, ss = t.frame(bracket, &segs[d.First], first), cst, sst
		case len(lines) - 1:
			pre = t.frame(bracket, &segs[d.Last], first)
		}
		t.line(pre, cs, life[0], pad(t.plain(l), t.n, false), life[1], ss)
	}
}

// plain keeps --ascii output ASCII in the words that are not.
func (t *textLadder) plain(s string) string {
	if !t.opt.ASCII {
		return s
	}
	return strings.NewReplacer("µs", "us", "→", "->", "…", ".").Replace(s)
}

// breakText is what a break says: the gap, or TIME-WAIT's 2MSL.
func breakText(r *Row, lang string) string {
	if r.TimeWait {
		return explain.M("lg.timewait", "dur", explain.Dur(r.Gap)).Text(lang)
	}
	return explain.Dur(r.Gap)
}

// since formats a time offset for the time column.
func since(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return explain.Dur(d)
}
