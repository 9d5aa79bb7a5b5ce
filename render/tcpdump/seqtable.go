package tcpdump

import "hash/maphash"

// SeqTableSize bounds the conversations whose initial sequence numbers a
// Printer remembers (tcpdump's tcp_seq_hash never forgets; a bound keeps
// memory flat on huge captures). About 56 bytes each.
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
// positions. The ring is made of fixed chunks, so that growing it never
// copies it (a doubled slice held both copies at once, half as much
// again at the peak); chunks and index are free of pointers, which the
// garbage collector never scans. read -n peaks at 68 MB of resident
// memory at 10x the reference workload (synfin gen), where a million
// conversations fill the table; with a Go map of them it took 185 MB.
type seqTable struct {
	ring  [][]seqEnt // chunks of seqChunk entries (the last may be shorter)
	n     int        // entries held
	index []uint32   // ring position + 1 (0: empty); len a power of two, at most half full
	next  int        // the oldest entry, once the ring is full
	max   int
	seed  maphash.Seed
	gone  int // entries forgotten to make way
}

const (
	seqChunkBits = 12
	seqChunk     = 1 << seqChunkBits // entries in a chunk of the ring: 192 KB
	minSeqIndex  = 1 << 10           // the first index's slots
)

func newSeqTable(max int) *seqTable {
	if max <= 0 {
		max = SeqTableSize
	}
	return &seqTable{max: max, seed: maphash.MakeSeed()}
}

func (t *seqTable) hash(k *seqKey) int { return int(maphash.Bytes(t.seed, k[:])) }

// at is the entry at ring position p.
func (t *seqTable) at(p int) *seqEnt { return &t.ring[p>>seqChunkBits][p&(seqChunk-1)] }

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
		if t.at(int(pos-1)).key == *k {
			return i, true
		}
	}
}

func (t *seqTable) get(k *seqKey) (seqVal, bool) {
	if t.n == 0 {
		return seqVal{}, false
	}
	i, ok := t.find(k, t.hash(k))
	if !ok {
		return seqVal{}, false
	}
	e := t.at(int(t.index[i] - 1))
	return seqVal{e.seq, e.ack}, true
}

// put records base numbers for k, in k's entry when it has one.
func (t *seqTable) put(k *seqKey, seq, ack uint32) {
	if t.index == nil {
		t.growIndex()
	}
	h := t.hash(k)
	i, ok := t.find(k, h)
	if ok {
		e := t.at(int(t.index[i] - 1))
		e.seq, e.ack = seq, ack
		return
	}
	if t.n < t.max {
		if t.n&(seqChunk-1) == 0 {
			t.ring = append(t.ring, make([]seqEnt, min(seqChunk, t.max-t.n)))
		}
		*t.at(t.n) = seqEnt{*k, seq, ack}
		t.n++
		t.index[i] = uint32(t.n)
		if 2*t.n > len(t.index) {
			t.growIndex()
		}
		return
	}
	// Full: the oldest entry makes way. Its slot is emptied first, which
	// may move k's empty slot.
	old := t.at(t.next)
	j, _ := t.find(&old.key, t.hash(&old.key))
	t.delAt(j)
	t.gone++
	*old = seqEnt{*k, seq, ack}
	i, _ = t.find(k, h)
	t.index[i] = uint32(t.next + 1)
	t.next = (t.next + 1) % t.max
}

// delAt empties index slot i, shifting back the slots after it that
// probing would otherwise no longer reach (two conversations may share a
// hash).
func (t *seqTable) delAt(i int) {
	mask := len(t.index) - 1
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		pos := t.index[j]
		if pos == 0 {
			break
		}
		home := t.hash(&t.at(int(pos-1)).key) & mask
		if (j-home)&mask >= (j-i)&mask {
			t.index[i] = pos
			i = j
		}
	}
	t.index[i] = 0
}

// growIndex doubles the index (or makes the first) and fills it again
// from the ring.
func (t *seqTable) growIndex() {
	t.index = make([]uint32, max(minSeqIndex, 2*len(t.index)))
	for p := range t.n {
		k := &t.at(p).key
		i, _ := t.find(k, t.hash(k))
		t.index[i] = uint32(p + 1)
	}
}

func (t *seqTable) len() int { return t.n }
