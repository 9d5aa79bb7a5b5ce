package tcpdump_test

import (
	"testing"
	"time"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/render/tcpdump"
	"synfin/wire"
)

// decoded reads and decodes a generated workload (5,000 connections,
// about 59,000 packets: IPv4 and IPv6, handshakes, data, every kind of
// close) so that the benchmarks measure printing alone.
func decoded(b *testing.B) ([]wire.Frame, []wire.Packet) {
	b.Helper()
	frames := pcaptest.GeneratedFrames(b, gen.Config{Conns: 5000, Seed: 1})
	return frames, pcaptest.Packets(b, frames)
}

// BenchmarkPrint prints the generated packets one after another, as read
// does, one op per packet.
func BenchmarkPrint(b *testing.B) {
	for _, c := range []struct {
		name string
		o    tcpdump.Options
	}{
		{"n-S", tcpdump.Options{Numeric: true, Absolute: true}}, // read -n -S
		{"n", tcpdump.Options{Numeric: true}},                   // relative sequence numbers
		{"n-S-tttt-v", tcpdump.Options{Numeric: true, Absolute: true, Time: tcpdump.TimeDate, Verbose: 1}},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames, pkts := decoded(b)
			c.o.Location = time.UTC
			pr := tcpdump.New(c.o)
			buf := make([]byte, 0, 4096)
			var out int64
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = pr.Append(buf[:0], &frames[i], &pkts[i])
				out += int64(len(buf))
				if i++; i == len(frames) {
					i = 0
				}
			}
			b.ReportMetric(float64(out)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}
