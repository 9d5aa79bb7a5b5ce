package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"

	"synfin/input"
	"synfin/render/tcpdump"
	"synfin/wire"
)

// readWorkers is how many printers read runs side by side when the
// options allow it (0: one per CPU; 1: print in the reading goroutine,
// as for -ttt or relative sequence numbers). Tests vary it.
var readWorkers = 0

// parallelReads counts the reads that took the parallel path, for tests
// to see that they exercised it.
var parallelReads atomic.Int64

// Sizes of the batches that carry frames from the reader to the printers:
// large enough that handing one over costs little per packet, small
// enough that the batches in flight stay a few megabytes.
const (
	batchFrames = 2048
	batchBytes  = 1 << 19
)

// parallelOK reports whether read may print with several printers: the
// lines depend on each packet alone (absolute sequence numbers, no time
// deltas), nothing counts printed lines (-c) or follows connections
// (--annotate), and there is more than one CPU.
func parallelOK(popt tcpdump.Options, o readOpts) bool {
	return popt.Stateless() && o.count == 0 && !o.annotate && workers() > 1
}

func workers() int {
	if readWorkers > 0 {
		return readWorkers
	}
	return runtime.GOMAXPROCS(0)
}

// batch is a run of consecutive frames, copied out of the reader's
// buffer, and the lines printed for them.
type batch struct {
	frames  []wire.Frame
	data    []byte // the frames' bytes
	offs    []int  // where each frame's bytes start in data
	out     []byte
	skipped int
	ready   chan struct{} // a token when out is printed
}

// readParallel prints src as read does, with the decoding and printing
// of batches of frames spread over several goroutines and the batches
// written in order: the output is byte for byte the sequential one. The
// reading goroutine reads, filters and copies frames; the batches are
// recycled, so the steady state allocates nothing.
func readParallel(env *Env, src input.Source, flt *frameFilter, popt tcpdump.Options) error {
	parallelReads.Add(1)
	n := workers()
	// Batches are made as the read needs them, up to this many; then
	// the written ones come back to be filled again.
	free := make(chan *batch, 2*n+2)
	made := 0
	work := make(chan *batch, cap(free))
	order := make(chan *batch, cap(free))
	for range n {
		go printBatches(tcpdump.New(popt), work)
	}

	// The writer puts the batches out in the order they were read.
	type result struct {
		skipped int
		err     error
	}
	written := make(chan result, 1)
	stop := make(chan struct{}) // closed on a write error
	go func() {
		out := bufio.NewWriterSize(env.Stdout, 1<<16)
		var r result
		for b := range order {
			<-b.ready
			if r.err == nil {
				if _, err := out.Write(b.out); err != nil {
					r.err = fmt.Errorf("read: %w", err)
					close(stop)
				}
			}
			r.skipped += b.skipped
			free <- b
		}
		if r.err == nil {
			if err := out.Flush(); err != nil {
				r.err = fmt.Errorf("read: %w", err)
			}
		}
		written <- r
	}()

	var (
		f      wire.Frame
		err    error
		fltErr error // a filter that does not compile for a link type
		cur    *batch
		send   = func() {
			cur.seal()
			work <- cur
			order <- cur
			cur = nil
		}
	)
reading:
	for {
		if err = src.Next(&f); err != nil {
			break
		}
		// tcpdump never sees what its filter rejects: such frames take no
		// -# number and no part in -ttt deltas.
		ok, ferr := flt.match(&f)
		if ferr != nil {
			fltErr = ferr
			break
		} else if !ok {
			continue
		}
		if cur != nil && (len(cur.frames) == batchFrames || len(cur.data) > 0 && len(cur.data)+len(f.Data) > batchBytes) {
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
					nf, nb = batchFrames, batchBytes
				}
				made++
				cur = &batch{
					frames: make([]wire.Frame, 0, nf),
					data:   make([]byte, 0, nb),
					offs:   make([]int, 0, nf),
					out:    make([]byte, 0, nb),
					ready:  make(chan struct{}, 1),
				}
			} else {
				select {
				case cur = <-free:
				case <-stop:
					break reading
				}
			}
			cur.frames, cur.data, cur.offs = cur.frames[:0], cur.data[:0], cur.offs[:0]
		}
		cur.offs = append(cur.offs, len(cur.data))
		cur.data = append(cur.data, f.Data...)
		cur.frames = append(cur.frames, f) // Data is set by seal: data may move as it grows
	}
	if cur != nil && len(cur.frames) > 0 {
		send()
	}
	close(work)
	close(order)
	r := <-written
	if fltErr != nil {
		return fltErr
	}
	if r.err != nil {
		return r.err
	}
	if r.skipped > 0 {
		s := "s"
		if r.skipped == 1 {
			s = ""
		}
		fmt.Fprintf(env.Stderr, "synfin read: skipped %d non-TCP packet%s\n", r.skipped, s)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
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

// printBatches decodes and prints the frames of each batch from work.
func printBatches(pr *tcpdump.Printer, work <-chan *batch) {
	var p wire.Packet
	for b := range work {
		b.out, b.skipped = b.out[:0], 0
		for i := range b.frames {
			f := &b.frames[i]
			if tcpdump.InvalidHeader(f) {
				b.out = pr.AppendInvalid(b.out, f)
				continue
			}
			if !printable(p.Decode(f.Link, f.Data), &p) {
				b.skipped++
				continue
			}
			b.out = pr.Append(b.out, f, &p)
		}
		b.ready <- struct{}{}
	}
}
