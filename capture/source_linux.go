package capture

import (
	"context"
	"errors"
	"io"
	"time"

	"synfin/wire"
)

// Source hands out the packets of a Handle as a source of frames that
// package input reads (an input.Clocked), writing each to a file first.
// It ends (io.EOF) once its context is done, after its count of packets,
// at the Writer's file limit (Writer.Full), and on a write error, which
// the Writer keeps and reports when closed.
type Source struct {
	h     *Handle
	ctx   context.Context
	w     *Writer
	count int
	n     int
	tick  func(now int64)
}

// NewSource returns a Source reading h until ctx is done or, if count > 0,
// count packets have come, writing each to w if w is not nil. While the
// wire is quiet it calls h's Options.Idle, then moves on the clock set
// with OnIdle.
func NewSource(ctx context.Context, h *Handle, w *Writer, count int) *Source {
	s := &Source{h: h, ctx: ctx, w: w, count: count}
	idle := h.idle
	h.idle = func() {
		if idle != nil {
			idle()
		}
		if s.tick != nil {
			// The capture's clock goes on while the wire is quiet, so
			// that what is due (a closed connection's explanation) is
			// handed out then rather than at the next packet. A second
			// behind the wall clock: packets still on their way keep
			// their order.
			s.tick(time.Now().Add(-time.Second).UnixNano())
		}
	}
	return s
}

// OnIdle sets the function the clock is moved on with.
func (s *Source) OnIdle(tick func(now int64)) { s.tick = tick }

// Count returns the packets handed out so far.
func (s *Source) Count() int { return s.n }

// Next fills f with the next packet, its time stamp cut to the
// microsecond.
func (s *Source) Next(f *wire.Frame) error {
	if s.count > 0 && s.n >= s.count {
		return io.EOF
	}
	if err := s.h.Next(s.ctx, f); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return io.EOF
		}
		return err
	}
	s.n++
	// The socket gives nanoseconds; files, tcpdump and the printer have
	// microseconds. Keep to them, so that what is shown live is what
	// reading the file shows.
	f.Time -= f.Time % int64(time.Microsecond)
	if s.w != nil {
		if err := s.w.Write(f); errors.Is(err, ErrFileLimit) {
			// The capture ends before this packet, which is in no file
			// and so is not counted (tcpdump counts it).
			s.n--
			s.h.captured--
			return io.EOF
		} else if err != nil {
			return io.EOF
		}
	}
	return nil
}
