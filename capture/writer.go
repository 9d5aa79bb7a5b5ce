package capture

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/internal/outfile"
	"synfin/wire"
)

// DefaultSnaplen is tcpdump's default snapshot length.
const DefaultSnaplen = 262144

// Writer writes captured frames to a pcap or pcapng file.
//
// Frames keep their link types: a pcapng file gets an interface for each
// link type written; a pcap file has one, and takes the first frame's if
// it differs from WriterOptions.Link (as long as no record has been
// written out), and refuses frames of any other.
//
// It knows where each record ends, so when the file cannot take more (a
// full disk, a quota) Close cuts it back to the last whole record: what
// was written stays readable, and Written says how many records it holds.
type Writer struct {
	file   *os.File     // nil when writing to a stream we do not own
	commit func() error // puts the file in place once it is closed
	out    counter
	bw     *bufio.Writer
	pcap   *pcapgo.Writer
	ng     *pcapgo.NgWriter
	opt    WriterOptions
	ifs    map[wire.LinkType]int // pcapng interfaces by link type
	like   Like                  // CreateLike's input, until the first frame

	each    bool    // write each packet out at once (PacketBuffered)
	ends    []int64 // ends of the header and records not yet wholly written out
	safe    int64   // end of the last of them wholly written out
	hdrOut  bool    // the file header is wholly written out
	written int     // records wholly written out
	err     error   // first error; the writer accepts nothing after it

	rot  *rotator // nil: one file
	done int      // records in the files closed before this one
}

// counter passes writes through and counts the bytes that got there.
type counter struct {
	w   io.Writer
	n   int64
	err error // first write error, as the file reported it
	on  func()
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	c.on()
	return n, err
}

// WriterOptions describe the file.
type WriterOptions struct {
	Link      wire.LinkType
	Snaplen   int // 0: DefaultSnaplen
	PcapNG    bool
	Nanos     bool   // pcap: nanosecond time stamps (pcapng always has them)
	Interface string // recorded in a pcapng interface block
	Filter    string // likewise
	// Packet-buffered (tcpdump's -U): each packet is written out as it
	// is written, not when the buffer fills.
	PacketBuffered bool
	// Rotate, if set, writes the frames to a file after another, as
	// tcpdump's -C, -G and -W do (not to standard output).
	Rotate Rotation
}

// Create creates path for writing; "-" writes to stdout. It refuses to
// write over anything but a regular file, and writes to a temporary file
// put in place of path by Close (see package outfile), so that a typo
// cannot write a capture into a device, a FIFO or over a directory, and
// a previous file stays whole until the new one is.
func Create(path string, stdout io.Writer, opt WriterOptions) (*Writer, error) {
	if err := opt.Rotate.Check(); err != nil || opt.Rotate.on() && path == outfile.Stdout {
		return nil, fmt.Errorf("capture: rotating files: %w", cmp.Or(err, errors.New("needs a file name")))
	}
	if path == outfile.Stdout {
		return newWriter(nil, stdout, opt)
	}
	var rot *rotator
	if opt.Rotate.on() {
		rot = newRotator(path, opt.Rotate)
		path = rot.filename()
	}
	f, err := outfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	w, err := NewWriter(f, opt)
	if err == nil {
		w.rot = rot
	}
	return w, err
}

// Like is what a file written from the frames of an input declares (an
// input.Source has it).
type Like interface {
	LinkType() wire.LinkType
	Snaplen() int
	Nano() bool // pcap: nanosecond time stamps
}

// CreateLike is Create for frames read from src: pcapng if path ends in
// .pcapng, else pcap, with src's link type and snap length and, in pcap,
// nanosecond time stamps if src has them.
//
// What src declares is asked again at the first frame, before the header
// is written out: a pcapng input's first interface is read with its first
// packet.
func CreateLike(path string, stdout io.Writer, src Like) (*Writer, error) {
	w, err := Create(path, stdout, WriterOptions{Link: src.LinkType(), Snaplen: src.Snaplen(),
		Nanos: src.Nano(), PcapNG: strings.HasSuffix(path, ".pcapng")})
	if err == nil {
		w.like = src
	}
	return w, err
}

// NewWriter writes to f, opened with outfile.Create (before anything
// worth writing exists, say), which the Writer then owns: Close puts it
// in place.
func NewWriter(f *outfile.File, opt WriterOptions) (*Writer, error) {
	w, err := newWriter(f.File, f, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.commit = f.Commit
	return w, nil
}

// WriteFrames writes frames to f, as NewWriter does, as a pcap file with
// nanosecond time stamps, and closes it.
func WriteFrames(f *outfile.File, link wire.LinkType, frames []wire.Frame) error {
	w, err := NewWriter(f, WriterOptions{Link: link, Snaplen: DefaultSnaplen, Nanos: true})
	if err != nil {
		return err
	}
	for i := range frames {
		if err := w.Write(&frames[i]); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// newWriter writes to out; file, when not nil, is out and is closed (and
// cut back after a failure) by Close.
func newWriter(file *os.File, out io.Writer, opt WriterOptions) (*Writer, error) {
	if opt.Snaplen == 0 {
		opt.Snaplen = DefaultSnaplen
	}
	w := &Writer{file: file, each: opt.PacketBuffered, opt: opt}
	w.out.w = out
	w.out.on = w.advance
	w.bw = bufio.NewWriterSize(&w.out, 1<<16)
	if err := w.start(opt.Link); err != nil {
		w.fail(err)
		w.Close()
		return nil, w.err
	}
	w.advance()
	return w, nil
}

// start writes the file header (pcapng: the section header and the first
// interface) for frames of link type link, in place of anything written
// so far, which must not have reached the file.
func (w *Writer) start(link wire.LinkType) error {
	w.bw.Reset(&w.out)
	w.opt.Link, w.ifs, w.ends = link, map[wire.LinkType]int{link: 0}, w.ends[:0]
	var err error
	if w.opt.PcapNG {
		// pcapgo's NgWriter buffers through w.bw itself (bufio reuses a
		// large enough Writer), so w.bw holds every byte not yet written.
		w.ng, err = pcapgo.NewNgWriterInterface(w.bw, pcapgo.NgInterface{
			Name:                w.opt.Interface,
			Filter:              w.opt.Filter,
			LinkType:            layers.LinkType(link),
			SnapLength:          uint32(w.opt.Snaplen),
			TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "synfin",
		}})
	} else {
		w.pcap = pcapgo.NewWriter(w.bw)
		if w.opt.Nanos {
			w.pcap = pcapgo.NewWriterNanos(w.bw)
		}
		err = w.pcap.WriteFileHeader(uint32(w.opt.Snaplen), layers.LinkType(link))
	}
	w.ends = append(w.ends, w.accepted()) // the file header
	return err
}

// fresh reports whether nothing but the file header has been written, and
// none of it written out.
func (w *Writer) fresh() bool { return w.written == 0 && len(w.ends) == 1 && w.out.n == 0 }

// accepted is the number of bytes handed to the file so far, written out
// or still buffered.
func (w *Writer) accepted() int64 { return w.out.n + int64(w.bw.Buffered()) }

// advance retires the records the file now holds whole.
func (w *Writer) advance() {
	i := 0
	for i < len(w.ends) && w.ends[i] <= w.out.n {
		i++
	}
	if i == 0 {
		return
	}
	w.safe = w.ends[i-1]
	w.written += i
	if !w.hdrOut {
		w.hdrOut = true
		w.written--
	}
	w.ends = w.ends[i:]
}

// fail records the first error, preferring the file's own (it says
// "no space left on device" where the pcap writer's wrapping would not).
func (w *Writer) fail(err error) error {
	if w.err == nil {
		if w.out.err != nil {
			err = w.out.err
		}
		w.err = fmt.Errorf("capture: %w", err)
	}
	return w.err
}

// Write appends one frame.
func (w *Writer) Write(f *wire.Frame) error {
	if w.err != nil {
		return w.err
	}
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(0, f.Time),
		CaptureLength: len(f.Data),
		Length:        f.WireLen,
	}
	if w.rot != nil {
		if err := w.rotate(f.Time); err != nil {
			return err
		}
	}
	var err error
	if like := w.like; like != nil {
		w.like = nil
		if w.fresh() {
			w.opt.Snaplen, w.opt.Nanos = cmp.Or(like.Snaplen(), DefaultSnaplen), like.Nano()
			if err := w.start(f.Link); err != nil {
				return w.fail(err)
			}
		}
	}
	if id, ok := w.ifs[f.Link]; ok {
		ci.InterfaceIndex = id
	} else if ci.InterfaceIndex, err = w.addLink(f.Link); errors.Is(err, errLink) {
		return err // the frame is refused; what came before stays
	} else if err != nil {
		return w.fail(err)
	}
	if w.ng != nil {
		err = w.ng.WritePacket(ci, f.Data)
	} else {
		err = w.pcap.WritePacket(ci, f.Data)
	}
	if err != nil {
		return w.fail(err)
	}
	w.ends = append(w.ends, w.accepted())
	w.advance()
	if w.each {
		return w.Flush()
	}
	return nil
}

// errLink is a frame a pcap file cannot take: its link type is not the
// file's.
var errLink = errors.New("capture")

// addLink makes room for frames of link type link: before the first
// record, in place of the file's link type (the input's may have been
// unknown); after it, as a pcapng interface of its own.
func (w *Writer) addLink(link wire.LinkType) (int, error) {
	if w.fresh() {
		return 0, w.start(link)
	}
	if w.ng == nil {
		return 0, fmt.Errorf("%w: a frame of link type %d cannot follow frames of link type %d in a pcap file: write pcapng", errLink, uint32(link), uint32(w.opt.Link))
	}
	ifc := pcapgo.NgInterface{LinkType: layers.LinkType(link), SnapLength: uint32(w.opt.Snaplen), TimestampResolution: 9}
	id, err := w.ng.AddInterface(ifc)
	w.ifs[link] = id
	return id, err
}

// Written is the number of records wholly written out so far; after
// Close, the number of records in the file (in all the files, rotating).
func (w *Writer) Written() int { return w.done + w.written }

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		return w.fail(err)
	}
	return nil
}

// Close flushes and closes the file. If writing failed, the file is cut
// back to its last whole record and the first error is returned.
func (w *Writer) Close() error {
	w.Flush()
	if w.file != nil {
		if w.err != nil {
			if err := w.file.Truncate(w.safe); err != nil {
				w.err = errors.Join(w.err, fmt.Errorf("capture: %w", err))
			}
		}
		if err := w.file.Close(); err != nil && w.err == nil {
			w.err = fmt.Errorf("capture: %w", err)
		}
		if w.commit != nil {
			// What was captured cannot be had again: the file goes in
			// place even after a write error, cut back to whole records.
			if err := w.commit(); err != nil && w.err == nil {
				w.err = fmt.Errorf("capture: %w", err)
			}
		}
		w.file = nil
	}
	return w.err
}
