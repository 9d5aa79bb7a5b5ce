package pcaptest

import (
	"io"
	"testing"

	"synfin/wire"
)

// ReadLoop runs b's loop, one op per frame, over readers open makes: at
// the end of one it opens the next, so that a reader's own allocations
// spread over its frames. It returns the frames read and their bytes of
// data.
func ReadLoop(b *testing.B, open func() FrameReader) (frames, size int64) {
	b.Helper()
	r := open()
	var f wire.Frame
	b.ReportAllocs()
	for b.Loop() {
		err := r.Next(&f)
		if err == io.EOF {
			r = open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		frames++
		size += int64(len(f.Data))
	}
	return frames, size
}
