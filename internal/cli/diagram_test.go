package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/corpus"
)

func runDiagramCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDiagram(t *testing.T) {
	seed := corpus.Seed(t, "capture.txt")
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"ascii", []string{"diagram", "-r", seed, "--conn", "1", "--ascii"}, 0, "SYN-SENT |-- S 0 "},
		{"box", []string{"diagram", "-r", seed}, 0, "Connection 2: 127.0.0.1:41474"},
		{"zh", []string{"diagram", "-r", seed, "--lang", "zh", "--conn", "2"}, 0, "挥手方式：不完整"},
		{"mermaid", []string{"diagram", "-r", seed, "--format", "mermaid"}, 0, "C->>S: 1: S 0"},
		{"svg", []string{"diagram", "-r", seed, "--format", "svg", "--conn", "1"}, 0, `data-seg="7"`},
		{"tsg", []string{"diagram", "-r", seed, "--format", "tsg", "--conn", "2"}, 0, "127.0.0.1:41474 → 127.0.0.1:9988  time-sequence graph"},
		{"tsg zh", []string{"diagram", "-r", seed, "--format", "tsg", "--conn", "1", "--lang", "zh"}, 0, "时间-序列号图"},
		{"tsg of two", []string{"diagram", "-r", seed, "--format", "tsg"}, 1, "draws one connection and " + seed + " has 2: pick one with --conn ID"},
		{"help", []string{"diagram", "--help"}, 0, "Examples:"},
		{"no file", []string{"diagram"}, 2, "-r FILE is required"},
		{"bad format", []string{"diagram", "-r", seed, "--format", "png"}, 2, "--format must be"},
		{"no such conn", []string{"diagram", "-r", seed, "--conn", "9"}, 1, "no connection 9"},
		{"not regular", []string{"diagram", "-r", seed, "-o", dir}, 1, "not a regular file"},
		{"device", []string{"diagram", "-r", seed, "-o", os.DevNull}, 1, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runDiagramCLI(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errs)
			}
			if !strings.Contains(out+errs, tt.contains) {
				t.Errorf("output lacks %q:\n%s%s", tt.contains, out, errs)
			}
		})
	}
}

func TestDiagramHTMLFile(t *testing.T) {
	seed := corpus.Seed(t, "capture.txt")
	out := filepath.Join(t.TempDir(), "r.html")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runDiagramCLI("diagram", "-r", seed, "--format", "html", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `id="synfin-meta"`, "127.0.0.1:41631"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("<script src=")) || bytes.Contains(b, []byte("<link ")) {
		t.Error("report loads something from outside itself")
	}
}
