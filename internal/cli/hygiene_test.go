package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"synfin/render/conn"
)

// runMain runs synfin in process and returns its exit status and outputs.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// genCapture writes the reference workload of n connections to a pcap.
func genCapture(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gen.pcap")
	if code, _, stderr := runMain(t, "gen", "-q", "--conns", strconv.Itoa(n), "-w", p); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	return p
}

// TestConnsHeaderAfterInput: the table's header is printed only once the
// input is open; a missing file gives the error alone.
func TestConnsHeaderAfterInput(t *testing.T) {
	for _, jobs := range []string{"1", "2"} {
		code, stdout, stderr := runMain(t, "conns", "--jobs", jobs, "-r", filepath.Join(t.TempDir(), "nonexistent"))
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("conns --jobs %s -r MISSING: exit %d, stdout %q, stderr %q; want exit 1, no output, one error line", jobs, code, stdout, stderr)
		}
		code, stdout, _ = runMain(t, "conns", "--jobs", jobs, "-r", genCapture(t, 8))
		if code != 0 || !strings.HasPrefix(stdout, conn.Header) || strings.Count(stdout, "\n") < 2 {
			t.Errorf("conns --jobs %s: exit %d, output %q; want the header and rows", jobs, code, stdout)
		}
	}
}

// TestOutputDashIsStdout: -o - writes to standard output what -o FILE
// writes to the file, and creates no file named "-".
func TestOutputDashIsStdout(t *testing.T) {
	p := genCapture(t, 8)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, format := range []string{"ascii", "svg", "mermaid", "html"} {
		file := filepath.Join(dir, "out."+format)
		if code, _, stderr := runMain(t, "diagram", "-r", p, "--format", format, "-o", file); code != 0 {
			t.Fatalf("diagram -o FILE: exit %d: %s", code, stderr)
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runMain(t, "diagram", "-r", p, "--format", format, "-o", "-")
		if code != 0 || stdout != string(want) || len(want) == 0 {
			t.Errorf("diagram --format %s -o -: exit %d (%s), %d bytes on stdout; want the %d bytes -o FILE writes", format, code, stderr, len(stdout), len(want))
		}
		if _, err := os.Lstat(filepath.Join(dir, "-")); err == nil {
			t.Fatalf("diagram --format %s -o - created a file named -", format)
		}
	}
	// gen -w - already wrote to stdout; explain --html - would mix the
	// report with the explanations there: refused.
	if code, _, stderr := runMain(t, "explain", "-r", p, "--html", "-"); code != 2 {
		t.Errorf("explain --html -: exit %d, stderr %q; want a usage error", code, stderr)
	}
	if _, err := os.Lstat(filepath.Join(dir, "-")); err == nil {
		t.Fatalf("explain --html - created a file named -")
	}
}

// TestFailedRunKeepsOutput: a run that fails leaves the previous output
// as it was, and no file when there was none: a mistyped input, a
// connection that is not there.
func TestFailedRunKeepsOutput(t *testing.T) {
	p := genCapture(t, 8)
	dir := t.TempDir()
	missing := filepath.Join(dir, "typo.pcap")
	cases := []struct {
		name string
		args func(out string) []string
	}{
		{"diagram html, missing input", func(o string) []string { return []string{"diagram", "-r", missing, "--format", "html", "-o", o} }},
		{"diagram svg, --conn 999", func(o string) []string {
			return []string{"diagram", "-r", p, "--format", "svg", "--conn", "999", "-o", o}
		}},
		{"diagram ascii, --conn 999", func(o string) []string { return []string{"diagram", "-r", p, "--conn", "999", "-o", o} }},
		{"explain --html, missing input", func(o string) []string { return []string{"explain", "-r", missing, "--html", o} }},
		{"explain --html, --conn 999", func(o string) []string { return []string{"explain", "-r", p, "--conn", "999", "--html", o} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			good := filepath.Join(t.TempDir(), "report")
			if err := os.WriteFile(good, []byte("a good report"), 0o644); err != nil {
				t.Fatal(err)
			}
			if code, _, _ := runMain(t, tc.args(good)...); code == 0 {
				t.Fatalf("%q succeeded", tc.args(good))
			}
			if b, err := os.ReadFile(good); err != nil || string(b) != "a good report" {
				t.Errorf("after the failed run the output holds %q (%v); want the previous report", b, err)
			}
			fresh := filepath.Join(t.TempDir(), "new")
			runMain(t, tc.args(fresh)...)
			if es, _ := os.ReadDir(filepath.Dir(fresh)); len(es) != 0 {
				t.Errorf("the failed run left %s", es[0].Name())
			}
		})
	}
	// And a run that succeeds replaces it.
	good := filepath.Join(dir, "report.html")
	if err := os.WriteFile(good, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain(t, "diagram", "-r", p, "--format", "html", "-o", good); code != 0 {
		t.Fatalf("diagram: exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(good); !bytes.Contains(b, []byte("<html")) {
		t.Errorf("a successful run left %q", b)
	}
}
