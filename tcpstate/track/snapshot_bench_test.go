package track

import (
	"testing"

	"synfin/tcpstate"
)

// BenchmarkSnapshot times writing a closed connection's snapshot (freeze)
// and reading it back as the tracker does to hand it out (thaw without
// the analysis state) or to track it further (full).
func BenchmarkSnapshot(b *testing.B) {
	frames := workload(1)
	tr := New(Config{Done: func(*tcpstate.Conn) {}})
	for i := range frames {
		tr.Frame(&frames[i])
	}
	// The connection is closed on both sides: it waits in ice.
	e, ok := tr.ice.oldest()
	if !ok {
		b.Fatal("the connection is not held as a snapshot")
	}
	kept := tr.thaw(&tr.ice, e, true)
	var w []byte
	var ctx tcpstate.StateContext
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w = kept.AppendState(w[:0], &ctx)
		}
		b.ReportMetric(float64(len(w)), "bytes")
	})
	for _, full := range []bool{false, true} {
		name := "load"
		if full {
			name = "load-full"
		}
		b.Run(name, func(b *testing.B) {
			c := tr.newConn()
			b.ReportAllocs()
			for b.Loop() {
				c.Reset()
				if _, err := c.LoadState(kept.key.a, kept.key.b, w, &ctx, full); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
