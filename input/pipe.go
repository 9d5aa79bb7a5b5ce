package input

import (
	"context"
	"io"
	"os"
	"time"

	"synfin/wire"
)

// pipeIdle is how long a quiet pipe waits before the capture's clock is
// moved on.
const pipeIdle = 200 * time.Millisecond

// Live reports whether names is standard input ("-") alone and stdin is
// a pipe, terminal or socket: something that may go quiet and then go
// on, unlike a file. What is read from one is to be shown as it comes.
// Merged with other inputs, standard input is read to its end.
func Live(names []string, stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	if len(names) != 1 || names[0] != "-" || !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice|os.ModeSocket) != 0
}

// Pipe reads a live source on a goroutine of its own, so that while it
// is quiet (tcpdump -l with no traffic) the capture's clock runs on: a
// closed connection is then handed out when its hold is over rather than
// when the next packet comes. The clock runs from the last frame's time,
// by the wall clock's time since it came.
type Pipe struct {
	ctx     context.Context
	results chan pipeResult
	ack     chan struct{} // the frame handed out has been used
	idle    *time.Ticker
	pending bool
	tick    func(now int64)
	seen    bool
	last    int64     // capture time of the last frame
	lastAt  time.Time // wall time it came
}

type pipeResult struct {
	f   wire.Frame
	err error
}

// NewPipe reads src until it ends or ctx is done.
func NewPipe(ctx context.Context, src Frames) *Pipe {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &Pipe{ctx: ctx, results: make(chan pipeResult), ack: make(chan struct{}), idle: time.NewTicker(pipeIdle)}
	go func() {
		for {
			var r pipeResult
			r.err = src.Next(&r.f)
			select {
			case s.results <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil {
				return
			}
			// The frame's data is the source's until its next call.
			select {
			case <-s.ack:
			case <-ctx.Done():
				return
			}
		}
	}()
	return s
}

// OnIdle sets the function the clock is moved on with.
func (s *Pipe) OnIdle(tick func(now int64)) { s.tick = tick }

// Next hands out the next frame, ctx's error once it is done.
func (s *Pipe) Next(f *wire.Frame) error {
	if s.pending {
		s.pending = false
		select {
		case s.ack <- struct{}{}:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
	for {
		select {
		case r := <-s.results:
			if r.err != nil {
				s.idle.Stop()
				return r.err
			}
			*f = r.f
			s.pending, s.seen, s.last, s.lastAt = true, true, f.Time, time.Now()
			return nil
		case <-s.idle.C:
			if quiet := time.Since(s.lastAt); s.tick != nil && s.seen && quiet >= pipeIdle {
				s.tick(s.last + int64(quiet))
			}
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}
}
