package pipeline

import "synfin/wire"

// batch is a run of consecutive frames copied out of the reader's
// buffer, which the reader hands to the workers in one go: handing one
// over costs little per frame. Batches are recycled, so that the steady
// state allocates nothing.
type batch struct {
	frames []wire.Frame
	offs   []int  // where each frame's bytes start in data
	data   []byte // the frames' bytes
}

// full reports whether f would take the batch past maxFrames frames or
// maxBytes bytes; a batch always takes one frame.
func (b *batch) full(f *wire.Frame, maxFrames, maxBytes int) bool {
	return len(b.frames) >= maxFrames || len(b.data) > 0 && len(b.data)+len(f.Data) > maxBytes
}

// add appends a copy of f and returns it. Its Data is set by seal, as
// data may move while it grows.
func (b *batch) add(f *wire.Frame) *wire.Frame {
	b.offs = append(b.offs, len(b.data))
	b.data = append(b.data, f.Data...)
	// In place: appending f would copy it twice.
	if len(b.frames) < cap(b.frames) {
		b.frames = b.frames[:len(b.frames)+1]
	} else {
		b.frames = append(b.frames, wire.Frame{})
	}
	c := &b.frames[len(b.frames)-1]
	*c = *f
	return c
}

// seal points each frame at its bytes, once data has stopped growing.
func (b *batch) seal() {
	for i := range b.frames {
		end := len(b.data)
		if i+1 < len(b.offs) {
			end = b.offs[i+1]
		}
		b.frames[i].Data = b.data[b.offs[i]:end:end]
	}
}

func (b *batch) reset() { b.frames, b.offs, b.data = b.frames[:0], b.offs[:0], b.data[:0] }
