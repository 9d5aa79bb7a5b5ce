package pcapfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxInterfaces is the most interface description blocks a pcapng section
// may hold. pcapgo keeps about a kilobyte for each (with the copies its
// slice makes as it grows): without a bound, a file of bare 20-byte
// interface blocks took over thirty times its size in memory. The
// obsolete packet block numbers interfaces in 16 bits.
const MaxInterfaces = 1 << 16

// ErrTooManyInterfaces stops reading a section with more than
// MaxInterfaces interfaces.
var ErrTooManyInterfaces = fmt.Errorf("more than %d interfaces in one section, the most this reader keeps", MaxInterfaces)

// blockScanner is the reader pcapgo reads the stream through. It follows
// the pcapng block structure, so that damage can be placed at a byte
// offset; it hides interface statistics blocks from pcapgo, which stops at
// a malformed one where libpcap, which ignores them, reads on; and it
// stops a section with more than MaxInterfaces interfaces. It sees the
// stream a little ahead of pcapgo (pcapgo buffers), which is why it keeps
// a short queue of packet blocks not yet handed out.
type blockScanner struct {
	src     *bufio.Reader
	head    [12]byte // the next block's header, read ahead of pcapgo
	pend    []byte   // what of head pcapgo has yet to read
	headErr error    // the end of the stream, met reading head
	srcErr  error    // an error read with data, for the next read
	ifaces  int      // interfaces in the current section
	pos     int64    // bytes seen so far
	start   int64    // offset of the next block header
	cur     int64    // offset of the block whose body is being passed
	hdr     [12]byte
	nhdr    int
	skip    int64   // bytes of the current block still to pass
	length  uint32  // the current block's length, from its header
	tail    [4]byte // its trailing copy of the length
	ntail   int
	big     bool // section byte order
	packets int  // packet blocks seen
	queue   []pblock
	lastEnd int64 // end of the last packet block handed out (or of the first section header)
	bad     bool
	badOff  int64
	why     error
}

type pblock struct {
	k          int
	start, end int64
	simple     bool // a simple packet block, which has no time stamp
}

// Block types.
const (
	blockIDB = 1
	blockPB  = 2
	blockSPB = 3
	blockISB = 5
	blockEPB = 6
	// A type pcapgo does not know and skips, given to statistics blocks.
	blockHidden = 0x80000005
)

// Read passes the stream on to pcapgo, looking at each block header
// before pcapgo reads it. It fills p with as many blocks as are buffered,
// but never waits for more once it holds some: from a live pipe, pcapgo
// must see each block as soon as it is complete.
func (s *blockScanner) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if n > 0 {
			need := 1
			if s.atHeader() {
				need = len(s.head)
			}
			if s.src.Buffered() < need {
				break
			}
		}
		m, err := s.read(p[n:])
		n += m
		if err != nil {
			if n > 0 {
				s.srcErr = err // for the next call
				break
			}
			return 0, err
		}
	}
	return n, nil
}

// atHeader reports whether the next byte starts a block header that
// has not been read yet.
func (s *blockScanner) atHeader() bool {
	return len(s.pend) == 0 && s.headErr == nil && s.skip == 0 && s.nhdr == 0 && !s.bad
}

// read passes a block header, or what it can of the rest of a block.
func (s *blockScanner) read(p []byte) (int, error) {
	if s.srcErr != nil {
		err := s.srcErr
		s.srcErr = nil
		return 0, err
	}
	if s.atHeader() {
		n, err := io.ReadFull(s.src, s.head[:])
		s.pend = s.head[:n]
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			s.headErr = err
		}
		if n == len(s.head) {
			if err := s.look(); err != nil {
				s.pend = nil
				s.headErr = err
			}
		}
	}
	if len(s.pend) > 0 {
		n := copy(p, s.pend)
		s.pend = s.pend[n:]
		s.Write(p[:n])
		return n, nil
	}
	if s.headErr != nil {
		return 0, s.headErr
	}
	if s.skip > 0 && int64(len(p)) > s.skip {
		p = p[:s.skip] // the next block's header goes through head
	}
	n, err := s.src.Read(p)
	s.Write(p[:n])
	if n > 0 && err != nil {
		s.srcErr, err = err, nil
	}
	return n, err
}

// look checks the block header in head before pcapgo reads it.
func (s *blockScanner) look() error {
	bo := binary.ByteOrder(binary.LittleEndian)
	if s.big {
		bo = binary.BigEndian
	}
	switch bo.Uint32(s.head[:]) {
	case magicNG:
		s.ifaces = 0
	case blockISB:
		bo.PutUint32(s.head[:], blockHidden)
	case blockIDB:
		s.ifaces++
		if s.ifaces > MaxInterfaces {
			s.bad, s.badOff, s.why = true, s.start, ErrTooManyInterfaces
			return ErrTooManyInterfaces
		}
	}
	return nil
}

func (s *blockScanner) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && !s.bad {
		if s.skip > 0 {
			k := int64(len(b))
			if k > s.skip {
				k = s.skip
			}
			if s.skip-k < 4 { // b[:k] holds some of the trailing length
				s.ntail += copy(s.tail[s.ntail:], b[max(0, s.skip-4):k])
			}
			s.skip -= k
			s.pos += k
			b = b[k:]
			if s.skip == 0 {
				s.trailer()
			}
			continue
		}
		c := copy(s.hdr[s.nhdr:], b)
		s.nhdr += c
		s.pos += int64(c)
		b = b[c:]
		if s.nhdr < 12 {
			continue
		}
		s.block()
	}
	return n, nil
}

// block handles a complete 12-byte block prefix in hdr.
func (s *blockScanner) block() {
	typ := binary.LittleEndian.Uint32(s.hdr[0:])
	if typ == magicNG {
		switch binary.LittleEndian.Uint32(s.hdr[8:]) {
		case 0x1a2b3c4d:
			s.big = false
		case 0x4d3c2b1a:
			s.big = true
		default:
			s.fail()
			return
		}
	}
	var length uint32
	if s.big {
		typ = binary.BigEndian.Uint32(s.hdr[0:])
		length = binary.BigEndian.Uint32(s.hdr[4:])
	} else {
		length = binary.LittleEndian.Uint32(s.hdr[4:])
	}
	if length < 12 || length%4 != 0 {
		s.fail()
		return
	}
	end := s.start + int64(length)
	switch typ {
	case blockPB, blockSPB, blockEPB:
		s.packets++
		s.queue = append(s.queue, pblock{s.packets, s.start, end, typ == blockSPB})
	case magicNG:
		if s.lastEnd == 0 {
			s.lastEnd = end
		}
	}
	s.skip = int64(length) - 12
	s.cur, s.start = s.start, end
	s.nhdr = 0
	s.length, s.ntail = length, 0
	if s.skip == 0 {
		s.ntail = copy(s.tail[:], s.hdr[8:])
		s.trailer()
	}
}

// trailer checks the length at the end of the block just passed against
// the one at its start, as libpcap does: a block length that lies shows
// up here.
func (s *blockScanner) trailer() {
	l := binary.LittleEndian.Uint32(s.tail[:])
	if s.big {
		l = binary.BigEndian.Uint32(s.tail[:])
	}
	if l != s.length {
		s.bad, s.badOff, s.why = true, s.cur, errBlockTrailer
	}
}

// packet returns the block of packet n, if the scanner has seen it.
func (s *blockScanner) packet(n int) (pblock, bool) {
	for _, p := range s.queue {
		if p.k == n {
			return p, true
		}
	}
	return pblock{}, false
}

func (s *blockScanner) fail() {
	s.bad, s.badOff, s.why = true, s.start, errBlockHeader
}

var (
	errBlockHeader  = errors.New("bad block length or byte-order magic")
	errBlockTrailer = errors.New("block lengths at its start and end differ")
)

// consumed records that packet n has been handed out.
func (s *blockScanner) consumed(n int) {
	i := 0
	for i < len(s.queue) && s.queue[i].k <= n {
		s.lastEnd = s.queue[i].end
		i++
	}
	if i > 0 {
		s.queue = append(s.queue[:0], s.queue[i:]...)
	}
}

// damageAfter returns where reading stopped after n packets: a block the
// scanner found malformed, else a block cut short by the end of the
// stream, else the start of the block after packet n.
func (s *blockScanner) damageAfter(n int) (int64, bool) {
	s.consumed(n)
	if s.bad && s.badOff >= s.lastEnd {
		return s.badOff, true
	}
	// A block the stream ended inside of.
	if s.skip > 0 && s.cur >= s.lastEnd {
		return s.cur, true
	}
	if s.nhdr > 0 && s.start >= s.lastEnd {
		return s.start, true
	}
	return s.lastEnd, s.lastEnd > 0
}
