package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/wire"
)

// Writer writes captured frames to a pcap or pcapng file.
type Writer struct {
	file *os.File // nil when writing to a stream we do not own
	bw   *bufio.Writer
	pcap *pcapgo.Writer
	ng   *pcapgo.NgWriter
}

// WriterOptions describe the file.
type WriterOptions struct {
	Link      wire.LinkType
	Snaplen   int
	PcapNG    bool
	Interface string // recorded in a pcapng interface block
	Filter    string // likewise
}

// Create creates (or truncates) path for writing; "-" writes to stdout.
// It refuses to write over anything but a regular file, so that a typo
// cannot write a capture into a device or over a directory.
func Create(path string, stdout io.Writer, opt WriterOptions) (*Writer, error) {
	var out io.Writer
	w := &Writer{}
	if path == "-" {
		out = stdout
	} else {
		st, err := os.Stat(path)
		switch {
		case err == nil && !st.Mode().IsRegular():
			return nil, fmt.Errorf("capture: %s is not a regular file; refusing to write over it", path)
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("capture: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		w.file, out = f, f
	}
	w.bw = bufio.NewWriterSize(out, 1<<16)
	if opt.PcapNG {
		ng, err := pcapgo.NewNgWriterInterface(w.bw, pcapgo.NgInterface{
			Name:                opt.Interface,
			Filter:              opt.Filter,
			LinkType:            layers.LinkType(opt.Link),
			SnapLength:          uint32(opt.Snaplen),
			TimestampResolution: 6,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
			Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: "synfin",
		}})
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("capture: %w", err)
		}
		w.ng = ng
	} else {
		w.pcap = pcapgo.NewWriter(w.bw)
		if err := w.pcap.WriteFileHeader(uint32(opt.Snaplen), layers.LinkType(opt.Link)); err != nil {
			w.Close()
			return nil, fmt.Errorf("capture: %w", err)
		}
	}
	return w, nil
}

// Write appends one frame.
func (w *Writer) Write(f *wire.Frame) error {
	ci := gopacket.CaptureInfo{
		Timestamp:     time.Unix(0, f.Time),
		CaptureLength: len(f.Data),
		Length:        f.WireLen,
	}
	var err error
	if w.ng != nil {
		err = w.ng.WritePacket(ci, f.Data)
	} else {
		err = w.pcap.WritePacket(ci, f.Data)
	}
	if err != nil {
		return fmt.Errorf("capture: writing: %w", err)
	}
	return nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			return fmt.Errorf("capture: writing: %w", err)
		}
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("capture: writing: %w", err)
	}
	return nil
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if w.file != nil {
		if cerr := w.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("capture: %w", cerr)
		}
		w.file = nil
	}
	return err
}
