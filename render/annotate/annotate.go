package annotate

import (
	"bytes"
	"slices"

	"golang.org/x/sys/cpu"

	"synfin/render/explain"
	"synfin/render/tcpdump"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// Options say whether and how a Printer annotates.
type Options struct {
	// Steps ends each TCP segment's line with its step.
	Steps bool
	// MaxConns bounds the open connections followed for the steps, and
	// track.HeldPerOpen times as many with the closed ones held for 2MSL (0: no
	// bound; a file's connections end when the file does, a live
	// capture's may not).
	MaxConns int
}

// Printer prints frames as tcpdump does, and with Options.Steps the step
// each segment is.
type Printer struct {
	pr  *tcpdump.Printer
	ann *annotator
	p   wire.Packet

	// p is written for every frame: the pad keeps it off the cache
	// line of the next Printer, another of pipeline.Print's workers.
	_ cpu.CacheLinePad
}

// New returns a Printer printing with pr.
func New(pr *tcpdump.Printer, opt Options) *Printer {
	fp := &Printer{pr: pr}
	if opt.Steps {
		fp.ann = newAnnotator(opt.MaxConns)
	}
	return fp
}

// Append appends the lines of f; skipped says it is not a TCP segment
// tcpdump prints, and nothing was appended.
func (fp *Printer) Append(dst []byte, f *wire.Frame) (out []byte, skipped bool) {
	if tcpdump.InvalidHeader(f) {
		return fp.pr.AppendInvalid(dst, f), false
	}
	derr := fp.p.Decode(f.Link, f.Data)
	if !tcpdump.Printable(derr, &fp.p) {
		// tcpdump's -ttt delta runs from the previous packet of any kind.
		fp.pr.Skip(f)
		return dst, true
	}
	start := len(dst)
	dst = fp.pr.Append(dst, f, &fp.p)
	if fp.ann != nil && derr == nil {
		dst = fp.ann.annotate(dst, start, f, &fp.p)
	}
	return dst, false
}

// annotator tracks the segments printed and names the step each one
// is, from the tracker's events: the ones explain prints.
type annotator struct {
	t     *track.Tracker
	steps explain.Stepper
	step  []byte
}

// newAnnotator returns an annotator holding at most maxConns connections
// (0: no bound).
func newAnnotator(maxConns int) *annotator {
	a := &annotator{}
	a.t = track.New(track.Config{
		Segments: true,
		MaxOpen:  maxConns,
		MaxConns: maxConns * track.HeldPerOpen,
		MaxWarm:  track.DefaultMaxWarm,
		OnSegment: func(c *tcpstate.Conn, s *tcpstate.Segment) {
			a.step = a.steps.Append(append(a.step[:0], "  "...), c, s)
			c.Segments = c.Segments[:0] // only the newest is needed
		},
		Done: func(c *tcpstate.Conn) { a.steps.Forget(c.ID) },
	})
	return a
}

// annotate tracks p and puts its step at the end of the line of out[start:]
// (p's lines) that has the TCP header: with -v the IP header takes a line
// before it, and dumps follow it.
func (a *annotator) annotate(out []byte, start int, f *wire.Frame, p *wire.Packet) []byte {
	a.step = a.step[:0]
	a.t.Packet(f.Index, f.Time, p)
	if len(a.step) == 0 {
		return out
	}
	i := bytes.Index(out[start:], []byte("Flags ["))
	if i < 0 {
		i = max(0, bytes.Index(out[start:], []byte(": tcp "))) // -q
	}
	i += start
	j := bytes.IndexByte(out[i:], '\n')
	if j < 0 {
		return append(out, a.step...)
	}
	return slices.Insert(out, i+j, a.step...)
}

// Evicted is how many connections the annotations let go before their
// end to stay within Options.MaxConns: a segment of one seen again is
// annotated as a new connection's.
func (fp *Printer) Evicted() uint64 {
	if fp.ann == nil {
		return 0
	}
	return fp.ann.t.Stats().Evicted
}
