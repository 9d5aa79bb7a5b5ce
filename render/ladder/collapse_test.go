package ladder_test

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/render/explain"
	"synfin/render/explain/explaintest"
	"synfin/render/ladder"
	"synfin/tcpstate"
)

// transfer is the one connection of a generated upload of n segments,
// out of order when reorder, and its capture.
func transfer(t testing.TB, n int, reorder bool) (*tcpstate.Conn, string) {
	t.Helper()
	path := pcaptest.GeneratedFile(t, gen.Config{Transfer: n, Seed: 5, Reorder: reorder})
	cs := explaintest.Track(t, path)
	if len(cs) != 1 || len(cs[0].Segments) != n {
		t.Fatalf("%d connections from a transfer of %d segments", len(cs), n)
	}
	return cs[0], path
}

// TestCollapsedGolden draws a connection just past explain.CollapseAbove
// in every text format, with its data phase summed up. Its numbers are
// checked here against tcpdump's lines and tshark's retransmissions of
// the capture, so the golden files hold what those tools show.
func TestCollapsedGolden(t *testing.T) {
	c, path := transfer(t, explain.CollapseAbove+101, true)
	d, ok := explain.Collapse(c)
	if !ok {
		t.Fatal("not summed up")
	}
	want := pcaptest.TcpdumpDataPhase(t, testenv.NeedTool(t, "tcpdump"), testenv.NeedTool(t, "tshark"), path)
	got := pcaptest.DataPhase{First: c.Segments[d.First].Index, Last: c.Segments[d.Last].Index,
		Start: explain.TimeOfDay(c.Segments[d.First].Time), End: explain.TimeOfDay(c.Segments[d.Last].Time),
		Segments: d.Segments, Bytes: [2]int{int(d.Bytes[0]), int(d.Bytes[1])}, Retransmissions: d.Retransmissions,
		Frames: len(c.Segments)}
	if got != want {
		t.Errorf("data phase %+v, tcpdump and tshark show %+v", got, want)
	}
	for _, tc := range []struct {
		name  string
		write func(io.Writer, ladder.Options) error
		opt   ladder.Options
	}{
		{"box80.txt", text(c), ladder.Options{}},
		{"ascii72.txt", text(c), ladder.Options{ASCII: true, Width: 72}},
		{"zh100.txt", text(c), ladder.Options{Width: 100, Lang: "zh"}},
		{"svg", func(w io.Writer, o ladder.Options) error { return ladder.WriteSVG(w, []*tcpstate.Conn{c}, o) }, ladder.Options{}},
		{"mmd", func(w io.Writer, o ladder.Options) error { return ladder.WriteMermaid(w, []*tcpstate.Conn{c}, o) }, ladder.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, tc.opt); err != nil {
				t.Fatal(err)
			}
			golden(t, "collapsed."+tc.name, b.Bytes())
			// Of the data phase, only its first and last frames show.
			for _, s := range c.Segments {
				in := s.Index >= want.First && s.Index <= want.Last
				shown := regexp.MustCompile(fmt.Sprintf(`#%d\b|: %d: `, s.Index, s.Index)).Match(b.Bytes())
				if shown == (in && s.Index != want.First && s.Index != want.Last) {
					t.Errorf("frame %d (data phase: %v) shown: %v", s.Index, in, shown)
				}
			}
		})
	}
}

func text(c *tcpstate.Conn) func(io.Writer, ladder.Options) error {
	return func(w io.Writer, o ladder.Options) error { return ladder.WriteText(w, c, o) }
}

// TestCollapseAbove: a connection of explain.CollapseAbove segments is
// drawn segment by segment, one more and its data phase is one row;
// Full draws every segment of either.
func TestCollapseAbove(t *testing.T) {
	for _, n := range []int{explain.CollapseAbove, explain.CollapseAbove + 1} {
		c, _ := transfer(t, n, false)
		for _, full := range []bool{false, true} {
			var b bytes.Buffer
			if err := ladder.WriteMermaid(&b, []*tcpstate.Conn{c}, ladder.Options{Full: full}); err != nil {
				t.Fatal(err)
			}
			arrows := strings.Count(b.String(), "->>")
			want := n
			if n > explain.CollapseAbove && !full {
				want = n - (c.Segments[n-5].Index - 3) // the handshake and the teardown
			}
			if arrows != want {
				t.Errorf("%d segments, full %v: %d arrows, want %d", n, full, arrows, want)
			}
		}
	}
}

// TestAllocsLinear: drawing a connection of four times the segments
// allocates at most about four times as much, every segment drawn, and
// nearly nothing more with its data phase summed up. (The figures of
// BenchmarkViews compare the time at two sizes.)
func TestAllocsLinear(t *testing.T) {
	small, _ := transfer(t, 2000, true)
	big, _ := transfer(t, 8000, true)
	for _, tc := range []struct {
		name string
		draw func(*tcpstate.Conn, bool) error
	}{
		{"text", func(c *tcpstate.Conn, full bool) error {
			return ladder.WriteText(io.Discard, c, ladder.Options{Full: full})
		}},
		{"svg", func(c *tcpstate.Conn, full bool) error {
			return ladder.WriteSVG(io.Discard, []*tcpstate.Conn{c}, ladder.Options{Full: full})
		}},
		{"mermaid", func(c *tcpstate.Conn, full bool) error {
			return ladder.WriteMermaid(io.Discard, []*tcpstate.Conn{c}, ladder.Options{Full: full})
		}},
		{"explained", func(c *tcpstate.Conn, full bool) error {
			return ladder.WriteExplained(io.Discard, []*tcpstate.Conn{c}, ladder.Options{Full: full})
		}},
	} {
		allocs := func(c *tcpstate.Conn, full bool) float64 {
			return testing.AllocsPerRun(2, func() {
				if err := tc.draw(c, full); err != nil {
					t.Fatal(err)
				}
			})
		}
		if a1, a4 := allocs(small, true), allocs(big, true); a4 > 4.4*a1 {
			t.Errorf("%s, every segment: %.0f allocations for 2000 segments, %.0f for 8000", tc.name, a1, a4)
		}
		if a1, a4 := allocs(small, false), allocs(big, false); a4 > a1+50 {
			t.Errorf("%s, summed up: %.0f allocations for 2000 segments, %.0f for 8000", tc.name, a1, a4)
		}
	}
}
