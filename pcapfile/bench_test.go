package pcapfile_test

import (
	"bytes"
	"io"
	"testing"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/pcapfile"
	"synfin/wire"
)

func benchRead(b *testing.B, format string) {
	// A generated workload (5,000 connections, about 59,000 packets,
	// 15 MB) held in memory, so that only parsing is measured.
	data := pcaptest.Generated(b, gen.Config{Conns: 5000, Seed: 1, PcapNG: format == "pcapng"})
	open := func() *pcapfile.Reader {
		r, err := pcapfile.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	r := open()
	if got := string(r.Format()); got != format {
		b.Fatalf("read as %s, want %s", got, format)
	}
	var (
		f wire.Frame
		n int64
	)
	b.ReportAllocs()
	// One op is one packet; at the end of the capture the reader starts
	// over (a reader's own allocations spread over the 59,000 packets).
	for b.Loop() {
		err := r.Next(&f)
		if err == io.EOF {
			r = open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		n += int64(len(f.Data))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkReadPcap is the pcap reader, per packet.
func BenchmarkReadPcap(b *testing.B) { benchRead(b, "pcap") }

// BenchmarkReadPcapNG is the pcapng reader, per packet.
func BenchmarkReadPcapNG(b *testing.B) { benchRead(b, "pcapng") }
