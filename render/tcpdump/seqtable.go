package tcpdump

import (
	"hash/maphash"
	"runtime"
	"unsafe"

	"synfin/internal/offheap"
)

// SeqTableSize bounds the conversations whose initial sequence numbers a
// Printer remembers (tcpdump's tcp_seq_hash never forgets; a bound keeps
// memory flat on huge captures). About 56 bytes each, outside the Go heap.
const SeqTableSize = 1 << 20

// seqKey is tcpdump's "struct tha": both addresses in collating order
// (bytes 0-15 and 16-31), both ports (32-35) and a byte keeping the IPv4
// and IPv6 tables apart, as tcpdump does. A plain byte array hashes fast.
type seqKey [37]byte

func makeSeqKey(src, dst []byte, port uint32, v6 bool) (k seqKey) {
	copy(k[0:16], src)
	copy(k[16:32], dst)
	k[32], k[33], k[34], k[35] = byte(port>>24), byte(port>>16), byte(port>>8), byte(port)
	if v6 {
		k[36] = 1
	}
	return k
}

// seqEnt is one conversation and its base numbers: 48 bytes.
type seqEnt struct {
	key      seqKey
	seq, ack uint32
}

type seqVal struct{ seq, ack uint32 }

// seqTable maps conversations to their base sequence numbers, forgetting
// the oldest first once max are held. The entries lie in a ring in the
// order they came, found through an open-addressing index of their
// positions. Both are outside the Go heap: a capture's conversations can
// number a million, and a Go map of them took twice the memory and, with
// the collector's headroom, four times it in resident memory.
type seqTable struct {
	mem   *seqMem
	ring  []seqEnt // len: entries held; cap grows by doubling up to max
	index []uint32 // ring position + 1 (0: empty); len a power of two, at most half full
	next  int      // the oldest entry, once the ring is full
	max   int
	seed  maphash.Seed
}

// seqMem holds the table's blocks, given back when the table is
// unreachable: a Printer has no Close.
type seqMem struct{ ring, index []byte }

func (m *seqMem) free() {
	offheap.Free(m.ring)
	offheap.Free(m.index)
}

// The first ring's room and the first index's slots.
const (
	minSeqRing  = 1 << 9
	minSeqIndex = 1 << 10
)

func newSeqTable(max int) *seqTable {
	if max <= 0 {
		max = SeqTableSize
	}
	return &seqTable{max: max, seed: maphash.MakeSeed()}
}

func (t *seqTable) hash(k *seqKey) int { return int(maphash.Bytes(t.seed, k[:])) }

// find returns the index slot that holds k's position, or the empty slot
// where probing for it stopped (found false); h is k's hash. The index
// must have slots.
func (t *seqTable) find(k *seqKey, h int) (slot int, found bool) {
	mask := len(t.index) - 1
	for i := h & mask; ; i = (i + 1) & mask {
		pos := t.index[i]
		if pos == 0 {
			return i, false
		}
		if t.ring[pos-1].key == *k {
			return i, true
		}
	}
}

func (t *seqTable) get(k *seqKey) (seqVal, bool) {
	if len(t.ring) == 0 {
		return seqVal{}, false
	}
	i, ok := t.find(k, t.hash(k))
	if !ok {
		return seqVal{}, false
	}
	e := &t.ring[t.index[i]-1]
	return seqVal{e.seq, e.ack}, true
}

// put records base numbers for k, in k's entry when it has one.
func (t *seqTable) put(k *seqKey, seq, ack uint32) {
	if t.mem == nil {
		t.mem = &seqMem{}
		t.growIndex()
		runtime.AddCleanup(t, (*seqMem).free, t.mem)
	}
	h := t.hash(k)
	i, ok := t.find(k, h)
	if ok {
		e := &t.ring[t.index[i]-1]
		e.seq, e.ack = seq, ack
		return
	}
	if len(t.ring) < t.max {
		if len(t.ring) == cap(t.ring) {
			t.growRing()
		}
		t.ring = append(t.ring, seqEnt{*k, seq, ack})
		t.index[i] = uint32(len(t.ring))
		if 2*len(t.ring) > len(t.index) {
			t.growIndex()
		}
		return
	}
	// Full: the oldest entry makes way. Its slot is emptied first, which
	// may move k's empty slot.
	old := &t.ring[t.next]
	j, _ := t.find(&old.key, t.hash(&old.key))
	t.delAt(j)
	*old = seqEnt{*k, seq, ack}
	i, _ = t.find(k, h)
	t.index[i] = uint32(t.next + 1)
	t.next = (t.next + 1) % t.max
}

// delAt empties index slot i, shifting back the slots after it that
// probing would otherwise no longer reach (as offheap.Map does; its keys
// are hashes, and two conversations may share one).
func (t *seqTable) delAt(i int) {
	mask := len(t.index) - 1
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		pos := t.index[j]
		if pos == 0 {
			break
		}
		home := t.hash(&t.ring[pos-1].key) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.index[i] = pos
			i = j
		}
	}
	t.index[i] = 0
}

// growRing doubles the ring's room (or makes the first), up to max.
func (t *seqTable) growRing() {
	n := min(t.max, max(minSeqRing, 2*cap(t.ring)))
	mem := offheap.Alloc(n * int(unsafe.Sizeof(seqEnt{})))
	ring := unsafe.Slice((*seqEnt)(unsafe.Pointer(unsafe.SliceData(mem))), n)[:len(t.ring)]
	copy(ring, t.ring)
	offheap.Free(t.mem.ring)
	t.mem.ring, t.ring = mem, ring
}

// growIndex doubles the index (or makes the first) and fills it again
// from the ring.
func (t *seqTable) growIndex() {
	n := max(minSeqIndex, 2*len(t.index))
	mem := offheap.Alloc(n * 4)
	mem = mem[:cap(mem)]
	clear(mem)
	offheap.Free(t.mem.index)
	t.mem.index = mem
	t.index = unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(mem))), n)
	for p := range t.ring {
		k := &t.ring[p].key
		i, _ := t.find(k, t.hash(k))
		t.index[i] = uint32(p + 1)
	}
}

func (t *seqTable) len() int { return len(t.ring) }
