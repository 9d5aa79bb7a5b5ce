package tcpdump

// SeqTableSize bounds the conversations whose initial sequence numbers a
// Printer remembers (tcpdump's tcp_seq_hash never forgets; a bound keeps
// memory flat on huge captures). About 64 bytes each.
const SeqTableSize = 1 << 20

// seqKey is tcpdump's "struct tha": both addresses in collating order and
// both ports. v6 keeps the IPv4 and IPv6 tables apart, as tcpdump does.
type seqKey struct {
	src, dst [16]byte
	port     uint32
	v6       bool
}

type seqVal struct {
	seq, ack uint32
	slot     uint32 // position in the eviction ring
}

// seqTable maps conversations to their base sequence numbers. Entries are
// evicted first-in first-out once max is reached.
type seqTable struct {
	m    map[seqKey]seqVal
	ring []seqKey
	next int
	max  int
}

func newSeqTable(max int) *seqTable {
	if max <= 0 {
		max = SeqTableSize
	}
	return &seqTable{m: make(map[seqKey]seqVal, 64), max: max}
}

func (t *seqTable) get(k *seqKey) (seqVal, bool) {
	v, ok := t.m[*k]
	return v, ok
}

// put records base numbers for k, reusing k's slot when it exists.
func (t *seqTable) put(k *seqKey, seq, ack uint32) {
	if v, ok := t.m[*k]; ok {
		v.seq, v.ack = seq, ack
		t.m[*k] = v
		return
	}
	var slot int
	if len(t.ring) < t.max {
		slot = len(t.ring)
		t.ring = append(t.ring, *k)
	} else {
		slot = t.next
		delete(t.m, t.ring[slot])
		t.ring[slot] = *k
		t.next = (t.next + 1) % t.max
	}
	t.m[*k] = seqVal{seq: seq, ack: ack, slot: uint32(slot)}
}

func (t *seqTable) len() int { return len(t.m) }
