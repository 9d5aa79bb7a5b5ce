package cli

import (
	"runtime/debug"
	"testing"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/render/conn"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
)

// TestConnsZeroAllocsPerPacket runs conns' whole per-packet path (decode,
// track with Zeek's fields, snapshots of closed and idle connections,
// render a table row and a JSON line per connection) over a generated
// workload again and again: once warm, a round allocates nothing.
func TestConnsZeroAllocsPerPacket(t *testing.T) {
	frames := pcaptest.GeneratedFrames(t, gen.Config{Conns: 2000, Seed: 5, Rate: 200})
	span := frames[len(frames)-1].Time - frames[0].Time
	for _, asJSON := range []bool{false, true} {
		var buf []byte
		conns := 0
		// As conns sets them up: the table from briefs alone.
		cfg := track.Config{Brief: func(c *tcpstate.Brief) {
			conns++
			buf = conn.AppendRow(buf[:0], c)
		}}
		if asJSON {
			cfg = track.Config{
				Observer: zeekObservers(true),
				Done: func(c *tcpstate.Conn) {
					conns++
					buf = conn.AppendJSON(buf[:0], c)
				},
			}
		}
		tr := track.New(cfg)
		// Each round starts past the previous one's idle timeout, so
		// its connections are handed out (and rendered) in the next.
		round := int64(0)
		next := func() {
			round++
			shift := round * (span + 2*int64(track.DefaultIdleTimeout))
			for i := range frames {
				f := frames[i]
				f.Time += shift
				tr.Frame(&f)
			}
		}
		// Warm: the table, the connection pool and its buffers have
		// grown to what this workload needs. The Go maps that index the
		// connections settle later than a table of their own did: under
		// churn a map grows until its deleted slots stay a small share,
		// and where that happens depends on the per-process hash seed
		// (six rounds left 2 allocations in some runs, 20 none in 15).
		for range 20 {
			next()
		}
		// The collector's own bookkeeping counts as allocations too.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		before := conns
		allocs := 0.0
		for range 3 {
			allocs += testing.AllocsPerRun(1, next)
		}
		if conns-before < 6000 {
			t.Fatalf("json %v: %d connections handed out in six rounds, want 6000 or more", asJSON, conns-before)
		}
		if allocs != 0 {
			t.Errorf("json %v: %.0f allocations in three rounds of %d packets, want 0", asJSON, allocs, len(frames))
		}
	}
}
