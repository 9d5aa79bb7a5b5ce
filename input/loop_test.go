package input

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"synfin/wire"
)

// damagedFrames hands out frames, then err.
type damagedFrames struct {
	Frames
	err error
}

func (d damagedFrames) Next(f *wire.Frame) error {
	if err := d.Frames.Next(f); err != nil {
		return d.err
	}
	return nil
}

// TestEach runs the read loop over five frames, the third of another
// link type, in every way it can end: what fn saw, whether end ran and
// the error.
func TestEach(t *testing.T) {
	// Ethernet frames too short to be IP, and one raw IPv4 header: a
	// filter on "ether" does not compile for raw IP.
	frames := func() []wire.Frame {
		var fs []wire.Frame
		for i := 1; i <= 5; i++ {
			f := wire.Frame{Index: i, Link: wire.LinkEthernet, Data: make([]byte, 14), WireLen: 14}
			if i == 3 {
				f.Link, f.Data, f.WireLen = wire.LinkRaw, []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, 20
			}
			fs = append(fs, f)
		}
		return fs
	}
	damage := errors.New("damaged")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name    string
		ctx     context.Context
		expr    string
		damaged bool
		stopAt  int // fn returns ErrStop at this frame
		failAt  int // fn fails at this frame
		seen    string
		end     bool
		err     error
	}{
		{name: "clean", seen: "1 2 3 4 5", end: true},
		{name: "nil ctx", ctx: nil, seen: "1 2 3 4 5", end: true},
		{name: "damaged", damaged: true, seen: "1 2 3 4 5", end: true, err: damage},
		{name: "stop", stopAt: 2, seen: "1 2", end: true},
		{name: "fn fails", failAt: 4, seen: "1 2 3 4", err: errFn},
		{name: "cancelled", ctx: cancelled, seen: "", end: true, err: context.Canceled},
		// Only the raw IPv4 frame is IP: it is the first to pass.
		{name: "filter renumbers", expr: "ip", seen: "1", end: true},
		{name: "filter error", expr: "ether broadcast", seen: "", err: &FilterError{}},
	} {
		ctx := c.ctx
		if ctx == nil && c.name != "nil ctx" {
			ctx = context.Background()
		}
		var src Frames = FromFrames(frames())
		if c.damaged {
			src = damagedFrames{src, damage}
		}
		seen, end := "", false
		err := Each(ctx, src, NewFilter(c.expr), func(f *wire.Frame) error {
			seen += fmt.Sprintf(" %d", f.Index)
			switch f.Index {
			case c.stopAt:
				return ErrStop
			case c.failAt:
				return errFn
			}
			return nil
		}, func() { end = true })
		if len(seen) > 0 {
			seen = seen[1:]
		}
		var fe *FilterError
		if _, want := c.err.(*FilterError); want && !errors.As(err, &fe) || !want && !errors.Is(err, c.err) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
		}
		if seen != c.seen || end != c.end {
			t.Errorf("%s: fn saw %q, end ran %v; want %q, %v", c.name, seen, end, c.seen, c.end)
		}
	}
}

var errFn = errors.New("fn failed")
