package cli

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"synfin/input"
	"synfin/tcpstate"
	"synfin/wire"
)

// connsShards is how many trackers conns runs at once, each on its own
// goroutine, when it has processors to spare; connsLoadCheck says
// whether to look at the machine's load for that. Tests set them.
var (
	connsShards    = 2
	connsLoadCheck = true
)

// Sharded tracking: the reading goroutine hands the frames out in
// batches to every shard; each shard tracks the connections whose
// 4-tuple hashes to it and only advances its clock with the others'
// frames (tcpstate.Tracker.Tick). Every connection a shard creates or
// hands out becomes an event keyed by where one tracker would have done
// it: the frame, then hand-outs at 2MSL before idle ones before a port
// reuse before the creation, then the connection's last segment (which
// orders the connections one tracker hands out at one tick); the ones
// left at the end go in ID order. Events are rendered in the shards and
// merged in key order by one goroutine, which numbers the connections
// 1, 2, ... in the order they were created. Should the capture's clock
// ever go back, the shards stop and one tracker absorbs the others'
// connections and goes on alone (see tcpstate.Tracker.Absorb).

const (
	shardBatch    = 1024    // frames in a batch
	shardBatchMem = 1 << 18 // bytes of frames in a batch, at most, past one frame
	shardLines    = 1 << 16 // bytes of lines in an event chunk, at most, past one line
	shardQueue    = 4       // batches and event chunks in flight per shard
)

// Event classes, in the order one tracker produces them at one frame.
const (
	evClosed  = iota // handed out after 2MSL
	evIdle           // handed out idle
	evReused         // handed out as its tuple was reused
	evCreated        // a connection began
	evFlushed        // handed out at the end of the capture
)

type shardFrame struct {
	// The other shards read only shard and the frame's number and time:
	// together they lead, in one cache line.
	shard int // -1: not a TCP segment
	fr    wire.Frame
	off   int    // of fr.Data in the batch's buf
	hash  uint64 // tcpstate.TupleHash of a TCP segment's endpoints
	// The reader decodes each frame to find its shard; the shard tracks
	// that decoding rather than decode again. HasTCP says it is there.
	pkt    wire.Packet
	optOff int // of pkt.Options in fr.Data
}

type frameBatch struct {
	frames []shardFrame
	buf    []byte
	refs   atomic.Int32 // shards still reading it
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
	id    int
	t     *tcpstate.Tracker
	p     int  // frame being tracked
	flush bool // the capture has ended
	chunk *eventChunk
	free  chan *eventChunk
	out   chan<- *eventChunk
}

// addLine adds event e, whose line the chunk's lines now end with.
func (s *connShard) addLine(e connEvent) {
	e.end = len(s.chunk.lines)
	s.add(e)
}

// add appends e, sending the chunk on when it is full.
func (s *connShard) add(e connEvent) {
	s.chunk.events = append(s.chunk.events, e)
	if len(s.chunk.events) >= shardBatch || len(s.chunk.lines) >= shardLines {
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

func (s *connShard) done(c *tcpstate.Conn) {
	e := s.event(c.ID, c.Last.Seg, c.Reuse.Prev, c.End)
	s.chunk.lines = appendConnJSON(s.chunk.lines, c)
	s.addLine(e)
}

func (s *connShard) row(c *tcpstate.Brief) {
	e := s.event(c.ID, c.Last.Seg, c.Prev, c.End)
	s.chunk.lines = appendConnRowRest(s.chunk.lines, c)
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
func (s *connShard) track(f *shardFrame) {
	s.p = f.fr.Index
	switch f.shard {
	case -1:
	case s.id:
		n := s.t.Created()
		if f.pkt.HasTCP {
			s.t.DecodedHash(&f.fr, &f.pkt, f.hash)
		} else {
			s.t.Frame(&f.fr)
		}
		if s.t.Created() != n {
			s.add(connEvent{eventKey: eventKey{p: s.p, class: evCreated}, id: uint64(s.p)})
		}
	default:
		s.t.Tick(f.fr.Time)
	}
}

func (s *connShard) newChunk() {
	c := <-s.free
	c.shard, c.events, c.lines, c.mark = s.id, c.events[:0], c.lines[:0], eventKey{}
	s.chunk = c
}

// shardOf spreads connections over n shards by the top bits of their
// tuple's hash (tcpstate.TupleHash, the same whichever way a segment
// goes), scaled to [0, n): a multiply, not a division.
func shardOf(h uint64, n int) int { return int((h >> 32) * uint64(n) >> 32) }

// trackSharded does what track does for conns, on n trackers.
func trackSharded(env *Env, file, expr string, asJSON bool, n int, out io.Writer) error {
	shardedRuns.Add(1)
	// Nearly everything on the Go heap here lives as long as the run
	// (frame batches, event chunks, the trackers' pools) and almost
	// nothing is garbage, so the collector's default goal of twice the
	// live heap only ever shows as resident memory: 14 MB of it at 10×
	// the reference workload. Half the live heap in garbage costs a few
	// more collections of a small heap.
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	src, err := input.Open(file, env.Stdin, input.Options{Progress: progressTo(env, true)})
	if err != nil {
		return err
	}
	defer src.Close()

	shards := make([]*connShard, n)
	in := make([]chan *frameBatch, n)
	events := make(chan *eventChunk, n*shardQueue)
	for i := range shards {
		s := &connShard{id: i, free: make(chan *eventChunk, shardQueue), out: events}
		for range shardQueue {
			s.free <- &eventChunk{}
		}
		// The table shows no Zeek field and only a connection's brief.
		cfg := tcpstate.Config{IndexIDs: true, Brief: s.row}
		if asJSON {
			cfg = tcpstate.Config{IndexIDs: true, Done: s.done, Zeek: zeekEngines()}
		}
		s.t = tcpstate.New(cfg)
		shards[i] = s
		in[i] = make(chan *frameBatch, shardQueue)
	}
	batches := make(chan *frameBatch, shardQueue)
	for range shardQueue {
		// Grown as frames come, not sized at once: a small capture
		// takes little.
		batches <- &frameBatch{}
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
					s.track(&b.frames[j])
				}
				s.send(eventKey{s.p, math.MaxUint8, math.MaxInt})
				// The last shard done with the batch gives it back.
				if b.refs.Add(-1) == 0 {
					b.frames, b.buf = b.frames[:0], b.buf[:0]
					batches <- b
				}
			}
			if final {
				s.finish()
			}
		}()
	}
	merged := make(chan error, 1)
	go func() { merged <- mergeConnEvents(shards, events, asJSON, out) }()

	var (
		fr      wire.Frame
		flt     = newFrameFilter(expr)
		readErr error
		b       = <-batches
		last    = int64(math.MinInt64)
		alone   = false // the clock went back: shard 0 goes on alone
	)
	send := func() {
		if len(b.frames) == 0 {
			return
		}
		for i := range b.frames {
			f := &b.frames[i]
			f.fr.Data = b.buf[f.off : f.off+len(f.fr.Data) : f.off+len(f.fr.Data)]
			if f.pkt.HasTCP {
				f.pkt.Data = f.fr.Data
				f.pkt.Options = f.fr.Data[f.optOff : f.optOff+len(f.pkt.Options)]
			}
		}
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
	s0 := shards[0]
	for {
		if err := env.Ctx.Err(); err != nil {
			readErr = err
			break
		}
		if err := src.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		if ok, ferr := flt.match(&fr); ferr != nil {
			if !alone {
				stop(false)
			}
			close(events)
			<-merged
			return ferr
		} else if !ok {
			continue
		}
		if !alone && fr.Time < last {
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
			f := shardFrame{fr: fr, shard: 0}
			s0.track(&f)
			continue
		}
		last = fr.Time
		// In place: a composite literal would zero and copy the whole
		// frame, packet and all, which Decode writes anyway.
		if len(b.frames) < cap(b.frames) {
			b.frames = b.frames[:len(b.frames)+1]
		} else {
			b.frames = append(b.frames, shardFrame{})
		}
		f := &b.frames[len(b.frames)-1]
		f.fr, f.shard, f.off, f.hash, f.optOff = fr, -1, len(b.buf), 0, 0
		if err := f.pkt.Decode(fr.Link, fr.Data); err == nil && f.pkt.HasTCP {
			f.hash = tcpstate.PacketHash(&f.pkt)
			f.shard = shardOf(f.hash, n)
			// Options lie within the frame: where, to find them in the copy.
			f.optOff = cap(fr.Data) - cap(f.pkt.Options)
		} else {
			f.pkt.HasTCP = false
		}
		b.buf = append(b.buf, fr.Data...)
		if len(b.frames) >= shardBatch || len(b.buf) >= shardBatchMem {
			send()
		}
	}
	if alone {
		s0.finish()
	} else {
		stop(true)
	}
	close(events)
	if err := <-merged; err != nil {
		return err
	}
	return readErr
}

// mergeConnEvents writes the shards' lines in the order one tracker
// would have handed their connections out, with IDs 1, 2, ...
func mergeConnEvents(shards []*connShard, events <-chan *eventChunk, asJSON bool, out io.Writer) error {
	n := len(shards)
	queues := make([][]*eventChunk, n) // chunks received, oldest first
	heads := make([]int, n)            // next event in queues[i][0]
	marks := make([]eventKey, n)
	// IDs by frame of creation, for the connections not handed out yet.
	ids := make(map[uint64]uint64)
	var (
		next        uint64
		werr        error
		line, line2 []byte
	)
	write := func(c *eventChunk, e *connEvent) {
		if e.class == evCreated {
			next++
			ids[e.id] = next
			return
		}
		id := ids[e.id]
		if !e.keep {
			delete(ids, e.id)
		}
		b := c.lines[e.start:e.end]
		line = line[:0]
		if asJSON {
			line = replaceID(line, b, `,"id":`, e.id, id)
			if e.prev != 0 {
				prev := ids[e.prev]
				delete(ids, e.prev)
				line2 = replaceID(line2[:0], line, `"prev_id":`, e.prev, prev)
				line, line2 = line2, line
			}
		} else {
			line = padRight(strconv.AppendUint(line, id, 10), 0, 4)
			line = append(append(line, ' '), b...)
			if e.prev != 0 {
				delete(ids, e.prev)
			}
		}
		if werr == nil {
			_, werr = out.Write(line)
		}
	}
	for c := range events {
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
	return werr
}

// replaceID appends line with the number old after key replaced by id.
func replaceID(dst, line []byte, key string, old, id uint64) []byte {
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return append(dst, line...)
	}
	i += len(key)
	var digits [20]byte
	j := i + len(strconv.AppendUint(digits[:0], old, 10))
	dst = append(dst, line[:i]...)
	dst = strconv.AppendUint(dst, id, 10)
	return append(dst, line[j:]...)
}

// shardedRuns counts runs of trackSharded, for tests.
var shardedRuns atomic.Int64

// shardsFor says how many trackers conns should run: more than one only
// if there are processors to spare. Sharding costs a fifth more work in
// all (every tracker follows the whole clock, frames are copied and the
// lines merged), which only pays when the trackers run at once: on a
// machine already busy one tracker finishes sooner. The output is the
// same either way.
func shardsFor(maxConns int) int {
	procs := runtime.GOMAXPROCS(0)
	if maxConns > 0 || procs < 2 || connsShards < 2 {
		return 1
	}
	if !connsLoadCheck {
		return connsShards
	}
	procs = min(procs, runtime.NumCPU())
	var samples []string
	for i := range loadSamples {
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			break
		}
		samples = append(samples, string(b))
		if !busy(samples, procs) {
			break // another sample would not change that
		}
		if i < loadSamples-1 {
			time.Sleep(time.Millisecond)
		}
	}
	if busy(samples, procs) {
		return 1
	}
	return connsShards
}

// loadSamples is how many times shardsFor reads the running tasks.
const loadSamples = 5

// busy reads /proc/loadavg samples: the machine is busy when the last
// minute's load average (of the first) is above all but one of procs
// processors and, in every sample, as many other tasks are running. The
// average alone lags a minute behind (a job that has just ended, such
// as a benchmark's previous command, still counts) and on some machines
// never falls below one, kernel threads counting; a task that runs
// steadily shows in every sample, the others' blips (this process's own
// threads among them) not.
func busy(samples []string, procs int) bool {
	if len(samples) == 0 {
		return false
	}
	f := strings.Fields(samples[0])
	if len(f) < 4 {
		return false
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err != nil || load <= float64(procs-1) {
		return false
	}
	for _, s := range samples {
		f := strings.Fields(s)
		if len(f) < 4 {
			return true // the average says busy, and nothing says otherwise
		}
		running, _, ok := strings.Cut(f[3], "/")
		n, err := strconv.Atoi(running)
		if !ok || err != nil {
			return true
		}
		if n-1 < procs-1 { // this process is one of the running
			return false
		}
	}
	return true
}
