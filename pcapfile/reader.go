package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/wire"
)

// Format names a capture file format.
type Format string

// The formats Detect recognises.
const (
	FormatPcap   Format = "pcap"
	FormatPcapNG Format = "pcapng"
	FormatOther  Format = ""
)

// Magic numbers.
const (
	magicMicro     = 0xa1b2c3d4
	magicNano      = 0xa1b23c4d
	magicMicroSwap = 0xd4c3b2a1
	magicNanoSwap  = 0x4d3cb2a1
	magicKuz       = 0xa1b2cd34 // Alexey Kuznetzov's patched libpcap
	magicKuzSwap   = 0x34cdb2a1
	magicNG        = 0x0a0d0d0a
)

// Detect tells the format from the first four bytes of a file.
func Detect(head []byte) Format {
	if len(head) < 4 {
		return FormatOther
	}
	switch binary.LittleEndian.Uint32(head) {
	case magicMicro, magicNano, magicMicroSwap, magicNanoSwap, magicKuz, magicKuzSwap:
		return FormatPcap
	case magicNG:
		return FormatPcapNG
	}
	return FormatOther
}

// DamageError reports where a capture file stops being readable.
type DamageError struct {
	Offset int64 // byte offset of the first unreadable record or block
	Frame  int   // index the frame there would have had
	Err    error
}

func (e *DamageError) Error() string {
	if errors.Is(e.Err, ErrTooManyInterfaces) {
		return fmt.Sprintf("pcapfile: stopped at byte offset %d (packet %d): %v", e.Offset, e.Frame, e.Err)
	}
	return fmt.Sprintf("pcapfile: damaged at byte offset %d (packet %d): %v", e.Offset, e.Frame, e.Err)
}

func (e *DamageError) Unwrap() error { return e.Err }

// Reader reads frames from a pcap or pcapng stream.
type Reader struct {
	format  Format
	pcap    *pcapReader
	ng      *pcapgo.NgReader
	blocks  *blockScanner // pcapng only
	nano    bool
	link    wire.LinkType
	snaplen int
	n       int   // frames handed out
	err     error // sticky
}

// NewReader reads the file header from r. r is buffered here; do not wrap
// it in a bufio.Reader first.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(4)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errors.New("pcapfile: file is empty or shorter than a file header")
		}
		return nil, fmt.Errorf("pcapfile: %w", err)
	}
	rd := &Reader{format: Detect(head)}
	switch rd.format {
	case FormatPcap:
		p, err := newPcapReader(br)
		if err != nil {
			return nil, err
		}
		rd.pcap, rd.nano, rd.link, rd.snaplen = p, p.nano, p.link, p.snaplen
	case FormatPcapNG:
		rd.blocks = &blockScanner{src: br}
		ng, err := pcapgo.NewNgReader(rd.blocks, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = errors.New("section header cut short")
			}
			return nil, &DamageError{Offset: 0, Frame: 1, Err: fmt.Errorf("bad section header: %w", err)}
		}
		rd.ng = ng
		rd.link = wire.LinkType(ng.LinkType())
		if ng.NInterfaces() > 0 {
			if ifc, err := ng.Interface(0); err == nil {
				rd.snaplen = int(ifc.SnapLength)
				rd.nano = ifc.TimestampResolution.ToTimestampResolution().ToDuration() < 1000
			}
		}
	default:
		return nil, errors.New("pcapfile: not a pcap or pcapng file")
	}
	return rd, nil
}

// Format returns the file's format.
func (r *Reader) Format() Format { return r.format }

// LinkType returns the link type of the file (pcapng: of the first
// interface, known once the first frame is read, as are Snaplen and Nano).
func (r *Reader) LinkType() wire.LinkType { return r.link }

// Snaplen returns the snapshot length the file declares.
func (r *Reader) Snaplen() int { return r.snaplen }

// Nano reports whether time stamps carry nanoseconds.
func (r *Reader) Nano() bool { return r.nano }

// Next reads the next frame into f. It returns io.EOF at a clean end and a
// *DamageError when the file is damaged; both are sticky.
func (r *Reader) Next(f *wire.Frame) error {
	if r.err != nil {
		return r.err
	}
	if r.pcap != nil {
		if err := r.pcap.next(f); err != nil {
			if de, ok := err.(*DamageError); ok {
				de.Frame = r.n + 1
			}
			r.err = err
			return err
		}
		r.n++
		f.Index = r.n
		return nil
	}
	data, ci, err := r.ng.ZeroCopyReadPacketData()
	if err != nil {
		r.err = r.damage(err)
		return r.err
	}
	// pcapgo trusts a block's leading length; libpcap also checks the
	// trailing one, and refuses a packet longer than the snap length.
	if r.n == 0 {
		// pcapgo reads the first interface with the first packet.
		if ifc, err := r.ng.Interface(0); err == nil {
			r.snaplen, r.link = int(ifc.SnapLength), wire.LinkType(ifc.LinkType)
			r.nano = ifc.TimestampResolution.ToTimestampResolution().ToDuration() < 1000
		}
	}
	pb, ok := r.blocks.packet(r.n + 1)
	switch {
	case r.blocks.bad && (!ok || r.blocks.badOff < pb.end):
		r.err = &DamageError{Offset: r.blocks.badOff, Frame: r.n + 1, Err: r.blocks.why}
		return r.err
	case ok && r.snaplen > 0 && len(data) > r.snaplen:
		r.err = &DamageError{Offset: pb.start, Frame: r.n + 1, Err: fmt.Errorf("packet length %d is larger than the snap length %d", len(data), r.snaplen)}
		return r.err
	}
	r.n++
	var ns int64
	if !ok || !pb.simple {
		// A simple packet block has no time stamp: libpcap gives it 0.
		ns = ci.Timestamp.UnixNano()
	}
	*f = wire.Frame{
		Index:     r.n,
		Time:      ns,
		Sec:       ns / 1e9,
		Frac:      uint32(ns % 1e9),
		Nano:      true,
		CapLen:    len(data),
		WireLen:   ci.Length,
		Link:      r.link,
		Interface: ci.InterfaceIndex,
		Data:      data,
	}
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			f.Link = wire.LinkType(lt)
		}
		r.blocks.consumed(r.n)
	}
	return nil
}

// damage turns a pcapng reader error into io.EOF or a DamageError.
func (r *Reader) damage(err error) error {
	off, ok := r.blocks.damageAfter(r.n)
	if err == io.EOF && !r.blocks.bad {
		if r.n == 0 && r.ng.NInterfaces() == 0 {
			// libpcap too refuses a file without an interface.
			return &DamageError{Offset: off, Frame: 1, Err: errors.New("no interface description block")}
		}
		return io.EOF
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("truncated block")
	}
	if !ok {
		off = r.blocks.pos
	}
	if r.blocks.bad && off == r.blocks.badOff {
		err = r.blocks.why
	}
	return &DamageError{Offset: off, Frame: r.n + 1, Err: err}
}
