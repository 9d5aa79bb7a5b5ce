package tcpdumptext

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"synfin/wire"
)

// Options tune the text reader.
type Options struct {
	// Warn, when set, is told of each line that looks like TCP but could
	// not be parsed (line is 1-based). Such lines are skipped.
	Warn func(line int, text string, err error)
	// Date is the day given to time stamps printed without one (default
	// format, -t, -ttt, -ttttt); only its date matters. Zero: 1970-01-01.
	Date time.Time
	// Location is the zone the text's times were printed in (tcpdump uses
	// TZ). Nil: time.Local.
	Location *time.Location
	// TimeFormat says how to read HH:MM:SS stamps; TimeAuto guesses.
	TimeFormat TimeFormat
	// Seq says whether sequence numbers are absolute (-S); SeqAuto guesses.
	Seq SeqNumbers
}

// Stats counts what the reader has seen so far.
type Stats struct {
	Lines   int // lines read
	Packets int // packets printed (TCP or not)
	TCP     int // TCP segments handed out as frames
	Skipped int // packets that are not TCP, and lines that are not packets
	Bad     int // lines that looked like TCP but could not be read (warned)
}

// Bounds on what one line or one packet may hold.
const (
	maxLine   = 64 << 10
	maxRecord = 64 << 10
	maxHex    = maxPayload + 512
)

var (
	errLongLine = errors.New("tcpdumptext: line longer than 64 KiB")
	errNoStamp  = errors.New("tcpdumptext: a TCP line without a readable time stamp, where the other packet lines have one")
	errNoFields = errors.New("tcpdumptext: no \"Flags [...]\" or \"tcp N\" after the addresses")
)

// CutError reports text that ends inside a packet: the last line has no
// line end and, with the lines before it in its packet, cannot be read,
// or does not read as a packet at all.
type CutError struct {
	Offset int64 // byte offset of the packet's first line
	Line   int   // its line number, from 1
}

func (e *CutError) Error() string {
	return fmt.Sprintf("tcpdumptext: damaged at byte offset %d (line %d): the text ends inside this packet", e.Offset, e.Line)
}

// record is one printed packet: its first line and continuation lines.
type record struct {
	active   bool
	line     int   // line number of the first line
	off      int64 // byte offset of the first line
	text     string
	first    int // length of the first line within text
	hex      []byte
	hexLines int
	packet   bool // a packet line, not a banner or stray text
	index    int
	time     int64
}

// Reader turns tcpdump text lines into frames.
type Reader struct {
	r       *bufio.Reader
	opt     Options
	line    int
	count   int // packets seen, for Frame.Index without -#
	stamped bool
	clk     clock
	hosts   hosts
	seqMode SeqNumbers
	convs   map[convKey]convBase
	dirs    map[dirKey]dirState
	rec     record
	hexMode int8 // 0 unknown, 1 hex dumps follow packets, -1 they do not
	seg     segment
	buf     []byte
	long    []byte
	stats   Stats
	err     error
	off     int64 // bytes read
	lineOff int64 // byte offset of the last line read
	cut     bool  // the last line read had no line end
}

// NewReader returns a reader of tcpdump text from r.
func NewReader(r *bufio.Reader, opt Options) *Reader {
	loc := opt.Location
	if loc == nil {
		loc = time.Local
	}
	y, m, d := 1970, time.January, 1
	if !opt.Date.IsZero() {
		y, m, d = opt.Date.Date()
	}
	return &Reader{
		r:       r,
		opt:     opt,
		clk:     clock{format: opt.TimeFormat, loc: loc, day: time.Date(y, m, d, 0, 0, 0, 0, loc)},
		seqMode: opt.Seq,
		convs:   make(map[convKey]convBase),
		dirs:    make(map[dirKey]dirState),
	}
}

// Nano reports whether the text carried nanosecond time stamps.
func (r *Reader) Nano() bool { return r.clk.nano }

// Stats reports what has been read so far.
func (r *Reader) Stats() Stats { return r.stats }

// Next fills f with the next TCP segment. It returns io.EOF at the end.
// f.Data is owned by the reader and valid until the next call.
func (r *Reader) Next(f *wire.Frame) error {
	if r.err != nil {
		return r.err
	}
	for {
		// The pending record goes out as soon as it can, rather than
		// after the next line: from a live pipe, that line may be a while
		// coming.
		if r.eager(f) {
			return nil
		}
		line, err := r.readLine()
		if err != nil {
			if err != io.EOF {
				r.err = err
				return err
			}
			// Text that ends without a line end was cut: damage if the
			// packet the last line belongs to cannot be read, or if that
			// line starts something that is not a packet.
			cut := r.cut && r.rec.active && (r.rec.packet || r.rec.line == r.line)
			rc := r.rec
			ok := r.finish(f)
			r.err = io.EOF
			if ok {
				return nil
			}
			if cut {
				r.err = &CutError{Offset: rc.off, Line: rc.line}
			}
			return r.err
		}
		if r.add(line, f) {
			return nil
		}
	}
}

// readLine returns the next line without its end, bounded by maxLine.
func (r *Reader) readLine() (string, error) {
	if len(r.long) == 0 {
		r.lineOff = r.off
	}
	for {
		b, err := r.r.ReadSlice('\n')
		r.off += int64(len(b))
		if err == bufio.ErrBufferFull {
			if len(r.long)+len(b) <= maxLine {
				r.long = append(r.long, b...)
			} else {
				r.long = append(r.long[:0], 0) // mark as too long
			}
			continue
		}
		if len(b) == 0 && len(r.long) == 0 && err != nil {
			return "", err
		}
		r.line++
		r.stats.Lines++
		r.cut = err != nil
		var s string
		if len(r.long) > 0 {
			if len(r.long) == 1 && r.long[0] == 0 || len(r.long)+len(b) > maxLine {
				r.long = r.long[:0]
				r.stats.Bad++
				r.warn(r.line, "", errLongLine)
				r.lineOff = r.off
				continue
			}
			s = string(append(r.long, b...))
			r.long = r.long[:0]
		} else {
			s = string(b)
		}
		s = strings.TrimRight(s, "\r\n")
		return s, nil
	}
}

func (r *Reader) warn(line int, text string, err error) {
	if r.opt.Warn != nil {
		r.opt.Warn(line, text, err)
	}
}

// add takes one line; it reports whether f was filled.
func (r *Reader) add(line string, f *wire.Frame) bool {
	if off, ok := hexLine(line); ok {
		if r.rec.active {
			if len(r.rec.hex) < maxHex {
				r.rec.hex = appendHex(r.rec.hex, line[off:])
			}
			r.rec.hexLines++
		}
		return false
	}
	trim := strings.TrimLeft(line, " ")
	index, hasIndex := 0, false
	if n, rest := leadNum(trim); n >= 0 && strings.HasPrefix(rest, "  ") && n < 1<<31 {
		index, hasIndex = int(n), true
		trim = strings.TrimLeft(rest, " ")
	}
	st, rest, hasStamp := parseStamp(trim)
	indented := line != "" && (line[0] == ' ' || line[0] == '\t')
	start := hasIndex || hasStamp || !indented
	if start && !hasIndex && !hasStamp && r.rec.active && !r.rec.packetDone() && r.rec.tunnel() {
		start = false // the inner packet of a VXLAN or Geneve line
	}
	if !start {
		if r.rec.active && len(r.rec.text)+len(line)+1 <= maxRecord {
			r.rec.text += "\n" + line
		}
		return false
	}
	done := r.finish(f)
	r.rec = record{active: true, line: r.line, off: r.lineOff, text: rest, hex: r.rec.hex[:0]}
	if !hasStamp {
		r.rec.text = trim
	}
	r.rec.first = len(r.rec.text)
	if hasStamp {
		r.stamped = true
	}
	r.rec.packet = hasIndex || hasStamp || (!r.stamped && looksPacket(trim))
	if r.rec.packet {
		r.count++
		r.stats.Packets++
		r.rec.index = r.count
		if hasIndex {
			r.rec.index = index
		}
		if !hasStamp {
			st.kind = stampNone
		}
		r.rec.time = r.clk.unix(st)
	}
	return done
}

// eager hands out a complete TCP record at once, without waiting for the
// next line, once it is known that no hex dumps follow packets: a live
// pipe then sees each segment as soon as its line arrives.
func (r *Reader) eager(f *wire.Frame) bool {
	// A line cut short by the end of the input is left to the end's
	// checks, which call its record damage if it does not parse.
	if r.hexMode >= 0 || !r.rec.active || !r.rec.packet || r.cut {
		return false
	}
	if _, _, ok := tcpStart(r.rec.text); !ok {
		return false
	}
	return r.finish(f)
}

// packetDone reports whether the record already holds TCP fields.
func (rc *record) packetDone() bool {
	_, _, ok := tcpStart(rc.text)
	return ok
}

// tunnel reports whether the record ends in a tunnel header whose inner
// packet tcpdump prints on the next line.
func (rc *record) tunnel() bool {
	t := rc.text
	return strings.Contains(t, "VXLAN, ") || strings.Contains(t, "Geneve, ")
}

// malformedTCP reports whether a record tcpStart does not take for TCP
// still reads as a TCP line: ": Flags" or -q's ": tcp" without what
// follows them in every TCP line tcpdump prints.
func malformedTCP(rec string) bool {
	if strings.Contains(rec, ": Flags") {
		return true
	}
	for off := 0; ; {
		i := strings.Index(rec[off:], ": tcp")
		if i < 0 {
			return false
		}
		j := off + i + len(": tcp")
		if j == len(rec) || rec[j] == ' ' || rec[j] == '\n' {
			return true
		}
		off = j
	}
}

// looksPacket tells, in text without time stamps (-t), packet lines from
// banners and summaries.
func looksPacket(s string) bool {
	return strings.Contains(s, " > ") && !strings.HasPrefix(s, "tcpdump: ")
}

// finish turns the pending record into a frame; it reports whether f was
// filled.
func (r *Reader) finish(f *wire.Frame) bool {
	rc := &r.rec
	if !rc.active {
		return false
	}
	rc.active = false
	text := rc.text
	at, quiet, ok := tcpStart(text)
	if !rc.packet {
		if ok {
			// A TCP line whose time stamp is missing or damaged, in text
			// whose other packet lines have one: a packet all the same,
			// which the frame numbers after it count.
			r.count++
			r.stats.Packets++
			r.stats.Bad++
			r.warn(rc.line, text[:rc.first], errNoStamp)
			return false
		}
		r.stats.Skipped++
		return false
	}
	if !ok {
		if malformedTCP(text) {
			r.stats.Bad++
			r.warn(rc.line, text[:rc.first], errNoFields)
			return false
		}
		r.stats.Skipped++
		return false
	}
	if r.hexMode == 0 { // only reached once the record is complete
		r.hexMode = -1
		if rc.hexLines > 0 {
			r.hexMode = 1
		}
	}
	s := &r.seg
	*s = segment{opts: s.opts[:0], sacks: s.sacks[:0], vlans: s.vlans[:0]}
	if err := r.parseTCP(text, at, quiet, s); err != nil {
		r.stats.Bad++
		r.warn(rc.line, text[:rc.first], err)
		return false
	}
	r.absolute(s)
	r.stats.TCP++
	// The tcpdump that printed the segment in full read an IPv4 total
	// length of 0 as BIG TCP's (an over-long one is rebuilt so).
	*f = wire.Frame{Index: rc.index, Time: rc.time, BigTCP: true}
	if data, wireLen, ok := r.realBytes(s); ok {
		f.Data, f.Link, f.WireLen = data, wire.LinkRaw, wireLen
	} else {
		r.buf, f.Link = build(r.buf[:0], s)
		f.Data, f.WireLen = r.buf, len(r.buf)
	}
	f.CapLen = len(f.Data)
	return true
}

// realBytes uses the hex dump after the record, when there is one that
// decodes to the same segment the text shows.
func (r *Reader) realBytes(s *segment) ([]byte, int, bool) {
	h := r.rec.hex
	if len(h) < 20 {
		return nil, 0, false
	}
	var p wire.Packet
	for _, off := range [...]int{0, 14, 18, 22, 16, 20, 4} {
		if off >= len(h) || (h[off]>>4 != 4 && h[off]>>4 != 6) {
			continue
		}
		if p.Decode(wire.LinkRaw, h[off:]) != nil || p.SrcPort != s.sport || p.DstPort != s.dport {
			continue
		}
		if !s.quiet && p.Flags&^wire.AE != s.flags&^wire.AE {
			continue
		}
		r.buf = append(r.buf[:0], h[off:]...)
		n := len(r.buf)
		if p.IPTotalLen > 0 && p.Tunnel == wire.TunnelNone && p.IPTotalLen > n {
			n = p.IPTotalLen
		}
		return r.buf, n, true
	}
	return nil, 0, false
}

// hexLine reports whether line is a -x/-X dump line ("\t0x0010:  4500 ...")
// and where its bytes start.
func hexLine(line string) (int, bool) {
	if !strings.HasPrefix(line, "\t0x") {
		return 0, false
	}
	i := 3
	for i < len(line) && i < 12 {
		if _, ok := hexDigit(line[i]); !ok {
			break
		}
		i++
	}
	if i == 3 || !strings.HasPrefix(line[i:], ":  ") {
		return 0, false
	}
	return i + 3, true
}

// appendHex decodes "4500 003c 1c46" groups up to the ASCII column.
func appendHex(b []byte, s string) []byte {
	for len(s) >= 2 {
		hi, ok1 := hexDigit(s[0])
		lo, ok2 := hexDigit(s[1])
		if !ok1 || !ok2 {
			break
		}
		b = append(b, hi<<4|lo)
		s = s[2:]
		if len(s) > 0 && s[0] == ' ' {
			if len(s) > 1 && s[1] == ' ' {
				break
			}
			s = s[1:]
		}
	}
	return b
}
