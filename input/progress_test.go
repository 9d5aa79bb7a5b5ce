package input

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/internal/progress"
	"synfin/wire"
)

// capture writes a small generated pcap file and returns its path.
func capture(t *testing.T) string {
	return pcaptest.GeneratedFile(t, gen.Config{Conns: 50, Seed: 3})
}

// barTo draws on w from the start, with a clock that moves a second at
// each look, so that every fill of the read buffer redraws.
func barTo(w io.Writer) func(int64) (func(int), func()) {
	t := time.Unix(1700000000, 0)
	c := &progress.Config{W: w, Delay: -1, Now: func() time.Time {
		t = t.Add(time.Second)
		return t
	}}
	return c.Start
}

// frames reads src to the end and counts its frames.
func frames(t *testing.T, src Source) int {
	t.Helper()
	n := 0
	var f wire.Frame
	for {
		err := src.Next(&f)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// barFor reads standard input from stdin to the end, closes it and
// returns the bar drawn meanwhile.
func barFor(t *testing.T, stdin io.Reader) string {
	t.Helper()
	var bar bytes.Buffer
	src, err := Open("-", stdin, Options{Progress: barTo(&bar)})
	if err != nil {
		t.Fatal(err)
	}
	frames(t, src)
	src.Close()
	return bar.String()
}

func TestProgressOnAFile(t *testing.T) {
	path := capture(t)
	plain, err := Open(path, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := frames(t, plain)
	plain.Close()

	var bar bytes.Buffer
	src, err := Open(path, nil, Options{Progress: barTo(&bar)})
	if err != nil {
		t.Fatal(err)
	}
	if got := frames(t, src); got != want {
		t.Errorf("%d frames with a bar, %d without", got, want)
	}
	s := bar.String()
	// The last fill reaches the end of the file; the bar is erased at EOF,
	// before Close.
	if !strings.Contains(s, "100% [") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("bar output %q: want a full bar, then erased", s)
	}
	src.Close()
	if !strings.HasSuffix(bar.String(), "\r\x1b[K") || bar.Len() != len(s) {
		t.Errorf("Close drew again: %q", bar.String()[len(s):])
	}
}

func TestProgressNeedsAKnownSize(t *testing.T) {
	path := capture(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { pw.Write(data); pw.Close() }()
	defer pr.Close()
	for name, stdin := range map[string]io.Reader{"pipe": pr, "in-memory reader": bytes.NewReader(data)} {
		if bar := barFor(t, stdin); bar != "" {
			t.Errorf("%s: a bar for an input of unknown size: %q", name, bar)
		}
	}

	// Standard input redirected from a file has a size: it gets a bar.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if bar := barFor(t, f); !strings.Contains(bar, "100% [") {
		t.Errorf("no bar for standard input from a file: %q", bar)
	}
}

func TestProgressErasedOnBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(path, []byte{0, 1, 2, 3, 4, 5, 6, 7}, 0o644); err != nil {
		t.Fatal(err)
	}
	var bar bytes.Buffer
	if _, err := Open(path, nil, Options{Progress: barTo(&bar)}); err == nil {
		t.Fatal("junk opened as a capture")
	}
	if s := bar.String(); s != "" && !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("bar left on screen after an error: %q", s)
	}
}
