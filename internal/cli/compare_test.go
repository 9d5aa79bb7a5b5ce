package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/progress/ptytest"
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

// TestCompareReadsAsOthers: compare opens its inputs as every command
// does. What explain refuses (each refusal checked against tcpdump in
// TestInputRefused), compare refuses with the same line and prints
// nothing; a long read draws the progress bar, as read's does.
func TestCompareReadsAsOthers(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join("..", "..", "vantage", "testdata", "data.pcap")
	text := filepath.Join(dir, "passwd")
	if err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{text, filepath.Join(dir, "missing.pcap"), filepath.Join(dir, "*.none"), dir} {
		t.Run(filepath.Base(bad), func(t *testing.T) {
			var out, errb, eout, eerr bytes.Buffer
			ecode := Main(context.Background(), []string{"explain", "-r", a, "-r", bad}, nil, &eout, &eerr)
			code := Main(context.Background(), []string{"compare", "-r", a, "-r", bad}, nil, &out, &errb)
			want := strings.Replace(eerr.String(), "synfin explain: ", "synfin compare: ", 1)
			if ecode != 1 || code != ecode || out.Len() != 0 || errb.String() != want {
				t.Errorf("exit %d, stdout %.100q, stderr %q; explain exits %d and says %q", code, out.String(), errb.String(), ecode, eerr.String())
			}
		})
	}

	terminalEnv(t)
	path := generated("--conns", "2000", "--seed", "5")(t)
	ctl, tty := ptytest.Open(t)
	stop := ptytest.Collect(ctl, tty)
	var out bytes.Buffer
	if code := runEnv(&Env{Ctx: context.Background(), Stdout: &out, Stderr: tty, progressDelay: -1}, []string{"compare", "-r", path, "-r", path}); code != 0 {
		t.Fatalf("compare exited %d", code)
	}
	if drawn := string(stop()); !strings.Contains(drawn, "% [") || !strings.HasSuffix(drawn, "\r\x1b[K") {
		t.Errorf("no bar drawn and erased on the terminal: %q", drawn)
	}
}
