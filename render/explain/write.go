package explain

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"unicode"
	"unicode/utf8"

	"synfin/tcpstate"
	"synfin/wire"
)

// Options control Write.
type Options struct {
	Lang  string // "en" (default) or "zh"
	Width int    // wrap notes to this many columns; 0 means 80, negative no wrapping
	// Full lists every segment: without it, a connection of more than
	// CollapseAbove segments has its data phase summed up (Collapse).
	Full bool
	// Ladder, when set, draws the connection after the timeline under its
	// own heading. Package ladder's WriteText fits; it is a hook because
	// ladder builds on this package.
	Ladder func(w io.Writer, c *tcpstate.Conn) error
}

// CheckLang reports an error for a language Write does not know.
func CheckLang(lang string) error {
	switch lang {
	case "", English, Chinese:
		return nil
	}
	return fmt.Errorf("explain: unknown language %q (en or zh)", lang)
}

// Write prints the explanation of c. A *bufio.Writer is written to and
// left for the caller to flush, once after many connections.
func Write(w io.Writer, c *tcpstate.Conn, opt Options) error {
	// A buffered writer is written to as it is: a connection's text is
	// small, and most callers write many into one.
	bw, buffered := w.(*bufio.Writer)
	if !buffered {
		bw = bufio.NewWriter(w)
	}
	ew, err := NewWriter(bw, opt)
	if err != nil {
		return err
	}
	if err := ew.Write(c); err != nil || buffered {
		return err
	}
	return bw.Flush()
}

// Writer writes explanations one connection after another, as Write
// does, in storage it keeps from one to the next: some kilobytes a
// connection, which would otherwise be garbage hundreds of thousands of
// times over.
type Writer struct {
	p printer
	e Explanation
}

// NewWriter returns a Writer to w, left for the caller to flush.
func NewWriter(w *bufio.Writer, opt Options) (*Writer, error) {
	if err := CheckLang(opt.Lang); err != nil {
		return nil, err
	}
	ew := &Writer{p: printer{w: w, lang: opt.Lang, width: opt.Width, full: opt.Full, ladder: opt.Ladder, buf: make([]byte, 0, 512), spare: make([]byte, 0, 512)}}
	p := &ew.p
	if p.lang == "" {
		p.lang = English
	}
	if p.width == 0 {
		p.width = 80
	}
	for k, key := range stepKeys {
		p.words[k] = Phrase(key, p.lang)
	}
	return ew, nil
}

// Write writes the explanation of c.
func (w *Writer) Write(c *tcpstate.Conn) error {
	w.e.explain(c, !w.p.full)
	w.p.err = nil
	w.p.print(&w.e)
	return w.p.err
}

type printer struct {
	w      *bufio.Writer
	lang   string
	width  int
	full   bool
	ladder func(io.Writer, *tcpstate.Conn) error
	err    error                // from ladder
	buf    []byte               // the text of a line, reused
	spare  []byte               // start's, when the writer's buffer is short
	words  [numStepWords]string // stepKeys in lang, found once rather than at every step
}

// The words of a step's lines: indexes into stepKeys.
const (
	wClient = iota
	wServer
	wBoth
	wSends
	wRecv
	wWin
	wLen
	wPhase       // the phases', in order
	numStepWords = wPhase + len(phaseKeys)
)

var stepKeys = [numStepWords]string{"w.client", "w.server", "w.both", "w.sends", "w.recv", "w.win", "w.len", phaseKeys[0], phaseKeys[1], phaseKeys[2]}

// msg writes m as end does.
func (p *printer) msg(prefix prefix, m Msg) { p.end(prefix, m.AppendText(p.start(prefix), p.lang)) }

// prefix is what starts a message's first line, and its width, to which
// the lines it wraps onto are indented: known here rather than measured
// at every line.
type prefix struct {
	s string
	w int
}

// The prefixes: none, a line of the header or the timeline, a line under
// it, and an item of a list.
var (
	top    = prefix{"", 0}
	item   = prefix{"  ", 2}
	detail = prefix{"      ", 6}
	bullet = prefix{"  • ", 4}
)

// start begins a line with prefix, to be made after it and written by
// end: in the writer's free buffer when it has room, so that the line's
// text is not copied there from elsewhere.
func (p *printer) start(prefix prefix) []byte {
	b := p.w.AvailableBuffer()
	if cap(b) < 1024 {
		b = p.spare[:0]
	}
	return append(b, prefix.s...)
}

// end writes b, prefix then text, wrapped at the width: the first line
// as it is, the rest from buf, indented to the prefix's width.
func (p *printer) end(prefix prefix, b []byte) {
	pw := prefix.w
	text := b[len(prefix.s):]
	cut, whole := 0, true
	if p.width-pw >= 20 { // narrower, eachLine leaves text whole
		cut, whole = lineEnd(text, p.width-pw)
	}
	if whole {
		p.w.Write(append(b, '\n'))
		return
	}
	// The rest is copied out before the first line's newline takes its
	// first byte.
	p.buf = append(p.buf[:0], bytes.TrimLeft(text[cut:], " ")...)
	p.w.Write(append(bytes.TrimRight(b[:len(prefix.s)+cut], " "), '\n'))
	if len(p.buf) == 0 {
		return
	}
	indent := spaces[:min(pw, len(spaces))]
	eachLine(p.buf, p.width-pw, func(l []byte) {
		// Made in the writer's buffer, one write a line.
		p.w.Write(append(append(append(p.w.AvailableBuffer(), indent...), l...), '\n'))
	})
}

// spaces is where indents are cut from.
const spaces = "                                                                "

func (p *printer) print(e *Explanation) {
	p.msg(top, e.Title)
	for _, m := range e.Header {
		p.msg(item, m)
	}
	p.section(mVTitle, e.Verdict)
	c := e.Conn
	if len(c.Segments) > 0 {
		p.w.WriteByte('\n')
		title := mTlTitle
		if e.Conn.Teardown.Readings != nil {
			title = mTlTitleReading
		}
		p.msg(top, title)
	}
	dataDone := e.data == nil
	e.eachStep(func(i int, st *Step) {
		if !dataDone && i > e.data.Last {
			p.data(e)
			dataDone = true
		}
		p.step(st)
	})
	if !dataDone {
		p.data(e)
	}
	if p.ladder != nil && len(c.Segments) > 0 {
		p.w.WriteByte('\n')
		p.msg(top, mUiLadder)
		p.err = p.ladder(p.w, e.Conn)
	}
	e.tailAfterHead()
	if len(e.Missing) > 0 {
		p.section(mMissTitle, e.Missing)
	}
	p.section(mSumTitle, e.Summary)
	p.w.WriteByte('\n')
}

// phaseKeys are the catalogue keys of the phases' names.
var phaseKeys = [...]string{"w.phase.handshake", "w.phase.data", "w.phase.teardown"}

// PhaseKey is the catalogue key of phase p's name.
func PhaseKey(p tcpstate.Phase) string { return phaseKeys[p] }

// step writes a segment's entry in the timeline.
func (p *printer) step(st *Step) {
	cw, sw := p.words[wClient], p.words[wServer]
	s := st.Seg
	from, to := cw, sw
	if s.Dir == tcpstate.S2C {
		from, to = sw, cw
	}
	// #1  12:00:00.000000 +45 µs  client → server  [S]  handshake
	b := append(p.start(item), '#')
	b = strconv.AppendInt(b, int64(s.Index), 10)
	b = append(b, "  "...)
	b = appendTimeOfDay(b, s.Time)
	if st.Since > 0 {
		b = AppendDur(append(b, " +"...), st.Since)
	}
	b = append(append(append(append(b, "  "...), from...), " → "...), to...)
	b = append(b, "  ["...)
	b = s.Flags.AppendTcpdump(b)
	b = append(b, "]  "...)
	p.end(item, append(b, p.words[wPhase+int(s.Phase)]...))
	// seq 1 [373730249]  ack 1 [4122230964]  win 72320 [565×128]  len 0
	b = append(p.start(detail), "seq "...)
	b = appendNumAbs(b, s.RelSeq, s.Seq)
	if s.Flags&wire.ACK != 0 {
		b = append(b, "  ack "...)
		b = appendNumAbs(b, s.RelAck, s.Ack)
	}
	b = append(append(append(b, "  "...), p.words[wWin]...), ' ')
	b = strconv.AppendUint(b, uint64(s.WindowScaled), 10)
	if s.Window != 0 && int(s.Window) != int(s.WindowScaled) {
		// tcpdump prints the field as sent; the scale is what makes it bytes.
		b = append(b, " ["...)
		b = strconv.AppendUint(b, uint64(s.Window), 10)
		b = append(b, "×"...)
		b = strconv.AppendInt(b, int64(int(s.WindowScaled)/int(s.Window)), 10)
		b = append(b, ']')
	}
	b = append(append(append(b, "  "...), p.words[wLen]...), ' ')
	p.end(detail, strconv.AppendInt(b, int64(s.Len), 10))
	for _, ch := range st.Changes {
		// The words in lang already: found once, not at every change.
		side, how := p.words[wClient], p.words[wRecv]
		switch ch.Side {
		case tcpstate.SideServer:
			side = p.words[wServer]
		case tcpstate.SideBoth:
			side = p.words[wBoth]
		}
		if ch.Sending {
			how = p.words[wSends]
		}
		args := [...]Arg{str("side", side), str("from", ch.From.String()), str("to", ch.To.String()), str("how", how), str("why", ch.Why.phrase(p.lang))}
		p.msg(detail, Msg{Key: mTlChange.Key, Args: args[:], t: mTlChange.t})
	}
	for _, m := range st.Notes {
		p.msg(detail, m)
	}
}

// appendNumAbs appends "rel [abs]".
func appendNumAbs(b []byte, rel, abs uint32) []byte {
	b = strconv.AppendUint(b, uint64(rel), 10)
	b = append(b, " ["...)
	b = strconv.AppendUint(b, uint64(abs), 10)
	return append(b, ']')
}

// data prints the data phase summed up, in the timeline's place of its
// segments.
func (p *printer) data(e *Explanation) {
	d, segs := e.data, e.Conn.Segments
	first, last := &segs[d.First], &segs[d.Last]
	p.msg(item, M("dp.title", "first", itoa(first.Index), "last", itoa(last.Index), "start", TimeOfDay(first.Time),
		"end", TimeOfDay(last.Time), "dur", Dur(d.Duration)))
	p.msg(detail, M("dp.full", "n", itoa(d.Count()), "max", itoa(CollapseAbove)))
	for _, m := range d.DirLines(false) {
		p.msg(detail, m)
	}
}

// section prints a blank line, a title and its messages as a list.
func (p *printer) section(title Msg, msgs []Msg) {
	p.w.WriteByte('\n')
	p.msg(top, title)
	for _, m := range msgs {
		p.msg(bullet, m)
	}
}

// Width is the number of terminal columns s takes: East Asian wide and
// full-width characters take two.
func Width(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if c := s[i]; c > 0 && c < utf8.RuneSelf {
			n, i = n+1, i+1 // most of it: a column a byte
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += RuneWidth(r)
		i += size
	}
	return n
}

// RuneWidth is the number of terminal columns r takes.
func RuneWidth(r rune) int {
	if r > 0 && r < 0x300 {
		// Below the first nonspacing mark (U+0300): most of the text, and
		// the Mn table need not be searched. Inlined, apart from the rest.
		return 1
	}
	return runeWidth(r)
}

// runeWidth is RuneWidth of the runes outside its shortcut.
func runeWidth(r rune) int {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF:
		return 2 // CJK ideographs, most of the Chinese text
	case r >= 0x2010 && r < 0x20D0, r >= 0x2100 && r < 0x27C0:
		return 1 // punctuation, arrows, box drawing, symbols: no marks among them
	case r == 0 || unicode.Is(unicode.Mn, r):
		return 0
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F,
		r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6:
		return 2
	}
	return 1
}

// closes reports whether r is a character a line must not start with
// (Chinese punctuation that closes).
func closes(r rune) bool {
	switch r {
	case '，', '。', '、', '：', '；', '！', '？', '）', '》', '」', '』', '】', ',', '.', ':', ';', '!', '?', ')', '%':
		return true
	}
	return false
}

// opens reports whether r is a wide character a line must not end with
// (an opening bracket); it may break after any other.
func opens(r rune) bool {
	switch r {
	case '（', '《', '「', '『', '【':
		return true
	}
	return false
}

// Wrap splits text into lines of at most width columns, breaking at spaces
// and, in Chinese, between wide characters; narrower than 20 columns, it
// leaves text whole.
func Wrap(text string, width int) []string {
	var lines []string
	eachLine([]byte(text), width, func(l []byte) { lines = append(lines, string(l)) })
	return lines
}

// eachLine calls f with each line of text wrapped as Wrap says.
func eachLine(text []byte, width int, f func([]byte)) {
	if width < 20 {
		f(text)
		return
	}
	for first := true; ; first = false {
		cut, whole := lineEnd(text, width)
		if whole {
			if first || len(text) > 0 {
				f(text)
			}
			return
		}
		f(bytes.TrimRight(text[:cut], " "))
		text = bytes.TrimLeft(text[cut:], " ")
	}
}

// lineEnd reports whether text fits in width columns and, if not, where
// its first line ends: after the last place a line may break within width
// columns, or at width. It reads text once, no further than it must.
func lineEnd(text []byte, width int) (cut int, whole bool) {
	if len(text) <= width {
		return 0, true // a column takes at least a byte
	}
	k := asciiLen(text[:width+1])
	if k == width+1 {
		// Most text is ASCII: a column a byte, breaks only at spaces.
		if sp := bytes.LastIndexByte(text[:width], ' '); sp > 0 {
			return sp, false
		}
		return width, false
	}
	// The first k bytes take a column each, but a NUL, none.
	if bytes.IndexByte(text[:k], 0) >= 0 {
		return wideLineEnd(text, width)
	}
	// While every rune takes a column (English: ASCII, arrows, marks),
	// a line breaks only at spaces, as below.
	for i, col := k, k; i < len(text); col++ {
		// Eight ASCII bytes but NUL at a time, short of the width: the
		// rest of English text between its symbols.
		for col+8 <= width && i+8 <= len(text) {
			x := binary.LittleEndian.Uint64(text[i:])
			if x&hi != 0 || (x-lo)&^x&hi != 0 {
				break
			}
			i, col = i+8, col+8
		}
		if i == len(text) {
			break
		}
		size := 1
		if c := text[i]; c >= utf8.RuneSelf {
			var r rune
			if r, size = utf8.DecodeRune(text[i:]); RuneWidth(r) != 1 {
				return wideLineEnd(text, width)
			}
		} else if c == 0 {
			return wideLineEnd(text, width)
		}
		if col == width {
			if sp := bytes.LastIndexByte(text[:i], ' '); sp > 0 {
				return sp, false
			}
			return i, false
		}
		i += size
	}
	return 0, true
}

// lo and hi have a one and a high bit in each byte of a word.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// wideLineEnd is lineEnd for text with runes of other widths than one.
func wideLineEnd(text []byte, width int) (cut int, whole bool) {
	col, lastBreak := 0, -1
	prevWide := false // the previous rune is wide, a line may break after it
	for i := 0; i < len(text); {
		r, size, rw := rune(text[i]), 1, 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(text[i:])
			rw = RuneWidth(r)
		} else if r == 0 {
			rw = 0
		}
		if col+rw > width {
			if lastBreak <= 0 {
				lastBreak = i
			}
			return lastBreak, false
		}
		if r == ' ' {
			lastBreak = i
		} else if i > 0 && (rw == 2 || prevWide) && !closes(r) {
			lastBreak = i
		}
		col += rw
		i += size
		prevWide = rw == 2 && !opens(r)
	}
	return 0, true
}

// asciiLen is the length of the ASCII prefix of b.
func asciiLen(b []byte) int {
	i := 0
	for ; i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&hi == 0; i += 8 {
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return i
		}
	}
	return len(b)
}
