package tcpstate

import (
	"net/netip"
	"slices"
	"time"

	"synfin/wire"
)

// Defaults for Config.
const (
	// DefaultTimeWait is Linux's TIME-WAIT length (TCP_TIMEWAIT_LEN, 60 s),
	// which it uses as 2MSL.
	DefaultTimeWait = 60 * time.Second
	// DefaultIdleTimeout is Zeek's tcp_inactivity_timeout.
	DefaultIdleTimeout = 5 * time.Minute
)

// Config configures a Tracker.
type Config struct {
	// Segments keeps every segment in Conn.Segments (for explanations).
	Segments bool
	// MaxConns bounds the number of connections held; when full, the
	// least recently active one is handed out with End = EndEvicted.
	// 0 means no bound.
	MaxConns int
	// IdleTimeout hands out a connection with no segment for this long on
	// the capture's clock. 0 means DefaultIdleTimeout; negative, never.
	IdleTimeout time.Duration
	// TimeWait is 2MSL: how long a TIME-WAIT endpoint holds its tuple.
	// Closed connections are held this long on the capture's clock to
	// catch retransmitted FINs and port reuse. 0 means DefaultTimeWait.
	TimeWait time.Duration
	// Done receives each finished connection. The Conn and its slices are
	// reused after Done returns; call Clone to keep one.
	Done func(*Conn)
	// Zeek, when set, makes a ZeekEngine per connection for Conn.Zeek.
	Zeek func() ZeekEngine
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
	table  map[key]*conn
	active list // open connections, most recent first
	closed list // finished connections held for 2MSL, most recent first
	free   []*conn
	nextID uint64
	now    int64
	stats  Stats
	pkt    wire.Packet
	flush  []*conn
}

// New returns a Tracker.
func New(cfg Config) *Tracker {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.TimeWait == 0 {
		cfg.TimeWait = DefaultTimeWait
	}
	return &Tracker{cfg: cfg, table: make(map[key]*conn)}
}

// Stats returns counts so far.
func (t *Tracker) Stats() Stats {
	s := t.stats
	s.Open = len(t.table)
	return s
}

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

// Packet tracks one decoded TCP segment: index is its frame number (from
// 1) and ts its capture time in Unix nanoseconds.
func (t *Tracker) Packet(index int, ts int64, p *wire.Packet) {
	t.stats.Segments++
	if ts > t.now {
		t.now = ts
		t.expire()
	}
	src := netip.AddrPortFrom(p.Src, p.SrcPort)
	dst := netip.AddrPortFrom(p.Dst, p.DstPort)
	k := makeKey(src, dst)
	c := t.table[k]
	if c != nil && p.Flags&(wire.SYN|wire.ACK|wire.RST) == wire.SYN && c.newSYN(src, p.Seq) {
		prev := c
		reuse := Reuse{Prev: prev.ID, Gap: time.Duration(ts - prev.Last.Time)}
		reuse.Within2MSL = !prev.bothClosed() || prev.Teardown.TimeWait.Side != SideNone && ts < prev.Last.Time+int64(t.cfg.TimeWait)
		t.emit(prev, EndReused)
		c = t.create(k, src, dst, p, index, ts)
		c.Reuse = reuse
		c.Anomalies.add(PortReuse, index)
		c.reused = true
	} else if c == nil {
		c = t.create(k, src, dst, p, index, ts)
	}
	c.segment(t, index, ts, p)
	if c.bothClosed() {
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
}

// expire hands out connections that the capture's clock has left behind.
func (t *Tracker) expire() {
	for c := t.closed.back(); c != nil && c.Last.Time+int64(t.cfg.TimeWait) < t.now; c = t.closed.back() {
		t.emit(c, EndClosed)
	}
	if t.cfg.IdleTimeout < 0 {
		return
	}
	for c := t.active.back(); c != nil && c.Last.Time+int64(t.cfg.IdleTimeout) < t.now; c = t.active.back() {
		t.emit(c, EndIdle)
	}
}

func (t *Tracker) create(k key, src, dst netip.AddrPort, p *wire.Packet, index int, ts int64) *conn {
	if t.cfg.MaxConns > 0 && len(t.table) >= t.cfg.MaxConns {
		v := t.closed.back()
		if v == nil {
			v = t.active.back()
		}
		if v != nil {
			t.stats.Evicted++
			t.emit(v, EndEvicted)
		}
	}
	var c *conn
	if n := len(t.free); n > 0 {
		c = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		c = new(conn)
		c.reset()
		if t.cfg.Zeek != nil {
			c.zeek = t.cfg.Zeek()
		}
	}
	t.nextID++
	t.stats.Conns++
	c.ID = t.nextID
	c.key = k
	c.keep = t.cfg.Segments
	c.twLen = t.cfg.TimeWait
	c.init(src, dst, p)
	c.First = SegRef{index, ts}
	t.table[k] = c
	t.active.pushFront(c)
	if n := len(t.table); n > t.stats.PeakOpen {
		t.stats.PeakOpen = n
	}
	return c
}

// emit finishes c, hands it to Done and recycles it.
func (t *Tracker) emit(c *conn, why End) {
	if c.inClosed {
		t.closed.remove(c)
	} else {
		t.active.remove(c)
	}
	delete(t.table, c.key)
	c.finish(why, t.now)
	if t.cfg.Done != nil {
		t.cfg.Done(&c.Conn)
	}
	c.reset()
	t.free = append(t.free, c)
}

// Flush hands out every connection still held, in ID order, as the
// capture has ended.
func (t *Tracker) Flush() {
	t.flush = t.flush[:0]
	for _, c := range t.table {
		t.flush = append(t.flush, c)
	}
	slices.SortFunc(t.flush, func(a, b *conn) int { return int(a.ID - b.ID) })
	for i, c := range t.flush {
		why := EndCaptureEnd
		if c.bothClosed() {
			why = EndClosed
		}
		t.emit(c, why)
		t.flush[i] = nil
	}
}

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
