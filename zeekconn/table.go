package zeekconn

import (
	"net/netip"

	"synfin/wire"
)

// Key identifies a TCP connection regardless of direction, as Zeek's
// connection table does: the lower address/port pair comes first.
type Key struct {
	A, B netip.AddrPort
}

// KeyOf returns the key of the connection p belongs to.
func KeyOf(p *wire.Packet) Key {
	a := netip.AddrPortFrom(p.Src, p.SrcPort)
	b := netip.AddrPortFrom(p.Dst, p.DstPort)
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return Key{a, b}
}

// Table replays a capture the way Zeek's session manager does: one Conn per
// 5-tuple, a new one when Zeek would start over (a SYN that reuses the
// tuple, or the old connection timed out), and a Record for every
// connection when it ends.
type Table struct {
	cfg   *Config
	conns map[Key]*Conn
	free  []*Conn
	emit  func(*Record)
	now   int64
	sweep int64
	rec   Record
}

// sweepEvery is how often, in capture time, Table looks for connections
// that Zeek's timers would have removed, so memory follows open
// connections.
const sweepEvery = int64(10e9)

// NewTable returns a Table that calls emit for each finished connection.
// The Record passed to emit is reused after it returns.
func NewTable(cfg *Config, emit func(*Record)) *Table {
	if cfg == nil {
		cfg = &Config{}
	}
	return &Table{cfg: cfg, conns: make(map[Key]*Conn), emit: emit}
}

// Len returns the number of open connections.
func (t *Table) Len() int { return len(t.conns) }

// Packet feeds one decoded TCP segment captured at ts (Unix nanoseconds).
// Packets must come in capture order.
func (t *Table) Packet(ts int64, p *wire.Packet) {
	if !p.HasTCP {
		return
	}
	if ts > t.now {
		t.now = ts // Zeek's network time never goes back
	}
	if t.now-t.sweep >= sweepEvery {
		t.Expire(t.now)
		t.sweep = t.now
	}
	if t.cfg.VerifyChecksums && !ipv4HeaderOK(p) {
		return
	}
	k := KeyOf(p)
	c := t.conns[k]
	if c != nil {
		if at, ok := c.RemovalTime(t.now); ok {
			t.finish(k, c, at)
			c = nil
		} else if c.isReuse(ts, p) {
			t.finish(k, c, ts)
			c = nil
		}
	}
	if c == nil {
		c = t.alloc()
		c.Reset(t.cfg, ts, p)
		t.conns[k] = c
	}
	first := c.addr[0].Addr() == p.Src && c.addr[0].Port() == p.SrcPort
	c.Packet(ts, first, p)
}

// Expire ends every connection Zeek's timers would have removed by now.
func (t *Table) Expire(now int64) {
	for k, c := range t.conns {
		if at, ok := c.RemovalTime(now); ok {
			t.finish(k, c, at)
		}
	}
}

// Flush ends all connections, as Zeek does when the input ends.
func (t *Table) Flush() {
	for k, c := range t.conns {
		t.finish(k, c, t.now)
	}
}

func (t *Table) alloc() *Conn {
	if n := len(t.free); n > 0 {
		c := t.free[n-1]
		t.free = t.free[:n-1]
		return c
	}
	return new(Conn)
}

func (t *Table) finish(k Key, c *Conn, _ int64) {
	delete(t.conns, k)
	if t.emit != nil {
		t.rec = c.Record()
		t.emit(&t.rec)
	}
	t.free = append(t.free, c)
}

// isReuse reports whether SYN segment p at ts starts a new connection on
// c's tuple (Zeek's TCPSessionAdapter::IsReuse).
func (c *Conn) isReuse(ts int64, p *wire.Packet) bool {
	if p.HeaderLen < 20 || p.Flags&wire.SYN == 0 {
		return false
	}
	o, r := &c.ep[c.orig], &c.ep[c.orig^1]
	connOrig := o
	if p.Flags&wire.ACK != 0 {
		if o.state != Inactive {
			return false // not a half connection
		}
		connOrig = r
	}
	if !o.didClose && !r.didClose {
		if p.Seq == uint32(connOrig.startSeq) {
			return false
		}
		if p.Flags&wire.ACK == 0 && connOrig.state == SynAckSent && r.state == Inactive && p.Seq == uint32(r.startSeq) {
			return false // SYN and SYN-ACK reordered
		}
	}
	return true
}
