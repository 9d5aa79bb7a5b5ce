package pcapfile_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"synfin/gen"
	"synfin/pcapfile"
	"synfin/wire"
)

// benchCaptures are a generated workload (5,000 connections, about 59,000
// packets, 15 MB) as pcap and as pcapng, held in memory so that only
// parsing is measured.
var benchCaptures = sync.OnceValues(func() (map[string][]byte, error) {
	out := map[string][]byte{}
	for name, ng := range map[string]bool{"pcap": false, "pcapng": true} {
		var buf bytes.Buffer
		if _, err := gen.Write(&buf, gen.Config{Conns: 5000, Seed: 1, PcapNG: ng}); err != nil {
			return nil, err
		}
		out[name] = buf.Bytes()
	}
	return out, nil
})

func benchRead(b *testing.B, format string) {
	caps, err := benchCaptures()
	if err != nil {
		b.Fatal(err)
	}
	data := caps[format]
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
