package tsg

import (
	"net/netip"
	"sort"

	"synfin/tcpstate"
	"synfin/wire"
)

// ThroughputEvery is how many data segments one throughput point averages
// over, as tcptrace's default thru_interval.
const ThroughputEvery = 10

// Graph is the time-sequence graph of one connection: one Flow for each
// direction, client to server first.
type Graph struct {
	Conn  uint64  `json:"conn"`
	Start int64   `json:"start"` // Unix ns of the connection's first segment; every t counts seconds from it
	Flows [2]Flow `json:"flows"`
}

// Flow is the graph of one direction's sequence space: the sender's
// segments, and what the receiver said of them in its acknowledgments.
// Sequence numbers are relative to Base (the sender's ISN, or its first
// sequence number seen when the handshake was not captured) and unwrapped,
// so that a flow of more than 4 GiB keeps climbing.
type Flow struct {
	Dir   string `json:"dir"`  // c2s or s2c
	From  string `json:"from"` // sender, addr:port
	To    string `json:"to"`
	Base  uint32 `json:"base"`  // the absolute sequence number drawn as 0
	Bytes int64  `json:"bytes"` // payload bytes sent, retransmissions included
	// Segs holds every segment the sender sent, in capture order.
	Segs []Seg `json:"segs"`
	// ACKs and Windows hold, for each of the receiver's segments with an
	// acknowledgment (resets aside), the acknowledged sequence number and
	// the right edge of the window it offered (ack + scaled window).
	ACKs    []Point `json:"acks"`
	Windows []Point `json:"windows"`
	// Zero holds the acknowledgments that offered a zero window.
	Zero []Point `json:"zero"`
	// SACKs holds the receiver's SACK blocks.
	SACKs []Block `json:"sacks"`
	// RTT holds a sample (in seconds) for each acknowledgment that covers
	// exactly the end of a segment (the SYN and FIN too) sent once, with
	// nothing it covers sent again (Karn's rule).
	RTT []Value `json:"rtt"`
	// Throughput holds payload bytes a second, averaged over each
	// ThroughputEvery data segments.
	Throughput []Value `json:"throughput"`
}

// Seg is one segment: its sequence range [Lo, Hi), where a SYN and a FIN
// take one number each, and how it relates to what was sent before.
type Seg struct {
	T     float64 `json:"t"`
	Index int     `json:"seg"` // frame number, as conns and explain count
	Lo    int64   `json:"lo"`
	Hi    int64   `json:"hi"`
	Len   int     `json:"len"`   // payload bytes
	Flags string  `json:"flags"` // tcpdump's letters: S F R P ...
	// Retrans: it carries sequence numbers sent before.
	Retrans bool `json:"retrans,omitempty"`
	// OutOfOrder: it starts below sequence numbers sent before.
	OutOfOrder bool `json:"ooo,omitempty"`
	// Probe: the receiver's last segment offered a zero window, so it
	// probes that window rather than retransmits.
	Probe bool `json:"probe,omitempty"`
}

// Point is a sequence number at a time.
type Point struct {
	T   float64 `json:"t"`
	Seq int64   `json:"seq"`
}

// Block is one SACK block at a time: the receiver holds [Lo, Hi).
type Block struct {
	T  float64 `json:"t"`
	Lo int64   `json:"lo"`
	Hi int64   `json:"hi"`
}

// Value is a measurement at a time.
type Value struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// flowState is what computing one flow keeps: the unwrapping, the
// sequence ranges sent so far, the segments not yet acknowledged.
type flowState struct {
	f       *Flow
	base    uint32
	hasBase bool
	last    int64    // the last sequence number unwrapped
	sent    []span   // ranges sent, sorted and merged
	pending []sample // new data not yet acknowledged, by end
	rcvWin  uint32   // the receiver's last window
	rcvSeen bool
	// the throughput interval, as tcptrace's DoThru keeps it
	thruFirst   int64
	thruPkts    int
	thruBytes   int64
	thruStarted bool
}

type span struct{ lo, hi int64 }

type sample struct {
	lo, end int64
	t       int64
	retrans bool
}

// Compute works out the graph of c from its segments (c.Segments, kept
// with track.Config.Segments), in time linear in their number.
func Compute(c *tcpstate.Conn) *Graph {
	g := &Graph{Conn: c.ID}
	if len(c.Segments) > 0 {
		g.Start = c.Segments[0].Time
	}
	var st [2]flowState
	flags := map[wire.Flags]string{}
	// Sized once: a flow of a million segments is not copied as it grows.
	var n, acks [2]int
	// A flow's numbers count from its sender's base (tcpstate's RelSeq),
	// or, for a sender never seen, from the base its peer acknowledges.
	var fromAck [2]uint32
	var hasAck [2]bool
	for i := range c.Segments {
		s := &c.Segments[i]
		if n[s.Dir]++; n[s.Dir] == 1 {
			st[s.Dir].setBase(s.Seq - s.RelSeq)
		}
		if s.Flags&wire.ACK != 0 {
			if acks[1-s.Dir]++; !hasAck[1-s.Dir] {
				fromAck[1-s.Dir], hasAck[1-s.Dir] = s.Ack-s.RelAck, true
			}
		}
	}
	for d := range st {
		f := &g.Flows[d]
		from, to := c.Client.AddrPort(), c.Server.AddrPort()
		if tcpstate.Dir(d) == tcpstate.S2C {
			from, to = to, from
		}
		f.Dir, f.From, f.To = tcpstate.Dir(d).String(), addrPort(from), addrPort(to)
		f.Segs, f.ACKs, f.Windows = make([]Seg, 0, n[d]), make([]Point, 0, acks[d]), make([]Point, 0, acks[d])
		f.Zero, f.SACKs, f.RTT, f.Throughput = []Point{}, []Block{}, []Value{}, []Value{}
		st[d].f = f
		f.Base = st[d].base
		if n[d] == 0 && hasAck[d] {
			st[d].setBase(fromAck[d])
		}
	}
	for i := range c.Segments {
		s := &c.Segments[i]
		snd, rcv := &st[s.Dir], &st[1-s.Dir]
		t := secs(s.Time - g.Start)
		fl, ok := flags[s.Flags]
		if !ok {
			fl = s.Flags.String()
			flags[s.Flags] = fl
		}
		snd.segment(s, t, fl)
		if s.Flags&wire.RST != 0 {
			continue
		}
		// The sender's window as the other direction's probe check sees
		// it (tcptrace: a segment without ACK or SYN offers none).
		rcv.rcvSeen = true
		rcv.rcvWin = 0
		if s.Flags&(wire.ACK|wire.SYN) != 0 {
			rcv.rcvWin = s.WindowScaled
		}
		if s.Flags&wire.ACK != 0 {
			rcv.ack(s, t)
		}
	}
	return g
}

func addrPort(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func secs(ns int64) float64 { return float64(ns) / 1e9 }

func (st *flowState) setBase(b uint32) {
	if !st.hasBase {
		st.base, st.hasBase = b, true
		if st.f != nil {
			st.f.Base = b
		}
	}
}

// rel unwraps absolute sequence number v near the last one unwrapped.
func (st *flowState) rel(v uint32) int64 {
	st.last += int64(int32(v - st.base - uint32(st.last)))
	return st.last
}

// segment adds one segment of the flow's sender.
func (st *flowState) segment(s *tcpstate.Segment, t float64, flags string) {
	f := st.f
	lo := st.rel(s.Seq)
	hi := lo + int64(s.Len)
	if s.Flags&wire.SYN != 0 {
		hi++
	}
	if s.Flags&wire.FIN != 0 {
		hi++
	}
	sg := Seg{T: t, Index: s.Index, Lo: lo, Hi: hi, Len: s.Len, Flags: flags}
	if hi > lo {
		// A segment sent while the receiver's window is zero probes it
		// (never a SYN), as tcptrace tells them apart.
		if st.rcvSeen && st.rcvWin == 0 && s.Flags&wire.SYN == 0 {
			sg.Probe = true
		} else {
			sg.Retrans, sg.OutOfOrder = st.send(lo, hi)
		}
		if sg.Retrans {
			st.taint(lo, hi)
		} else {
			st.addPending(sample{lo: lo, end: hi, t: s.Time})
		}
	}
	f.Segs = append(f.Segs, sg)
	f.Bytes += int64(s.Len)
	st.throughput(s, t)
}

// send records [lo, hi) as sent and says whether any of it was sent
// before, and whether it starts below what was sent before without
// reaching past the next range sent (tcptrace's "out of order").
func (st *flowState) send(lo, hi int64) (retrans, outOfOrder bool) {
	n := len(st.sent)
	if n == 0 || lo > st.sent[n-1].hi || lo == st.sent[n-1].hi {
		// The usual case: new data at the end.
		if n > 0 && lo == st.sent[n-1].hi {
			st.sent[n-1].hi = hi
		} else {
			st.sent = append(st.sent, span{lo, hi})
		}
		return false, false
	}
	// The first range that ends past lo.
	i := sort.Search(n, func(i int) bool { return st.sent[i].hi > lo })
	if i < n && lo < st.sent[i].lo && hi < st.sent[i].hi {
		outOfOrder = true
	}
	// Merge [lo, hi) with every range it touches.
	j := i
	nlo, nhi := lo, hi
	for ; j < n && st.sent[j].lo <= hi; j++ {
		if st.sent[j].lo < hi && st.sent[j].hi > lo {
			retrans = true
		}
		nlo, nhi = min(nlo, st.sent[j].lo), max(nhi, st.sent[j].hi)
	}
	if i > 0 && st.sent[i-1].hi == lo {
		i--
		nlo = st.sent[i].lo
	}
	st.sent = append(st.sent[:i], append([]span{{nlo, nhi}}, st.sent[j:]...)...)
	return retrans, outOfOrder
}

// addPending adds a segment of new data to those awaiting an
// acknowledgment, kept in order of sequence numbers: at the end, but for
// one that fills a hole.
func (st *flowState) addPending(x sample) {
	p := st.pending
	if len(p) == 0 || p[len(p)-1].end <= x.lo {
		st.pending = append(p, x)
		return
	}
	i := sort.Search(len(p), func(i int) bool { return p[i].end > x.lo })
	st.pending = append(p[:i], append([]sample{x}, p[i:]...)...)
}

// taint marks the unacknowledged segments that [lo, hi) sends again: an
// acknowledgment of them gives no RTT sample.
func (st *flowState) taint(lo, hi int64) {
	p := st.pending
	for i := sort.Search(len(p), func(i int) bool { return p[i].end > lo }); i < len(p) && p[i].lo < hi; i++ {
		p[i].retrans = true
	}
}

// ack adds an acknowledgment from the flow's receiver.
func (st *flowState) ack(s *tcpstate.Segment, t float64) {
	f := st.f
	a := st.rel(s.Ack)
	f.ACKs = append(f.ACKs, Point{t, a})
	f.Windows = append(f.Windows, Point{t, a + int64(s.WindowScaled)})
	if s.WindowScaled == 0 {
		f.Zero = append(f.Zero, Point{t, a})
	}
	for _, b := range s.SACK {
		lo := st.rel(b.Left)
		f.SACKs = append(f.SACKs, Block{t, lo, st.rel(b.Right)})
	}
	// RTT: the newest segment this acknowledgment covers, if it ends
	// exactly there and neither it nor one it covers was sent again (the
	// acknowledgment may then answer the retransmission).
	var last *sample
	again := false
	k := 0
	for k < len(st.pending) && st.pending[k].end <= a {
		last = &st.pending[k]
		again = again || last.retrans
		k++
	}
	if last != nil && last.end == a && !again {
		f.RTT = append(f.RTT, Value{t, secs(s.Time - last.t)})
	}
	st.pending = st.pending[k:]
}

// throughput follows tcptrace's DoThru: the first segment opens an
// interval; each data segment that completes ThroughputEvery gives a
// point of the bytes since the interval opened over its time.
func (st *flowState) throughput(s *tcpstate.Segment, t float64) {
	if !st.thruStarted {
		st.thruStarted, st.thruFirst, st.thruPkts, st.thruBytes = true, s.Time, 1, int64(s.Len)
		return
	}
	if s.Len == 0 {
		return
	}
	if st.thruPkts+1 >= ThroughputEvery {
		us := s.Time/1000 - st.thruFirst/1000 // in microseconds, as tcptrace's timevals
		if us == 0 {
			us = 1000 // as tcptrace, when no time has passed
		}
		st.f.Throughput = append(st.f.Throughput, Value{t, float64(st.thruBytes) / (float64(us) / 1e6)})
		st.thruFirst, st.thruPkts, st.thruBytes = s.Time, 0, 0
	}
	st.thruPkts++
	st.thruBytes += int64(s.Len)
}
