package pipeline

import (
	"context"
	"io"

	"synfin/input"
	"synfin/wire"
)

// Sizes of the batches that carry frames from the reader to the
// printers: large enough that handing one over costs little per frame,
// small enough that the batches in flight stay a few megabytes.
const (
	printFrames = 2048
	printBytes  = 1 << 19
)

// PrintFunc appends the lines printed for f to dst; skipped says that
// the frame printed nothing and is to be counted as skipped. Each printer
// has its own, which need not be safe for concurrent use.
type PrintFunc func(dst []byte, f *wire.Frame) (out []byte, skipped bool)

// printBatch is a batch and the lines printed for it.
type printBatch struct {
	batch
	out     []byte
	skipped int
	ready   chan struct{} // a token when out is printed
}

// Print reads src with input.Each and prints its frames on jobs
// printers side by side (newPrinter makes one for each), writing the
// lines to w in the frames' order: the output is byte for byte that of
// one printer, as long as each frame's lines depend on that frame alone.
// It returns how many frames were skipped, and the first error of the
// read or, failing one, of w (after which it reads no further).
func Print(ctx context.Context, src input.Frames, flt *input.Filter, jobs int, newPrinter func() PrintFunc, w io.Writer) (skipped int, err error) {
	jobs = max(jobs, 1)
	// Batches are made as the read needs them, up to this many; then the
	// written ones come back to be filled again.
	free := make(chan *printBatch, 2*jobs+2)
	made := 0
	work := make(chan *printBatch, cap(free))
	order := make(chan *printBatch, cap(free))
	for range jobs {
		go printBatches(newPrinter(), work)
	}

	// The writer puts the batches out in the order they were read.
	type result struct {
		skipped int
		err     error
	}
	written := make(chan result, 1)
	stop := make(chan struct{}) // closed on a write error
	go func() {
		var r result
		for b := range order {
			<-b.ready
			if r.err == nil {
				if _, err := w.Write(b.out); err != nil {
					r.err = err
					close(stop)
				}
			}
			r.skipped += b.skipped
			free <- b
		}
		written <- r
	}()

	var cur *printBatch
	send := func() {
		cur.seal()
		work <- cur
		order <- cur
		cur = nil
	}
	err = input.Each(ctx, src, flt, func(f *wire.Frame) error {
		if cur != nil && cur.full(f, printFrames, printBytes) {
			send()
		}
		if cur == nil {
			if len(free) == 0 && made < cap(free) {
				// The first batch starts small and grows to its limits as
				// it is filled, so that reading a small file costs little;
				// once it is full the read is a long one, and the others
				// are made at full size.
				nf, nb := 64, 16<<10
				if made > 0 {
					nf, nb = printFrames, printBytes
				}
				made++
				cur = &printBatch{
					batch: batch{frames: make([]wire.Frame, 0, nf), offs: make([]int, 0, nf), data: make([]byte, 0, nb)},
					out:   make([]byte, 0, nb),
					ready: make(chan struct{}, 1),
				}
			} else {
				select {
				case cur = <-free:
				case <-stop:
					return errWritten
				}
			}
			cur.reset()
		}
		cur.add(f)
		return nil
	}, nil)
	if cur != nil && len(cur.frames) > 0 {
		send()
	}
	close(work)
	close(order)
	r := <-written
	if err == errWritten {
		err = nil
	}
	if err == nil {
		err = r.err
	}
	return r.skipped, err
}

// errWritten ends the read when the output has failed.
var errWritten = errorString("pipeline: output failed")

type errorString string

func (e errorString) Error() string { return string(e) }

// printBatches prints the frames of each batch from work.
func printBatches(print PrintFunc, work <-chan *printBatch) {
	for b := range work {
		b.out, b.skipped = b.out[:0], 0
		for i := range b.frames {
			var skip bool
			if b.out, skip = print(b.out, &b.frames[i]); skip {
				b.skipped++
			}
		}
		b.ready <- struct{}{}
	}
}
