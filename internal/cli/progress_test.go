package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synfin/gen"
	"synfin/internal/progress/ptytest"
)

// terminalEnv makes the environment one where bars are allowed.
func terminalEnv(t *testing.T) {
	t.Setenv("TERM", "xterm")
	t.Setenv("NO_PROGRESS", "")
}

func TestProgressTo(t *testing.T) {
	terminalEnv(t)
	_, tty := ptytest.Open(t)
	file, err := os.Create(filepath.Join(t.TempDir(), "err"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var buf bytes.Buffer
	for _, c := range []struct {
		name           string
		stdout, stderr io.Writer
		streams        bool
		want           bool
	}{
		{"stderr a terminal, output to a file", file, tty, true, true},
		{"stderr a terminal, output to a pipe", pw, tty, true, true},
		{"both on the terminal, streaming results", tty, tty, true, false},
		{"both on the terminal, results at the end", tty, tty, false, true},
		{"stderr piped", &buf, pw, true, false},
		{"stderr to a file", &buf, file, false, false},
		{"stderr to a buffer", &buf, &buf, false, false},
	} {
		env := &Env{Ctx: context.Background(), Stdout: c.stdout, Stderr: c.stderr}
		cfg := progressTo(env, c.streams)
		if got := cfg != nil; got != c.want {
			t.Errorf("%s: bar %v, want %v", c.name, got, c.want)
		}
		if cfg != nil && cfg.W != c.stderr {
			t.Errorf("%s: bar drawn elsewhere than standard error", c.name)
		}
	}
	t.Setenv("NO_PROGRESS", "1")
	if progressTo(&Env{Stdout: &buf, Stderr: tty}, true) != nil {
		t.Errorf("a bar with NO_PROGRESS=1")
	}
}

// TestReadProgress runs read with standard error on a terminal, then on a
// file: the terminal gets a bar that is erased at the end, the file gets
// nothing, and the output is the same.
func TestReadProgress(t *testing.T) {
	terminalEnv(t)

	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 2000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "c.pcap")
	if err := os.WriteFile(path, capture.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"read", "-n", "-S", "-r", path}

	ctl, tty := ptytest.Open(t)
	stop := ptytest.Collect(ctl, tty)
	var onTTY bytes.Buffer
	// The bar is drawn from the first read.
	if code := runEnv(&Env{Ctx: context.Background(), Stdout: &onTTY, Stderr: tty, progressDelay: -1}, args); code != 0 {
		t.Fatalf("read exited %d", code)
	}
	drawn := string(stop())
	if !strings.Contains(drawn, "% [") || !strings.Contains(drawn, "/s  ETA ") {
		t.Errorf("no bar on the terminal: %q", drawn)
	}
	if !strings.HasSuffix(drawn, "\r\x1b[K") {
		t.Errorf("bar not erased at the end: %q", drawn)
	}

	errFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	var onFile bytes.Buffer
	code := Main(context.Background(), args, nil, &onFile, errFile)
	errFile.Close()
	if code != 0 {
		t.Fatalf("read exited %d", code)
	}
	if b, _ := os.ReadFile(errFile.Name()); len(b) != 0 {
		t.Errorf("standard error to a file got %q", b)
	}
	if onTTY.Len() == 0 || !bytes.Equal(onTTY.Bytes(), onFile.Bytes()) {
		t.Errorf("output differs with a bar (%d bytes) and without (%d bytes)", onTTY.Len(), onFile.Len())
	}
}

// TestReportProgress writes the HTML report to a file with standard
// output and error on one terminal: the bar is drawn (nothing else goes
// to the terminal while it reads), then the line that says the report's
// size.
func TestReportProgress(t *testing.T) {
	terminalEnv(t)
	dir := t.TempDir()
	path, report := filepath.Join(dir, "c.pcap"), filepath.Join(dir, "r.html")
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 2000, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, capture.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl, tty := ptytest.Open(t)
	stop := ptytest.Collect(ctl, tty)
	env := &Env{Ctx: context.Background(), Stdout: tty, Stderr: tty, progressDelay: -1}
	if code := runEnv(env, []string{"diagram", "--format", "html", "-o", report, "-r", path}); code != 0 {
		t.Fatalf("diagram exited %d", code)
	}
	drawn := string(stop())
	fi, err := os.Stat(report)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(drawn, "% [") {
		t.Errorf("no bar on the terminal: %q", drawn)
	}
	if want := fmt.Sprintf("\r\x1b[Ksynfin diagram: wrote %s: %.1f MB, 2000 connections\r\n", report, float64(fi.Size())/1e6); !strings.HasSuffix(drawn, want) {
		t.Errorf("the terminal ends with %q, want %q", drawn[max(0, len(drawn)-200):], want)
	}
}
