package pipeline

import (
	"context"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"synfin/input"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// Conns says how TrackConns follows a capture's connections and writes
// one line for each.
type Conns struct {
	// Jobs is how many trackers run at once, each on its own goroutine
	// (at least 1).
	Jobs int
	// Config returns the configuration of one tracker; it is called once
	// for each, as the observers of one tracker may share state
	// that must stay on its goroutine (zeekconn.Observer's cache).
	// IndexIDs and the hook that receives connections are set here.
	Config func() track.Config
	// Brief appends the line of a connection's brief (its Brief hook), or
	// if it is nil Conn appends the line of the connection (its Done
	// hook). Either may print the connection's ID and its predecessor's,
	// which are the frame numbers of their first segments here (IndexIDs).
	Brief func(dst []byte, c *tcpstate.Brief) []byte
	Conn  func(dst []byte, c *tcpstate.Conn) []byte
	// Number appends line to dst with the IDs renumbered: the connection
	// whose ID was was is id, and its predecessor on the tuple (prevWas,
	// 0 if none) is prev. IDs count connections from 1 in the order they
	// began, as one tracker numbers them.
	Number func(dst, line []byte, id, was, prev, prevWas uint64) []byte
}

// Sharded tracking: the reading goroutine hands the frames out in
// batches to every shard; each shard tracks the connections whose
// 4-tuple hashes to it and only advances its clock with the others'
// frames (track.Tracker.Tick). Every connection a shard creates or
// hands out becomes an event keyed by where one tracker would have done
// it: the frame, then hand-outs at 2MSL before idle ones before a port
// reuse before the creation, then the connection's last segment (which
// orders the connections one tracker hands out at one tick); the ones
// left at the end go in ID order. Events are rendered in the shards and
// merged in key order by one goroutine, which numbers the connections
// 1, 2, ... in the order they were created. Should the capture's clock
// ever go back, the shards stop and one tracker absorbs the others'
// connections and goes on alone (see track.Tracker.Absorb).

const (
	shardFrames = 1024    // frames in a batch
	shardBytes  = 1 << 18 // bytes of frames in a batch, at most, past one frame
	shardEvents = 1024    // events in a chunk
	shardLines  = 1 << 16 // bytes of lines in an event chunk, at most, past one line
	shardQueue  = 4       // batches and event chunks in flight per shard
)

// Event classes, in the order one tracker produces them at one frame.
const (
	evClosed  = iota // handed out after 2MSL
	evIdle           // handed out idle
	evReused         // handed out as its tuple was reused
	evCreated        // a connection began
	evFlushed        // handed out at the end of the capture
)

// shardBatch is a batch as the shards see it: each frame's shard and,
// for a TCP segment, its decoding, which the reader did to find the
// shard and which the shard tracks rather than decode again.
type shardBatch struct {
	batch
	dec  []decoded
	refs atomic.Int32 // shards still reading it
}

type decoded struct {
	shard  int    // -1: not a TCP segment
	hash   uint64 // track.PacketHash of a TCP segment
	optOff int    // of pkt.Options in the frame's data
	pkt    wire.Packet
}

// seal points the frames and their packets at the batch's bytes.
func (b *shardBatch) seal() {
	b.batch.seal()
	for i := range b.dec {
		if d := &b.dec[i]; d.pkt.HasTCP {
			data := b.frames[i].Data
			d.pkt.Data = data
			d.pkt.Options = data[d.optOff : d.optOff+len(d.pkt.Options)]
		}
	}
}

type connEvent struct {
	eventKey
	id, prev   uint64 // frame numbers of the connection's first segment and of its predecessor's
	keep       bool   // its ID is wanted later, by the connection that reused its tuple
	start, end int    // its line in the chunk's lines
}

// eventKey orders events as one tracker would produce them.
type eventKey struct {
	p     int
	class uint8
	sub   int
}

func (a eventKey) less(b eventKey) bool {
	if a.p != b.p {
		return a.p < b.p
	}
	if a.class != b.class {
		return a.class < b.class
	}
	return a.sub < b.sub
}

// eventChunk holds a shard's events in order; it has sent every event up
// to mark.
type eventChunk struct {
	shard  int
	events []connEvent
	lines  []byte
	mark   eventKey
}

// everything is the mark of a shard that has finished.
var everything = eventKey{math.MaxInt, math.MaxUint8, math.MaxInt}

type connShard struct {
	id     int
	t      *track.Tracker
	p      int  // frame being tracked
	flush  bool // the capture has ended
	chunk  *eventChunk
	free   chan *eventChunk
	out    chan<- *eventChunk
	ctx    context.Context
	brief  func([]byte, *tcpstate.Brief) []byte
	encode func([]byte, *tcpstate.Conn) []byte
}

// addLine adds event e, whose line the chunk's lines now end with.
func (s *connShard) addLine(e connEvent) {
	e.end = len(s.chunk.lines)
	s.add(e)
}

// add appends e, sending the chunk on when it is full.
func (s *connShard) add(e connEvent) {
	s.chunk.events = append(s.chunk.events, e)
	if len(s.chunk.events) >= shardEvents || len(s.chunk.lines) >= shardLines {
		s.send(e.eventKey)
	}
}

// send hands the chunk, complete up to mark, to the merger.
func (s *connShard) send(mark eventKey) {
	s.chunk.mark = mark
	s.out <- s.chunk
	s.newChunk()
}

// finish hands out what is left at the end of the capture.
func (s *connShard) finish() {
	s.flush = true
	s.t.Flush()
	s.chunk.mark = everything
	s.out <- s.chunk
	s.chunk = nil
}

// cancelled reports whether the run is cancelled: the merger then
// writes nothing more, and the lines need not be made.
func (s *connShard) cancelled() bool { return s.ctx.Err() != nil }

func (s *connShard) done(c *tcpstate.Conn) {
	if s.cancelled() {
		return
	}
	e := s.event(c.ID, c.Last.Seg, c.Reuse.Prev, c.End)
	s.chunk.lines = s.encode(s.chunk.lines, c)
	s.addLine(e)
}

func (s *connShard) row(c *tcpstate.Brief) {
	if s.cancelled() {
		return
	}
	e := s.event(c.ID, c.Last.Seg, c.Prev, c.End)
	s.chunk.lines = s.brief(s.chunk.lines, c)
	s.addLine(e)
}

// event starts the event of a connection handed out, from its ID, its
// last segment, its predecessor on the tuple and why it ended; its line
// is to follow in the chunk's lines (see addLine).
func (s *connShard) event(id uint64, last int, prev uint64, end tcpstate.End) connEvent {
	e := connEvent{eventKey: eventKey{p: s.p, sub: last}, id: id, prev: prev, keep: end == tcpstate.EndReused,
		start: len(s.chunk.lines)}
	switch {
	case s.flush:
		e.class, e.p, e.sub = evFlushed, math.MaxInt, int(id)
	case end == tcpstate.EndIdle:
		e.class = evIdle
	case end == tcpstate.EndReused:
		e.class = evReused
	default:
		e.class = evClosed
	}
	return e
}

// track tracks one frame of a batch.
func (s *connShard) track(f *wire.Frame, d *decoded) {
	s.p = f.Index
	switch d.shard {
	case -1:
	case s.id:
		n := s.t.Created()
		if d.pkt.HasTCP {
			s.t.DecodedHash(f, &d.pkt, d.hash)
		} else {
			s.t.Frame(f)
		}
		if s.t.Created() != n {
			s.add(connEvent{eventKey: eventKey{p: s.p, class: evCreated}, id: uint64(s.p)})
		}
	default:
		s.t.Tick(f.Time)
	}
}

func (s *connShard) newChunk() {
	c := <-s.free
	c.shard, c.events, c.lines, c.mark = s.id, c.events[:0], c.lines[:0], eventKey{}
	s.chunk = c
}

// shardOf spreads connections over n shards by the top bits of their
// tuple's hash (the same whichever way a segment goes), scaled to
// [0, n): a multiply, not a division.
func shardOf(h uint64, n int) int { return int((h >> 32) * uint64(n) >> 32) }

// TrackConns reads src (filtered by flt) with input.Each, follows its
// connections on opt.Jobs trackers and writes one line for each to w, in
// the order and with the IDs one tracker would give them: the output is
// the same for every number of trackers. Connections still open when the
// input ends, cleanly or damaged, are written before the damage is
// reported. Once ctx is done it writes nothing more and returns soon
// with ctx's error, even while it writes what the end of the input
// handed out. An error of w ends nothing: the caller keeps it (and may
// cancel ctx).
func TrackConns(ctx context.Context, src input.Frames, flt *input.Filter, opt Conns, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	n := max(opt.Jobs, 1)
	shards := make([]*connShard, n)
	in := make([]chan *shardBatch, n)
	events := make(chan *eventChunk, n*shardQueue)
	for i := range shards {
		s := &connShard{id: i, free: make(chan *eventChunk, shardQueue), out: events, ctx: ctx,
			brief: opt.Brief, encode: opt.Conn}
		for range shardQueue {
			s.free <- &eventChunk{}
		}
		cfg := opt.Config()
		cfg.IndexIDs = true
		if opt.Brief != nil {
			cfg.Brief, cfg.Done = s.row, nil
		} else {
			cfg.Done, cfg.Brief = s.done, nil
		}
		s.t = track.New(cfg)
		shards[i] = s
		in[i] = make(chan *shardBatch, shardQueue)
	}
	batches := make(chan *shardBatch, shardQueue)
	for range shardQueue {
		// Grown as frames come, not sized at once: a small capture
		// takes little.
		batches <- &shardBatch{}
	}

	var (
		running sync.WaitGroup
		final   bool // the shards flush their trackers when the input ends
	)
	for i, s := range shards {
		running.Add(1)
		go func() {
			defer running.Done()
			s.newChunk()
			for b := range in[i] {
				for j := range b.frames {
					s.track(&b.frames[j], &b.dec[j])
				}
				s.send(eventKey{s.p, math.MaxUint8, math.MaxInt})
				// The last shard done with the batch gives it back.
				if b.refs.Add(-1) == 0 {
					b.reset()
					b.dec = b.dec[:0]
					batches <- b
				}
			}
			if final {
				s.finish()
			}
		}()
	}
	merged := make(chan error, 1)
	go func() { merged <- mergeConnEvents(ctx, shards, events, opt.Number, w) }()

	var (
		b     = <-batches
		last  = int64(math.MinInt64)
		alone = false // the clock went back: shard 0 goes on alone
		s0    = shards[0]
	)
	send := func() {
		if len(b.frames) == 0 {
			return
		}
		b.seal()
		b.refs.Store(int32(n))
		for _, c := range in {
			c <- b
		}
		b = <-batches
	}
	stop := func(flush bool) {
		send()
		final = flush
		for _, c := range in {
			close(c)
		}
		running.Wait()
	}
	frame := func(f *wire.Frame) error {
		if !alone && f.Time < last {
			// The clock goes back: from here one tracker must decide
			// alone which connections the clock has left behind.
			stop(false)
			for _, s := range shards[1:] {
				s0.t.Absorb(s.t)
				s.chunk.mark = everything
				events <- s.chunk
				s.chunk = nil
			}
			alone = true
		}
		if alone {
			s0.track(f, &decoded{shard: 0})
			return nil
		}
		last = f.Time
		if b.full(f, shardFrames, shardBytes) {
			send()
		}
		c := b.add(f)
		// In place: a composite literal would zero and copy the whole
		// packet, which Decode writes anyway.
		if len(b.dec) < cap(b.dec) {
			b.dec = b.dec[:len(b.dec)+1]
		} else {
			b.dec = append(b.dec, decoded{})
		}
		d := &b.dec[len(b.dec)-1]
		d.shard, d.hash, d.optOff = -1, 0, 0
		if err := d.pkt.Decode(c.Link, f.Data); err == nil && d.pkt.HasTCP {
			d.hash = track.PacketHash(&d.pkt)
			d.shard = shardOf(d.hash, n)
			// Options lie within the frame: where, to find them in the copy.
			d.optOff = cap(f.Data) - cap(d.pkt.Options)
		} else {
			d.pkt.HasTCP = false
		}
		return nil
	}
	end := func() {
		if alone {
			s0.finish()
		} else {
			stop(true)
		}
	}
	err := input.Each(ctx, src, flt, frame, end)
	if _, ok := err.(*input.FilterError); ok {
		// Stopped at once, as one tracker stops: nothing is flushed.
		if !alone {
			stop(false)
		}
	}
	close(events)
	if merr := <-merged; merr != nil && err == nil {
		err = merr
	}
	return err
}

// mergeConnEvents writes the shards' lines in the order one tracker
// would have handed their connections out, with IDs 1, 2, ... Once ctx
// is done it gives every chunk back unread, so that the shards finish
// soon, and returns ctx's error.
func mergeConnEvents(ctx context.Context, shards []*connShard, events <-chan *eventChunk, number func(dst, line []byte, id, was, prev, prevWas uint64) []byte, out io.Writer) error {
	n := len(shards)
	queues := make([][]*eventChunk, n) // chunks received, oldest first
	heads := make([]int, n)            // next event in queues[i][0]
	marks := make([]eventKey, n)
	var (
		numbered ids // the connections numbered and not written yet
		next     uint64
		line     []byte
	)
	write := func(c *eventChunk, e *connEvent) {
		if e.class == evCreated {
			next++
			numbered.add(e.id, next)
			return
		}
		id := numbered.get(e.id, e.keep)
		var prev uint64
		if e.prev != 0 {
			prev = numbered.get(e.prev, false)
		}
		line = number(line[:0], c.lines[e.start:e.end], id, e.id, prev, e.prev)
		out.Write(line) // the caller keeps the first error
	}
	for c := range events {
		if ctx.Err() != nil {
			for i := range queues {
				for _, q := range queues[i] {
					shards[i].free <- q
				}
				queues[i] = nil
			}
			shards[c.shard].free <- c
			continue
		}
		queues[c.shard] = append(queues[c.shard], c)
		marks[c.shard] = c.mark
		for {
			// The smallest head, if every other shard has got past it.
			best := -1
			var be *connEvent
			for i := range n {
				for len(queues[i]) > 0 && heads[i] == len(queues[i][0].events) {
					shards[i].free <- queues[i][0]
					queues[i] = queues[i][1:]
					heads[i] = 0
				}
				if len(queues[i]) == 0 || heads[i] == len(queues[i][0].events) {
					continue
				}
				e := &queues[i][0].events[heads[i]]
				if be == nil || e.less(be.eventKey) {
					best, be = i, e
				}
			}
			if be == nil {
				break
			}
			ready := true
			for i := range n {
				if i != best && marks[i].less(be.eventKey) {
					ready = false
				}
			}
			if !ready {
				break
			}
			write(queues[best][0], be)
			heads[best]++
		}
	}
	return ctx.Err()
}
