package cli

import (
	"context"
	"os"
	"time"

	"synfin/wire"
)

// pipeIdle is how long a quiet pipe waits before the capture's clock is
// moved on.
const pipeIdle = 200 * time.Millisecond

// livePipe reports whether the input file is standard input ("-") and
// that is a pipe, terminal or socket: something that may go quiet and
// then go on, unlike a file. What is read from one is shown as it comes.
func livePipe(env *Env, file string) bool {
	f, ok := env.Stdin.(*os.File)
	if file != "-" || !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeCharDevice|os.ModeSocket) != 0
}

// pipeSource reads src on a goroutine of its own, so that while the pipe
// is quiet (tcpdump -l with no traffic) the capture's clock runs on: a
// closed connection is then handed out when its hold is over rather than
// when the next packet comes. The clock runs from the last frame's time,
// by the wall clock's time since it came.
type pipeSource struct {
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

func newPipeSource(ctx context.Context, src frameSource) *pipeSource {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &pipeSource{ctx: ctx, results: make(chan pipeResult), ack: make(chan struct{}), idle: time.NewTicker(pipeIdle)}
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

func (s *pipeSource) onIdle(tick func(now int64)) { s.tick = tick }

func (s *pipeSource) Next(f *wire.Frame) error {
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
