package tcpdumptext_test

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/render/tcpdump"
	"synfin/tcpdumptext"
)

// listing is what "tcpdump -n -S" prints for a generated workload (5,000
// connections, about 59,000 lines), printed by synfin's own tcpdump
// printer.
func listing(b *testing.B) []byte {
	b.Helper()
	frames := pcaptest.GeneratedFrames(b, gen.Config{Conns: 5000, Seed: 1})
	pkts := pcaptest.Packets(b, frames)
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true, Location: time.UTC})
	var out []byte
	for i := range frames {
		out = pr.Append(out, &frames[i], &pkts[i])
	}
	return out
}

// BenchmarkReaderGenerated reads that listing back, one op per line.
func BenchmarkReaderGenerated(b *testing.B) {
	text := listing(b)
	opt := tcpdumptext.Options{Date: gen.DefaultStart, Location: time.UTC, Seq: tcpdumptext.SeqAbsolute}
	lines, _ := pcaptest.ReadLoop(b, func() pcaptest.FrameReader {
		return tcpdumptext.NewReader(bufio.NewReaderSize(bytes.NewReader(text), 1<<16), opt)
	})
	if lines == 0 {
		b.Fatal("no line read")
	}
	b.ReportMetric(float64(len(text))/float64(bytes.Count(text, []byte("\n")))*float64(lines)/b.Elapsed().Seconds()/1e6, "MB/s")
}
