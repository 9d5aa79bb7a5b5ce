package input

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"synfin/filter"
	"synfin/wire"
)

// Frames hands out frames one at a time, io.EOF at a clean end. A Source
// is one; so are a live capture and frames held in memory (FromFrames).
type Frames interface {
	Next(f *wire.Frame) error
}

// Clocked is a Frames whose clock runs while no frame comes (a live
// capture or pipe): it calls tick, from inside Next, with the time the
// capture's clock has reached, so that what is due is handed out then
// rather than at the next frame.
type Clocked interface {
	Frames
	OnIdle(tick func(now int64))
}

// ErrStop, returned by Each's fn, ends the read as the end of the input
// does (tcpdump's -c).
var ErrStop = errors.New("input: stop")

// Each is the read loop of every command: it hands fn each frame of src
// that flt passes (flt may be nil: all of them), until the input ends,
// ctx is done or fn fails. When the input ends, cleanly or not, it calls
// end (if not nil), so that what the caller holds is reported before the
// error is: then it returns nil, the damage that ended the input, or
// ctx's error. A filter that does not compile for a frame's link type
// (*FilterError) and an error of fn end it at once, without end.
func Each(ctx context.Context, src Frames, flt *Filter, fn func(f *wire.Frame) error, end func()) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Cancellation is noted by a flag that ctx's AfterFunc sets: a select
	// on ctx.Done() for each frame is a channel operation per frame.
	var (
		f    wire.Frame
		err  error
		done atomic.Bool
	)
	stop := context.AfterFunc(ctx, func() { done.Store(true) })
	defer stop()
	if ctx.Err() != nil {
		done.Store(true)
	}
	for {
		if done.Load() {
			err = ctx.Err()
			break
		}
		if err = src.Next(&f); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			break
		}
		if flt != nil {
			ok, ferr := flt.Match(&f)
			if ferr != nil {
				return ferr
			}
			if !ok {
				continue
			}
		}
		if ferr := fn(&f); ferr != nil {
			if ferr != ErrStop {
				return ferr
			}
			break
		}
	}
	if end != nil {
		end()
	}
	return err
}

// Filter applies a pcap-filter expression to frames of any link type,
// compiling it once per link type (a pcapng file may mix them). With an
// expression set, the frames it passes are numbered from 1, as tcpdump
// numbers them: what its filter rejects, tcpdump never sees.
type Filter struct {
	expr     string
	compiled map[wire.LinkType]*filter.Filter
	passed   int
}

// NewFilter returns a Filter for expr ("": every frame passes).
func NewFilter(expr string) *Filter { return &Filter{expr: expr} }

// FilterError is an expression that does not compile for a link type of
// the input: a mistake in how the command was called.
type FilterError struct{ Err error }

func (e *FilterError) Error() string { return e.Err.Error() }
func (e *FilterError) Unwrap() error { return e.Err }

// Match reports whether f passes; it renumbers f when an expression is
// set.
func (ff *Filter) Match(f *wire.Frame) (bool, error) {
	if ff.expr == "" {
		return true, nil // kept apart from match so that this inlines
	}
	return ff.match(f)
}

func (ff *Filter) match(f *wire.Frame) (bool, error) {
	flt, ok := ff.compiled[f.Link]
	if !ok {
		var err error
		flt, err = filter.Compile(ff.expr, f.Link)
		if err != nil {
			return false, &FilterError{err}
		}
		if ff.compiled == nil {
			ff.compiled = map[wire.LinkType]*filter.Filter{}
		}
		ff.compiled[f.Link] = flt
	}
	if !flt.MatchLen(f.Data, f.WireLen) {
		return false, nil
	}
	ff.passed++
	f.Index = ff.passed
	return true, nil
}

// FromFrames hands out frames held in memory.
func FromFrames(frames []wire.Frame) Frames { return &frameSlice{frames: frames} }

// FromCapture hands out frames held in memory from a capture that ran
// until until (Unix ns), past its last frame: its clock reaches until
// before the input ends, so that what the capture's quiet end shows (a
// SYN no longer retransmitted) is known to who follows the clock.
func FromCapture(frames []wire.Frame, until int64) Frames {
	return &frameSlice{frames: frames, until: until}
}

type frameSlice struct {
	frames []wire.Frame
	i      int
	until  int64
	tick   func(int64)
}

// OnIdle makes s Clocked: tick gets the capture's end.
func (s *frameSlice) OnIdle(tick func(int64)) { s.tick = tick }

func (s *frameSlice) Next(f *wire.Frame) error {
	if s.i >= len(s.frames) {
		if s.tick != nil && s.until != 0 {
			s.tick(s.until)
			s.until = 0
		}
		return io.EOF
	}
	*f = s.frames[s.i]
	s.i++
	return nil
}
