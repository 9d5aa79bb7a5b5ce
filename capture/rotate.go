package capture

import (
	"errors"
	"fmt"
	"time"

	"synfin/internal/outfile"
)

// Rotation is tcpdump's -C, -G and -W: when a Writer closes its file and
// starts the next, and how the files are named. The rules are tcpdump
// 4.99's (dump_packet_and_trunc), checked before each packet:
//
//   - Every (-G): once the packet's time, in whole seconds, is Every or
//     more past the time the file was started, the next file is started,
//     named by formatting the name as strftime(3) does with that time in
//     the local zone. Without Size, Files ends the capture (ErrFileLimit)
//     at the packet that would start file Files+1.
//   - Size (-C): once the file holds more than Size bytes, the next is
//     started. The first is the name as given, the next ones the name with
//     1, 2, ... after it; with Files, the numbers are 0 to Files-1 padded
//     to the same width, and after the last the first is written over (a
//     ring buffer). A new file of Every starts again at the first number.
//
// A file is written under a temporary name and put in place when closed
// (package outfile), so a file of the ring is replaced once its
// successor is whole, and readers never see half a file.
type Rotation struct {
	Size  int64         // bytes; tcpdump's -C is in units of 1,000,000
	Every time.Duration // whole seconds
	Files int
	Start time.Time // when the capture began (-G's first name); zero: now
}

// ErrFileLimit is returned by Write for a frame that would have started
// one more file than Rotation.Files allows with Every alone; the frame
// is not written. Close still succeeds.
var ErrFileLimit = errors.New("capture: maximum file limit reached")

// Check says what is wrong with r, in terms of tcpdump's flags.
func (r Rotation) Check() error {
	switch {
	case r.Size < 0:
		return errors.New("-C takes a positive size in millions of bytes")
	case r.Every < 0 || r.Every%time.Second != 0:
		return errors.New("-G takes a positive whole number of seconds")
	case r.Files < 0:
		return errors.New("-W takes a positive number of files")
	case r.Files > 0 && r.Size == 0 && r.Every == 0:
		return errors.New("-W goes with -C or -G")
	}
	return nil
}

func (r Rotation) on() bool { return r.Size > 0 || r.Every > 0 }

// rotator is where a rotating Writer is in its files.
type rotator struct {
	Rotation
	name  string // as given, before strftime and number
	chars int    // digits of a file's number: those of Files-1
	n     int    // the current file's number
	start int64  // seconds: when the current file of Every began
	files int    // files of Every closed
	full  bool   // ErrFileLimit reached
}

func newRotator(name string, r Rotation) *rotator {
	rot := &rotator{Rotation: r, name: name, start: r.Start.Unix()}
	if r.Start.IsZero() {
		rot.start = time.Now().Unix()
	}
	for n := r.Files - 1; n > 0; n /= 10 {
		rot.chars++
	}
	return rot
}

// filename is the current file's name, as tcpdump's MakeFilename makes it.
func (r *rotator) filename() string {
	name := r.name
	if r.Every > 0 {
		name = strftime(name, time.Unix(r.start, 0))
	}
	if r.Size == 0 || r.n == 0 && r.chars == 0 {
		return name
	}
	return fmt.Sprintf("%s%0*d", name, r.chars, r.n)
}

// rotate starts the next file if the frame at time now (ns) is due in it.
func (w *Writer) rotate(now int64) error {
	r := w.rot
	if r.full {
		return ErrFileLimit
	}
	switch sec := now / int64(time.Second); {
	case r.Every > 0 && sec-r.start >= int64(r.Every/time.Second):
		r.start, r.n = sec, 0
		if r.files++; r.Size == 0 && r.Files > 0 && r.files >= r.Files {
			r.full = true
			w.Close()
			if w.err != nil {
				return w.err
			}
			return ErrFileLimit
		}
	case r.Size > 0 && w.accepted() > r.Size:
		if r.n++; r.Files > 0 && r.n >= r.Files {
			r.n = 0
		}
	default:
		return nil
	}
	if err := w.Close(); err != nil {
		return err
	}
	f, err := outfile.Create(r.filename())
	if err != nil {
		return w.fail(err)
	}
	w.done += w.written
	w.file, w.commit, w.written, w.safe, w.hdrOut = f.File, f.Commit, 0, 0, false
	w.out = counter{w: f, on: w.advance}
	if err := w.start(w.opt.Link); err != nil {
		return w.fail(err)
	}
	w.advance()
	return nil
}

// Full reports whether the capture ended at Rotation.Files files.
func (w *Writer) Full() bool { return w.rot != nil && w.rot.full }
