package progress

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"synfin/internal/progress/ptytest"
)

func TestRender(t *testing.T) {
	const mb = 1000 * 1000
	for _, c := range []struct {
		name        string
		done, total int64
		elapsed     time.Duration
		width       int
		want        string
	}{
		{"start", 0, 606 * mb, 0, 79,
			"  0% " + bar(0, 26) + "      0 B / 606.0 MB        --/s  ETA --:--   "},
		{"middle", 303 * mb, 606 * mb, time.Second, 79,
			" 50% " + bar(13, 13) + " 303.0 MB / 606.0 MB  303.0 MB/s  ETA 0:01    "},
		{"eta rounds up", 100 * mb, 606 * mb, time.Second, 79,
			" 16% " + bar(4, 22) + " 100.0 MB / 606.0 MB  100.0 MB/s  ETA 0:06    "},
		{"hours", 1 * mb, 10000 * mb, 2 * time.Second, 79,
			"  0% " + bar(0, 27) + "   1.0 MB / 10.0 GB  500.0 kB/s  ETA 5:33:18 "},
		{"done", 606 * mb, 606 * mb, 2 * time.Second, 79,
			"100% " + bar(26, 0) + " 606.0 MB / 606.0 MB  303.0 MB/s  ETA 0:00    "},
		{"past the end", 700 * mb, 606 * mb, 2 * time.Second, 79,
			"100% " + bar(26, 0) + " 700.0 MB / 606.0 MB  350.0 MB/s  ETA 0:00    "},
		{"small units", 999, 1500, time.Second, 64,
			" 66% " + bar(8, 5) + "    999 B / 1.5 kB     999 B/s  ETA 0:01    "},
		{"no room for the bar", 303 * mb, 606 * mb, time.Second, 58,
			" 50% 303.0 MB / 606.0 MB  303.0 MB/s  ETA 0:01    "},
		{"cut to width", 303 * mb, 606 * mb, time.Second, 20,
			" 50% 303.0 MB / 606."},
		{"past a hundred hours", 1, 606 * mb, time.Second, 79,
			"  0% " + bar(0, 26) + "      1 B / 606.0 MB       1 B/s  ETA --:--   "},
		{"rounding to the next unit", 999_960, 2_000_000, time.Second, 52,
			" 49%   1.0 MB / 2.0 MB    1.0 MB/s  ETA 0:02    "},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := string(Render([]byte("x"), c.done, c.total, c.elapsed, c.width))
			if got != "x"+c.want {
				t.Errorf("Render(%d, %d, %v, %d)\n got %q\nwant %q", c.done, c.total, c.elapsed, c.width, got[1:], c.want)
			}
			if len(got)-1 > c.width || strings.Contains(c.want, "[") && len(got)-1 != c.width {
				t.Errorf("%d columns, more than %d", len(got)-1, c.width)
			}
		})
	}
}

// bar is the bracketed bar with full and empty cells.
func bar(full, empty int) string {
	return "[" + strings.Repeat("#", full) + strings.Repeat(" ", empty) + "]"
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) step(d time.Duration) { c.t = c.t.Add(d) }
func lines(b *bytes.Buffer) []string      { return strings.Split(b.String(), "\r") }

// testConfig is a bar 72 columns wide drawing into out, on a clock the
// test moves.
func testConfig() (c Config, out *bytes.Buffer, clk *fakeClock) {
	out, clk = &bytes.Buffer{}, &fakeClock{t: time.Unix(1700000000, 0)}
	return Config{W: out, Width: 72, Now: clk.now}, out, clk
}

func TestBarDelayAndRate(t *testing.T) {
	c, out, clk := testConfig()
	b := New(1000, c)
	// Within the first half second nothing is drawn.
	clk.step(400 * time.Millisecond)
	b.Add(100)
	if out.Len() != 0 {
		t.Fatalf("drawn before the delay: %q", out.String())
	}
	clk.step(100 * time.Millisecond)
	b.Add(100)
	if got := lines(out); len(got) != 2 || !strings.HasPrefix(got[1], " 20% [") || !strings.HasSuffix(got[1], "\x1b[K") {
		t.Fatalf("first draw: %q", out.String())
	}
	// Redraws come at most every 100 ms, however many reads there are.
	for i := 0; i < 50; i++ {
		clk.step(time.Millisecond)
		b.Add(1)
	}
	if n := strings.Count(out.String(), "\r"); n != 1 {
		t.Fatalf("%d draws within 50 ms, want 1: %q", n, out.String())
	}
	clk.step(50 * time.Millisecond)
	b.Add(0)
	if n := strings.Count(out.String(), "\r"); n != 2 {
		t.Fatalf("%d draws after 100 ms, want 2: %q", n, out.String())
	}
	if got := lines(out)[2]; !strings.Contains(got, " 25% [") || !strings.Contains(got, "   250 B / 1.0 kB     416 B/s  ETA 0:02") {
		t.Errorf("second draw: %q", got)
	}
	b.Finish()
	if !strings.HasSuffix(out.String(), "\r\x1b[K") {
		t.Errorf("not erased at the end: %q", out.String())
	}
	n := out.Len()
	b.Finish()
	clk.step(time.Second)
	b.Add(10)
	if out.Len() != n {
		t.Errorf("drawn after Finish: %q", out.String()[n:])
	}
}

func TestBarQuickReadLeavesNothing(t *testing.T) {
	c, out, clk := testConfig()
	b := New(1000, c)
	clk.step(300 * time.Millisecond)
	b.Add(1000)
	b.Finish()
	if out.Len() != 0 {
		t.Errorf("a read quicker than the delay wrote %q", out.String())
	}
}

func TestReaderCountsAndFinishesAtEnd(t *testing.T) {
	c, out, clk := testConfig()
	c.Delay = -1 // draw from the start
	data := bytes.Repeat([]byte("x"), 10000)
	b := New(int64(len(data)), c)
	r := b.Reader(&stepReader{r: bytes.NewReader(data), clk: clk})
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if b.Done() != int64(len(data)) {
		t.Errorf("counted %d bytes, want %d", b.Done(), len(data))
	}
	s := out.String()
	if !strings.Contains(s, "100% [") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("no full bar then erasure: %q", s)
	}
}

// stepReader reads 1000 bytes at a time, each taking 200 ms.
type stepReader struct {
	r   io.Reader
	clk *fakeClock
}

func (s *stepReader) Read(p []byte) (int, error) {
	s.clk.step(200 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 1000)])
}

func TestReaderFinishesOnError(t *testing.T) {
	c, out, _ := testConfig()
	c.Delay = -1
	b := New(100, c)
	boom := errors.New("boom")
	r := b.Reader(io.MultiReader(strings.NewReader("abc"), &errReader{boom}))
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	if !strings.HasSuffix(out.String(), "\r\x1b[K") {
		t.Errorf("not erased after an error: %q", out.String())
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestNoAllocationPerRead: counting and redrawing allocate nothing once
// the line buffer has grown.
func TestNoAllocationPerRead(t *testing.T) {
	c, _, clk := testConfig()
	c.W = io.Discard
	c.Delay = -1
	b := New(1<<40, c)
	r := b.Reader(zeros{})
	buf := make([]byte, 1<<16)
	r.Read(buf)
	n := testing.AllocsPerRun(1000, func() {
		clk.step(150 * time.Millisecond) // every read redraws
		r.Read(buf)
	})
	if n != 0 {
		t.Errorf("%v allocations per read, want 0", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { return len(p), nil }

func TestIsTerminal(t *testing.T) {
	ctl, tty := ptytest.Open(t)
	if !IsTerminal(tty) {
		t.Errorf("a pseudo-terminal is not a terminal")
	}
	if !IsTerminal(ctl) {
		t.Errorf("a pseudo-terminal's controller is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var nilFile *os.File
	for name, w := range map[string]io.Writer{
		"regular file": f, "pipe": pw, "buffer": &bytes.Buffer{}, "nil file": nilFile, "discard": io.Discard,
	} {
		if IsTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	if got := Width(f); got != DefaultWidth {
		t.Errorf("width of a file %d, want %d", got, DefaultWidth)
	}
}

func TestAllowed(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{"TERM": "xterm-256color"}, true},
		{map[string]string{}, true},
		{map[string]string{"NO_PROGRESS": "0"}, true},
		{map[string]string{"NO_PROGRESS": "1"}, false},
		{map[string]string{"NO_PROGRESS": "yes", "TERM": "xterm"}, false},
		{map[string]string{"TERM": "dumb"}, false},
	} {
		if got := Allowed(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("Allowed(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}

// TestRenderSteady: the bar's brackets do not move as the counts grow
// from one digit to three or change unit.
func TestRenderSteady(t *testing.T) {
	const total = 606_400_000
	var want int
	for i, done := range []int64{5, 94_600_000, 107_900_000, 999_000, 606_400_000} {
		line := string(Render(nil, done, total, time.Second, 79))
		end := strings.IndexByte(line, ']')
		if i == 0 {
			want = end
		}
		if end != want || len(line) != 79 {
			t.Errorf("done %d: %q: bar ends at %d, want %d", done, line, end, want)
		}
	}
}

// fileFlags returns f's status flags, without touching its mode.
func fileFlags(t *testing.T, f *os.File) int {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var flags int
	var ferr error
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	return flags
}

// TestTerminalLeavesModeAlone: asking whether a file is a terminal, and
// how wide, does not switch it to blocking mode (File.Fd would, for every
// process that shares the descriptor).
func TestTerminalLeavesModeAlone(t *testing.T) {
	_, tty := ptytest.Open(t)
	before := fileFlags(t, tty)
	if before&unix.O_NONBLOCK == 0 {
		t.Skip("the pseudo-terminal did not open non-blocking")
	}
	if !IsTerminal(tty) {
		t.Fatal("not a terminal")
	}
	rc, _ := tty.SyscallConn()
	rc.Control(func(fd uintptr) {
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 123})
	})
	if got := Width(tty); got != 123 {
		t.Errorf("width %d, want 123", got)
	}
	if after := fileFlags(t, tty); after != before {
		t.Errorf("flags %#x after the checks, %#x before", after, before)
	}
}
