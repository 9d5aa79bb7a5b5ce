package cli

import (
	"bytes"
	"sync"
	"testing"

	"synfin/gen"
	"synfin/input"
	"synfin/tcpstate"
	"synfin/wire"
)

// benchConns are the connections of a generated workload (2,000
// connections, every kind of close), tracked once so that the
// benchmarks measure rendering alone.
var benchConns = sync.OnceValues(func() ([]*tcpstate.Conn, error) {
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 2000, Seed: 1}); err != nil {
		return nil, err
	}
	src, err := input.FromReader(&capture, input.Options{})
	if err != nil {
		return nil, err
	}
	var conns []*tcpstate.Conn
	t := tcpstate.New(tcpstate.Config{Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	var f wire.Frame
	for src.Next(&f) == nil {
		t.Frame(&f)
	}
	t.Flush()
	return conns, nil
})

// benchRender renders one connection per op, as conns does when the
// tracker hands one out.
func benchRender(b *testing.B, render func([]byte, *tcpstate.Conn) []byte) {
	conns, err := benchConns()
	if err != nil {
		b.Fatal(err)
	}
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

// BenchmarkConnJSON is a conns --json line (Zeek conn.log fields).
func BenchmarkConnJSON(b *testing.B) { benchRender(b, appendConnJSON) }

// BenchmarkConnRow is a line of the conns table.
func BenchmarkConnRow(b *testing.B) {
	var brief tcpstate.Brief
	benchRender(b, func(buf []byte, c *tcpstate.Conn) []byte {
		c.Brief(&brief)
		return appendConnRow(buf, &brief)
	})
}
