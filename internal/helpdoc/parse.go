package helpdoc

import (
	"strings"
)

// Program is a program's help: its own and each command's.
type Program struct {
	Name     string    // "synfin"
	Help     string    // what "synfin --help" prints
	Flags    []string  // the program's own options ("--help", "--version")
	Commands []Command // in the order to show them
}

// Command is the help of one command as its --help prints it.
type Command struct {
	Name    string // "serve"
	Summary string // one line, as the program's command list shows it
	Help    string // what "synfin serve --help" prints
}

// Help is a help text in its parts.
type Help struct {
	Usage  []string // the synopses, without "Usage: "
	Blocks []Block  // what follows, in order
}

// Block is a paragraph, or a titled list ("Options:", "Examples:").
type Block struct {
	Title   string   // "Options", "Examples", "Commands"; "" for a paragraph
	Lines   []string // a paragraph's lines, as printed
	Entries []Entry  // a titled list's entries
}

// Entry is one item of a list: a term ("--mode MODE", an example's
// command line) and what is said of it.
type Entry struct {
	Term  string
	Desc  string  // the description, its lines joined by spaces
	Items []Entry // a list inside the description (the values of --mode)
}

// Flag is an option that an Options entry names.
type Flag struct {
	Name    string   // "-r", "--max-conns", "-#"
	Value   string   // what it takes ("FILE", "N"), "" for none
	Desc    string   // the entry's description
	Choices []string // the values it takes, where the help lists them
}

// Parse splits a help text into its parts: the usage lines (the first
// paragraph that starts "Usage: "), and paragraphs and titled lists,
// separated by blank lines. A list's
// entries start at the list's indentation; their descriptions start at
// one column, the one most entries use, and continue on lines indented
// to it or deeper.
func Parse(text string) Help {
	var h Help
	for _, para := range strings.Split(strings.TrimRight(text, "\n"), "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		if len(lines) == 0 || lines[0] == "" {
			continue
		}
		if u, ok := strings.CutPrefix(lines[0], "Usage: "); ok && len(h.Usage) == 0 {
			h.Usage = append(h.Usage, u)
			for _, l := range lines[1:] {
				l = strings.TrimSpace(l)
				if strings.HasPrefix(l, "synfin ") || len(h.Usage) == 0 {
					h.Usage = append(h.Usage, l)
				} else {
					h.Usage[len(h.Usage)-1] += " " + l
				}
			}
			continue
		}
		if title, ok := strings.CutSuffix(lines[0], ":"); ok && len(lines) > 1 && indentOf(title) == 0 && indentOf(lines[1]) > 0 {
			h.Blocks = append(h.Blocks, Block{Title: title, Entries: entries(lines[1:])})
			continue
		}
		h.Blocks = append(h.Blocks, Block{Lines: lines})
	}
	return h
}

// Block returns the first block with that title.
func (h Help) Block(title string) *Block {
	for i := range h.Blocks {
		if h.Blocks[i].Title == title {
			return &h.Blocks[i]
		}
	}
	return nil
}

// entries parses the lines of a list.
func entries(lines []string) []Entry {
	indent := indentOf(lines[0])
	col := descColumn(lines, indent)
	var out []Entry
	var sub []string // lines of the list inside the current description
	flush := func() {
		if len(sub) > 0 && len(out) > 0 {
			out[len(out)-1].Items = entries(sub)
		}
		sub = nil
	}
	for i, l := range lines {
		in := indentOf(l)
		switch {
		case in == indent:
			flush()
			term, desc := splitAt(l, col, i+1 < len(lines) && indentOf(lines[i+1]) == col)
			out = append(out, Entry{Term: strings.TrimSpace(term), Desc: strings.TrimSpace(desc)})
		case len(out) == 0:
		case in > col || len(sub) > 0 && in >= col:
			// Deeper than the descriptions: a list inside one.
			sub = append(sub, l)
		default:
			e := &out[len(out)-1]
			e.Desc = strings.TrimSpace(e.Desc + " " + strings.TrimSpace(l))
		}
	}
	flush()
	return out
}

// descColumn is the column where most entries' descriptions start: the
// first after a gap of two spaces or more.
func descColumn(lines []string, indent int) int {
	count := map[int]int{}
	best := 0
	for _, l := range lines {
		if indentOf(l) != indent {
			continue
		}
		if i := strings.Index(l[indent:], "  "); i >= 0 {
			c := indent + i + len(l[indent+i:]) - len(strings.TrimLeft(l[indent+i:], " "))
			if c < len(l) {
				count[c]++
				if count[c] > count[best] || count[c] == count[best] && c < best {
					best = c
				}
			}
		}
	}
	return best
}

// splitAt splits an entry's first line into term and description at
// the first gap of two spaces or, for a term that fills its column, at
// col when a single space ends the term there, the line is not all
// options ("--max-conns N", its description below), and the term is
// options ("--timeout DURATION") or the description goes on below
// (cont).
func splitAt(l string, col int, cont bool) (string, string) {
	in := indentOf(l)
	if i := strings.Index(l[in:], "  "); i >= 0 {
		return l[:in+i], l[in+i:]
	}
	if col > 1 && col < len(l) && l[col-1] == ' ' && l[col-2] != ' ' && !options(l) && (cont || options(l[:col-1])) {
		return l[:col-1], l[col:]
	}
	return l, ""
}

// options reports whether a term is options and their values only:
// "-T TYPE, -b".
func options(term string) bool {
	for _, w := range strings.Fields(term) {
		w = strings.TrimSuffix(w, ",")
		if !strings.HasPrefix(w, "-") && strings.ToUpper(w) != w {
			return false
		}
	}
	return true
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// Flags returns the options the help's "Options" list names, in order,
// with the values each takes where the usage lines ("--lang en|zh") or
// a list in the description (the values of --mode) give them.
func (h Help) Flags() []Flag {
	b := h.Block("Options")
	if b == nil {
		return nil
	}
	choices := usageChoices(h.Usage)
	var out []Flag
	for _, e := range b.Entries {
		for _, part := range strings.Split(e.Term, ", ") {
			name, value, _ := strings.Cut(part, " ")
			if !strings.HasPrefix(name, "-") {
				continue // a positional word such as EXPR
			}
			f := Flag{Name: name, Value: value, Desc: e.Desc, Choices: choices[name]}
			if f.Value != "" && f.Choices == nil {
				for _, it := range e.Items {
					f.Choices = append(f.Choices, it.Term)
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// usageChoices finds "--flag a|b|c" in usage lines.
func usageChoices(usage []string) map[string][]string {
	m := map[string][]string{}
	for _, u := range usage {
		w := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(u))
		for i := 0; i+1 < len(w); i++ {
			if strings.HasPrefix(w[i], "-") && strings.Contains(w[i+1], "|") && !strings.HasPrefix(w[i+1], "-") {
				m[w[i]] = strings.Split(w[i+1], "|")
			}
		}
	}
	return m
}

// Args returns the choices of a command's first positional argument
// where its usage gives them ("synfin completion bash|zsh|fish").
func (h Help) Args() []string {
	for _, u := range h.Usage {
		w := strings.Fields(u)
		if len(w) > 2 && strings.Contains(w[2], "|") && !strings.ContainsAny(w[2], "[-") {
			return strings.Split(w[2], "|")
		}
	}
	return nil
}
