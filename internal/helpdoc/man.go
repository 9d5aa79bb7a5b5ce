package helpdoc

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// Manual is what a manual page says beside the help.
type Manual struct {
	Version string   // printed in the page's footer
	Date    string   // of the page, "2024-06-01" (or the date of an RFC 3339 time); "" is today's
	SeeAlso []string // "tcpdump(1)"
}

// WriteMan writes the manual page, section 1, in roff with the man
// macros: NAME and SYNOPSIS from the program's help and every command's
// usage, DESCRIPTION from the program's help, then a subsection per
// command with its whole help: paragraphs, options as tagged
// paragraphs, examples as literal text.
func WriteMan(w io.Writer, p Program, m Manual) error {
	var buf bytes.Buffer
	b := bufio.NewWriter(&buf)
	top := Parse(p.Help)
	if m.Date == "" {
		m.Date = time.Now().UTC().Format(time.DateOnly)
	}
	m.Date = m.Date[:min(len(m.Date), len(time.DateOnly))]
	fmt.Fprintf(b, ".TH %s 1 %s %s \"User Commands\"\n", strings.ToUpper(p.Name), quote(m.Date), quote(p.Name+" "+m.Version))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(b, "%s \\- %s\n", p.Name, text(nameLine(top, p.Name)))
	b.WriteString(".SH SYNOPSIS\n")
	for _, u := range top.Usage {
		synopsis(b, u)
	}
	for _, c := range p.Commands {
		for _, u := range Parse(c.Help).Usage {
			synopsis(b, u)
		}
	}
	b.WriteString(".SH DESCRIPTION\n")
	blocks(b, top.Blocks)
	b.WriteString(".SH COMMANDS\n")
	for _, c := range p.Commands {
		fmt.Fprintf(b, ".SS %s\n", quote(p.Name+" "+c.Name))
		h := Parse(c.Help)
		for _, u := range h.Usage {
			synopsis(b, u)
		}
		blocks(b, h.Blocks)
	}
	if len(m.SeeAlso) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, s := range m.SeeAlso {
			name, sec, _ := strings.Cut(strings.TrimSuffix(s, ")"), "(")
			sep := ","
			if i == len(m.SeeAlso)-1 {
				sep = ""
			}
			fmt.Fprintf(b, ".BR %s (%s)%s\n", code(name), sec, sep)
		}
	}
	b.Flush()
	// A paragraph starts a section of itself: no .PP after .SH or .SS.
	out := bufio.NewWriter(w)
	prev := ""
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l == ".PP\n" && (strings.HasPrefix(prev, ".SH ") || strings.HasPrefix(prev, ".SS ")) {
			continue
		}
		out.WriteString(l)
		prev = l
	}
	return out.Flush()
}

// nameLine is the NAME section's line: the program help's first
// sentence without the program's name ("makes TCP connection lifecycles
// visible").
func nameLine(h Help, name string) string {
	for _, b := range h.Blocks {
		if b.Title == "" && len(b.Lines) > 0 {
			s := strings.TrimPrefix(strings.Join(b.Lines, " "), name+" ")
			if i := strings.IndexAny(s, ":."); i > 0 {
				s = s[:i]
			}
			return s
		}
	}
	return name
}

// synopsis writes one usage line, the command in bold.
func synopsis(b *bufio.Writer, u string) {
	w := strings.Fields(u)
	n := 1
	if len(w) > 1 && !strings.HasPrefix(w[1], "-") && !strings.HasPrefix(w[1], "[") && strings.ToLower(w[1]) == w[1] {
		n = 2 // "synfin serve"
	}
	fmt.Fprintf(b, ".PP\n.B %s\n", quote(strings.Join(w[:min(n, len(w))], " ")))
	if len(w) > n {
		fmt.Fprintf(b, "%s\n", wrap(strings.Join(w[n:], " "), code))
	}
}

// blocks writes paragraphs and lists.
func blocks(b *bufio.Writer, bs []Block) {
	for _, bl := range bs {
		switch {
		case bl.Title == "":
			paragraph(b, bl.Lines)
		case bl.Title == "Examples":
			fmt.Fprintf(b, ".PP\n%s:\n", text(bl.Title))
			for _, e := range bl.Entries {
				fmt.Fprintf(b, ".RS 4\n.nf\n%s\n.fi\n", code(e.Term))
				if e.Desc != "" {
					fmt.Fprintf(b, ".RS 4\n%s\n.RE\n", text(e.Desc))
				}
				b.WriteString(".RE\n")
			}
		default:
			fmt.Fprintf(b, ".PP\n%s:\n", text(bl.Title))
			list(b, bl.Entries)
		}
	}
}

// list writes entries as tagged paragraphs; a list inside a description
// is indented below it.
func list(b *bufio.Writer, es []Entry) {
	b.WriteString(".RS 2\n")
	for _, e := range es {
		fmt.Fprintf(b, ".TP\n%s\n", bold(e.Term))
		if e.Desc != "" {
			fmt.Fprintf(b, "%s\n", text(e.Desc))
		}
		if len(e.Items) > 0 {
			list(b, e.Items)
		}
	}
	b.WriteString(".RE\n")
}

// paragraph writes a paragraph; indented lines in it are literal text
// (a command to type).
func paragraph(b *bufio.Writer, lines []string) {
	b.WriteString(".PP\n")
	for i := 0; i < len(lines); i++ {
		if indentOf(lines[i]) == 0 {
			fmt.Fprintf(b, "%s\n", text(lines[i]))
			continue
		}
		b.WriteString(".RS 4\n.nf\n")
		for ; i < len(lines) && indentOf(lines[i]) > 0; i++ {
			fmt.Fprintf(b, "%s\n", code(strings.TrimSpace(lines[i])))
		}
		b.WriteString(".fi\n.RE\n")
		i--
	}
}

// bold is a term in bold, its placeholders ("FILE") in italics.
func bold(term string) string {
	var out []string
	for _, part := range strings.Split(term, ", ") {
		w := strings.Fields(part)
		s := `\fB` + code(w[0]) + `\fR`
		for _, v := range w[1:] {
			s += ` \fI` + code(v) + `\fR`
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// text escapes prose (backslashes, characters beyond ASCII, the hyphens
// of words that are options, "--json") and wraps it in lines of at most
// 78 bytes, none starting with a dot or quote.
func text(s string) string {
	return wrap(s, func(x string) string {
		if strings.HasPrefix(strings.TrimLeft(x, "('\""), "-") {
			return code(x)
		}
		return escape(x)
	})
}

// wrap escapes each word of s with esc and fills lines with them.
func wrap(s string, esc func(string) string) string {
	var b strings.Builder
	n := 0
	for _, x := range strings.Fields(s) {
		x = esc(x)
		if n > 0 && n+1+len(x) > 78 {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		x = lead(x)
		b.WriteString(x)
		n += len(x)
	}
	return b.String()
}

// code escapes text to be shown as typed: every hyphen is a minus sign,
// which copies as the ASCII hyphen-minus a shell wants.
func code(s string) string {
	return lead(strings.ReplaceAll(escape(s), "-", `\-`))
}

func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// lead keeps a line's first character from being read as a request.
func lead(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}

// quote makes s one argument of a request.
func quote(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}
