package track

import (
	"cmp"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"time"

	"synfin/internal/snapshot"
	"synfin/tcpstate"
	"synfin/wire"
)

// Defaults for Config.
const (
	// DefaultIdleTimeout is Zeek's tcp_inactivity_timeout.
	DefaultIdleTimeout = 5 * time.Minute

	// coldAfter is how long, on the capture's clock, an open connection
	// goes without a segment before the tracker keeps it as a snapshot.
	// It outlasts the first two SYN retransmission timeouts (1 s, then
	// 2 s), so that an attempt waiting on them is not frozen and thawed
	// for each: that was a fifth of all snapshots.
	coldAfter = int64(3 * time.Second)
)

// Config configures a Tracker.
type Config struct {
	// Segments keeps every segment in tcpstate.Conn.Segments (for
	// explanations).
	Segments bool
	// MaxConns bounds the number of connections held; when full, the
	// least recently active one is handed out with End = EndEvicted.
	// 0 means no bound.
	MaxConns int
	// MaxOpen bounds the open connections held, leaving out the closed
	// ones held for 2MSL (with snapshots, see MaxWarm; without, it counts
	// them too): when full, the least recently active open one is handed
	// out with End = EndEvicted. Closed connections leave on the
	// capture's clock; open ones may never close. 0 means no bound.
	MaxOpen int
	// MaxWarm bounds the open connections held live, with their
	// analyzers; past it the least recently active one waits as a
	// snapshot until its next segment, as one idle for a few seconds does.
	// What is handed out is the same; memory per connection held drops
	// to its snapshot's (with segments, tens of bytes per segment rather
	// than kilobytes). It applies only when connections can be kept as
	// snapshots (see tcpstate.StateObserver). 0 means no bound.
	MaxWarm int
	// IdleTimeout hands out a connection with no segment for this long on
	// the capture's clock. 0 means DefaultIdleTimeout; negative, never.
	IdleTimeout time.Duration
	// TimeWait is 2MSL: how long a TIME-WAIT endpoint holds its tuple.
	// Closed connections are held this long on the capture's clock to
	// catch retransmitted FINs and port reuse. 0 means
	// tcpstate.DefaultTimeWait.
	TimeWait time.Duration
	// Hold, when set, is how long closed connections are held instead of
	// TimeWait, for a live view that wants them sooner: a retransmitted
	// FIN or a reuse of the tuple after that is seen as a connection of
	// its own. TIME-WAIT itself still lasts TimeWait.
	Hold time.Duration
	// Done receives each finished connection. The Conn and its slices are
	// reused after Done returns; call Clone to keep one.
	Done func(*tcpstate.Conn)
	// Brief receives each finished connection's brief, after Done if that
	// is set too; it is reused after Brief returns. Without Done, a
	// connection held as a snapshot is handed out from its brief alone,
	// never read back: for a table of connections.
	Brief func(*tcpstate.Brief)
	// Observer, when set, makes an Observer per connection
	// (tcpstate.Conn.Observer).
	Observer func() tcpstate.Observer
	// IndexIDs numbers connections by the frame number of their first
	// segment rather than 1, 2, ...: trackers that each follow part of
	// one capture then give every connection an ID of its own, in the
	// order of the capture (see Tick and Absorb).
	IndexIDs bool
	// OnSegment, when set, is called after each segment is tracked, with
	// its connection and, with Segments, its record (else nil). Both are
	// reused after the call.
	OnSegment func(c *tcpstate.Conn, s *tcpstate.Segment)
}

// Stats counts what a Tracker saw.
type Stats struct {
	Frames   uint64 // frames given to Frame
	Segments uint64 // TCP segments tracked
	NotTCP   uint64 // frames that were not (decodable) TCP
	Conns    uint64 // connections created
	Evicted  uint64 // connections handed out early because of MaxConns
	Open     int    // connections held now
	PeakOpen int    // most connections held at once
}

// conn is a connection as the tracker holds it: its analyzer, and the
// tracker's bookkeeping before it, together with what every segment
// touches first.
type conn struct {
	key        key
	hash       uint64 // hashKey(key)
	prev, next *conn
	inClosed   bool
	tcpstate.Analyzer
}

// reset empties c for another connection, bookkeeping and all.
func (c *conn) reset() {
	c.key, c.hash, c.prev, c.next, c.inClosed = key{}, 0, nil, nil, false
	c.Reset()
}

// key is a connection's 4-tuple, the lower endpoint first.
type key struct{ a, b netip.AddrPort }

func makeKey(src, dst netip.AddrPort) key {
	if src.Compare(dst) > 0 {
		src, dst = dst, src
	}
	return key{src, dst}
}

// Tracker follows connections. It is not safe for concurrent use.
type Tracker struct {
	cfg    Config
	table  live
	active list // open connections, most recent first
	closed list // finished connections held for 2MSL, most recent first
	free   []*conn
	// out is the analyzer every snapshot handed out is thawed into: it
	// keeps the storage of their segments, which analyzers taken in turn
	// from free grew again and again (14% of the bytes explain allocated,
	// 34% with --json).
	out *conn
	// With snapshots (see tcpstate.StateObserver), closed connections wait
	// for 2MSL in ice rather than in closed, and open ones with no segment
	// for coldAfter wait in cold, least recently active first: memory then
	// follows the connections that are busy.
	snap   bool
	ice    frozen
	cold   frozen
	mem    *chunkMemory // both stores' chunks
	w      snapshot.Writer
	ctx    tcpstate.StateContext
	nextID uint64
	now    int64
	stats  Stats
	// due is when the clock gets past something expire would hand out
	// or freeze, or earlier: it spares Tick, called for every segment of
	// other trackers, most calls to expire. minHold is the shortest time
	// expire leaves a connection alone.
	due      int64
	minHold  int64
	pkt      wire.Packet
	brief    tcpstate.Brief
	flush    []flushed
	flushing bool // Flush is handing out what is left
}

// New returns a Tracker.
func New(cfg Config) *Tracker {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.TimeWait == 0 {
		cfg.TimeWait = tcpstate.DefaultTimeWait
	}
	if cfg.Hold <= 0 {
		cfg.Hold = cfg.TimeWait
	}
	t := &Tracker{cfg: cfg, due: math.MinInt64, minHold: int64(cfg.Hold)}
	t.snap = true
	if cfg.Observer != nil {
		// Every observer comes from the same constructor: the first tells.
		c := t.newConn()
		_, t.snap = c.Observer.(tcpstate.StateObserver)
		t.free = append(t.free, c)
	}
	if cfg.IdleTimeout >= 0 {
		t.minHold = min(t.minHold, int64(cfg.IdleTimeout))
	}
	if t.snap {
		t.minHold = min(t.minHold, coldAfter)
	}
	t.ice.briefs = cfg.Brief != nil && cfg.Done == nil
	t.cold.briefs = t.ice.briefs
	if t.snap {
		// Flush gives the stores' chunks back; a Tracker dropped before
		// its input ends gives them back when the collector finds it.
		t.mem = new(chunkMemory)
		if cfg.Segments {
			t.mem.pack = newPacker()
		}
		t.ice.mem, t.cold.mem = t.mem, t.mem
		runtime.AddCleanup(t, (*chunkMemory).release, t.mem)
	}
	return t
}

func (t *Tracker) newConn() *conn {
	c := new(conn)
	var obs tcpstate.Observer
	if t.cfg.Observer != nil {
		obs = t.cfg.Observer()
	}
	c.Setup(t.cfg.Segments, t.cfg.TimeWait, obs)
	return c
}

// open is the number of connections held, live or as snapshots.
func (t *Tracker) open() int { return t.table.len() + t.ice.len() + t.cold.len() }

// Stats returns counts so far.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.Open = t.open()
	return s
}

// Created is Stats().Conns without the rest: the number of connections
// created so far, cheap enough to read around every segment.
func (t *Tracker) Created() uint64 { return t.stats.Conns }

// Frame decodes f and tracks it if it is a TCP segment. It reports
// whether it was.
func (t *Tracker) Frame(f *wire.Frame) bool {
	t.stats.Frames++
	if err := t.pkt.Decode(f.Link, f.Data); err != nil || !t.pkt.HasTCP {
		t.stats.NotTCP++
		return false
	}
	t.Packet(f.Index, f.Time, &t.pkt)
	return true
}

// DecodedHash is Frame for frame f that the caller has decoded into p, a
// TCP segment, and whose endpoints it has hashed (to pick a tracker): h
// must be TupleHash of them.
func (t *Tracker) DecodedHash(f *wire.Frame, p *wire.Packet, h uint64) {
	t.stats.Frames++
	t.packet(f.Index, f.Time, p, h)
}

// Packet tracks one decoded TCP segment: index is its frame number (from
// 1) and ts its capture time in Unix nanoseconds.
func (t *Tracker) Packet(index int, ts int64, p *wire.Packet) {
	t.packet(index, ts, p, PacketHash(p))
}

func (t *Tracker) packet(index int, ts int64, p *wire.Packet, h uint64) {
	t.stats.Segments++
	if ts > t.now {
		t.now = ts
		// As in Tick: before due, expire would find nothing to do.
		if ts > t.due {
			t.expire()
		}
	}
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	k := makeKey(src, dst)
	c := t.table.get(k, h)
	if c == nil && t.snap {
		if pos, ok := t.ice.lookup(k, h); ok {
			c = t.thaw(&t.ice, t.ice.at(pos), true)
		} else if pos, ok := t.cold.lookup(k, h); ok {
			c = t.thaw(&t.cold, t.cold.at(pos), true)
		}
	}
	if c != nil && p.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN && c.NewSYN(src, p.Seq) {
		prev := c
		reuse := tcpstate.Reuse{Prev: prev.ID, Gap: time.Duration(ts - prev.Last.Time)}
		// TIME-WAIT lasts 2MSL from when it began, or from the FIN
		// answered in it last (RFC 9293 3.10.7.4); the hold's side is
		// only set when prev is handed out, below.
		tw := prev.Client.State == tcpstate.TimeWait || prev.Server.State == tcpstate.TimeWait
		reuse.Within2MSL = !prev.Closed() || tw && ts < prev.Teardown.TimeWait.Start+int64(t.cfg.TimeWait)
		t.emit(prev, tcpstate.EndReused)
		c = t.create(k, h, src, dst, p, index, ts)
		c.Reused(reuse, index)
	} else if c == nil {
		c = t.create(k, h, src, dst, p, index, ts)
	}
	c.Segment(index, ts, p)
	if t.cfg.OnSegment != nil {
		t.onSegment(c, index)
	}
	if ts < t.now {
		// The clock went back: the lists are no longer in time order.
		t.due = math.MinInt64
	} else {
		// In time order, taking a connection off a front only moves a
		// deadline later; this one's are the earliest that can be new.
		t.due = min(t.due, ts+t.minHold)
	}
	if c.Closed() && t.snap {
		t.freeze(&t.ice, c)
	} else if c.Closed() {
		if !c.inClosed {
			t.active.remove(c)
			t.closed.pushFront(c)
			c.inClosed = true
		} else {
			t.closed.moveToFront(c)
		}
	} else if c.inClosed {
		t.closed.remove(c)
		t.active.pushFront(c)
		c.inClosed = false
	} else {
		t.active.moveToFront(c)
	}
	// cold holds the least recently active end of the active list: its
	// back goes there.
	for t.snap && t.cfg.MaxWarm > 0 && t.table.len() > t.cfg.MaxWarm {
		b := t.active.back()
		if b == nil || b == c {
			break
		}
		t.freeze(&t.cold, b)
	}
}

// expire hands out connections that the capture's clock has left behind.
func (t *Tracker) expire() {
	for t.snap {
		if last, ok := t.ice.oldestLast(); !ok || last+int64(t.cfg.Hold) >= t.now {
			break
		}
		e, _ := t.ice.oldest()
		t.handFrozen(&t.ice, e, tcpstate.EndClosed)
	}
	for c := t.closed.back(); c != nil && c.Last.Time+int64(t.cfg.Hold) < t.now; c = t.closed.back() {
		t.emit(c, tcpstate.EndClosed)
	}
	if t.cfg.IdleTimeout >= 0 {
		// cold holds the least recently active end of the active list.
		warm := true
		for t.snap {
			last, ok := t.cold.oldestLast()
			if !ok {
				break
			}
			if last+int64(t.cfg.IdleTimeout) >= t.now {
				warm = false
				break
			}
			e, _ := t.cold.oldest()
			t.handFrozen(&t.cold, e, tcpstate.EndIdle)
		}
		for c := t.active.back(); warm && c != nil && c.Last.Time+int64(t.cfg.IdleTimeout) < t.now; c = t.active.back() {
			t.emit(c, tcpstate.EndIdle)
		}
	}
	for c := t.active.back(); t.snap && c != nil && c.Last.Time+coldAfter < t.now; c = t.active.back() {
		t.freeze(&t.cold, c)
	}
	t.due = t.nextDue()
}

// nextDue is the clock past which expire has something to do: the
// earliest deadline among the fronts of the lists and stores it looks at.
func (t *Tracker) nextDue() int64 {
	due := int64(math.MaxInt64)
	tw, idle := int64(t.cfg.Hold), int64(t.cfg.IdleTimeout)
	if t.snap {
		if last, ok := t.ice.oldestLast(); ok {
			due = min(due, last+tw)
		}
		if last, ok := t.cold.oldestLast(); ok && idle >= 0 {
			due = min(due, last+idle)
		}
	}
	if c := t.closed.back(); c != nil {
		due = min(due, c.Last.Time+tw)
	}
	if c := t.active.back(); c != nil {
		if idle >= 0 {
			due = min(due, c.Last.Time+idle)
		}
		if t.snap {
			due = min(due, c.Last.Time+coldAfter)
		}
	}
	return due
}

func (t *Tracker) create(k key, h uint64, src, dst netip.AddrPort, p *wire.Packet, index int, ts int64) *conn {
	if t.cfg.MaxConns > 0 && t.open() >= t.cfg.MaxConns {
		if e, ok := t.ice.oldest(); ok && t.snap {
			t.stats.Evicted++
			t.handFrozen(&t.ice, e, tcpstate.EndEvicted)
		} else if e, ok := t.cold.oldest(); ok && t.snap {
			t.stats.Evicted++
			t.handFrozen(&t.cold, e, tcpstate.EndEvicted)
		} else if v := t.closed.back(); v != nil {
			t.stats.Evicted++
			t.emit(v, tcpstate.EndEvicted)
		} else if v := t.active.back(); v != nil {
			t.stats.Evicted++
			t.emit(v, tcpstate.EndEvicted)
		}
	}
	if t.cfg.MaxOpen > 0 && t.table.len()+t.cold.len() >= t.cfg.MaxOpen {
		if e, ok := t.cold.oldest(); ok && t.snap {
			t.stats.Evicted++
			t.handFrozen(&t.cold, e, tcpstate.EndEvicted)
		} else if v := t.active.back(); v != nil {
			t.stats.Evicted++
			t.emit(v, tcpstate.EndEvicted)
		} else if v := t.closed.back(); v != nil {
			t.stats.Evicted++
			t.emit(v, tcpstate.EndEvicted)
		}
	}
	c := t.alloc()
	t.nextID++
	t.stats.Conns++
	c.ID = t.nextID
	if t.cfg.IndexIDs {
		c.ID = uint64(index)
	}
	c.key, c.hash = k, h
	c.Init(src, dst, p, index, ts)
	t.table.set(c)
	t.active.pushFront(c)
	if n := t.open(); n > t.stats.PeakOpen {
		t.stats.PeakOpen = n
	}
	return c
}

// emit takes live connection c out of the table and hands it out.
func (t *Tracker) emit(c *conn, why tcpstate.End) {
	if c.inClosed {
		t.closed.remove(c)
	} else {
		t.active.remove(c)
	}
	t.table.del(c)
	t.hand(c, why)
}

// hand finishes c, which is in no table or list, hands it to Done and
// recycles it.
func (t *Tracker) hand(c *conn, why tcpstate.End) {
	c.Finish(why, t.now)
	if tw := &c.Teardown.TimeWait; why == tcpstate.EndClosed && !t.flushing && tw.Side != tcpstate.SideNone && !tw.Expired {
		tw.Held = true
	}
	if t.cfg.Done != nil {
		t.cfg.Done(&c.Conn)
	}
	if t.cfg.Brief != nil {
		c.Conn.Brief(&t.brief)
		t.cfg.Brief(&t.brief)
	}
	c.reset()
	if c != t.out {
		t.free = append(t.free, c)
	}
}

// handFrozen hands out the connection of snapshot e in store s for why:
// from its brief when the store keeps them, else thawed.
func (t *Tracker) handFrozen(s *frozen, e entry, why tcpstate.End) {
	if !s.briefs {
		t.hand(t.thaw(s, e, false), why)
		return
	}
	s.remove(e)
	t.handBrief(&e, why)
}

// handBrief hands out the connection of snapshot e, which is in no store
// any more or in one about to go, from its brief, for why.
func (t *Tracker) handBrief(e *entry, why tcpstate.End) {
	if err := t.brief.Load(e.brief, e.key.a, e.key.b, t.now); err != nil {
		// Only this package writes snapshots.
		panic("track: " + err.Error())
	}
	t.brief.ID, t.brief.End, t.brief.Last = e.id, why, tcpstate.SegRef{Seg: e.seg, Time: e.last}
	t.cfg.Brief(&t.brief)
}

func (t *Tracker) alloc() *conn {
	if n := len(t.free); n > 0 {
		c := t.free[n-1]
		t.free = t.free[:n-1]
		return c
	}
	return t.newConn()
}

// freeze replaces connection c, at the back of the active list, by its
// snapshot in store s.
func (t *Tracker) freeze(s *frozen, c *conn) {
	t.w.Reset(t.w.B[:0])
	appendEntryHead(&t.w, c.key, c.ID, c.Last)
	if s.briefs {
		// The ice holds closed connections, handed out as such; cold open
		// ones, handed out for any other reason (see
		// Analyzer.AppendBrief).
		why := tcpstate.EndIdle
		if s == &t.ice {
			why = tcpstate.EndClosed
		}
		t.w.B = c.AppendBrief(t.w.B, why)
	}
	t.w.B = c.AppendState(t.w.B, &t.ctx)
	s.put(c.key, c.hash, t.w.B)
	t.active.remove(c)
	t.table.del(c)
	c.reset()
	t.free = append(t.free, c)
}

// thaw makes the connection of snapshot e in store s live again, at the
// front of the active list. Without full it leaves out what only further
// segments need (see Analyzer.LoadState) and the connection out of the
// table and lists: for a connection about to be handed out (see hand).
func (t *Tracker) thaw(s *frozen, e entry, full bool) *conn {
	if !t.flushing {
		// Flush takes every snapshot out and lets each chunk go after
		// its last (frozen.took): none need be marked or unindexed.
		s.remove(e)
	}
	c := t.out
	if full {
		c = t.alloc()
	} else if c == nil {
		c = t.newConn()
		t.out = c
	}
	c.key, c.hash = e.key, e.hash
	if _, err := c.LoadState(e.key.a, e.key.b, e.state, &t.ctx, full); err != nil {
		// Only this package writes snapshots.
		panic("track: " + err.Error())
	}
	if full {
		t.table.set(c)
		t.active.pushFront(c)
	}
	return c
}

// Flush hands out every connection still held, in ID order, as the
// capture has ended. The Tracker stays usable, empty.
func (t *Tracker) Flush() {
	// Sized at once and free of pointers: at the end of a long capture
	// this is the largest allocation.
	t.flush = slices.Grow(t.flush[:0], t.open())
	live := make([]*conn, 0, t.table.len())
	for c := range t.table.all() {
		t.flush = append(t.flush, flushed{id: c.ID, ref: uint64(len(live))})
		live = append(live, c)
	}
	for i, s := range [2]*frozen{&t.ice, &t.cold} {
		tag := uint64(i+1) << 62
		s.each(func(pos uint64, b []byte) {
			t.flush = append(t.flush, flushed{id: idOf(b), ref: tag | pos})
		})
	}
	slices.SortFunc(t.flush, func(a, b flushed) int { return cmp.Compare(a.id, b.id) })
	t.flushing = true
	defer func() { t.flushing = false }()
	for _, f := range t.flush {
		var c *conn
		switch s, pos := [3]*frozen{nil, &t.ice, &t.cold}[f.ref>>62], f.ref&(1<<62-1); {
		case s == nil:
			c = live[pos]
		case s.briefs:
			// The ice holds closed connections, cold open ones. The
			// stores go as a whole once all are out: no entry need be
			// taken out of them (nor hashed to be found) on its own.
			why := tcpstate.EndCaptureEnd
			if s == &t.ice {
				why = tcpstate.EndClosed
			}
			e := s.unhashed(pos)
			t.handBrief(&e, why)
			continue
		default:
			c = t.thaw(s, s.unhashed(pos), false) // nor found again
			s.took(pos)
		}
		why := tcpstate.EndCaptureEnd
		if c.Closed() {
			why = tcpstate.EndClosed
		}
		if f.ref>>62 == 0 {
			t.emit(c, why)
		} else {
			t.hand(c, why)
		}
	}
	t.flush = nil
	t.ice.free()
	t.cold.free()
	t.mem.release()
}

// flushed is a connection still held at the end: its ID, and the index
// of a live one or, tagged with its store in the top bits, the position
// of a snapshot.
type flushed struct {
	id  uint64
	ref uint64
}

// live finds live connections.
type live struct{ hashIndex[*conn] }

// get returns the connection with key k, of hash h.
func (l *live) get(k key, h uint64) *conn {
	if c, _ := l.atHash(h); c != nil && c.key == k {
		return c
	}
	c, _ := l.byKey(k)
	return c
}

// set adds c, whose key no live connection has.
func (l *live) set(c *conn) {
	_, taken := l.atHash(c.hash)
	l.hashIndex.set(c.key, c.hash, c, !taken)
}

func (l *live) del(c *conn) { l.hashIndex.del(c.key, c.hash, c) }

// list is an intrusive doubly linked list of connections.
type list struct{ head, tail *conn }

func (l *list) pushFront(c *conn) {
	c.prev, c.next = nil, l.head
	if l.head != nil {
		l.head.prev = c
	} else {
		l.tail = c
	}
	l.head = c
}

func (l *list) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

func (l *list) moveToFront(c *conn) {
	if l.head == c {
		return
	}
	l.remove(c)
	l.pushFront(c)
}

func (l *list) back() *conn { return l.tail }

// onSegment calls Config.OnSegment for the segment with frame index. It
// lets a caller act on each segment as it is tracked, e.g. annotate a
// listing with the step the segment belongs to from the same events the
// explanations use.
//
// With Config.Segments the record passed is the last of c.Segments: its
// note, phase, anomalies and both ends' states after it. Without, it is
// nil, as notes are only worked out for kept segments. A caller that needs
// only the newest segment may empty c.Segments in the call, so that memory
// stays flat over long connections: the tracker only appends to it.
//
// Later segments can revise earlier state changes (a lost FIN's receiver
// changes state on the copy that arrived), so the call sees what was known
// at that segment; the endpoints' Transitions hold the final account.
func (t *Tracker) onSegment(c *conn, index int) {
	var s *tcpstate.Segment
	if n := len(c.Segments); n > 0 && c.Segments[n-1].Index == index {
		s = &c.Segments[n-1]
	}
	t.cfg.OnSegment(&c.Conn, s)
}
