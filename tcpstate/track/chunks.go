package track

// chunkMemory is where a tracker's snapshot stores get their chunks:
// memory mapped from the kernel, outside the Go heap. On the heap, the
// chunks (most of what conns and explain hold) counted towards the
// collector's goal, which left room for half as much again in garbage:
// see the package doc for the figures. They hold no pointers, so the
// collector need not see them. A few chunks let go are kept for the
// next rather than unmapped, which would cost a page fault for each of
// their pages again; Flush, or the collector once the Tracker is
// unreachable, gives them all back. Where mapping fails, or is not to be
// had, a chunk is made on the heap.
type chunkMemory struct {
	mapped map[*byte][]byte // by first byte, each whole
	free   [][]byte         // let go, to be handed out again
}

// get returns an empty chunk of chunkSize bytes; m may be nil (a store
// not set up by New), for a chunk on the heap.
func (m *chunkMemory) get() []byte {
	if m == nil {
		return make([]byte, 0, chunkSize)
	}
	if n := len(m.free); n > 0 {
		c := m.free[n-1]
		m.free = m.free[:n-1]
		return c[:0]
	}
	c, err := mapChunk()
	if err != nil {
		return make([]byte, 0, chunkSize)
	}
	if m.mapped == nil {
		m.mapped = make(map[*byte][]byte)
	}
	m.mapped[&c[0]] = c
	return c[:0]
}

// put takes back chunk c, which get returned; nothing may use it after.
func (m *chunkMemory) put(c []byte) {
	c = c[:cap(c)]
	switch {
	case m == nil || m.mapped[&c[0]] == nil:
		// On the heap: it goes with the collector.
	case len(m.free) < keptChunks:
		m.free = append(m.free, c)
	default:
		delete(m.mapped, &c[0])
		unmapChunk(c)
	}
}

// keptChunks is how many chunks let go are kept: a store's head takes
// what its tail lets go, a few at a time; more, kept after a store has
// shrunk, would only add to resident memory.
const keptChunks = 4

// release unmaps every chunk, once no store holds any (or the Tracker
// is unreachable: its cleanup).
func (m *chunkMemory) release() {
	if m == nil {
		return
	}
	for _, c := range m.mapped {
		unmapChunk(c)
	}
	m.mapped, m.free = nil, nil
}
