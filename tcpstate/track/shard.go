package track

import "math"

// A capture can be tracked by several Trackers at once, each given the
// segments of some connections (by a hash of their 4-tuple) and the
// clock of all of them (Tick). With Config.IndexIDs their connections
// have IDs that order them as one Tracker would. While the capture's
// clock never goes back, each Tracker hands out its connections when
// one Tracker would (the clock passing a connection's 2MSL or idle
// time); at the first time stamp that goes back, Absorb merges them into
// one, which goes on from there exactly as if it had followed the
// capture from the start.

// Tick advances the tracker's clock to ts, the time of a segment given
// to another tracker, handing out what that leaves behind.
func (t *Tracker) Tick(ts int64) {
	if ts > t.now {
		t.now = ts
		if ts > t.due {
			t.expire()
		}
	}
}

// Absorb moves every connection of o into t, which must have the same
// Config with IndexIDs, and have seen the same frames up to now. o is
// left empty. Connections keep their places in the order in which t
// hands them out.
func (t *Tracker) Absorb(o *Tracker) {
	t.now = max(t.now, o.now)
	for c := range o.table.all() {
		t.table.set(c)
	}
	o.table = live{}
	t.active = mergeLists(t.active, o.active)
	t.closed = mergeLists(t.closed, o.closed)
	o.active, o.closed = list{}, list{}
	mergeFrozen(&t.ice, &o.ice)
	mergeFrozen(&t.cold, &o.cold)
	t.free = append(t.free, o.free...)
	o.free = nil
	t.stats.Frames += o.stats.Frames
	t.stats.Segments += o.stats.Segments
	t.stats.NotTCP += o.stats.NotTCP
	t.stats.Conns += o.stats.Conns
	t.stats.Evicted += o.stats.Evicted
	t.stats.PeakOpen += o.stats.PeakOpen // a bound: the peaks may differ in time
	o.stats = Stats{}
	t.nextID = max(t.nextID, o.nextID)
	t.due = math.MinInt64
}

// mergeLists merges two lists, each most recently active first, into
// one. A connection's last segment is the one that moved it to the front.
func mergeLists(a, b list) list {
	var out list
	for {
		x, y := a.back(), b.back()
		var c *conn
		switch {
		case x == nil && y == nil:
			return out
		case y == nil || x != nil && x.Last.Seg < y.Last.Seg:
			c = x
			a.remove(c)
		default:
			c = y
			b.remove(c)
		}
		out.pushFront(c)
	}
}

// mergeFrozen moves o's snapshots into f, both in the order their last
// segments came, which is the order they were taken in while the clock
// never went back.
func mergeFrozen(f, o *frozen) {
	n := frozen{briefs: f.briefs, mem: f.mem}
	for {
		x, okx := f.oldest()
		y, oky := o.oldest()
		if !okx && !oky {
			break
		}
		s, e := f, x
		if !okx || oky && y.seg < x.seg {
			s, e = o, y
		}
		n.putEntry(e.key, s.entryBytes(e.pos))
		s.remove(e)
	}
	f.free()
	o.free()
	*f = n
}
