package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"synfin/gen"
)

// benchCapture is a generated workload of 20,000 connections (about
// 235,000 packets, 60 MB), held in memory, and its packet count.
var benchCapture = sync.OnceValues(func() ([]byte, int64) {
	var buf bytes.Buffer
	st, err := gen.Write(&buf, gen.Config{Conns: 20000, Seed: 1})
	if err != nil {
		panic(err) // gen.Write fails only on a bad Config or writer
	}
	return buf.Bytes(), st.Packets
})

// BenchmarkReadNS is "read -n -S" end to end (input detection, pcap
// reading, decoding, printing, buffered output to io.Discard) with one
// printer and with two side by side; one op is the whole capture.
func BenchmarkReadNS(b *testing.B) {
	data, pkts := benchCapture()
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var errb bytes.Buffer
				code := Main(context.Background(), []string{"read", "-n", "-S", "--jobs", fmt.Sprint(n), "-r", "-"}, bytes.NewReader(data), io.Discard, &errb)
				if code != 0 {
					b.Fatalf("exit %d: %s", code, errb.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*pkts), "ns/pkt")
		})
	}
}
