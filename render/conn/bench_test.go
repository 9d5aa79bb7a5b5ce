package conn

import (
	"testing"

	"synfin/tcpstate"
)

// benchRender renders one connection of a generated workload (2,000
// connections, every kind of close) per op, as conns does when the
// tracker hands one out.
func benchRender(b *testing.B, render func([]byte, *tcpstate.Conn) []byte) {
	conns := generated(b, 2000)
	if len(conns) < 2000 {
		b.Fatalf("%d connections tracked, want 2000", len(conns))
	}
	buf := make([]byte, 0, 4096)
	var out int64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = render(buf[:0], conns[i])
		out += int64(len(buf))
		if i++; i == len(conns) {
			i = 0
		}
	}
	b.ReportMetric(float64(out)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkJSON is a conns --json line (Zeek conn.log fields).
func BenchmarkJSON(b *testing.B) { benchRender(b, AppendJSON) }

// BenchmarkExplainJSON is an explain --json line, segments included.
func BenchmarkExplainJSON(b *testing.B) { benchRender(b, AppendExplainJSON) }

// BenchmarkRow is a line of the conns table.
func BenchmarkRow(b *testing.B) {
	var brief tcpstate.Brief
	benchRender(b, func(buf []byte, c *tcpstate.Conn) []byte {
		c.Brief(&brief)
		return AppendRow(buf, &brief)
	})
}
