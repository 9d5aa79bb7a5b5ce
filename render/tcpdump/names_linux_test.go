package tcpdump

import (
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

// TestInstalledTcpdumpNames prints every capture of tcpdump's corpus
// without -n, addresses named by a hosts file, beside the installed
// tcpdump reading the same hosts file with the same flags. The file names
// the addresses of the TCP segments (one in seven with a line of no name,
// which tcpdump prints as an empty name); the others have no name, as
// DNS is not asked on either side. Every record that matches tcpdump with
// -n must match it without.
func TestInstalledTcpdumpNames(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	dir := corpus.Dir(t, "tcpdump")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
	ng, _ := filepath.Glob(filepath.Join(dir, "*.pcapng"))
	files = append(files, ng...)
	sort.Strings(files)

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
			want := output(t, testenv.WithHosts(t, tcpdumpCmd(file, flags), hosts.String()))
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
