package ladder_test

import (
	"bytes"
	"io"
	"testing"

	"synfin/gen"
	"synfin/pcapfile"
	"synfin/render/ladder"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
	"synfin/zeekconn"
)

// BenchmarkWriteExplained writes explain's text (timeline and ladder) of
// the connections of a generated capture of the reference mix, tracked
// once beforehand: the cost of the printing alone, in English and
// Chinese.
func BenchmarkWriteExplained(b *testing.B) {
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, gen.Config{Conns: 2000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	r, err := pcapfile.NewReader(&pcap)
	if err != nil {
		b.Fatal(err)
	}
	var conns []*tcpstate.Conn
	t := track.New(track.Config{Segments: true, Observer: zeekconn.Observer(&zeekconn.Config{}),
		Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	var f wire.Frame
	for r.Next(&f) == nil {
		t.Frame(&f)
	}
	t.Flush()
	for _, lang := range []string{"en", "zh"} {
		b.Run(lang, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ladder.WriteExplained(io.Discard, conns, ladder.Options{Lang: lang}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
