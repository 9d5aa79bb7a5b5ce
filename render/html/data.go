package html

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/render/tsg"
	"synfin/tcpstate"
	"synfin/wire"
)

// listChunk holds the list entries of a chunk's connections: what the
// list shows, sorts and filters by, for every connection, without
// reading any connection's details. Each entry is packed as varints
// (add), the addresses as indexes into the chunk's own table of
// them.
type listChunk struct {
	n      int
	packed []byte
	addrs  map[netip.Addr]int
	names  []string
	id, t0 int64
}

// add packs the entry of c, its varints in order (the page's fields):
// id and start (µs since the epoch) as differences from the entry before
// (id, t0); duration in µs (du); bytes sent by client and server (bc,
// bs); initial and final states of both ends (ic, is, fc, fs:
// tcpstate.State); teardown pattern (p: tcpstate.Pattern); the anomalies
// seen (an: a bit set by tcpstate.Anomaly); segments (ns); client and
// server port (cp, sp) and address (ca, sa: indexes into the table).
func (l *listChunk) add(c *tcpstate.Conn) {
	var an uint32
	for a, n := range c.Anomalies {
		if n.Count > 0 {
			an |= 1 << a
		}
	}
	t0 := c.First.Time / 1e3
	l.packed = binary.AppendVarint(l.packed, int64(c.ID)-l.id)
	l.packed = binary.AppendVarint(l.packed, t0-l.t0)
	l.id, l.t0 = int64(c.ID), t0
	for _, v := range [...]uint64{uint64(c.Duration() / 1e3), c.Client.Bytes, c.Server.Bytes,
		uint64(c.Client.Initial), uint64(c.Server.Initial), uint64(c.Client.State), uint64(c.Server.State),
		uint64(c.Teardown.Pattern), uint64(an), uint64(len(c.Segments)), uint64(c.Client.Port), uint64(c.Server.Port),
		l.addr(c.Client.Addr), l.addr(c.Server.Addr)} {
		l.packed = binary.AppendUvarint(l.packed, v)
	}
	l.n++
}

func (l *listChunk) addr(a netip.Addr) uint64 {
	i, ok := l.addrs[a]
	if !ok {
		i = len(l.names)
		l.addrs[a] = i
		l.names = append(l.names, a.String())
	}
	return uint64(i)
}

// appendJSON appends the chunk's list: {"n": entries, "a": addresses,
// "b": the entries in base64}.
func (l *listChunk) appendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"n":`...), int64(l.n), 10)
	b = append(b, `,"a":[`...)
	for i, a := range l.names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStr(b, a)
	}
	b = append(b, `],"b":"`...)
	b = base64.StdEncoding.AppendEncode(b, l.packed)
	return append(b, `"}`...)
}

func (l *listChunk) reset() {
	l.n, l.id, l.t0, l.packed, l.names = 0, 0, 0, l.packed[:0], l.names[:0]
	clear(l.addrs)
}

// shapes numbers the shapes of messages, a catalogue key and its
// arguments' names, so that a message is written as its shape's number
// and its arguments' values.
type shapes struct {
	byKey map[string][]int
	list  [][]string
}

func (s *shapes) of(m explain.Msg) int {
	for _, i := range s.byKey[m.Key] {
		if sh := s.list[i]; len(sh) == len(m.Args)+1 && sameNames(sh[1:], m.Args) {
			return i
		}
	}
	sh := []string{m.Key}
	for _, a := range m.Args {
		sh = append(sh, a.Name)
	}
	s.list = append(s.list, sh)
	s.byKey[m.Key] = append(s.byKey[m.Key], len(s.list)-1)
	return len(s.list) - 1
}

func sameNames(names []string, args []explain.Arg) bool {
	for i, a := range args {
		if names[i] != a.Name {
			return false
		}
	}
	return true
}

func (rw *Writer) appendMsg(b []byte, m explain.Msg) []byte {
	b = strconv.AppendInt(append(b, '['), int64(rw.shapes.of(m)), 10)
	for _, a := range m.Args {
		b = appendStr(append(b, ','), a.String())
	}
	return append(b, ']')
}

func (rw *Writer) appendMsgs(b []byte, ms []explain.Msg) []byte {
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = rw.appendMsg(b, m)
	}
	return append(b, ']')
}

// Row kinds as packed, with a segment's arrow's class (ladder.Class)
// first.
const (
	rowBreak = 4 + iota
	rowTimeWait
	rowLost
	rowData
	rowEnd
)

// appendDetail appends the details of c as one line that report.js
// reads (conn in report.js): its ladder's rows and its segments packed
// as varints in base64, then, for a connection whose ladder sums up its
// data phase or while explainBytes lasts, a space and a JSON object of
// messages: the data phase's lines ("dm") and the explanation.
func (rw *Writer) appendDetail(b []byte, c *tcpstate.Conn) []byte {
	m := ladder.Collapsed(c)
	p := rw.packed[:0]
	p = binary.AppendUvarint(p, uint64(len(c.Segments)))
	p = binary.AppendUvarint(p, uint64(len(m.Rows)))
	p = append(p, byte(m.Initial[0]), byte(m.Initial[1]))
	// Rows: kind × 4 + which state changed (bits: client, server), then
	// each changed state; TIME-WAIT's break has its length (µs), the
	// summed-up data phase its first and last segments. A break's length
	// is the time between the segments around it.
	var data *explain.DataPhase
	for _, r := range m.Rows {
		kind := byte(r.Class)
		switch r.Kind {
		case ladder.KindBreak:
			kind = rowBreak
			if r.TimeWait {
				kind = rowTimeWait
			}
		case ladder.KindLost:
			kind = rowLost
		case ladder.KindData:
			kind, data = rowData, r.Data
		case ladder.KindEnd:
			kind = rowEnd
		}
		var ch byte
		for side := range 2 {
			if r.Changed[side] {
				ch |= 1 << side
			}
		}
		p = append(p, kind<<2|ch)
		for side := range 2 {
			if r.Changed[side] {
				p = append(p, byte(r.States[side]))
			}
		}
		switch kind {
		case rowTimeWait:
			p = binary.AppendUvarint(p, uint64(r.Gap/1e3))
		case rowData:
			p = binary.AppendUvarint(p, uint64(r.Data.First))
			p = binary.AppendUvarint(p, uint64(r.Data.Last))
		}
	}
	p = rw.appendSegs(p, c)
	p = appendGraph(p, tsg.Compute(c))
	rw.packed = p
	b = base64.StdEncoding.AppendEncode(b, p)
	explained := rw.explained < explainBytes
	if data == nil && !explained {
		return b
	}
	start := len(b)
	b = append(b, " {"...)
	if data != nil {
		l := data.DirLines(false)
		lines := []explain.Msg{explain.M("lg.data", "n", strconv.Itoa(data.Count()), "dur", explain.Dur(data.Duration)), l[0], l[1], explain.M("lg.full")}
		b = rw.appendMsgs(append(b, `"dm":`...), lines)
	}
	if explained {
		if data != nil {
			b = append(b, ',')
		}
		b = rw.appendExplanation(b, explain.Explain(c))
		rw.explained += len(b) - start
		rw.explainedConns++
	}
	return append(b, '}')
}

// appendExplanation appends the messages of e: title, header, verdict,
// what is missing, summary, and each segment's notes and state changes
// but those of a data phase the ladder sums up.
func (rw *Writer) appendExplanation(b []byte, e *explain.Explanation) []byte {
	b = rw.appendMsg(append(b, `"ti":`...), e.Title)
	b = rw.appendMsgs(append(b, `,"h":`...), e.Header)
	b = rw.appendMsgs(append(b, `,"v":`...), e.Verdict)
	b = rw.appendMsgs(append(b, `,"x":`...), e.Missing)
	b = rw.appendMsgs(append(b, `,"s":`...), e.Summary)
	return rw.appendSteps(b, e)
}

// appendSegs appends the segments of c packed: whether the absolute
// numbers are each direction's base plus the relative ones, and the
// bases; each segment's flags (index into the report's table), direction
// and phase as one number, flags × 6 + direction × 3 + phase; then, as
// differences from what the page expects from the segments before, which
// is 0 more often than not: frame and time (µs) from the previous
// segment's (the first's from 0 and the connection's start), the
// relative sequence number from the end of the previous segment the
// same way, the relative acknowledgment (with ACK) and the window
// (scaled) from those of the previous segment the same way; and the
// length. Then the segments with anomalies, as index and bit set; and
// without bases, the absolute sequence and acknowledgment numbers.
func (rw *Writer) appendSegs(p []byte, c *tcpstate.Conn) []byte {
	segs := c.Segments
	var base [2]uint32
	var baseSet [2]bool
	for i := range segs {
		s := &segs[i]
		if !baseSet[s.Dir] {
			base[s.Dir], baseSet[s.Dir] = s.Seq-s.RelSeq, true
		}
	}
	exact := byte(1)
	for i := range segs {
		s := &segs[i]
		if s.Seq-s.RelSeq != base[s.Dir] || (s.Flags&wire.ACK != 0 && baseSet[1-s.Dir] && s.Ack-s.RelAck != base[1-s.Dir]) {
			exact = 0
		}
	}
	p = append(p, exact)
	p = binary.AppendUvarint(p, uint64(base[0]))
	p = binary.AppendUvarint(p, uint64(base[1]))
	var next, ack, win [2]int64
	frame, t := int64(0), c.First.Time/1e3
	anomalous := 0
	for i := range segs {
		s := &segs[i]
		p = binary.AppendUvarint(p, uint64(rw.flagsIndex(s.Flags)*6+int64(s.Dir)*3+int64(s.Phase)))
		p = binary.AppendVarint(p, int64(s.Index)-frame)
		p = binary.AppendVarint(p, s.Time/1e3-t)
		frame, t = int64(s.Index), s.Time/1e3
		p = binary.AppendVarint(p, int64(int32(s.RelSeq-uint32(next[s.Dir]))))
		next[s.Dir] = int64(s.RelSeq) + int64(s.Len)
		if s.Flags&(wire.SYN|wire.FIN) != 0 {
			next[s.Dir]++
		}
		if s.Flags&wire.ACK != 0 {
			p = binary.AppendVarint(p, int64(int32(s.RelAck-uint32(ack[s.Dir]))))
			ack[s.Dir] = int64(s.RelAck)
		}
		p = binary.AppendVarint(p, int64(s.WindowScaled)-win[s.Dir])
		win[s.Dir] = int64(s.WindowScaled)
		p = binary.AppendUvarint(p, uint64(s.Len))
		if s.Anomalies != 0 {
			anomalous++
		}
	}
	p = binary.AppendUvarint(p, uint64(anomalous))
	for i := range segs {
		if an := segs[i].Anomalies; an != 0 {
			p = binary.AppendUvarint(p, uint64(i))
			p = binary.AppendUvarint(p, uint64(an))
		}
	}
	if exact == 0 {
		for i := range segs {
			p = binary.AppendUvarint(p, uint64(segs[i].Seq))
			p = binary.AppendUvarint(p, uint64(segs[i].Ack))
		}
	}
	return p
}

// appendGraph appends what the page's time-sequence graph takes from
// tsg.Compute besides what the segments give (their ranges, the ACK and
// window lines, the zero windows): for each flow, its marked segments
// (index among the flow's segments, from the previous one's, and the
// marks: 1 retransmission, 2 out of order, 4 probe), its SACK blocks
// (time, left edge from the previous block's, length), its RTT samples
// (time, µs) and its throughput points (time, bytes a second); times in
// µs since the graph's start, each from the previous one's.
func appendGraph(p []byte, g *tsg.Graph) []byte {
	us := func(t float64) int64 { return int64(math.Round(t * 1e6)) }
	for i := range g.Flows {
		f := &g.Flows[i]
		marks := func(s *tsg.Seg) byte {
			return byte(btoi(s.Retrans) | btoi(s.OutOfOrder)<<1 | btoi(s.Probe)<<2)
		}
		n, last := 0, 0
		for j := range f.Segs {
			n += btoi(marks(&f.Segs[j]) != 0)
		}
		p = binary.AppendUvarint(p, uint64(n))
		for j := range f.Segs {
			if m := marks(&f.Segs[j]); m != 0 {
				p = append(binary.AppendUvarint(p, uint64(j-last)), m)
				last = j
			}
		}
		p = binary.AppendUvarint(p, uint64(len(f.SACKs)))
		var t, lo int64
		for _, b := range f.SACKs {
			p = binary.AppendVarint(p, us(b.T)-t)
			p = binary.AppendVarint(p, b.Lo-lo)
			p = binary.AppendVarint(p, b.Hi-b.Lo)
			t, lo = us(b.T), b.Lo
		}
		for k, vs := range [2][]tsg.Value{f.RTT, f.Throughput} {
			p = binary.AppendUvarint(p, uint64(len(vs)))
			mul, t := 1e6, int64(0)
			if k == 1 {
				mul = 1
			}
			for _, v := range vs {
				p = binary.AppendVarint(p, us(v.T)-t)
				p = binary.AppendUvarint(p, uint64(math.Round(v.V*mul)))
				t = us(v.T)
			}
		}
	}
	return p
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flagsIndex is the index of f in the report's table of flags.
func (rw *Writer) flagsIndex(f wire.Flags) int64 {
	i, ok := rw.flags[f]
	if !ok {
		i = len(rw.flagNames)
		rw.flags[f] = i
		rw.flagNames = append(rw.flagNames, string(f.AppendTcpdump(nil)))
	}
	return int64(i)
}

func (rw *Writer) appendSteps(b []byte, e *explain.Explanation) []byte {
	// Notes and changes: [] for a segment of a summed-up data phase.
	d, collapsed := explain.Collapse(e.Conn)
	told := func(i int) bool { return !collapsed || i < d.First || i > d.Last }
	b = append(b, `,"n":[`...)
	for i, st := range e.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		if told(i) {
			b = rw.appendMsgs(b, st.Notes)
		} else {
			b = append(b, "[]"...)
		}
	}
	// A change: side (0 client, 1 server), from, to, on sending (0, 1),
	// why.
	b = append(b, `],"c":[`...)
	for i, st := range e.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, ch := range st.Changes {
			if !told(i) {
				break
			}
			sending := int64(0)
			if ch.Sending {
				sending = 1
			}
			b = appendInts(b, j > 0, int64(ch.Side)-1, int64(ch.From), int64(ch.To), sending)
			b = rw.appendMsg(append(b[:len(b)-1], ','), ch.Why)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// appendInts appends a JSON array of vs, after a comma if comma.
func appendInts(b []byte, comma bool, vs ...int64) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	return append(b, ']')
}

// appendStr appends s as a JSON string that is safe inside a script
// element: <, > and & are escaped, as encoding/json escapes them.
func appendStr(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
