package track

import (
	"bytes"
	"testing"

	"synfin/gen"
	"synfin/input"
	"synfin/tcpstate"
	"synfin/wire"
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
