package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareBadInput: one clear line on standard error and a non-zero
// exit, or, for a damaged capture, the report of what was readable
// before the damage, then the damage.
func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join("..", "..", "vantage", "testdata", "data.pcap"), filepath.Join("..", "..", "vantage", "testdata", "data.server.pcap")
	whole, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, whole[:len(whole)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	notCapture := filepath.Join(dir, "x.pcap")
	if err := os.WriteFile(notCapture, []byte("\x00\x01 not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args       []string
		code       int
		out, errln string
	}{
		{[]string{"-r", a}, 2, "", "two captures"},
		{[]string{"-r", a, "-r", filepath.Join(dir, "missing.pcap")}, 1, "", "missing.pcap"},
		{[]string{"-r", a, "-r", notCapture}, 1, "", "x.pcap"},
		{[]string{"-r", a, "-r", b, "--conn", "2"}, 1, "", "no connection 2"},
		{[]string{"-r", a, "-r", b, "--lang", "fr"}, 2, "", "--lang"},
		{[]string{"-r", a, "-r", b, "port ="}, 2, "", "synfin compare"},
		{[]string{"-r", a, "-r", cut}, 1, "Connection 1:", "cut.pcap"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Main(context.Background(), append([]string{"compare"}, c.args...), nil, &out, &errb)
			if code != c.code || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), c.errln) || !strings.Contains(out.String(), c.out) {
				t.Errorf("exit %d, stderr %q, stdout %.300q; want exit %d, one line with %q, stdout with %q", code, errb.String(), out.String(), c.code, c.errln, c.out)
			}
		})
	}
}
