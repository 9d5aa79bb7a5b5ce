package pcapfile_test

import (
	"bytes"
	"testing"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/pcapfile"
)

func benchRead(b *testing.B, format string) {
	// A generated workload (5,000 connections, about 59,000 packets,
	// 15 MB) held in memory, so that only parsing is measured.
	data := pcaptest.Generated(b, gen.Config{Conns: 5000, Seed: 1, PcapNG: format == "pcapng"})
	r, err := pcapfile.NewReader(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	if got := string(r.Format()); got != format {
		b.Fatalf("read as %s, want %s", got, format)
	}
	_, n := pcaptest.ReadLoop(b, func() pcaptest.FrameReader {
		r, _ := pcapfile.NewReader(bytes.NewReader(data)) // read once above
		return r
	})
	b.ReportMetric(float64(n)/b.Elapsed().Seconds()/1e6, "MB/s")
}

// BenchmarkReadPcap is the pcap reader, per packet.
func BenchmarkReadPcap(b *testing.B) { benchRead(b, "pcap") }

// BenchmarkReadPcapNG is the pcapng reader, per packet.
func BenchmarkReadPcapNG(b *testing.B) { benchRead(b, "pcapng") }
