package html

import (
	"strconv"
	"unicode/utf8"

	"synfin/render/explain"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/wire"
)

// listChunk holds the list entries of a chunk's connections as columns,
// each a JSON array's elements: what the list shows, sorts and filters
// by, for every connection, without parsing any connection's details.
type listChunk struct {
	n    int
	cols [len(listCols)][]byte
}

// listCols name the columns: id; client and server address and port;
// start (µs since the epoch), duration (µs); bytes sent by client and
// server; initial and final states of both ends (indexes into the
// states); teardown pattern (index); the anomalies seen (a bit set by
// tcpstate.Anomaly); segments.
var listCols = [...]string{"id", "ca", "cp", "sa", "sp", "t0", "du", "bc", "bs", "ic", "is", "fc", "fs", "p", "an", "ns"}

func (l *listChunk) add(c *tcpstate.Conn) {
	var an uint32
	for a, n := range c.Anomalies {
		if n.Count > 0 {
			an |= 1 << a
		}
	}
	v := [len(listCols)]int64{int64(c.ID), 0, int64(c.Client.Port), 0, int64(c.Server.Port),
		c.First.Time / 1e3, int64(c.Duration()) / 1e3, int64(c.Client.Bytes), int64(c.Server.Bytes),
		int64(c.Client.Initial), int64(c.Server.Initial), int64(c.Client.State), int64(c.Server.State),
		int64(c.Teardown.Pattern), int64(an), int64(len(c.Segments))}
	for i := range l.cols {
		if l.n > 0 {
			l.cols[i] = append(l.cols[i], ',')
		}
		switch i {
		case 1:
			l.cols[i] = appendStr(l.cols[i], c.Client.Addr.String())
		case 3:
			l.cols[i] = appendStr(l.cols[i], c.Server.Addr.String())
		default:
			l.cols[i] = strconv.AppendInt(l.cols[i], v[i], 10)
		}
	}
	l.n++
}

func (l *listChunk) appendJSON(b []byte) []byte {
	for i, col := range l.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, listCols[i]...)
		b = append(b, `":[`...)
		b = append(b, col...)
		b = append(b, ']')
	}
	return append(b, '}')
}

func (l *listChunk) reset() {
	l.n = 0
	for i := range l.cols {
		l.cols[i] = l.cols[i][:0]
	}
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
		b = appendStr(append(b, ','), a.Value)
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

// appendDetail appends the details of c, one line of JSON that
// report.js reads (conn in report.js): its ladder's rows and its
// segments, packed, and while explainBytes lasts its explanation.
func (rw *Writer) appendDetail(b []byte, c *tcpstate.Conn) []byte {
	m := ladder.Collapsed(c)
	b = append(b, `{"ph":[`...)
	for i, sp := range m.Phases {
		b = appendInts(b, i > 0, int64(sp.Phase), int64(sp.First), int64(sp.Last))
	}
	// Rows, one character each: a segment's arrow by its class ('a' +
	// ladder.Class), a break ('B', its gap the time between the segments
	// around it), TIME-WAIT's break ('T', its gap in "tw"), segments not
	// captured ('L'), the data phase summed up ('D': segments "dr", lines
	// "dm") and the end ('E'). Then both states after each row (two
	// characters, 'a' + tcpstate.State) and which changed ('0' + bits).
	b = append(b, `],"rk":"`...)
	var tw int64
	var data *explain.DataPhase
	for _, r := range m.Rows {
		switch r.Kind {
		case ladder.KindSeg:
			b = append(b, 'a'+byte(r.Class))
		case ladder.KindBreak:
			if r.TimeWait {
				b, tw = append(b, 'T'), int64(r.Gap)/1e3
			} else {
				b = append(b, 'B')
			}
		case ladder.KindLost:
			b = append(b, 'L')
		case ladder.KindData:
			b, data = append(b, 'D'), r.Data
		default:
			b = append(b, 'E')
		}
	}
	b = append(b, `","rs":"`...)
	for _, r := range m.Rows {
		b = append(b, 'a'+byte(r.States[0]), 'a'+byte(r.States[1]))
	}
	b = append(b, `","rc":"`...)
	for _, r := range m.Rows {
		ch := byte('0')
		if r.Changed[0] {
			ch |= 1
		}
		if r.Changed[1] {
			ch |= 2
		}
		b = append(b, ch)
	}
	b = append(b, `","tw":`...)
	b = strconv.AppendInt(b, tw, 10)
	if data != nil {
		b = appendInts(append(b, `,"dr":`...), false, int64(data.First), int64(data.Last))
		l := data.DirLines(false)
		lines := []explain.Msg{explain.M("lg.data", "n", strconv.Itoa(data.Count()), "dur", explain.Dur(data.Duration)), l[0], l[1], explain.M("lg.full")}
		b = rw.appendMsgs(append(b, `,"dm":`...), lines)
	}
	b = append(b, `,"ini":`...)
	b = appendInts(b, false, int64(m.Initial[0]), int64(m.Initial[1]))
	b = rw.appendSegs(b, c)
	if rw.explained < explainBytes {
		start := len(b)
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
	b = rw.appendMsg(append(b, `,"ti":`...), e.Title)
	b = rw.appendMsgs(append(b, `,"h":`...), e.Header)
	b = rw.appendMsgs(append(b, `,"v":`...), e.Verdict)
	b = rw.appendMsgs(append(b, `,"x":`...), e.Missing)
	b = rw.appendMsgs(append(b, `,"s":`...), e.Summary)
	return rw.appendSteps(b, e)
}

// appendSegs appends the segments of c as columns, each number as the
// difference from what the page would expect from the segments before
// it, which is 0 more often than not: frame ("f") and time in µs ("t")
// from the previous segment's; directions ("d": '0' client to server,
// '1' back) and phases ("p") as strings of digits; flags ("fl") as
// indexes into the report's table of flags; the relative sequence number
// ("q") from the end of the previous segment the same way, the relative
// acknowledgment ("a", when the flags have ACK) and the window ("w",
// scaled) from the previous segment's the same way; lengths ("l"); the
// anomalies ("an") as [index, bit set] of the segments that have any.
// The absolute numbers are the relative ones plus each direction's base
// ("b"), or given in full ("sq", "ak") when that does not hold.
func (rw *Writer) appendSegs(b []byte, c *tcpstate.Conn) []byte {
	segs := c.Segments
	var base [2]uint32
	var baseSet [2]bool
	for i := range segs {
		s := &segs[i]
		if !baseSet[s.Dir] {
			base[s.Dir], baseSet[s.Dir] = s.Seq-s.RelSeq, true
		}
	}
	exact := true
	for i := range segs {
		s := &segs[i]
		if s.Seq-s.RelSeq != base[s.Dir] || (s.Flags&wire.ACK != 0 && baseSet[1-s.Dir] && s.Ack-s.RelAck != base[1-s.Dir]) {
			exact = false
		}
	}
	var next, ack, win [2]int64
	col := func(name string, f func(i int, s *tcpstate.Segment) int64) {
		b = append(append(append(b, `,"`...), name...), `":[`...)
		next, ack, win = [2]int64{}, [2]int64{}, [2]int64{}
		for i := range segs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, f(i, &segs[i]), 10)
		}
		b = append(b, ']')
	}
	col("f", func(i int, s *tcpstate.Segment) int64 {
		if i == 0 {
			return int64(s.Index)
		}
		return int64(s.Index - segs[i-1].Index)
	})
	col("t", func(i int, s *tcpstate.Segment) int64 {
		if i == 0 {
			return s.Time / 1e3
		}
		return s.Time/1e3 - segs[i-1].Time/1e3
	})
	col("fl", func(_ int, s *tcpstate.Segment) int64 { return rw.flagsIndex(s.Flags) })
	col("l", func(_ int, s *tcpstate.Segment) int64 { return int64(s.Len) })
	col("q", func(_ int, s *tcpstate.Segment) int64 {
		d := int64(int32(s.RelSeq - uint32(next[s.Dir])))
		next[s.Dir] = int64(s.RelSeq) + int64(s.Len)
		if s.Flags&(wire.SYN|wire.FIN) != 0 {
			next[s.Dir]++
		}
		return d
	})
	col("a", func(_ int, s *tcpstate.Segment) int64 {
		if s.Flags&wire.ACK == 0 {
			return 0
		}
		d := int64(int32(s.RelAck - uint32(ack[s.Dir])))
		ack[s.Dir] = int64(s.RelAck)
		return d
	})
	col("w", func(_ int, s *tcpstate.Segment) int64 {
		d := int64(s.WindowScaled) - win[s.Dir]
		win[s.Dir] = int64(s.WindowScaled)
		return d
	})
	b = append(b, `,"an":[`...)
	comma := false
	for i := range segs {
		if an := segs[i].Anomalies; an != 0 {
			b, comma = appendInts(b, comma, int64(i), int64(an)), true
		}
	}
	b = append(b, ']')
	if exact {
		b = appendInts(append(b, `,"b":`...), false, int64(base[0]), int64(base[1]))
	} else {
		col("sq", func(_ int, s *tcpstate.Segment) int64 { return int64(s.Seq) })
		col("ak", func(_ int, s *tcpstate.Segment) int64 { return int64(s.Ack) })
	}
	b = append(b, `,"d":"`...)
	for i := range segs {
		b = append(b, '0'+byte(segs[i].Dir))
	}
	b = append(b, `","p":"`...)
	for i := range segs {
		b = append(b, '0'+byte(segs[i].Phase))
	}
	return append(b, '"')
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
