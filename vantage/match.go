package vantage

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"synfin/wire"
)

// pair is a connection seen at both points, while it is compared.
type pair struct {
	a, b    *Capture
	ca, cb  *conn
	by      []string
	off     [2]uint32 // sequence numbers at B minus at A, each way
	aSender [2]bool   // A is the sender's side of direction d
	keysA   []segKey  // parallel to ca.segs
	keysB   []segKey
	// matches of A's segments (index in ca.segs) to B's, and back; -1: none.
	toB, toA []int
}

// segKey is what a segment keeps across the path: its place in the
// sequence space (relative to A's ISNs), size, flags and timestamp.
type segKey struct {
	dir      uint8
	seq, ack uint32
	len      int32
	flags    wire.Flags
	ts       uint32
}

const keyFlags = wire.SYN | wire.FIN | wire.RST

// Compare matches the connections and segments of captures a and b and
// says what happened between the two points.
func Compare(a, b *Capture) *Report {
	r := &Report{A: Point{a.Name, len(a.segs)}, B: Point{b.Name, len(b.segs)}, OnlyA: []string{}, OnlyB: []string{}, Connections: []Conn{}}
	for _, c := range []*Capture{a, b} {
		if c.left > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s holds more than %d TCP segments: the %d after them were not compared (select connections with a filter expression)", c.Name, c.Max, c.left))
		}
	}
	pairs, usedA, usedB := matchConns(a, b)
	var x, y []int64 // raw B-A differences of segments crossing A to B, and A-B of those crossing B to A
	for _, p := range pairs {
		p.prepare()
		for i, j := range p.uniques() {
			d := p.keysA[i].dir
			dt := p.b.segs[p.cb.segs[j]].Time - p.a.segs[p.ca.segs[i]].Time
			if p.aSender[d] {
				x = append(x, dt)
			} else {
				y = append(y, -dt)
			}
		}
	}
	theta := r.Clock.estimate(x, y)
	for i, p := range pairs {
		p.match(theta)
		r.Connections = append(r.Connections, p.report(i+1, theta))
	}
	for i, c := range a.conns {
		if !usedA[i] {
			r.OnlyA = append(r.OnlyA, c.client.String()+" > "+c.server.String())
		}
	}
	for i, c := range b.conns {
		if !usedB[i] {
			r.OnlyB = append(r.OnlyB, c.client.String()+" > "+c.server.String())
		}
	}
	return r
}

// estimate sets the clock from the least delays each way (NTP's
// reasoning) and returns the correction to subtract from B's times.
func (c *Clock) estimate(x, y []int64) int64 {
	c.Samples = len(x) + len(y)
	if c.Samples == 0 {
		return 0
	}
	var theta int64
	switch {
	case len(x) > 0 && len(y) > 0:
		mx, my := slices.Min(x), slices.Min(y)
		theta = (mx - my) / 2
		c.Known, c.Offset, c.Spread = true, sec(theta), sec(max(0, (mx+my)/2))
		c.Applied = mx < 0 || my < 0
	case len(x) > 0 && slices.Min(x) < 0:
		theta, c.Offset, c.Applied = slices.Min(x), sec(slices.Min(x)), true
	case len(y) > 0 && slices.Min(y) < 0:
		theta, c.Offset, c.Applied = -slices.Min(y), sec(-slices.Min(y)), true
	}
	if !c.Applied {
		return 0
	}
	return theta
}

func sec(ns int64) float64 { return float64(ns) / 1e9 }

// matchConns pairs the connections of a and b: first by what the
// path keeps (ISN, timestamps, 4-tuple), best evidence first, then the
// rest by timing and segment sizes.
func matchConns(a, b *Capture) (pairs []*pair, usedA, usedB []bool) {
	byISN, byTS, byTuple := map[uint32][]int{}, map[uint32][]int{}, map[connKey][]int{}
	for j, c := range b.conns {
		if c.hasISN[0] {
			byISN[c.isn[0]] = append(byISN[c.isn[0]], j)
		}
		if c.hasTS[0] {
			byTS[c.ts[0]] = append(byTS[c.ts[0]], j)
		}
		k := keyOf(c.client, c.server)
		byTuple[k] = append(byTuple[k], j)
	}
	type cand struct {
		i, j, score int
		gap         int64
		by          []string
	}
	var cands []cand
	for i, ca := range a.conns {
		var js []int
		if ca.hasISN[0] {
			js = append(js, byISN[ca.isn[0]]...)
		}
		if ca.hasTS[0] {
			js = append(js, byTS[ca.ts[0]]...)
		}
		js = append(js, byTuple[keyOf(ca.client, ca.server)]...)
		slices.Sort(js)
		for _, j := range slices.Compact(js) {
			cb := b.conns[j]
			c := cand{i: i, j: j, gap: abs(cb.start - ca.start)}
			if ca.hasISN[0] && cb.hasISN[0] && ca.isn[0] == cb.isn[0] || ca.hasISN[1] && cb.hasISN[1] && ca.isn[1] == cb.isn[1] {
				c.score, c.by = c.score+4, append(c.by, "isn")
			}
			if ca.hasTS[0] && cb.hasTS[0] && ca.ts[0] == cb.ts[0] {
				c.score, c.by = c.score+3, append(c.by, "timestamps")
			}
			if ca.client == cb.client && ca.server == cb.server {
				c.score, c.by = c.score+2, append(c.by, "4-tuple")
			}
			if c.score > 0 {
				cands = append(cands, c)
			}
		}
	}
	slices.SortStableFunc(cands, func(x, y cand) int {
		return cmp.Or(y.score-x.score, cmp.Compare(x.gap, y.gap))
	})
	usedA, usedB = make([]bool, len(a.conns)), make([]bool, len(b.conns))
	add := func(i, j int, by []string) {
		usedA[i], usedB[j] = true, true
		pairs = append(pairs, &pair{a: a, b: b, ca: a.conns[i], cb: b.conns[j], by: by})
	}
	var gaps []int64
	for _, c := range cands {
		if !usedA[c.i] && !usedB[c.j] {
			add(c.i, c.j, c.by)
			gaps = append(gaps, b.conns[c.j].start-a.conns[c.i].start)
		}
	}
	// The rest: the same server port, starts within a second of each
	// other (after the offset the other matches show), and the same
	// sizes of their first segments.
	var shift int64
	if len(gaps) > 0 {
		slices.Sort(gaps)
		shift = gaps[len(gaps)/2]
	}
	var rest []int // B's connections left, by start
	for j := range b.conns {
		if !usedB[j] {
			rest = append(rest, j)
		}
	}
	slices.SortFunc(rest, func(x, y int) int { return cmp.Compare(b.conns[x].start, b.conns[y].start) })
	const window = int64(1e9)
	for i, ca := range a.conns {
		if usedA[i] {
			continue
		}
		best, bestGap := -1, window
		from, _ := slices.BinarySearchFunc(rest, ca.start+shift-window, func(j int, t int64) int { return cmp.Compare(b.conns[j].start, t) })
		for _, j := range rest[from:] {
			cb := b.conns[j]
			if cb.start-ca.start-shift >= window {
				break
			}
			g := abs(cb.start - ca.start - shift)
			if usedB[j] || g >= bestGap || ca.server.Port() != cb.server.Port() || !sameSizes(a, ca, b, cb) {
				continue
			}
			best, bestGap = j, g
		}
		if best >= 0 {
			add(i, best, []string{"timing"})
		}
	}
	slices.SortFunc(pairs, func(x, y *pair) int { return cmp.Compare(x.ca.start, y.ca.start) })
	return pairs, usedA, usedB
}

// sameSizes reports whether two connections' first segments have the
// same directions, flags and payload sizes.
func sameSizes(a *Capture, ca *conn, b *Capture, cb *conn) bool {
	n := min(8, len(ca.segs), len(cb.segs))
	for k := range n {
		sa, sb := &a.segs[ca.segs[k]], &b.segs[cb.segs[k]]
		if sa.Dir != sb.Dir || sa.Len != sb.Len || sa.Flags&keyFlags != sb.Flags&keyFlags {
			return false
		}
	}
	return n > 0
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// prepare computes the sequence offsets and the segments' keys, and
// orients the pair.
func (p *pair) prepare() {
	for d := range 2 {
		if p.ca.hasISN[d] && p.cb.hasISN[d] {
			p.off[d] = p.cb.isn[d] - p.ca.isn[d]
		}
	}
	key := func(c *Capture, s *Segment, off [2]uint32) segKey {
		d := int(s.Dir)
		k := segKey{dir: s.Dir, seq: s.Seq - off[d] - p.ca.base(d), len: s.Len, flags: s.Flags & keyFlags, ts: s.TSval}
		if s.Flags.Has(wire.ACK) {
			k.ack = s.Ack - off[1-d] - p.ca.base(1-d)
		}
		return k
	}
	for _, i := range p.ca.segs {
		p.keysA = append(p.keysA, key(p.a, &p.a.segs[i], [2]uint32{}))
	}
	for _, i := range p.cb.segs {
		p.keysB = append(p.keysB, key(p.b, &p.b.segs[i], p.off))
	}
	// Orientation: the router between the points lowers the TTL of
	// what crosses; without one, A→B differences are larger for what
	// goes from A's side than for what comes to it, whatever the
	// offset between the clocks.
	ttl, dts := 0, [2][]int64{}
	for i, j := range p.uniques() {
		sa, sb := &p.a.segs[p.ca.segs[i]], &p.b.segs[p.cb.segs[j]]
		sign := cmp.Compare(sa.TTL, sb.TTL)
		if sa.Dir == 1 {
			sign = -sign
		}
		ttl += sign
		dts[sa.Dir] = append(dts[sa.Dir], sb.Time-sa.Time)
	}
	aClient := true
	switch {
	case ttl != 0:
		aClient = ttl > 0
	case len(dts[0]) > 0 && len(dts[1]) > 0:
		aClient = median(dts[0]) >= median(dts[1])
	}
	p.aSender = [2]bool{aClient, !aClient}
}

// uniques returns the segments (A's index to B's, in ca.segs and
// cb.segs) whose keys occur once in each capture: matches that need no
// clock.
func (p *pair) uniques() map[int]int {
	type seen struct{ count, at [2]int }
	count := map[segKey]seen{}
	for side, keys := range [2][]segKey{p.keysA, p.keysB} {
		for i, k := range keys {
			c := count[k]
			c.count[side]++
			c.at[side] = i
			count[k] = c
		}
	}
	out := map[int]int{}
	for _, c := range count {
		if c.count == [2]int{1, 1} {
			out[c.at[0]] = c.at[1]
		}
	}
	return out
}

func median(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// match pairs every segment: each arrival with the latest transmission
// of the same key before it, on A's clock (B's times less theta).
func (p *pair) match(theta int64) {
	p.toB, p.toA = filled(len(p.keysA)), filled(len(p.keysB))
	// Each key's segments at the sender's side and at the receiver's,
	// in time order.
	sent, got := map[segKey][]int{}, map[segKey][]int{}
	senderA := func(k segKey) bool { return p.aSender[k.dir] }
	for i, k := range p.keysA {
		if senderA(k) {
			sent[k] = append(sent[k], i)
		} else {
			got[k] = append(got[k], i)
		}
	}
	for j, k := range p.keysB {
		if senderA(k) {
			got[k] = append(got[k], j)
		} else {
			sent[k] = append(sent[k], j)
		}
	}
	const slack = 1000 // ns
	for k, senders := range sent {
		for _, rv := range got[k] {
			tr := p.time(!senderA(k), rv, theta)
			for s := len(senders) - 1; s >= 0; s-- {
				snd := senders[s]
				if p.partner(senderA(k), snd) >= 0 || p.time(senderA(k), snd, theta) > tr+slack {
					continue
				}
				if senderA(k) {
					p.toB[snd], p.toA[rv] = rv, snd
				} else {
					p.toA[snd], p.toB[rv] = rv, snd
				}
				break
			}
		}
	}
}

func filled(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = -1
	}
	return s
}

// seg returns segment i of the pair's connection at A (atA) or B.
func (p *pair) seg(atA bool, i int) *Segment {
	if atA {
		return &p.a.segs[p.ca.segs[i]]
	}
	return &p.b.segs[p.cb.segs[i]]
}

// time is segment i's time on A's clock.
func (p *pair) time(atA bool, i int, theta int64) int64 {
	if atA {
		return p.seg(true, i).Time
	}
	return p.seg(false, i).Time - theta
}

// partner is the match of segment i at A (atA) or B, -1 for none.
func (p *pair) partner(atA bool, i int) int {
	if atA {
		return p.toB[i]
	}
	return p.toA[i]
}

func (p *pair) key(atA bool, i int) segKey {
	if atA {
		return p.keysA[i]
	}
	return p.keysB[i]
}

var dirNames = [2]string{"c2s", "s2c"}

// item is one segment of the report while it is built.
type item struct {
	atA    bool // the side it is indexed at: the sender's, or the receiver's when only there
	i      int
	t      int64
	status string
	delay  int64
	seg    Seg
}

// report builds the connection's part of the report.
func (p *pair) report(id int, theta int64) Conn {
	c := Conn{ID: id, MatchedBy: p.by, Delay: map[string]Dist{}, Counts: map[string]int{}, Changes: []Change{},
		A: Tuple{p.ca.client.String(), p.ca.server.String()}, B: Tuple{p.cb.client.String(), p.cb.server.String()},
		ClientSide: "A", SeqOffset: [2]int64{int64(int32(p.off[0])), int64(int32(p.off[1]))}}
	if !p.aSender[0] {
		c.ClientSide = "B"
	}
	var items []item
	var maxDelay int64
	for _, atA := range []bool{true, false} {
		n := len(p.keysA)
		if !atA {
			n = len(p.keysB)
		}
		for i := range n {
			k := p.key(atA, i)
			sender := p.aSender[k.dir] == atA
			m := p.partner(atA, i)
			if !sender && m >= 0 {
				continue // reported with its sender's side
			}
			it := item{atA: atA, i: i, t: p.time(atA, i, theta)}
			switch {
			case m >= 0:
				it.status, it.delay = Both, p.time(!atA, m, theta)-it.t
				maxDelay = max(maxDelay, it.delay)
			case sender:
				it.status = Lost
			default:
				it.status = FarOnly
			}
			items = append(items, it)
		}
	}
	p.resegmented(items)
	p.unobserved(items, theta, maxDelay)
	slices.SortStableFunc(items, func(x, y item) int { return cmp.Compare(x.t, y.t) })
	p.retransmissions(items)
	start := items[0].t
	delays := [2][]int64{}
	ch := changes{}
	p.translations(&ch)
	for d := range 2 {
		if p.off[d] != 0 {
			ch.add(Change{What: "isn", Dir: dirNames[d], To: strconv.FormatInt(int64(int32(p.off[d])), 10)})
		}
	}
	for k := range items {
		it := &items[k]
		s := p.seg(it.atA, it.i)
		key := p.key(it.atA, it.i)
		it.seg.Dir, it.seg.T, it.seg.Status = dirNames[key.dir], sec(it.t-start), it.status
		it.seg.Flags = string(s.Flags.AppendTcpdump(nil))
		it.seg.Seq, it.seg.Len = key.seq, int(key.len)
		if s.Flags.Has(wire.ACK) {
			it.seg.Ack = key.ack
		}
		frame := int(s.Frame)
		if it.atA {
			it.seg.FrameA = frame
		} else {
			it.seg.FrameB = frame
		}
		if m := p.partner(it.atA, it.i); m >= 0 && it.status == Both {
			o := p.seg(!it.atA, m)
			if it.atA {
				it.seg.FrameB = int(o.Frame)
			} else {
				it.seg.FrameA = int(o.Frame)
			}
			it.seg.Delay = float64(it.delay) / 1e6
			delays[key.dir] = append(delays[key.dir], it.delay)
			ch.compare(s, o, dirNames[key.dir])
		}
		c.Counts[it.status]++
		if it.status == Resegmented && p.aSender[key.dir] == it.atA {
			ch.add(Change{What: "resegmented", Dir: dirNames[key.dir]})
		}
		c.Segments = append(c.Segments, it.seg)
	}
	for d := range 2 {
		if len(delays[d]) > 0 {
			c.Delay[dirNames[d]] = dist(delays[d])
		}
	}
	c.Changes = ch.list
	return c
}

// resegmented marks the data segments whose bytes crossed in segments of
// other sizes: those a sender's side saw and the receiver's did not,
// whose bytes the receiver's side saw in segments the sender's did not.
func (p *pair) resegmented(items []item) {
	for d := range uint8(2) {
		var lost, far []*item
		for k := range items {
			it := &items[k]
			if key := p.key(it.atA, it.i); key.dir == d && key.len > 0 {
				switch it.status {
				case Lost:
					lost = append(lost, it)
				case FarOnly:
					far = append(far, it)
				}
			}
		}
		mark := func(these, by []*item) {
			spans := make([][2]uint32, 0, len(by))
			for _, it := range by {
				k := p.key(it.atA, it.i)
				spans = append(spans, [2]uint32{k.seq, k.seq + uint32(k.len)})
			}
			slices.SortFunc(spans, func(x, y [2]uint32) int { return cmp.Compare(x[0], y[0]) })
			for _, it := range these {
				k := p.key(it.atA, it.i)
				if covered(spans, k.seq, k.seq+uint32(k.len)) {
					it.status = Resegmented
				}
			}
		}
		mark(lost, far)
		// The far side's pieces, once their bytes are accounted for.
		var sent []*item
		for _, it := range lost {
			if it.status == Resegmented {
				sent = append(sent, it)
			}
		}
		mark(far, sent)
	}
}

// covered reports whether [from, to) is within the union of spans,
// sorted by their starts.
func covered(spans [][2]uint32, from, to uint32) bool {
	at := from
	for _, s := range spans {
		if s[0] <= at && s[1] > at {
			at = s[1]
		}
		if at >= to {
			return true
		}
	}
	return false
}

// unobserved marks the segments lost or seen at the far side only when
// the other point was not capturing then.
func (p *pair) unobserved(items []item, theta, maxDelay int64) {
	margin := 2*maxDelay + 1e6
	for k := range items {
		it := &items[k]
		if it.status != Lost && it.status != FarOnly {
			continue
		}
		other := p.b // the capture that did not see it
		first, last := other.first-theta, other.last-theta
		if !it.atA {
			other = p.a
			first, last = other.first, other.last
		}
		if it.t < first || (it.status == Lost && it.t+margin > last) {
			it.status = Unobserved
		}
	}
}

// retransmissions finds, for each segment sent again, its previous
// transmission, and where that one went.
func (p *pair) retransmissions(items []item) {
	type at struct {
		dir uint8
		seq uint32
	}
	prev := map[at]int{}
	for k := range items {
		it := &items[k]
		key := p.key(it.atA, it.i)
		s := p.seg(it.atA, it.i)
		if s.seqLen() == 0 || it.status == FarOnly {
			continue
		}
		a := at{key.dir, key.seq}
		if j, ok := prev[a]; ok {
			o := &items[j]
			it.seg.Retransmits = int(p.seg(o.atA, o.i).Frame)
			it.seg.OriginalStatus = o.status
			if o.status == Both {
				it.seg.AckLost = p.ackLost(items, j, k)
			}
		}
		prev[a] = k
	}
}

// ackLost returns the frame, at the side that received segment j, of an
// acknowledgment of it lost on its way back before segment k was sent
// again; 0 if none.
func (p *pair) ackLost(items []item, j, k int) int {
	kj := p.key(items[j].atA, items[j].i)
	end := kj.seq + p.seg(items[j].atA, items[j].i).seqLen()
	for n := j + 1; n < k; n++ {
		it := &items[n]
		key := p.key(it.atA, it.i)
		s := p.seg(it.atA, it.i)
		if key.dir != kj.dir && it.status == Lost && s.Flags.Has(wire.ACK) && int32(key.ack-end) >= 0 {
			return int(s.Frame)
		}
	}
	return 0
}

func dist(v []int64) Dist {
	slices.Sort(v)
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Dist{N: len(v), Min: ms(v[0]), Median: ms(v[len(v)/2]), P90: ms(v[len(v)*9/10]), Max: ms(v[len(v)-1])}
}

// changes collects what the path changed, once each with a count.
type changes struct{ list []Change }

func (c *changes) add(ch Change) {
	for i := range c.list {
		x := &c.list[i]
		if x.What == ch.What && x.Dir == ch.Dir && x.From == ch.From && x.To == ch.To {
			x.N++
			return
		}
	}
	ch.N = 1
	c.list = append(c.list, ch)
}

// translations names the ends translated between the client's side and
// the server's.
func (p *pair) translations(c *changes) {
	near, far := p.ca, p.cb
	if !p.aSender[0] {
		near, far = far, near
	}
	if near.client != far.client {
		c.add(Change{What: "client", From: near.client.String(), To: far.client.String()})
	}
	if near.server != far.server {
		c.add(Change{What: "server", From: near.server.String(), To: far.server.String()})
	}
}

// compare notes how segment s changed on its way to o.
func (c *changes) compare(s, o *Segment, dir string) {
	itoa := func(v uint8) string { return strconv.Itoa(int(v)) }
	if s.MSS != o.MSS {
		c.add(Change{What: "mss", Dir: dir, From: strconv.Itoa(int(s.MSS)), To: strconv.Itoa(int(o.MSS))})
	}
	if s.WScale >= 0 && o.WScale < 0 {
		c.add(Change{What: "wscale-removed", Dir: dir})
	}
	if s.SACKOK && !o.SACKOK {
		c.add(Change{What: "sackok-removed", Dir: dir})
	}
	if s.HasTS && !o.HasTS {
		c.add(Change{What: "timestamps-removed", Dir: dir})
	}
	if s.TTL != o.TTL {
		c.add(Change{What: "ttl", Dir: dir, From: itoa(s.TTL), To: itoa(o.TTL)})
	}
	if s.TOS>>2 != o.TOS>>2 {
		c.add(Change{What: "dscp", Dir: dir, From: itoa(s.TOS >> 2), To: itoa(o.TOS >> 2)})
	}
	if s.TOS&3 != o.TOS&3 {
		c.add(Change{What: "ecn", Dir: dir, From: ecn[s.TOS&3], To: ecn[o.TOS&3]})
	}
}

var ecn = [4]string{"Not-ECT", "ECT(1)", "ECT(0)", "CE"}
