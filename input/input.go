package input

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"synfin/pcapfile"
	"synfin/tcpdumptext"
	"synfin/wire"
)

// Source hands out frames one at a time. Next returns io.EOF at a clean
// end; any other error is sticky and says where the input is damaged.
type Source interface {
	Next(f *wire.Frame) error
	// Format names the input format: "pcap", "pcapng" or "text"
	// ("mixed" for inputs merged from several formats).
	Format() string
	// Nano reports whether time stamps carry nanoseconds.
	Nano() bool
	// LinkType is the link type the input declares (pcapng: its first
	// interface's; text: raw IP, though frames read from tcpdump -e's
	// text are Ethernet), and Snaplen its snapshot length (0: none).
	// Each frame carries its own link type.
	LinkType() wire.LinkType
	Snaplen() int
	Close() error
}

// Options tune how inputs are read.
type Options struct {
	// Text configures the tcpdump text reader.
	Text tcpdumptext.Options
	// Progress, if set, shows how far the inputs of known size (regular
	// files, or standard input redirected from one) have been read: it is
	// given their total size when they are opened, and returns what to
	// call with each count of bytes read and what to call when the read
	// is over (perhaps more than once: at the end of the input, when it
	// is closed or fails to open). Whether to show progress at all (is
	// standard error a terminal?) is the caller's to decide.
	Progress func(size int64) (add func(n int), finish func())
	// Warn, if set, is told in one line each of what was skipped and
	// why: packets of a link type that cannot be decoded (per pcapng
	// interface), and tcpdump text that could not be read. It is called
	// once, when the input ends.
	Warn func(msg string)
	// Ctx, if set, ends a read of stdin that waits for bytes (a pipe
	// with nothing yet, a terminal) when it is done, with its error.
	Ctx context.Context
}

// Open opens name ("-" for stdin) and detects its format.
func Open(name string, stdin io.Reader, opt Options) (Source, error) {
	var (
		r      io.Reader
		closer io.Closer = io.NopCloser(nil)
	)
	if name == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		r = cancellable(opt.Ctx, stdin)
		if c, ok := r.(io.Closer); ok {
			closer = c
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("input: %w", unwrapPath(err))
		}
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("input: %s is a directory", name)
		}
		r, closer = f, f
	}
	finish := func() {}
	if opt.Progress != nil {
		if size := regularSize(r); size > 0 {
			var add func(int)
			add, finish = opt.Progress(size)
			r = &metered{r: r, add: add, end: finish}
		}
	}
	src, err := FromReader(r, opt)
	if err != nil {
		finish()
		closer.Close()
		return nil, err
	}
	return &closing{Source: src, c: closer, finish: finish}, nil
}

// regularSize returns the bytes left to read in r if it is a regular
// file, else 0: the size of a pipe or a terminal is unknown.
func regularSize(r io.Reader) int64 {
	f, ok := r.(*os.File)
	if !ok || f == nil {
		return 0
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off > st.Size() {
		return 0
	}
	return st.Size() - off
}

// metered counts the bytes read from r; end, if set, is called when r
// ends or fails, so that a bar is gone before the results print.
type metered struct {
	r   io.Reader
	add func(int)
	end func()
}

func (m *metered) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n > 0 {
		m.add(n)
	}
	if err != nil && m.end != nil {
		m.end()
	}
	return n, err
}

// FromReader detects the format of r and returns a Source reading it.
func FromReader(r io.Reader, opt Options) (Source, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			return nil, errors.New("input: empty input")
		}
		return nil, fmt.Errorf("input: %w", err)
	}
	switch pcapfile.Detect(head) {
	case pcapfile.FormatPcap, pcapfile.FormatPcapNG:
		p, err := pcapfile.NewReader(br)
		if err != nil {
			return nil, err
		}
		if lt := p.LinkType(); p.Format() == pcapfile.FormatPcap && !lt.Supported() {
			// As tcpdump, which refuses such a file before reading it.
			return nil, fmt.Errorf("input: link type %d is not supported: nothing can be read", uint32(lt))
		}
		return &pcapSource{Reader: p, warn: opt.Warn}, nil
	}
	if !looksText(head) {
		return nil, errNotCapture
	}
	ts := &textSource{warn: opt.Warn}
	topt := opt.Text
	topt.Warn = ts.bad(opt.Text.Warn)
	ts.Reader = tcpdumptext.NewReader(br, topt)
	return ts, nil
}

var errNotCapture = errors.New("input: not a pcap, pcapng or tcpdump text capture")

// pcapSource hands out the frames of a capture file whose link type can
// be decoded, and counts the others by interface: a pcapng file may mix
// link types.
type pcapSource struct {
	*pcapfile.Reader
	warn    func(string)
	read    int               // frames handed out
	skipped map[int]*linkSkip // by interface
	ended   bool
}

// linkSkip counts the packets of one interface whose link type cannot be
// decoded.
type linkSkip struct {
	link wire.LinkType
	n    int
}

func (s *pcapSource) Format() string { return string(s.Reader.Format()) }
func (s *pcapSource) Close() error   { return nil }

func (s *pcapSource) Next(f *wire.Frame) error {
	for {
		if err := s.Reader.Next(f); err != nil {
			return s.end(err)
		}
		if f.Link.Supported() {
			s.read++
			return nil
		}
		if s.skipped == nil {
			s.skipped = make(map[int]*linkSkip)
		}
		k := s.skipped[f.Interface]
		if k == nil {
			k = &linkSkip{link: f.Link}
			s.skipped[f.Interface] = k
		}
		k.n++
	}
}

// maxListed bounds the interfaces named one by one.
const maxListed = 8

// end reports the skipped link types at the end of the input: an error
// when nothing else was read, else one warning per interface.
func (s *pcapSource) end(err error) error {
	if s.ended || len(s.skipped) == 0 {
		return err
	}
	s.ended = true
	ifs := make([]int, 0, len(s.skipped))
	for i := range s.skipped {
		ifs = append(ifs, i)
	}
	slices.Sort(ifs)
	if s.read == 0 && errors.Is(err, io.EOF) {
		var b strings.Builder
		for j, i := range ifs[:min(len(ifs), maxListed)] {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "interface %d has link type %d", i, uint32(s.skipped[i].link))
		}
		if len(ifs) > maxListed {
			fmt.Fprintf(&b, ", and %d more interfaces", len(ifs)-maxListed)
		}
		return fmt.Errorf("input: nothing could be read: %s, which is not supported", b.String())
	}
	if s.warn == nil {
		return err
	}
	for j, i := range ifs {
		if j == maxListed {
			s.warn(fmt.Sprintf("input: and %d more interfaces of link types that are not supported", len(ifs)-maxListed))
			break
		}
		k := s.skipped[i]
		s.warn(fmt.Sprintf("input: interface %d has link type %d, which is not supported: skipped its %s", i, uint32(k.link), plural(k.n, "packet")))
	}
	return err
}

// textSource reads tcpdump's text and refuses text that yields no TCP
// segment.
type textSource struct {
	*tcpdumptext.Reader
	warn    func(string)
	ended   bool
	badLine int // the first line that looked like TCP but was not read
	badErr  error
	lastBad int // the last such line
}

func (s *textSource) Format() string { return "text" }
func (s *textSource) Nano() bool     { return s.Reader.Nano() }
func (s *textSource) Close() error   { return nil }

func (s *textSource) LinkType() wire.LinkType { return wire.LinkRaw }
func (s *textSource) Snaplen() int            { return 0 }

// bad notes the first unreadable line, and passes every one to next.
func (s *textSource) bad(next func(int, string, error)) func(int, string, error) {
	return func(line int, text string, err error) {
		if s.badErr == nil {
			s.badLine, s.badErr = line, err
		}
		s.lastBad = line
		if next != nil {
			next(line, text, err)
		}
	}
}

func (s *textSource) Next(f *wire.Frame) error {
	err := s.Reader.Next(f)
	if err == nil || s.ended {
		return err
	}
	s.ended = true
	st := s.Stats()
	// Records that are neither packets nor continuation lines: stray text.
	stray := st.Skipped - (st.Packets - st.TCP - st.Bad)
	var cut *tcpdumptext.CutError
	switch {
	case st.Packets == 0 && errors.As(err, &cut):
		// Perhaps a packet line cut short: say where, too.
		return fmt.Errorf("%w: no packet line in its %s; %v", errNotCapture, plural(st.Lines, "line"), err)
	case st.Packets == 0 && errors.Is(err, io.EOF):
		return fmt.Errorf("%w: no packet line in its %s", errNotCapture, plural(st.Lines, "line"))
	case st.TCP == 0 && errors.Is(err, io.EOF):
		msg := fmt.Sprintf("input: no TCP segment in %s of tcpdump text: %s not TCP", plural(st.Lines, "line"), plural(st.Packets-st.Bad, "packet"))
		if st.Bad > 0 {
			msg += fmt.Sprintf(", %s unreadable (line %d: %v)", plural(st.Bad, "line"), s.badLine, s.badErr)
		}
		return errors.New(msg)
	}
	bad := st.Bad
	if errors.As(err, &cut) && cut.Line == s.lastBad {
		bad-- // the line cut short, which the error names
	}
	if s.warn != nil && bad > 0 {
		s.warn(fmt.Sprintf("input: skipped %s that looked like TCP but could not be read (line %d: %v)", plural(bad, "line"), s.badLine, s.badErr))
	}
	if s.warn != nil && stray > st.Packets {
		s.warn(fmt.Sprintf("input: skipped %s of %s: most of the text is not tcpdump's packet lines", plural(stray, "line"), plural(st.Lines, "line")))
	}
	return err
}

// plural writes n and a noun, adding an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

type closing struct {
	Source
	c      io.Closer
	finish func()
}

func (c *closing) Close() error {
	c.finish()
	return c.c.Close()
}

// unwrapPath keeps "open x: no such file or directory" short and clear.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// looksText reports whether the first bytes of an input could be text.
func looksText(head []byte) bool {
	for _, c := range head {
		if c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}
