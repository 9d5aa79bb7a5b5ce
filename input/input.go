package input

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"synfin/internal/progress"
	"synfin/pcapfile"
	"synfin/tcpdumptext"
	"synfin/wire"
)

// Source hands out frames one at a time. Next returns io.EOF at a clean
// end; any other error is sticky and says where the input is damaged.
type Source interface {
	Next(f *wire.Frame) error
	// Format names the input format: "pcap", "pcapng" or "text".
	Format() string
	// Nano reports whether time stamps carry nanoseconds.
	Nano() bool
	Close() error
}

// Options tune how inputs are read.
type Options struct {
	// Text configures the tcpdump text reader.
	Text tcpdumptext.Options
	// Progress, if set, draws a progress bar while an input of known
	// size (a regular file, or standard input redirected from one) is
	// read; the bar is erased at the end of the input. Whether its
	// writer is a terminal is the caller's to check.
	Progress *progress.Config
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
		r = stdin
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
	var bar *progress.Bar
	if opt.Progress != nil {
		if size := regularSize(r); size > 0 {
			bar = progress.New(size, *opt.Progress)
			r = bar.Reader(r)
		}
	}
	src, err := FromReader(r, opt)
	if err != nil {
		if bar != nil {
			bar.Finish()
		}
		closer.Close()
		return nil, err
	}
	return &closing{Source: src, c: closer, bar: bar}, nil
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
		return pcapSource{p}, nil
	}
	if !looksText(head) {
		return nil, errors.New("input: not a pcap, pcapng or tcpdump text capture")
	}
	return textSource{tcpdumptext.NewReader(br, opt.Text)}, nil
}

type pcapSource struct{ *pcapfile.Reader }

func (s pcapSource) Format() string { return string(s.Reader.Format()) }
func (s pcapSource) Close() error   { return nil }

type textSource struct{ *tcpdumptext.Reader }

func (s textSource) Format() string { return "text" }
func (s textSource) Nano() bool     { return s.Reader.Nano() }
func (s textSource) Close() error   { return nil }

type closing struct {
	Source
	c   io.Closer
	bar *progress.Bar
}

func (c *closing) Close() error {
	if c.bar != nil {
		c.bar.Finish()
	}
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
