package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/testenv"
	"synfin/tcpstate/track"
)

// TestFloodViews runs the commands that keep every segment of the
// connections they follow (explain, diagram, read --annotate) over a
// flood of never-closed handshakes, more than their default --max-conns,
// as the built binary under /usr/bin/time: peak resident memory stays
// under 100 MB (without the bound they took gigabytes), the evictions are
// said on standard error, and the output shows them.
func TestFloodViews(t *testing.T) {
	if testing.Short() {
		t.Skip("a flood of 300,000 SYNs, run by five commands")
	}
	timeBin := testenv.NeedTool(t, "time")
	gobin := testenv.NeedTool(t, "go")
	dir := t.TempDir()
	bin := filepath.Join(dir, "synfin")
	if out, err := exec.Command(gobin, "build", "-o", bin, "synfin/cmd/synfin").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const n = 300_000
	file := filepath.Join(dir, "flood.pcap")
	writeFlood(t, file, n, 3)
	evicted := fmt.Sprintf("%d connections evicted before their end to stay within --max-conns %d", n-track.DefaultMaxConns, track.DefaultMaxConns)
	leftOut := fmt.Sprintf("the report holds the first %d connections; %d more were left out", track.DefaultMaxReport, n-track.DefaultMaxReport)
	for _, tc := range []struct {
		args    []string
		inOut   string // what the output shows of an evicted connection
		leftOut bool
	}{
		{[]string{"explain", "--json"}, `"end":"evicted"`, false},
		{[]string{"read", "--annotate", "-n"}, "", false},
		{[]string{"diagram"}, "", false},
		{[]string{"diagram", "--format", "svg"}, "", true},
		{[]string{"diagram", "--format", "html"}, "", false},
	} {
		out := filepath.Join(dir, "out")
		cmd := exec.Command(timeBin, append([]string{"-f", "peak %M", bin}, append(tc.args, "-r", file)...)...)
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = f, &stderr
		err = cmd.Run()
		f.Close()
		if err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		last := lines[len(lines)-1]
		kb, err := strconv.Atoi(strings.TrimPrefix(last, "peak "))
		if err != nil {
			t.Fatalf("%v: no peak in %q", tc.args, last)
		}
		said := strings.Join(lines[:len(lines)-1], "\n")
		t.Logf("%v: peak resident %.1f MB", tc.args, float64(kb)/1024)
		if kb > 100<<10 {
			t.Errorf("%v: peak resident memory %d KB, more than 100 MB", tc.args, kb)
		}
		if !strings.Contains(said, evicted) {
			t.Errorf("%v: stderr %q, want %q", tc.args, said, evicted)
		}
		if html := tc.args[len(tc.args)-1] == "html"; html != strings.Contains(said, "synfin diagram: wrote standard output: ") {
			t.Errorf("%v: stderr %q, the report's size said: %v", tc.args, said, !html)
		}
		if tc.leftOut != strings.Contains(said, leftOut) {
			t.Errorf("%v: stderr %q, left out said: %v", tc.args, said, !tc.leftOut)
		}
		if tc.inOut != "" {
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(b), tc.inOut); got != n-track.DefaultMaxConns {
				t.Errorf("%v: %d connections show %q, want %d", tc.args, got, tc.inOut, n-track.DefaultMaxConns)
			}
		}
	}
}
