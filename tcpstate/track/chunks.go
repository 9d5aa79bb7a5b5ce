package track

import (
	"encoding/binary"

	"github.com/klauspost/compress/zstd"
)

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
	pack   *packer          // nil: chunks stay as written
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
	return m.sized(chunkSize)
}

// sized returns an empty buffer of n bytes, mapped if it can be.
func (m *chunkMemory) sized(n int) []byte {
	c, err := mapChunk(n)
	if err != nil {
		return make([]byte, 0, n)
	}
	if m.mapped == nil {
		m.mapped = make(map[*byte][]byte)
	}
	m.mapped[&c[0]] = c
	return c[:0]
}

// put takes back chunk c, which get or sized returned; nothing may use
// it after.
func (m *chunkMemory) put(c []byte) {
	c = c[:cap(c)]
	switch {
	case m == nil || m.mapped[&c[0]] == nil:
		// On the heap: it goes with the collector.
	case len(m.free) < keptChunks && len(c) == chunkSize:
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
	if m.pack != nil {
		m.pack.scratch = nil // it was mapped
	}
}

// packer compresses the chunks of stores that hold segments (explain's,
// diagram's): their snapshots are most of what those commands hold, and
// zstd's fastest level (github.com/klauspost/compress, pure Go) takes
// them to about half: 1.9 times smaller on the reference workload, where
// snappy and s2 gave 1.5, and each snapshot compressed on its own, even
// with a dictionary, 1.45 to 1.5 for three to six times the time. A
// connection's snapshot is alike the next connection's (addresses,
// shapes of segments) rather than within itself, so whole chunks are
// compressed. They are written once and read mostly in order, as the
// oldest run out of 2MSL.
type packer struct {
	enc     *zstd.Encoder
	dec     *zstd.Decoder
	scratch []byte
}

func newPacker() *packer {
	// Options that cannot fail: the window is a power of two in range.
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(chunkSize), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(chunkSize))
	return &packer{enc: enc, dec: dec}
}

// packChunk returns chunk c compressed, in a buffer of its own size
// that starts with c's length, and gives c back; or nil, keeping c, when
// c does not get smaller.
func (m *chunkMemory) packChunk(c []byte) []byte {
	p := m.pack
	if p.scratch == nil {
		p.scratch = m.get() // off the heap too: it is as large as a chunk
	}
	// What does not fit in the scratch chunk is larger than c anyway:
	// EncodeAll moves it to the heap, and it is dropped.
	b := p.enc.EncodeAll(c, binary.LittleEndian.AppendUint32(p.scratch[:0], uint32(len(c))))
	if len(b) >= len(c) {
		return nil
	}
	b = append(m.sized(len(b)), b...)
	m.put(c)
	return b
}

// unpackInto decompresses packed chunk b into dst, a chunk from get.
func (m *chunkMemory) unpackInto(dst, b []byte) []byte {
	dst, err := m.pack.dec.DecodeAll(b[4:], dst[:0])
	if err != nil || len(dst) != int(binary.LittleEndian.Uint32(b)) {
		// Only this package packs chunks.
		panic("track: a packed chunk does not unpack")
	}
	return dst
}
