package explain

import (
	"bufio"
	"fmt"
	"io"
	"strings"
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

// Write prints the explanation of c.
func Write(w io.Writer, c *tcpstate.Conn, opt Options) error {
	if err := CheckLang(opt.Lang); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	p := &printer{w: bw, lang: opt.Lang, width: opt.Width}
	if p.lang == "" {
		p.lang = English
	}
	if p.width == 0 {
		p.width = 80
	}
	p.ladder = opt.Ladder
	p.print(explain(c, !opt.Full))
	if p.err != nil {
		return p.err
	}
	return bw.Flush()
}

type printer struct {
	w      *bufio.Writer
	lang   string
	width  int
	ladder func(io.Writer, *tcpstate.Conn) error
	err    error // from ladder
}

func (p *printer) t(m Msg) string { return m.Text(p.lang) }

// line writes text wrapped at the width, the first line after prefix and
// the rest indented to the prefix's width.
func (p *printer) line(prefix, text string) {
	indent := strings.Repeat(" ", Width(prefix))
	for i, l := range Wrap(text, p.width-Width(prefix)) {
		if i == 0 {
			p.w.WriteString(prefix)
		} else {
			p.w.WriteString(indent)
		}
		p.w.WriteString(l)
		p.w.WriteByte('\n')
	}
}

func (p *printer) print(e *Explanation) {
	p.line("", p.t(e.Title))
	for _, m := range e.Header {
		p.line("  ", p.t(m))
	}
	p.section("v.title", e.Verdict)
	if len(e.Steps) > 0 {
		p.w.WriteByte('\n')
		p.line("", p.t(M("tl.title")))
	}
	cw, sw := p.t(M("w.client")), p.t(M("w.server"))
	for i, st := range e.Steps {
		if e.Data != nil && i == e.DataAt {
			p.data(e)
		}
		s := st.Seg
		from, to := cw, sw
		if s.Dir == tcpstate.S2C {
			from, to = sw, cw
		}
		flags := string(s.Flags.AppendTcpdump(nil))
		since := ""
		if st.Since > 0 {
			since = " +" + Dur(st.Since)
		}
		p.line("  ", fmt.Sprintf("#%d  %s%s  %s → %s  [%s]  %s", s.Index, TimeOfDay(s.Time), since, from, to, flags, p.t(M("w.phase."+s.Phase.String()))))
		nums := fmt.Sprintf("seq %d [%d]", s.RelSeq, s.Seq)
		if s.Flags&wire.ACK != 0 {
			nums += fmt.Sprintf("  ack %d [%d]", s.RelAck, s.Ack)
		}
		nums += fmt.Sprintf("  %s %d", p.t(M("w.win")), s.WindowScaled)
		if s.Window != 0 && int(s.Window) != int(s.WindowScaled) {
			// tcpdump prints the field as sent; the scale is what makes it bytes.
			nums += fmt.Sprintf(" [%d×%d]", s.Window, int(s.WindowScaled)/int(s.Window))
		}
		nums += fmt.Sprintf("  %s %d", p.t(M("w.len")), s.Len)
		p.line("      ", nums)
		for _, ch := range st.Changes {
			how := "w.recv"
			if ch.Sending {
				how = "w.sends"
			}
			p.line("      ", p.t(M("tl.change", "side", sideWord(ch.Side), "from", ch.From.String(), "to", ch.To.String(), "how", Word(how), "why", Word(ch.Why.Key))))
		}
		for _, m := range st.Notes {
			p.line("      ", p.t(m))
		}
	}
	if e.Data != nil && e.DataAt == len(e.Steps) {
		p.data(e)
	}
	if p.ladder != nil && len(e.Steps) > 0 {
		p.w.WriteByte('\n')
		p.line("", p.t(M("ui.ladder")))
		p.err = p.ladder(p.w, e.Conn)
	}
	if len(e.Missing) > 0 {
		p.section("miss.title", e.Missing)
	}
	p.section("sum.title", e.Summary)
	p.w.WriteByte('\n')
}

// data prints the data phase summed up, in the timeline's place of its
// segments.
func (p *printer) data(e *Explanation) {
	d, segs := e.Data, e.Conn.Segments
	first, last := &segs[d.First], &segs[d.Last]
	p.line("  ", p.t(M("dp.title", "first", itoa(first.Index), "last", itoa(last.Index), "start", TimeOfDay(first.Time),
		"end", TimeOfDay(last.Time), "dur", Dur(d.Duration))))
	p.line("      ", p.t(M("dp.full", "n", itoa(d.Count()), "max", itoa(CollapseAbove))))
	for _, m := range d.DirLines(false) {
		p.line("      ", p.t(m))
	}
}

// section prints a blank line, a title and its messages as a list.
func (p *printer) section(title string, msgs []Msg) {
	p.w.WriteByte('\n')
	p.line("", p.t(M(title)))
	for _, m := range msgs {
		p.line("  • ", p.t(m))
	}
}

// Width is the number of terminal columns s takes: East Asian wide and
// full-width characters take two.
func Width(s string) int {
	n := 0
	for _, r := range s {
		n += RuneWidth(r)
	}
	return n
}

// RuneWidth is the number of terminal columns r takes.
func RuneWidth(r rune) int {
	switch {
	case r > 0 && r < 0x300:
		// Below the first nonspacing mark (U+0300): most of the text, and
		// the Mn table need not be searched.
		return 1
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

// noBreakBefore are characters a line must not start with (Chinese
// punctuation that closes).
const noBreakBefore = "，。、：；！？）》」』】,.:;!?)%"

// Wrap splits text into lines of at most width columns, breaking at spaces
// and, in Chinese, between wide characters; narrower than 20 columns, it
// leaves text whole.
func Wrap(text string, width int) []string {
	if width < 20 || fits(text, width) {
		return []string{text}
	}
	var lines []string
	for !fits(text, width) {
		cut, col, lastBreak := 0, 0, -1
		prev := rune(0)
		for i, r := range text {
			rw := RuneWidth(r)
			if col+rw > width {
				break
			}
			if r == ' ' {
				lastBreak = i
			} else if i > 0 && (rw == 2 || breaksAfter(prev)) && !strings.ContainsRune(noBreakBefore, r) {
				lastBreak = i
			}
			col += rw
			cut = i + utf8.RuneLen(r)
			prev = r
		}
		if lastBreak <= 0 {
			lastBreak = cut
		}
		lines = append(lines, strings.TrimRight(text[:lastBreak], " "))
		text = strings.TrimLeft(text[lastBreak:], " ")
	}
	if text != "" {
		lines = append(lines, text)
	}
	return lines
}

// breaksAfter reports whether a line may break after r: a wide character
// other than an opening bracket.
func breaksAfter(r rune) bool {
	return RuneWidth(r) == 2 && !strings.ContainsRune("（《「『【", r)
}

// fits reports whether s takes at most width columns, counting no further
// than it must.
func fits(s string, width int) bool {
	n := 0
	for _, r := range s {
		if n += RuneWidth(r); n > width {
			return false
		}
	}
	return true
}
