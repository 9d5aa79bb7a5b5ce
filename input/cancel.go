package input

import (
	"context"
	"io"
	"os"
)

// cancelReader reads r on a goroutine of its own, so that a read waiting
// for a pipe or a terminal with nothing to say (tcpdump -l before the
// first packet, a writer that sleeps) ends when ctx is done: a blocked
// read of a pipe cannot itself be interrupted.
type cancelReader struct {
	ctx  context.Context
	r    io.Reader
	res  chan chunk
	ack  chan struct{} // the chunk handed out is used: read the next
	stop chan struct{}
	go_  bool
	left []byte
	held bool
	err  error
}

type chunk struct {
	b   []byte
	err error
}

// cancellable returns r, read so that ctx ends a read waiting on it,
// unless r is a regular file (its reads do not wait) or ctx can never be
// done.
func cancellable(ctx context.Context, r io.Reader) io.Reader {
	if ctx == nil || ctx.Done() == nil {
		return r
	}
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return r
		}
	}
	return &cancelReader{ctx: ctx, r: r, res: make(chan chunk), ack: make(chan struct{}, 1), stop: make(chan struct{})}
}

func (c *cancelReader) run() {
	buf := make([]byte, 1<<16)
	for {
		n, err := c.r.Read(buf)
		select {
		case c.res <- chunk{buf[:n], err}:
		case <-c.stop:
			return
		}
		if err != nil {
			return
		}
		select {
		case <-c.ack:
		case <-c.stop:
			return
		}
	}
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if len(c.left) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if !c.go_ {
			c.go_ = true
			go c.run()
		}
		select {
		case ch := <-c.res:
			c.left, c.err, c.held = ch.b, ch.err, true
		case <-c.ctx.Done():
			// The read goes on, and its bytes are lost: the input is
			// given up.
			c.err = c.ctx.Err()
			return 0, c.err
		}
		if len(c.left) == 0 {
			c.release()
			return 0, c.err
		}
	}
	n := copy(p, c.left)
	c.left = c.left[n:]
	if len(c.left) == 0 {
		c.release()
	}
	return n, nil
}

// release hands the chunk's buffer back to the reading goroutine.
func (c *cancelReader) release() {
	if c.held {
		c.held = false
		c.ack <- struct{}{}
	}
}

// Close stops the reading goroutine once its read returns.
func (c *cancelReader) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	return nil
}
