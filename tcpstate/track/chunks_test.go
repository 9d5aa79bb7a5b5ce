package track

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"synfin/gen"
	"synfin/input"
	"synfin/internal/snapshot"
	rconn "synfin/render/conn"
	"synfin/tcpstate"
	"synfin/wire"
	"synfin/zeekconn"
)

// TestFlushUnmapsChunks holds a generated workload's closed connections
// as snapshots in mapped chunks, and checks that Flush gives every chunk
// back and that the Tracker then works as a new one.
func TestFlushUnmapsChunks(t *testing.T) {
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 5000, Seed: 3, Rate: 500}); err != nil {
		t.Fatal(err)
	}
	var handed int
	tr := New(Config{Brief: func(*tcpstate.Brief) { handed++ }})
	track := func() int {
		src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		most := 0
		var f wire.Frame
		for src.Next(&f) == nil {
			tr.Frame(&f)
			most = max(most, len(tr.mem.mapped))
		}
		return most
	}
	for round := 1; round <= 2; round++ {
		handed = 0
		if most := track(); most < 2 {
			t.Fatalf("round %d: %d chunks mapped at most: too few to tell", round, most)
		}
		tr.Flush()
		if n := len(tr.mem.mapped); n != 0 {
			t.Fatalf("round %d: %d chunks still mapped after Flush", round, n)
		}
		if handed != 5000 {
			t.Fatalf("round %d: %d connections handed out, want 5000", round, handed)
		}
	}
}

// TestPackedChunksSameOutput: packing the chunks of a tracker that keeps
// segments changes nothing handed out (explain --json's lines, Zeek's
// fields with them), on a generated workload whose closed connections
// fill enough chunks for most to be packed, read at the tail as they run
// out of 2MSL, and read in ID order by Flush.
func TestPackedChunksSameOutput(t *testing.T) {
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 20000, Seed: 5, Rate: 200}); err != nil {
		t.Fatal(err)
	}
	run := func(pack bool) (out []byte, packed int) {
		cfg := Config{Segments: true}
		cfg.Observer = zeekconn.Observer(&zeekconn.Config{LikelyServerPorts: zeekconn.DefaultServerPorts()})
		cfg.Done = func(c *tcpstate.Conn) { out = rconn.AppendExplainJSON(out, c) }
		tr := New(cfg)
		if !pack {
			tr.mem.pack = nil
		}
		src, err := input.FromReader(bytes.NewReader(pcap.Bytes()), input.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var f wire.Frame
		for src.Next(&f) == nil {
			tr.Frame(&f)
			n := 0
			for _, p := range tr.ice.packed {
				if p != nil {
					n++
				}
			}
			packed = max(packed, n)
		}
		tr.Flush()
		if n := len(tr.mem.mapped); n != 0 {
			t.Fatalf("%d chunks still mapped after Flush", n)
		}
		return out, packed
	}
	want, none := run(false)
	got, packed := run(true)
	if none != 0 || packed < 4 {
		t.Fatalf("%d chunks packed at most (%d without packing): too few to tell", packed, none)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("packing changes the connections handed out (%d bytes of explain --json, want %d)", len(got), len(want))
	}
}

// TestScatteredReads reads a packed store's snapshots in an order that
// jumps all over it, three times: every read finds the bytes that were
// put, and chunks are packed again after such reads no more often than
// they were packed when new (else each read would cost a chunk packed
// and one unpacked).
func TestScatteredReads(t *testing.T) {
	mem := &chunkMemory{pack: newPacker()}
	defer mem.release()
	f := frozen{mem: mem}
	const n = 40000
	keys := make([]key, n)
	var w snapshot.Writer
	size := 0
	for i := range keys {
		keys[i] = key{
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 40000),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, 1}), 443),
		}
		w.Reset(w.B[:0])
		appendEntryHead(&w, keys[i], uint64(i+1), tcpstate.SegRef{Seg: i + 1, Time: int64(i)})
		for j := range 400 {
			w.B = append(w.B, byte(i*j/97))
		}
		f.put(keys[i], hashKey(keys[i]), w.B)
		size = len(w.B)
	}
	if f.packs < 10 {
		t.Fatalf("%d chunks packed: too few to tell", f.packs)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3 {
		for _, i := range rng.Perm(n) {
			pos, ok := f.lookup(keys[i], hashKey(keys[i]))
			if !ok {
				t.Fatalf("snapshot %d not found", i)
			}
			b := f.entryBytes(pos)
			if idOf(b) != uint64(i+1) || len(b) != size || b[len(b)-1] != byte(i*399/97) {
				t.Fatalf("snapshot %d reads back as another (id %d, %d bytes)", i, idOf(b), len(b))
			}
		}
	}
	if f.repacks > f.packs {
		t.Errorf("%d chunks packed again after reads, %d when new", f.repacks, f.packs)
	}
}
