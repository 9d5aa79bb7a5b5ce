package helpdoc_test

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/helpdoc"
)

const serveHelp = `Usage: prog serve [--addr ADDR] [--lang en|zh]
                  [--mode MODE]

Listens and accepts.
Errors go to standard error.

Options:
  --addr ADDR        address to listen on (default
                     127.0.0.1:9988)
  --mode MODE        what to do with each connection:
                       seed            the default: read
                                       nothing
                       hold            keep it open
  --timeout DURATION connect timeout
  -n, -tt            numbers
  --max-conns N
                     at most N
  EXPR               a filter

Examples:
  prog serve                               the seed's server
  prog dial --lport 40000 -c 2 --wait 10ms two connections from one
                                           port (server: prog serve)
  tcpdump -i lo -l -n -S port 9988 | prog explain -r - --hold 2s
`

func TestParse(t *testing.T) {
	h := helpdoc.Parse(serveHelp)
	want := helpdoc.Help{
		Usage: []string{"prog serve [--addr ADDR] [--lang en|zh] [--mode MODE]"},
		Blocks: []helpdoc.Block{
			{Lines: []string{"Listens and accepts.", "Errors go to standard error."}},
			{Title: "Options", Entries: []helpdoc.Entry{
				{Term: "--addr ADDR", Desc: "address to listen on (default 127.0.0.1:9988)"},
				{Term: "--mode MODE", Desc: "what to do with each connection:", Items: []helpdoc.Entry{
					{Term: "seed", Desc: "the default: read nothing"},
					{Term: "hold", Desc: "keep it open"},
				}},
				{Term: "--timeout DURATION", Desc: "connect timeout"},
				{Term: "-n, -tt", Desc: "numbers"},
				{Term: "--max-conns N", Desc: "at most N"},
				{Term: "EXPR", Desc: "a filter"},
			}},
			{Title: "Examples", Entries: []helpdoc.Entry{
				{Term: "prog serve", Desc: "the seed's server"},
				{Term: "prog dial --lport 40000 -c 2 --wait 10ms", Desc: "two connections from one port (server: prog serve)"},
				{Term: "tcpdump -i lo -l -n -S port 9988 | prog explain -r - --hold 2s"},
			}},
		},
	}
	if d := cmp.Diff(want, h); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
	wantFlags := []helpdoc.Flag{
		{Name: "--addr", Value: "ADDR", Desc: "address to listen on (default 127.0.0.1:9988)"},
		{Name: "--mode", Value: "MODE", Desc: "what to do with each connection:", Choices: []string{"seed", "hold"}},
		{Name: "--timeout", Value: "DURATION", Desc: "connect timeout"},
		{Name: "-n", Desc: "numbers"},
		{Name: "-tt", Desc: "numbers"},
		{Name: "--max-conns", Value: "N", Desc: "at most N"},
	}
	if d := cmp.Diff(wantFlags, h.Flags()); d != "" {
		t.Errorf("Flags (-want +got):\n%s", d)
	}
}

// TestTermFillsColumn: a term as wide as its column is followed by one
// space, as read's "-T TYPE, -b" is.
func TestTermFillsColumn(t *testing.T) {
	h := helpdoc.Parse("Usage: prog read\n\nOptions:\n  -r FILE     capture\n  -T TYPE, -b accepted (they only change what\n              tcpdump prints)\n")
	want := []helpdoc.Flag{
		{Name: "-r", Value: "FILE", Desc: "capture"},
		{Name: "-T", Value: "TYPE", Desc: "accepted (they only change what tcpdump prints)"},
		{Name: "-b", Desc: "accepted (they only change what tcpdump prints)"},
	}
	if d := cmp.Diff(want, h.Flags()); d != "" {
		t.Errorf("Flags (-want +got):\n%s", d)
	}
}

func TestUsageChoicesAndArgs(t *testing.T) {
	h := helpdoc.Parse("Usage: prog completion bash|zsh|fish\n\nOptions:\n  --lang L   language\n\nUsage of --lang: [--lang en|zh]\n")
	if d := cmp.Diff([]string{"bash", "zsh", "fish"}, h.Args()); d != "" {
		t.Errorf("Args (-want +got):\n%s", d)
	}
	h = helpdoc.Parse("Usage: prog x [--lang en|zh] [--format a|b]\n\nOptions:\n  --lang L     language\n  --format F   format\n")
	f := h.Flags()
	if len(f) != 2 || !cmp.Equal(f[0].Choices, []string{"en", "zh"}) || !cmp.Equal(f[1].Choices, []string{"a", "b"}) {
		t.Errorf("Flags = %+v; want choices from the usage line", f)
	}
}

func TestWriteArgs(t *testing.T) {
	p := helpdoc.Program{Name: "prog", Help: "Usage: prog COMMAND\n"}
	for _, tc := range []struct {
		what string
		args []string
		err  string
	}{
		{"completion", nil, "helpdoc: name one shell: bash, zsh, fish"},
		{"completion", []string{"ksh"}, `helpdoc: no completion for "ksh" (one of bash, zsh, fish)`},
		{"man", []string{"x"}, "helpdoc: man takes no argument"},
	} {
		err := helpdoc.Write(os.Stdout, tc.what, tc.args, p, helpdoc.Manual{})
		if err == nil || err.Error() != tc.err {
			t.Errorf("Write(%s %q) = %v, want %s", tc.what, tc.args, err, tc.err)
		}
	}
}
