package tcpdump

// SeqTableSize bounds the conversations whose initial sequence numbers a
// Printer remembers (tcpdump's tcp_seq_hash never forgets; a bound keeps
// memory flat on huge captures). About 64 bytes each.
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
