package tcpdumptext_test

import (
	"bufio"
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"synfin/gen"
	"synfin/pcapfile"
	"synfin/render/tcpdump"
	"synfin/tcpdumptext"
	"synfin/wire"
)

// listing is what "tcpdump -n -S" prints for a generated workload (5,000
// connections, about 59,000 lines), printed once by synfin's own
// tcpdump printer.
var listing = sync.OnceValues(func() ([]byte, error) {
	var capture bytes.Buffer
	if _, err := gen.Write(&capture, gen.Config{Conns: 5000, Seed: 1}); err != nil {
		return nil, err
	}
	r, err := pcapfile.NewReader(&capture)
	if err != nil {
		return nil, err
	}
	pr := tcpdump.New(tcpdump.Options{Numeric: true, Absolute: true, Location: time.UTC})
	var (
		out []byte
		f   wire.Frame
		p   wire.Packet
	)
	for {
		if err := r.Next(&f); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if err := p.Decode(f.Link, f.Data); err != nil {
			return nil, err
		}
		out = pr.Append(out, &f, &p)
	}
})

// BenchmarkReaderGenerated reads that listing back, one op per line; at
// the end the reader starts over.
func BenchmarkReaderGenerated(b *testing.B) {
	text, err := listing()
	if err != nil {
		b.Fatal(err)
	}
	opt := tcpdumptext.Options{Date: gen.DefaultStart, Location: time.UTC, Seq: tcpdumptext.SeqAbsolute}
	open := func() *tcpdumptext.Reader {
		return tcpdumptext.NewReader(bufio.NewReaderSize(bytes.NewReader(text), 1<<16), opt)
	}
	r := open()
	var (
		f     wire.Frame
		lines int
	)
	b.ReportAllocs()
	for b.Loop() {
		err := r.Next(&f)
		if err == io.EOF {
			r = open()
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		lines++
	}
	if lines == 0 {
		b.Fatal("no line read")
	}
	b.ReportMetric(float64(len(text))/float64(bytes.Count(text, []byte("\n")))*float64(lines)/b.Elapsed().Seconds()/1e6, "MB/s")
}
