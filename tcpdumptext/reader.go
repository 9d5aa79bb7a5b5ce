package tcpdumptext

import (
	"bufio"
	"io"

	"synfin/wire"
)

// Options tune the text reader.
type Options struct {
	// Warn, when set, is told of each line that could not be parsed.
	Warn func(line int, text string, err error)
}

// Looks reports whether the first bytes of an input could be tcpdump text.
func Looks(head []byte) bool {
	for _, c := range head {
		if c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e) {
			return false
		}
	}
	return true
}

// Reader turns tcpdump text lines into frames. (Stub: being written.)
type Reader struct {
	r   *bufio.Reader
	opt Options
}

// NewReader returns a reader of tcpdump text from r.
func NewReader(r *bufio.Reader, opt Options) *Reader { return &Reader{r: r, opt: opt} }

// Nano reports whether the text carried nanosecond time stamps.
func (r *Reader) Nano() bool { return false }

// Next returns the next frame.
func (r *Reader) Next(f *wire.Frame) error { return io.EOF }
