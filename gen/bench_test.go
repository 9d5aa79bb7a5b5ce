package gen_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/pcapfile"
	"synfin/wire"
)

// benchCfg is a tenth of the reference workload (about 60 MB).
var benchCfg = gen.Config{Conns: 20000, Seed: 1}

func BenchmarkWrite(b *testing.B) {
	b.ReportAllocs()
	var st gen.Stats
	for b.Loop() {
		var err error
		if st, err = gen.Write(io.Discard, benchCfg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(st.Bytes)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*st.Packets), "ns/pkt")
}

// BenchmarkDecodeGenerated reads and decodes every packet of a generated
// file held in memory: the floor under every later stage.
func BenchmarkDecodeGenerated(b *testing.B) {
	data := pcaptest.Generated(b, benchCfg)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var (
		f    wire.Frame
		p    wire.Packet
		pkts int64
	)
	for b.Loop() {
		r, err := pcapfile.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			err := r.Next(&f)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Decode(f.Link, f.Data); err != nil {
				b.Fatal(err)
			}
			pkts++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pkts), "ns/pkt")
}
