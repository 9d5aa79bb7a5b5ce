package input

import (
	"container/heap"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"strings"

	"synfin/pcapfile"
	"synfin/wire"
)

// OpenAll opens the inputs names name (see Expand: files, "-",
// directories, globs) as one Source. Several are merged by time stamp
// as mergecap merges them (each next frame is the earliest of the
// inputs' next frames), so that a connection that spans rotated files is
// one connection; frames are numbered from 1 across them all, as tcpdump
// numbers mergecap's output, and keep their own link types. Frames with
// the same time stamp come in the order the inputs are named, where
// mergecap 4.0 takes the last named first: it would swap the last frame
// of one rotated file and the first of the next when their stamps are
// equal. A file named twice (see Expand) is read once. A frame that is in
// two inputs (the same time stamp and bytes: captures that overlap) is
// kept, as mergecap keeps it and tcpdump prints it, so that the merge of
// the pieces of a capture that holds such duplicates itself is that
// capture; Warn says how many there were, once, at the end.
//
// Every input is checked before anything is read: a missing file or one
// that is not a capture is an error naming it. A file is then opened
// when the merge reaches its first frame, and closed at its end, so that
// rotated files are open one or two at a time however many there are;
// inputs that overlap in time are open together, as many as the limit of
// open files allows. A damaged input ends where the damage starts; the
// others are read to their ends, then the first damage is the error (and
// Warn names any other).
func OpenAll(names []string, stdin io.Reader, opt Options) (Source, error) {
	files, err := Expand(names, opt.Warn)
	if err != nil {
		return nil, err
	}
	if len(files) == 1 {
		return Open(files[0], stdin, opt)
	}
	m := &merged{opt: opt, stdin: stdin, seed: maphash.MakeSeed()}
	var total int64
	for i, name := range files {
		p := &part{name: name, order: i}
		if err := m.check(p); err != nil {
			m.Close()
			return nil, err
		}
		if st, err := os.Stat(name); err == nil && name != "-" && st.Mode().IsRegular() {
			total += st.Size()
		}
		m.parts = append(m.parts, p)
	}
	if opt.Progress != nil && total > 0 {
		m.add, m.finish = opt.Progress(total)
	}
	for _, p := range m.parts {
		if p.src != nil || p.at != noFrame {
			m.waiting = append(m.waiting, p)
		}
	}
	slices.SortStableFunc(m.waiting, func(a, b *part) int { return cmpAt(a.at, b.at) })
	return m, nil
}

// noFrame marks an input with no frame to read.
const noFrame = int64(-1 << 63)

// maxSame bounds the frames of one time stamp remembered to find those
// that are in two inputs: an input whose frames all have the same stamp
// (a pcapng file of simple packet blocks) is not searched past it.
const maxSame = 1024

// merged is the Source OpenAll returns for several inputs.
type merged struct {
	opt     Options
	stdin   io.Reader
	parts   []*part // as named
	waiting []*part // not yet opened, by first frame
	open    byTime  // open, by next frame
	cur     *part   // the part whose frame was handed out last
	n       int     // frames handed out
	err     error   // the end, once reached
	damage  []error // inputs that ended in damage, in the order met

	seed  maphash.Seed
	same  []sighting // frames handed out with time stamp sameT
	sameT int64
	dups  int
	dupOf [2]string // the inputs of the first duplicate

	add    func(int)
	finish func()
}

// part is one input of a merge.
type part struct {
	name  string
	order int
	src   Source
	head  wire.Frame // its next frame, when open
	at    int64      // the time of its next frame (noFrame: none)
	first wire.LinkType
	snap  int
	nano  bool
	form  string
}

// sighting is a frame handed out, to find another input's copy of it.
type sighting struct {
	order int
	sum   uint64
	link  wire.LinkType
	wire  int
	cap   int
}

func cmpAt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// byTime is a heap of open parts by their next frame's time, then the
// order they were named in.
type byTime []*part

func (h byTime) Len() int { return len(h) }
func (h byTime) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].order < h[j].order
}
func (h byTime) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *byTime) Push(x any)   { *h = append(*h, x.(*part)) }
func (h *byTime) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}

// Named puts an input's name into an error of package input (which a
// file's own errors, and a glob's that matches nothing, already hold).
func Named(name string, err error) error {
	if msg := err.Error(); strings.Contains(msg, name+":") || strings.HasSuffix(msg, " "+name) {
		return err
	}
	return fmt.Errorf("input: %s: %w", name, unprefixErr{err})
}

// unprefixErr is err without its "input: " prefix, for named.
type unprefixErr struct{ error }

func (e unprefixErr) Error() string { return strings.TrimPrefix(e.error.Error(), "input: ") }
func (e unprefixErr) Unwrap() error { return e.error }

// check opens p and reads its first frame, so that an input that cannot
// be read is an error before anything is, and the merge knows when to
// open it. A file is closed again until then; standard input, which
// cannot be read twice, stays open.
func (m *merged) check(p *part) error {
	opt := m.opt
	opt.Progress, opt.Warn = nil, nil
	src, err := Open(p.name, m.stdin, opt)
	if err != nil {
		return Named(p.name, err)
	}
	p.at = noFrame
	err = src.Next(&p.head)
	p.first, p.snap, p.nano, p.form = src.LinkType(), src.Snaplen(), src.Nano(), src.Format()
	switch {
	case err == nil:
		p.at = p.head.Time
	case errors.Is(err, io.EOF):
	default:
		var dmg *pcapfile.DamageError
		if !errors.As(err, &dmg) {
			src.Close()
			return Named(p.name, err) // nothing can be read from it
		}
		m.damage = append(m.damage, Named(p.name, err))
	}
	if p.name == "-" && p.at != noFrame {
		p.src = src
		return nil
	}
	return src.Close()
}

// warn returns Options.Warn with p's name in each message.
func (m *merged) warn(p *part) func(string) {
	if m.opt.Warn == nil {
		return nil
	}
	return func(msg string) { m.opt.Warn("input: " + p.name + ": " + strings.TrimPrefix(msg, "input: ")) }
}

// start opens p and reads its first frame into its head.
func (m *merged) start(p *part) {
	if p.src == nil {
		opt := m.opt
		opt.Progress, opt.Warn = nil, m.warn(p)
		var err error
		if p.src, err = openMetered(p.name, m.stdin, opt, m.add); err != nil {
			p.src = nil
			m.damage = append(m.damage, Named(p.name, err))
			return
		}
		if !m.read(p) {
			return
		}
	}
	heap.Push(&m.open, p)
}

// openMetered is Open with what is read counted by add.
func openMetered(name string, stdin io.Reader, opt Options, add func(int)) (Source, error) {
	if add != nil {
		opt.Progress = func(int64) (func(int), func()) { return add, func() {} }
	}
	return Open(name, stdin, opt)
}

// read reads p's next frame; at its end it closes p and reports false.
func (m *merged) read(p *part) bool {
	err := p.src.Next(&p.head)
	if err == nil {
		p.at = p.head.Time
		return true
	}
	if !errors.Is(err, io.EOF) {
		m.damage = append(m.damage, Named(p.name, err))
	}
	p.src.Close()
	p.src, p.at = nil, noFrame
	return false
}

func (m *merged) Next(f *wire.Frame) error {
	if m.err != nil {
		return m.err
	}
	if p := m.cur; p != nil {
		m.cur = nil
		if m.read(p) {
			heap.Fix(&m.open, 0)
		} else {
			heap.Pop(&m.open)
		}
	}
	// Open what starts before the earliest open frame (or with it, named
	// before it).
	for len(m.waiting) > 0 && (len(m.open) == 0 || m.waiting[0].at < m.open[0].at ||
		m.waiting[0].at == m.open[0].at && m.waiting[0].order < m.open[0].order) {
		p := m.waiting[0]
		m.waiting = m.waiting[1:]
		m.start(p)
	}
	if len(m.open) == 0 {
		return m.end()
	}
	p := m.open[0]
	m.cur = p
	m.sight(p)
	*f = p.head
	m.n++
	f.Index = m.n
	return nil
}

// sight counts p's next frame as a duplicate if it was handed out
// already from another input: the same time stamp, link type, lengths
// and bytes.
func (m *merged) sight(p *part) {
	h := &p.head
	s := sighting{order: p.order, sum: maphash.Bytes(m.seed, h.Data), link: h.Link, wire: h.WireLen, cap: len(h.Data)}
	if m.n == 0 || h.Time != m.sameT {
		m.same, m.sameT = m.same[:0], h.Time
	}
	for _, o := range m.same {
		if o.order != s.order && o.sum == s.sum && o.link == s.link && o.wire == s.wire && o.cap == s.cap {
			if m.dups == 0 {
				m.dupOf = [2]string{m.parts[o.order].name, p.name}
			}
			m.dups++
			return
		}
	}
	if len(m.same) < maxSame {
		m.same = append(m.same, s)
	}
}

// end says what the merge skipped and returns how it ended.
func (m *merged) end() error {
	if m.finish != nil {
		m.finish()
	}
	m.err = io.EOF
	if m.opt.Warn != nil && m.dups > 0 {
		m.opt.Warn(fmt.Sprintf("input: %s in two inputs (the same time stamp and bytes; the first in %s and %s): do they overlap? Each copy is read, as mergecap keeps them",
			plural(m.dups, "packet"), m.dupOf[0], m.dupOf[1]))
	}
	if len(m.damage) > 0 {
		m.err = m.damage[0]
		if m.opt.Warn != nil {
			for _, d := range m.damage[1:] {
				m.opt.Warn(d.Error())
			}
		}
	}
	return m.err
}

func (m *merged) Format() string {
	form := m.parts[0].form
	for _, p := range m.parts {
		if p.form != form {
			return "mixed"
		}
	}
	return form
}

func (m *merged) Nano() bool {
	return slices.ContainsFunc(m.parts, func(p *part) bool { return p.nano })
}

func (m *merged) LinkType() wire.LinkType { return m.parts[0].first }

func (m *merged) Snaplen() int {
	n := 0
	for _, p := range m.parts {
		n = max(n, p.snap)
	}
	return n
}

// Close closes the inputs still open.
func (m *merged) Close() error {
	if m.finish != nil {
		m.finish()
	}
	for _, p := range m.parts {
		if p.src != nil {
			p.src.Close()
			p.src = nil
		}
	}
	return nil
}
