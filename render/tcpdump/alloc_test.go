package tcpdump

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"synfin/internal/names"
	"synfin/internal/pcaptest"
	"synfin/wire"
)

// A data segment with timestamps on Ethernet, as a loopback capture has
// it: 127.0.0.1.55920 > 127.0.0.1.80, [P.], 202 bytes.
var realistic = func() []byte {
	h := "00000000000000000000000008004500" +
		"00fe1b6c40004006207c7f0000017f00" +
		"0001da7000503758897f377a8df28018" +
		"2000fef200000101080a4ddc92174ddc" +
		"9216"
	b, _ := hex.DecodeString(h)
	return append(b, make([]byte, 202)...)
}()

func realisticFrame() *wire.Frame {
	return &wire.Frame{Index: 4, Time: 1120622255939423000, CapLen: len(realistic), WireLen: len(realistic),
		Link: wire.LinkEthernet, Data: realistic}
}

func TestPrinterZeroAlloc(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Number: true, Numeric: true, Time: TimeDate, Location: time.UTC},
		{Verbose: 2, Link: true, Location: time.UTC},
		{Time: TimeDeltaPrev, Dump: DumpHexA, DumpLink: true, Location: time.UTC},
		{Location: time.UTC, Services: BuiltinServices()},
		{Location: time.UTC, Hosts: names.New(names.Options{HostsFile: hosts})},
	} {
		pr := New(o)
		f := realisticFrame()
		var p wire.Packet
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Fatal(err)
		}
		buf := pr.Append(nil, f, &p) // first packet: records the conversation
		if !bytes.Contains(buf, []byte("Flags [P.]")) || !bytes.Contains(buf, []byte("length 202")) ||
			o.Hosts != nil && !bytes.Contains(buf, []byte("IP localhost.55920 > localhost.")) {
			t.Fatalf("unexpected line %q", buf)
		}
		n := testing.AllocsPerRun(1000, func() {
			buf = pr.Append(buf[:0], f, &p)
		})
		if n != 0 {
			t.Errorf("%+v: %v allocations per packet, want 0\n%s", o, n, buf)
		}
	}
}

func TestDecodeZeroAlloc(t *testing.T) {
	var p wire.Packet
	n := testing.AllocsPerRun(1000, func() {
		if err := p.Decode(wire.LinkEthernet, realistic); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("wire.Decode: %v allocations per packet, want 0", n)
	}
}

// BenchmarkRead prints the same realistic segment over and over, as
// "read -n -S" does for each packet of a capture.
func BenchmarkRead(b *testing.B) {
	b.SetBytes(int64(len(realisticFrame().Data)))
	benchRead(b, Options{Number: true, Numeric: true, Absolute: true, Location: time.UTC})
}

// benchRead decodes and prints one realistic frame over and over.
func benchRead(b *testing.B, opts Options) {
	pr := New(opts)
	f := realisticFrame()
	var (
		p   wire.Packet
		buf []byte
	)
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Decode(f.Link, f.Data); err != nil {
			b.Fatal(err)
		}
		buf = pr.Append(buf[:0], f, &p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkReadRelative is BenchmarkRead with relative sequence numbers
// (the default), which looks the conversation up per packet.
func BenchmarkReadRelative(b *testing.B) {
	benchRead(b, Options{Number: true, Numeric: true, Location: time.UTC})
}

// TestPrinterEncapsulatedZeroAlloc prints every TCP segment of every
// encapsulation with no allocation once its conversation is known.
func TestPrinterEncapsulatedZeroAlloc(t *testing.T) {
	opts := []Options{
		{Numeric: true, Location: time.UTC},
		{Verbose: 2, Link: true, Numeric: true, Location: time.UTC},
		{Quiet: true, Dump: DumpHexA, DumpLink: true, Location: time.UTC, Services: BuiltinServices()},
	}
	for _, file := range pcaptest.EncapFiles(t, t.TempDir()) {
		frames, err := pcaptest.File(t, file)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range opts {
			pr, buf := New(o), []byte(nil)
			var p wire.Packet
			for _, f := range frames {
				if p.Decode(f.Link, f.Data) != nil {
					continue
				}
				// The run before those counted records the conversation.
				if n := testing.AllocsPerRun(50, func() { buf = pr.Append(buf[:0], &f, &p) }); n != 0 {
					t.Errorf("%s #%d %+v: %v allocations, want 0\n%s", filepath.Base(file), f.Index, o, n, buf)
				}
			}
		}
	}
}
