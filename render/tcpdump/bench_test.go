package tcpdump_test

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"synfin/gen"
	"synfin/pcapfile"
	"synfin/render/tcpdump"
	"synfin/wire"
)

// decoded is a generated workload (5,000 connections, about 59,000
// packets: IPv4 and IPv6, handshakes, data, every kind of close), read
// and decoded once so that the benchmarks measure printing alone.
type decoded struct {
	frames []wire.Frame
	pkts   []wire.Packet
}

var generated = sync.OnceValues(func() (*decoded, error) {
	var buf bytes.Buffer
	if _, err := gen.Write(&buf, gen.Config{Conns: 5000, Seed: 1}); err != nil {
		return nil, err
	}
	r, err := pcapfile.NewReader(&buf)
	if err != nil {
		return nil, err
	}
	d := &decoded{}
	var f wire.Frame
	for {
		if err := r.Next(&f); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		f.Data = bytes.Clone(f.Data)
		d.frames = append(d.frames, f)
	}
	d.pkts = make([]wire.Packet, len(d.frames))
	for i := range d.frames {
		if err := d.pkts[i].Decode(d.frames[i].Link, d.frames[i].Data); err != nil {
			return nil, err
		}
	}
	return d, nil
})

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
			d, err := generated()
			if err != nil {
				b.Fatal(err)
			}
			c.o.Location = time.UTC
			pr := tcpdump.New(c.o)
			buf := make([]byte, 0, 4096)
			var out int64
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = pr.Append(buf[:0], &d.frames[i], &d.pkts[i])
				out += int64(len(buf))
				if i++; i == len(d.frames) {
					i = 0
				}
			}
			b.ReportMetric(float64(out)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}
