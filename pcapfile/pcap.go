package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"synfin/wire"
)

// maxSnaplen is libpcap's largest snapshot length; records longer than both
// it and the file's snap length are damage, as libpcap judges them.
const maxSnaplen = 262144

// pcapReader reads pcap records. It is written here rather than taken from
// pcapgo because pcapgo normalises time stamps (tcpdump prints the raw
// fraction, even an invalid one) and copies every record; this reader
// hands out records straight from its buffer.
type pcapReader struct {
	br      *bufio.Reader
	big     bool
	nano    bool
	hdr     int // record header length: 16, or 24 in Kuznetzov's format
	snaplen int
	link    wire.LinkType
	off     int64  // offset of the next record
	large   []byte // for records longer than the buffer
}

func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	h, err := br.Peek(24)
	if err != nil {
		return nil, &DamageError{Offset: 0, Frame: 1, Err: fmt.Errorf("file header cut short (%d of 24 bytes)", len(h))}
	}
	r := &pcapReader{br: br, off: 24, hdr: 16}
	switch binary.LittleEndian.Uint32(h) {
	case magicMicro:
	case magicNano:
		r.nano = true
	case magicMicroSwap:
		r.big = true
	case magicNanoSwap:
		r.big, r.nano = true, true
	case magicKuz:
		r.hdr = 24
	case magicKuzSwap:
		r.big, r.hdr = true, 24
	}
	if major := r.u16(h[4:]); major != 2 {
		return nil, fmt.Errorf("pcapfile: unsupported pcap version %d.%d", major, r.u16(h[6:]))
	}
	r.snaplen = int(r.u32(h[16:]))
	// The upper bits of the link type field hold FCS information.
	r.link = wire.LinkType(r.u32(h[20:]) & 0x0fffffff)
	if r.hdr == 24 && r.link == wire.LinkEthernet && r.snaplen <= math.MaxInt32-14 {
		// As libpcap: the capture may have been made in cooked mode,
		// where the snap length did not count a faked Ethernet header.
		r.snaplen += 14
	}
	br.Discard(24)
	return r, nil
}

func (r *pcapReader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *pcapReader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next reads one record into f. Damage is reported as a *DamageError
// carrying the record's offset; the caller fills in the frame number.
// Kuznetzov's records add an interface index, a protocol, a packet type
// and padding to the header, which tcpdump does not print.
func (r *pcapReader) next(f *wire.Frame) error {
	h, err := r.br.Peek(r.hdr)
	if len(h) < r.hdr {
		if len(h) == 0 && err == io.EOF {
			return io.EOF
		}
		if err == io.EOF {
			return &DamageError{Offset: r.off, Err: fmt.Errorf("record header cut short (%d of %d bytes)", len(h), r.hdr)}
		}
		return &DamageError{Offset: r.off, Err: err}
	}
	h = h[:16] // the fields read below: no bounds checks
	sec, frac := r.u32(h[0:]), r.u32(h[4:])
	caplen, wirelen := int(r.u32(h[8:])), int(r.u32(h[12:]))
	// libpcap clamps a file's snap length to its maximum and refuses a
	// longer record, so a length field read from the file never sizes a
	// buffer beyond maxSnaplen.
	if caplen > maxSnaplen || caplen < 0 {
		return &DamageError{Offset: r.off, Err: fmt.Errorf("record length %d is larger than the snap length %d", uint32(caplen), r.snap())}
	}
	var data []byte
	if n := r.hdr + caplen; n <= r.br.Buffered() {
		// The whole record is in the buffer: one step, where a record
		// that straddles its end takes four.
		b, _ := r.br.Peek(n)
		data = b[r.hdr:n:n]
		r.br.Discard(n)
	} else if r.br.Discard(r.hdr); caplen <= r.br.Size() {
		data, err = r.br.Peek(caplen)
		if len(data) < caplen {
			if err != nil && err != io.EOF {
				return &DamageError{Offset: r.off, Err: err}
			}
			return &DamageError{Offset: r.off, Err: fmt.Errorf("record cut short (%d of %d bytes)", len(data), caplen)}
		}
		r.br.Discard(caplen)
	} else {
		// The buffer grows with the bytes actually read: a record header
		// at the end of a short file does not allocate what it claims.
		data = r.large[:0]
		for len(data) < caplen {
			n := min(caplen-len(data), r.br.Size())
			data = slices.Grow(data, n)
			m, err := io.ReadFull(r.br, data[len(data):len(data)+n])
			data = data[:len(data)+m]
			if err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
					err = fmt.Errorf("record cut short (%d of %d bytes)", len(data), caplen)
				}
				r.large = data
				return &DamageError{Offset: r.off, Err: err}
			}
		}
		r.large = data
	}
	r.off += int64(r.hdr + caplen)
	// libpcap hands out at most the file's snap length of a longer record.
	if snap := r.snap(); len(data) > snap {
		data = data[:snap]
		caplen = snap
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	// Field by field: a composite literal is built on the stack and
	// copied, which showed in profiles of every command.
	f.Index, f.Interface, f.BigTCP = 0, 0, false
	f.Time = int64(sec)*1e9 + ns
	f.Sec, f.Frac, f.Nano = int64(sec), frac, r.nano
	f.CapLen, f.WireLen = caplen, wirelen
	f.Link = r.link
	f.Data = data
	return nil
}

// snap is the snap length libpcap applies: the file's, unless it is 0 or
// larger than libpcap's maximum.
func (r *pcapReader) snap() int {
	if r.snaplen <= 0 || r.snaplen > maxSnaplen {
		return maxSnaplen
	}
	return r.snaplen
}
