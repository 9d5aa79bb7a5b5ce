package track

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"slices"

	"synfin/internal/snapshot"
	"synfin/tcpstate"
	"synfin/wire"
)

// frozen holds snapshots of closed connections in the order they were
// taken, which is the order of their last segments: the oldest is the
// next to run out of 2MSL. Snapshots live in large byte chunks mapped
// outside the Go heap (see chunkMemory), free of pointers; a connection
// that gets another segment is thawed and its old snapshot left behind
// as garbage that goes when its chunk does.
type frozen struct {
	// Where each connection's current snapshot is.
	index  hashIndex[uint64]
	chunks [][]byte // chunks[0] has sequence number first
	// By chunk as chunks, where the chunk is packed (see packer), its
	// entry in chunks being nil: most but the newest two, the oldest and
	// those read lately (chunkAt). Both are nil for a chunk Flush has
	// let go (took).
	packed [][]byte
	// The chunks unpacked to be read, by number plus one (see chunkAt),
	// the latest first, and how many chunks were packed when new and
	// packed again after such a read.
	unpacked       [unpackedKept]uint64
	packs, repacks int
	// The other slices of chunk headers compact copies into, kept so
	// that compacting allocates nothing.
	oldChunks, oldPacked [][]byte
	left                 []int32 // snapshots by chunk, for Flush (see each)
	first                uint64
	tail                 uint64 // position of the oldest snapshot not yet taken out
	mem                  *chunkMemory
	size                 int // bytes in chunks
	live                 int // bytes of current snapshots
	// The oldest current snapshot's last time, kept so that the tracker
	// need not find and decode it at every tick of the capture's clock:
	// head says whether it is known, none that there is no snapshot.
	head     bool
	none     bool
	headLast int64
	// briefs says that every entry carries a brief (see
	// tcpstate.Analyzer.AppendBrief) between its key and its state.
	briefs bool
}

const (
	chunkSize = 1 << 20
	posShift  = 32
	// An entry starts with its length (4 bytes), the time of the
	// connection's last segment (8), its ID (8) and the frame number of
	// its last segment (8), which orders the stores of trackers merged by
	// Absorb.
	entryHead = 28
)

// unpackedKept is how many chunks unpacked to be read are kept so.
// Flush reads the reference workload's 115,000 snapshots in ID order,
// which goes back and forth over about 8 MiB of the store: with 8 chunks
// kept it unpacks a chunk 65 more times than it has chunks, with 4 kept
// 8,244 times.
const unpackedKept = 8

// entry is one snapshot in the store.
type entry struct {
	pos   uint64
	last  int64
	id    uint64
	seg   int
	key   key
	hash  uint64 // hashKey(key)
	brief []byte // with briefs
	state []byte
	size  int
}

func (f *frozen) len() int { return f.index.len() }

func hashKey(k key) uint64 { return TupleHash(k.a, k.b) }

// tupleSeed keys TupleHash with a value chosen per process, so that no
// one can choose tuples that share a hash (a hash of the address XOR the
// port let 40,000 SYNs from one /64 take 14 s where random ones took
// 0.13). Nothing a program writes depends on it: trackers never hand out
// connections in the order of their hashes.
var tupleSeed = maphash.MakeSeed()

// TupleHash hashes a connection's 4-tuple, the same whichever way a
// segment goes: the sum of a keyed hash (hash/maphash, seeded once per
// process) of each endpoint, its address in 16 bytes (IPv4 mapped) and
// its port. Its low bits (the tracker's tables) and its high bits (a
// caller's shards) are both well spread, and differ from one run to the
// next. PacketHash gives the same from a decoded segment's bytes; a
// caller that hashes the tuple anyway, to pick a tracker, hands the hash
// on with DecodedHash.
func TupleHash(a, b netip.AddrPort) uint64 {
	return endpointHash(a.Addr().As16(), a.Port()) + endpointHash(b.Addr().As16(), b.Port())
}

// PacketHash is TupleHash of p's endpoints, read where Decode found them
// in its bytes, without going through netip values.
func PacketHash(p *wire.Packet) uint64 {
	b, n, t := p.Data, p.NetOff, p.TransOff
	if n < 0 || t < 0 || t+4 > len(b) {
		return TupleHash(netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))
	}
	// Each endpoint as endpointHash lays it out: address, then port.
	var x, y [18]byte
	switch {
	case p.IPVersion == 4 && n+20 <= len(b):
		// ::ffff:a.b.c.d, as As16 maps it.
		x[10], x[11], y[10], y[11] = 0xff, 0xff, 0xff, 0xff
		copy(x[12:16], b[n+12:n+16])
		copy(y[12:16], b[n+16:n+20])
	case p.IPVersion == 6 && n+40 <= len(b):
		copy(x[:16], b[n+8:n+24])
		copy(y[:16], b[n+24:n+40])
	default:
		return TupleHash(netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort))
	}
	copy(x[16:], b[t:t+2])
	copy(y[16:], b[t+2:t+4])
	return maphash.Bytes(tupleSeed, x[:]) + maphash.Bytes(tupleSeed, y[:])
}

// endpointHash hashes an address, in 16 bytes, and a port (big-endian)
// after it.
func endpointHash(addr [16]byte, port uint16) uint64 {
	var b [18]byte
	copy(b[:], addr[:])
	b[16], b[17] = byte(port>>8), byte(port)
	return maphash.Bytes(tupleSeed, b[:])
}

// lookup returns where k's snapshot is; h is hashKey(k).
func (f *frozen) lookup(k key, h uint64) (uint64, bool) {
	if pos, ok := f.index.atHash(h); ok && f.keyAt(f.entryBytes(pos)) == k {
		return pos, true
	}
	return f.index.byKey(k)
}

// setPos records pos as the place of k's snapshot (h is hashKey(k)),
// replacing old (0: none). While compacting, old's chunk is no longer
// where entryBytes looks: the value under h is k's if it is old.
func (f *frozen) setPos(k key, h, old, pos uint64) {
	p, had := f.index.atHash(h)
	f.index.set(k, h, pos, !had || p == old && old != 0 || old == 0 && f.keyAt(f.entryBytes(p)) == k)
}

// forget drops k's snapshot at pos from the index; h is hashKey(k).
func (f *frozen) forget(k key, h, pos uint64) { f.index.del(k, h, pos) }

// entryBytes returns the entry at pos. Its bytes are good until the
// store changes or another packed chunk is read.
func (f *frozen) entryBytes(pos uint64) []byte {
	c := f.chunkAt(int(pos>>posShift - f.first))
	b := c[pos&(1<<posShift-1):]
	return b[:entryLen(b)]
}

// chunkAt returns the bytes of chunk i, which it unpacks if it is
// packed. A chunk read in the middle of the store (by Flush, in ID
// order, or for a segment that came late) stays unpacked while it is
// among the last unpackedKept so read, as the next reads are mostly
// near it; then it is packed again, as long as the store has packed
// chunks again no more often than it has packed new ones. Reads
// scattered over the whole store (connections of very different
// lengths, or a capture made to) would otherwise cost a chunk packed
// and one unpacked each; past that bound a chunk read stays unpacked,
// as all were before packing, and is unpacked once at most.
func (f *frozen) chunkAt(i int) []byte {
	n := f.first + uint64(i) + 1
	if c := f.chunks[i]; c != nil {
		if f.unpacked[0] != 0 && f.unpacked[0] != n {
			// Read again: the last to be packed again.
			if k := slices.Index(f.unpacked[:], n); k > 0 {
				copy(f.unpacked[1:k+1], f.unpacked[:k])
				f.unpacked[0] = n
			}
		}
		return c
	}
	f.unpack(i)
	last := f.unpacked[len(f.unpacked)-1]
	copy(f.unpacked[1:], f.unpacked[:len(f.unpacked)-1])
	f.unpacked[0] = n
	if j := int(last - 1 - f.first); last > f.first && j < len(f.chunks) && f.repacks < f.packs {
		if f.pack(j) {
			f.repacks++
		}
	}
	return f.chunks[i]
}

// inPass returns chunk c to be read in a pass over the store, or, when
// it is packed, packed chunk p unpacked into *tmp, a chunk made at the
// first and reused for the next, which the pass lets go at its end.
func (f *frozen) inPass(c, p []byte, tmp *[]byte) []byte {
	if c != nil {
		return c
	}
	if *tmp == nil {
		*tmp = f.mem.get()
	}
	*tmp = f.mem.unpackInto(*tmp, p)
	return *tmp
}

// held returns chunk c, or p, the same chunk packed, when c is nil: what
// the store holds of it, to be let go.
func held(c, p []byte) []byte {
	if c != nil {
		return c
	}
	return p
}

// unpack makes chunk i, packed, a chunk as written again.
func (f *frozen) unpack(i int) {
	c := f.mem.unpackInto(f.mem.get(), f.packed[i])
	f.mem.put(f.packed[i])
	f.chunks[i], f.packed[i] = c, nil
}

// pack packs chunk i, and says so, when the store's memory packs chunks,
// unless it is the oldest or among the newest two, which are read and
// written most, or does not get smaller.
func (f *frozen) pack(i int) bool {
	if f.mem == nil || f.mem.pack == nil || i < 1 || i >= len(f.chunks)-2 || f.chunks[i] == nil || cap(f.chunks[i]) != chunkSize {
		return false
	}
	b := f.mem.packChunk(f.chunks[i])
	if b == nil {
		return false
	}
	f.packed[i], f.chunks[i] = b, nil
	return true
}

// An entry's length has its top bit set once the entry is no longer its
// connection's snapshot (remove), so that walking the store in order
// needs no lookup to skip what thawed connections left behind.
const stale = 1 << 31

// entryLen returns the length of the entry b starts with, and whether it
// is still current.
func entryLen(b []byte) int { return int(binary.LittleEndian.Uint32(b) &^ stale) }

func isStale(b []byte) bool { return binary.LittleEndian.Uint32(b)&stale != 0 }

// appendEntryHead starts w on a store entry for the connection with key k,
// ID id and last segment last: its head, then its key. The snapshot
// (Analyzer.AppendState) follows it in w, and put stores the lot, so that
// it is copied once, into the store.
func appendEntryHead(w *snapshot.Writer, k key, id uint64, last tcpstate.SegRef) {
	b := append(w.B, 0, 0, 0, 0) // the length, which put fills in
	b = binary.LittleEndian.AppendUint64(b, uint64(last.Time))
	b = binary.LittleEndian.AppendUint64(b, id)
	w.B = binary.LittleEndian.AppendUint64(b, uint64(last.Seg))
	w.Addr(k.a.Addr())
	w.Uint(uint64(k.a.Port()))
	w.Addr(k.b.Addr())
	w.Uint(uint64(k.b.Port()))
}

// put stores entry b, written by appendEntryHead and Analyzer.AppendState,
// for the connection with key k, of hash h.
func (f *frozen) put(k key, h uint64, b []byte) {
	if f.chunks == nil {
		f.init()
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	f.setPos(k, h, 0, f.append(b))
	f.live += len(b)
	if f.none {
		f.head = false
	}
	// Snapshots left behind wait for the oldest current one before them
	// to go (five minutes for idle connections): copying the rest out
	// once they are a fifth of the store keeps memory near what is live.
	if f.size > f.live+f.live/4+2*chunkSize {
		f.compact()
	}
}

// append adds entry b at the head and returns its position.
func (f *frozen) append(b []byte) uint64 {
	n := len(f.chunks)
	if n == 0 || cap(f.chunks[n-1])-len(f.chunks[n-1]) < len(b) {
		var c []byte
		if len(b) > chunkSize {
			c = make([]byte, 0, len(b))
		} else {
			c = f.mem.get()
		}
		if n == 0 {
			f.tail = f.first << posShift
		}
		f.chunks = append(f.chunks, c)
		f.packed = append(f.packed, nil)
		n++
		if f.pack(n - 3) {
			f.packs++
		}
	}
	pos := (f.first+uint64(n-1))<<posShift | uint64(len(f.chunks[n-1]))
	f.chunks[n-1] = append(f.chunks[n-1], b...)
	f.size += len(b)
	return pos
}

// compact copies the current snapshots, in order, into fresh chunks when
// the ones left behind by thawed connections take most of the space (an
// old snapshot at the tail would otherwise keep them all).
func (f *frozen) compact() {
	old, oldPacked := f.chunks, f.packed
	// Other slices: old and oldPacked keep the chunks being read.
	f.chunks, f.packed = f.oldChunks[:0], f.oldPacked[:0]
	f.unpacked = [unpackedKept]uint64{}
	var tmp []byte // where a packed chunk is unpacked to be read
	tail := f.tail
	f.first += uint64(len(old))
	f.size = 0
	oldFirst := f.first - uint64(len(old))
	for i, c := range old {
		c = f.inPass(c, oldPacked[i], &tmp)
		off := 0
		if i == 0 {
			off = int(tail & (1<<posShift - 1))
		}
		for off < len(c) {
			n := entryLen(c[off:])
			if !isStale(c[off:]) {
				k := f.keyAt(c[off : off+n])
				f.setPos(k, hashKey(k), (oldFirst+uint64(i))<<posShift|uint64(off), f.append(c[off:off+n]))
			}
			off += n
		}
		// Done with it: the store never holds much more than its live
		// snapshots while compacting.
		f.release(held(old[i], oldPacked[i]))
		old[i], oldPacked[i] = nil, nil
	}
	if tmp != nil {
		f.release(tmp)
	}
	if len(f.chunks) == 0 {
		f.tail = f.first << posShift
	}
	clear(old)
	clear(oldPacked)
	f.oldChunks, f.oldPacked = old[:0], oldPacked[:0]
}

// keyAt returns the key of entry b.
func (f *frozen) keyAt(b []byte) key {
	r := snapshot.Reader{B: b[entryHead:]}
	return readKey(&r)
}

// readKey reads the key appendEntryHead wrote after an entry's head.
func readKey(r *snapshot.Reader) key {
	aa := r.Addr()
	ap := uint16(r.Uint())
	ba := r.Addr()
	bp := uint16(r.Uint())
	return key{netip.AddrPortFrom(aa, ap), netip.AddrPortFrom(ba, bp)}
}

// init makes the slices of chunk headers f keeps reusing, at once, so
// that a warm store allocates nothing (its index's maps grow as they
// are filled).
func (f *frozen) init() {
	f.chunks = make([][]byte, 0, 16)
	f.packed = make([][]byte, 0, 16)
	f.oldChunks = make([][]byte, 0, 16)
	f.oldPacked = make([][]byte, 0, 16)
}

// release lets chunk c go (one made on the heap, as for a snapshot
// larger than a chunk, goes with the collector).
func (f *frozen) release(c []byte) { f.mem.put(c) }

// at returns the entry at pos.
func (f *frozen) at(pos uint64) entry {
	e := f.unhashed(pos)
	e.hash = hashKey(e.key)
	return e
}

// unhashed is at without the key's hash, which only finding the entry
// again needs.
func (f *frozen) unhashed(pos uint64) entry {
	b := f.entryBytes(pos)
	e := entry{pos: pos, last: int64(binary.LittleEndian.Uint64(b[4:])), id: binary.LittleEndian.Uint64(b[12:]),
		seg: int(binary.LittleEndian.Uint64(b[20:])), size: len(b)}
	r := snapshot.Reader{B: b[entryHead:]}
	e.key = readKey(&r)
	e.state = r.B
	if f.briefs && len(r.B) >= 2 {
		n := min(int(binary.LittleEndian.Uint16(r.B)), len(r.B)-2)
		e.brief, e.state = r.B[2:2+n], r.B[2+n:]
	}
	return e
}

// idOf returns the ID of entry b without decoding the rest.
func idOf(b []byte) uint64 { return binary.LittleEndian.Uint64(b[12:]) }

// oldestLast returns the last time of the oldest current snapshot, as
// oldest does, without decoding it when it is known.
func (f *frozen) oldestLast() (int64, bool) {
	if !f.head {
		if e, ok := f.oldest(); ok {
			return e.last, true
		}
	}
	return f.headLast, !f.none
}

// oldest returns the oldest snapshot still current, dropping the ones
// left behind by thawed connections.
func (f *frozen) oldest() (entry, bool) {
	f.head, f.none = true, true
	for len(f.chunks) > 0 {
		if f.chunks[0] == nil {
			f.unpack(0)
		}
		off := f.tail & (1<<posShift - 1)
		if off >= uint64(len(f.chunks[0])) {
			if len(f.chunks) == 1 {
				return entry{}, false
			}
			f.dropChunk()
			continue
		}
		if b := f.chunks[0][off:]; isStale(b) {
			f.tail += uint64(entryLen(b))
			continue
		}
		e := f.at(f.tail)
		f.none, f.headLast = false, e.last
		return e, true
	}
	return entry{}, false
}

func (f *frozen) dropChunk() {
	c := f.chunks[0] // unpacked by oldest
	f.size -= len(c)
	f.release(c)
	n := len(f.chunks) - 1
	copy(f.chunks, f.chunks[1:])
	copy(f.packed, f.packed[1:])
	f.chunks[n], f.packed[n] = nil, nil
	f.chunks, f.packed = f.chunks[:n], f.packed[:n]
	f.first++
	f.tail = f.first << posShift
}

// remove forgets the connection whose current snapshot is e.
func (f *frozen) remove(e entry) {
	f.head = false
	f.forget(e.key, e.hash, e.pos)
	f.live -= e.size
	b := f.chunkAt(int(e.pos>>posShift - f.first))[e.pos&(1<<posShift-1):]
	binary.LittleEndian.PutUint32(b, uint32(e.size)|stale)
	if e.pos == f.tail {
		f.tail += uint64(e.size)
	}
}

// putEntry appends entry bytes b, as put wrote them for key k, at the
// head.
func (f *frozen) putEntry(k key, b []byte) {
	if f.chunks == nil {
		f.init()
	}
	f.setPos(k, hashKey(k), 0, f.append(b))
	f.live += len(b)
	if f.none {
		f.head = false
	}
}

// free drops f's chunks and leaves it empty.
func (f *frozen) free() {
	for i, c := range f.chunks {
		if c = held(c, f.packed[i]); c != nil {
			f.release(c)
		}
	}
	*f = frozen{briefs: f.briefs, mem: f.mem}
}

// each calls fn with the position and bytes of every current snapshot,
// in the order they were taken: each chunk is read once. It counts them
// by chunk for took.
func (f *frozen) each(fn func(pos uint64, b []byte)) {
	f.left = slices.Grow(f.left[:0], len(f.chunks))[:len(f.chunks)]
	var tmp []byte // where packed chunks are unpacked, one after another
	defer func() {
		if tmp != nil {
			f.release(tmp)
		}
	}()
	for i, c := range f.chunks {
		c = f.inPass(c, f.packed[i], &tmp)
		off := 0
		if i == 0 {
			off = int(f.tail & (1<<posShift - 1))
		}
		f.left[i] = 0
		for off < len(c) {
			n := entryLen(c[off:])
			if !isStale(c[off:]) {
				fn((f.first+uint64(i))<<posShift|uint64(off), c[off:off+n])
				f.left[i]++
			}
			off += n
		}
	}
}

// took lets go of the chunk of the snapshot at pos, which Flush has
// taken out without removing it (see Tracker.thaw), when it was the
// last of those each counted there: Flush takes them in ID order, not
// the store's, and memory goes down as it goes rather than up.
func (f *frozen) took(pos uint64) {
	i := int(pos>>posShift - f.first)
	if f.left[i]--; f.left[i] > 0 {
		return
	}
	f.release(held(f.chunks[i], f.packed[i]))
	f.chunks[i], f.packed[i] = nil, nil
}
