package tcpdump

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/names"
	"synfin/internal/pcaptest"
	"synfin/internal/tcpdumpcmp"
	"synfin/internal/testenv"
	"synfin/wire"
)

var update = flag.Bool("update", false, "rewrite golden files and recorded match rates")

// TestInstalledTcpdump prints every capture of tcpdump's corpus with
// several flag sets and compares the TCP records with what the installed
// tcpdump prints for the same file and flags.
func TestInstalledTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	files := corpusCaptures(t)
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

// corpusCaptures lists the pcap and pcapng files of tcpdump's corpus.
func corpusCaptures(t *testing.T) []string {
	dir := corpus.Dir(t, "tcpdump")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	ng, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	files = append(files, ng...)
	sort.Strings(files)
	return files
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

// TestInstalledTcpdumpNames prints every capture of tcpdump's corpus
// without -n, addresses named by a hosts file, beside the installed
// tcpdump reading the same hosts file with the same flags. The file names
// the addresses of the TCP segments (one in seven with a line of no name,
// which tcpdump prints as an empty name); the others have no name, as
// DNS is not asked on either side. Every record that matches tcpdump with
// -n must match it without.
func TestInstalledTcpdumpNames(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	files := corpusCaptures(t)

	var hosts strings.Builder
	seen := map[netip.Addr]bool{}
	for _, file := range files {
		frames, _ := pcaptest.File(t, file)
		for i := range frames {
			var p wire.Packet
			p.Decode(frames[i].Link, frames[i].Data)
			for _, a := range []netip.Addr{p.Src, p.Dst} {
				if !a.IsValid() || seen[a] {
					continue
				}
				seen[a] = true
				if len(seen)%7 == 0 {
					fmt.Fprintf(&hosts, "%s\n", a)
				} else {
					fmt.Fprintf(&hosts, "%s h%d.example h%d\n", a, len(seen), len(seen))
				}
			}
		}
	}
	hostsFile := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hostsFile, []byte(hosts.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	resolver := names.New(names.Options{HostsFile: hostsFile})

	total, named := 0, 0
	for _, file := range files {
		for _, flags := range [][]string{{}, {"-e", "-v", "-S"}} {
			name := filepath.Base(file) + "/" + strings.Join(flags, "")
			o := optsFromFlags(t, flags)
			numeric := tcpdumpcmp.Compare(runTcpdump(t, file, flags), printFile(t, file, o), false)
			matched := map[int]bool{}
			for _, r := range numeric {
				matched[r.N] = r.Match
			}
			o.Numeric, o.Hosts = false, resolver
			var (
				out []byte
				err error
			)
			testenv.WithHosts(t, hosts.String(), func() { out, err = tcpdumpCmd(file, flags).Output() })
			want := tcpdumpOutput(t, out, err)
			got := printFile(t, file, o)
			for _, r := range tcpdumpcmp.Compare(want, got, false) {
				if !matched[r.N] {
					continue
				}
				total++
				if !r.Match {
					t.Errorf("%s #%d, without -n:\nwant: %q\n got: %q", name, r.N, r.Want, r.Got)
					continue
				}
				if strings.Contains(r.Got, ".example") {
					named++
				}
			}
		}
	}
	if named == 0 {
		t.Fatalf("no record printed a name (of %d)", total)
	}
	t.Logf("%d records that match tcpdump -n match tcpdump without -n, %d of them with host names", total, named)
}
