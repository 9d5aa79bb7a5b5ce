package tcpdump

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/tcpdumpcmp"
	"synfin/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files and recorded match rates")

// TestInstalledTcpdump prints every capture of tcpdump's corpus with
// several flag sets and compares the TCP records with what the installed
// tcpdump prints for the same file and flags.
func TestInstalledTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	dir := corpus.Dir(t, "tcpdump")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	ng, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	files = append(files, ng...)
	sort.Strings(files)
	flagSets := [][]string{
		{}, {"-S"}, {"-v"}, {"-vv"}, {"-e"}, {"-q"}, {"-x"}, {"-XX"}, {"-A"}, {"-tt"}, {"-ttt", "--nano"}, {"-e", "-v", "-S"},
	}
	if s := os.Getenv("SYNFIN_FLAGS"); s != "" {
		flagSets = [][]string{strings.Fields(s)}
	}
	rates := map[string]tcpdumpcmp.Rate{}
	for _, file := range files {
		for _, flags := range flagSets {
			name := filepath.Base(file) + "/" + strings.Join(flags, "")
			want := runTcpdump(t, file, flags)
			got := printFile(t, file, optsFromFlags(t, flags))
			ascii := false
			for _, f := range flags {
				ascii = ascii || strings.Contains(f, "A")
			}
			rs := tcpdumpcmp.Compare(want, got, ascii)
			n, m := tcpdumpcmp.Count(rs)
			rates[name] = tcpdumpcmp.Rate{Match: m, Total: n}
			shown := 0
			for _, r := range rs {
				if r.Match || r.NotInRef {
					continue
				}
				if shown < 1 {
					want := r.Want
					if cut, ok := tcpdumpcmp.CutApp(want, ascii); ok {
						want = cut
					}
					w, g := firstDiff(want, r.Got)
					t.Logf("%s #%d differs:\nwant: %q\n got: %q", name, r.N, w, g)
				}
				shown++
			}
		}
	}
	if os.Getenv("SYNFIN_FLAGS") == "" {
		tcpdumpcmp.CheckRates(t, filepath.Join("testdata", "installed-rates.tsv"), rates, *update)
	}
}

// firstDiff returns the lines where want and got first differ.
func firstDiff(want, got string) (string, string) {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range w {
		if i >= len(g) {
			return w[i], "(end)"
		}
		if w[i] != g[i] {
			return w[i], g[i]
		}
	}
	if len(g) > len(w) {
		return "(end)", g[len(w)]
	}
	return "", ""
}
