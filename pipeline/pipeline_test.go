package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/input"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// frames reads a generated capture into memory; back sets the clock
// back by 90 s half way, where the shards must become one tracker.
func frames(t testing.TB, conns int, back bool) []wire.Frame {
	t.Helper()
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: conns, Seed: 11, Rate: 100}); err != nil {
		t.Fatal(err)
	}
	src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fs []wire.Frame
	for {
		var f wire.Frame
		if src.Next(&f) != nil {
			break
		}
		f.Data = append([]byte(nil), f.Data...)
		fs = append(fs, f)
	}
	if back {
		fs[len(fs)/2].Time -= 90e9
	}
	return fs
}

// Test encoders: the line without IDs, which the merge puts in front.
func briefLine(dst []byte, c *tcpstate.Brief) []byte {
	return fmt.Appendf(dst, "%v %v %v/%v %v %v %d/%d\n", c.Client, c.Server, c.ClientState, c.ServerState,
		c.Pattern, c.End, c.ClientBytes, c.ServerBytes)
}

func connLine(dst []byte, c *tcpstate.Conn) []byte {
	return fmt.Appendf(dst, "%s %v %v %v/%v %v %d\n", c.AppendUID(nil), c.Client.AddrPort(), c.Server.AddrPort(),
		c.Client.State, c.Server.State, c.End, c.Pkts)
}

func number(dst, line []byte, id, _, prev, _ uint64) []byte {
	return append(fmt.Appendf(dst, "%d %d ", id, prev), line...)
}

// TestTrackConnsAsOneTracker holds TrackConns on 1 to 4 shards to one
// track.Tracker fed the same frames: the same connections, IDs and
// port-reuse predecessors, in the same order.
func TestTrackConnsAsOneTracker(t *testing.T) {
	for _, back := range []bool{false, true} {
		fs := frames(t, 3000, back)
		for _, table := range []bool{true, false} {
			var want []byte
			cfg := track.Config{Brief: func(c *tcpstate.Brief) {
				want = number(want, briefLine(nil, c), c.ID, 0, c.Prev, 0)
			}}
			opt := Conns{Config: func() track.Config { return track.Config{} }, Brief: briefLine, Number: number}
			if !table {
				cfg = track.Config{Done: func(c *tcpstate.Conn) {
					want = number(want, connLine(nil, c), c.ID, 0, c.Reuse.Prev, 0)
				}}
				opt.Brief, opt.Conn = nil, connLine
			}
			tr := track.New(cfg)
			for i := range fs {
				tr.Frame(&fs[i])
			}
			tr.Flush()
			for jobs := 1; jobs <= 4; jobs++ {
				opt.Jobs = jobs
				var got bytes.Buffer
				if err := TrackConns(context.Background(), input.FromFrames(fs), nil, opt, &got); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(string(want), got.String()); d != "" {
					t.Fatalf("clock back %v, table %v, %d jobs (-one tracker +sharded):\n%.3000s", back, table, jobs, d)
				}
			}
		}
	}
}

// damaged hands out frames, then an error.
type damaged struct {
	input.Frames
	err error
}

func (d damaged) Next(f *wire.Frame) error {
	if err := d.Frames.Next(f); err != nil {
		return d.err
	}
	return nil
}

// TestTrackConnsDamaged: a damaged input still has its connections
// written, then the damage reported.
func TestTrackConnsDamaged(t *testing.T) {
	fs := frames(t, 300, false)
	bad := errors.New("damaged")
	opt := Conns{Jobs: 2, Config: func() track.Config { return track.Config{} }, Brief: briefLine, Number: number}
	var whole, cut bytes.Buffer
	if err := TrackConns(context.Background(), input.FromFrames(fs), nil, opt, &whole); err != nil {
		t.Fatal(err)
	}
	err := TrackConns(context.Background(), damaged{input.FromFrames(fs), bad}, nil, opt, &cut)
	if err != bad {
		t.Errorf("error %v, want %v", err, bad)
	}
	if whole.String() != cut.String() || whole.Len() == 0 {
		t.Errorf("damaged input: %d bytes written, whole: %d", cut.Len(), whole.Len())
	}
}

// printFrame prints a frame's number, length and a checksum of its bytes
// (which the batches copy), and skips every seventh.
func printFrame(dst []byte, f *wire.Frame) ([]byte, bool) {
	if f.Index%7 == 0 {
		return dst, true
	}
	return fmt.Appendf(dst, "%d %d %d %08x\n", f.Index, f.Time, len(f.Data), crc32.ChecksumIEEE(f.Data)), false
}

// TestPrintInOrder holds Print on 1 to 4 printers to a loop over the
// frames, with and without a filter.
func TestPrintInOrder(t *testing.T) {
	fs := frames(t, 3000, false)
	for _, expr := range []string{"", "tcp[tcpflags] & tcp-syn != 0"} {
		var want []byte
		wantSkipped := 0
		flt := input.NewFilter(expr)
		for i := range fs {
			f := fs[i]
			if ok, err := flt.Match(&f); err != nil {
				t.Fatal(err)
			} else if !ok {
				continue
			}
			var skip bool
			if want, skip = printFrame(want, &f); skip {
				wantSkipped++
			}
		}
		for jobs := 1; jobs <= 4; jobs++ {
			var got bytes.Buffer
			skipped, err := Print(context.Background(), input.FromFrames(fs), input.NewFilter(expr), jobs,
				func() PrintFunc { return printFrame }, &got)
			if err != nil {
				t.Fatal(err)
			}
			if skipped != wantSkipped {
				t.Errorf("%q, %d jobs: %d skipped, want %d", expr, jobs, skipped, wantSkipped)
			}
			if d := cmp.Diff(string(want), got.String()); d != "" {
				t.Fatalf("%q, %d jobs (-loop +Print):\n%.3000s", expr, jobs, d)
			}
		}
	}
}

type failAfter struct{ n int }

var errFull = errors.New("full")

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestPrintWriteError: a failing output ends the read with its error.
func TestPrintWriteError(t *testing.T) {
	fs := frames(t, 3000, false)
	for jobs := 1; jobs <= 3; jobs++ {
		_, err := Print(context.Background(), input.FromFrames(fs), nil, jobs, func() PrintFunc { return printFrame }, &failAfter{n: 100000})
		if err != errFull {
			t.Errorf("%d jobs: error %v, want %v", jobs, err, errFull)
		}
	}
}

// TestTrackConnsCancel: cancelled while the end of the input hands out
// many connections, TrackConns stops writing and returns the
// cancellation.
func TestTrackConnsCancel(t *testing.T) {
	fs := frames(t, 20000, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := 0
	out := writerFunc(func(p []byte) (int, error) {
		if lines++; lines == 100 {
			cancel()
		}
		return len(p), nil
	})
	opt := Conns{Jobs: 2, Config: func() track.Config { return track.Config{} }, Brief: briefLine, Number: number}
	if err := TrackConns(ctx, input.FromFrames(fs), nil, opt, out); err != context.Canceled {
		t.Errorf("error %v, want %v", err, context.Canceled)
	}
	if lines > 1000 {
		t.Errorf("%d lines written, most after the cancellation", lines)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// AllocsPerRun-style check of the steady state: printing a capture twice
// as long costs no more allocations.
func TestPrintAllocs(t *testing.T) {
	fs := frames(t, 3000, false)
	run := func(fs []wire.Frame) float64 {
		var out bytes.Buffer
		out.Grow(64 << 20)
		return testing.AllocsPerRun(3, func() {
			out.Reset()
			if _, err := Print(context.Background(), input.FromFrames(fs), nil, 2, func() PrintFunc {
				var buf []byte
				return func(dst []byte, f *wire.Frame) ([]byte, bool) {
					buf = strconv.AppendInt(buf[:0], int64(f.Index), 10)
					return append(append(dst, buf...), '\n'), false
				}
			}, &out); err != nil {
				t.Fatal(err)
			}
		})
	}
	half, whole := run(fs[:len(fs)/2]), run(fs)
	if whole > half+2 {
		t.Errorf("%v allocations for the whole capture, %v for half of it", whole, half)
	}
}
