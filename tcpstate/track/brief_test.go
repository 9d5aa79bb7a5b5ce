package track

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/gen"
	"synfin/input"
	"synfin/internal/corpus"
	"synfin/tcpstate"
	"synfin/wire"
)

// TestBriefBeforeFinish tracks every capture of the corpus, a generated
// workload (every teardown pattern, retransmissions, port reuse, IPv4 and
// IPv6) and a close whose last ACK never comes (both FINs, yet open: it
// goes cold) twice: once handing out whole connections, each
// brief taken after finish, and once handing out briefs alone, which
// connections held as snapshots take from what appendBrief wrote before
// finish. The briefs must be the same, in the same order, with closed
// connections handed out after 2MSL, idle ones, evicted ones (--max-conns)
// and the ones left at the end.
func TestBriefBeforeFinish(t *testing.T) {
	inputs := corpusAndGenerated(t, gen.Config{Conns: 20000, Seed: 7, Rate: 500})
	// Both FINs, no last ACK, then another connection for long enough
	// that the first is held as a cold snapshot.
	lastACK := []synSeg{
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: "S", seq: 100},
		{src: "10.0.0.2:80", dst: "10.0.0.1:1000", flags: "S.", seq: 500, ack: 101, us: 100},
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: ".", seq: 101, ack: 501, us: 200},
		{src: "10.0.0.1:1000", dst: "10.0.0.2:80", flags: "F.", seq: 101, ack: 501, us: 300},
		{src: "10.0.0.2:80", dst: "10.0.0.1:1000", flags: ".", seq: 501, ack: 102, us: 400},
		{src: "10.0.0.2:80", dst: "10.0.0.1:1000", flags: "F.", seq: 501, ack: 102, us: 500},
		{src: "10.0.0.3:2000", dst: "10.0.0.2:80", flags: "S", seq: 100, us: 10e6},
		{src: "10.0.0.3:2000", dst: "10.0.0.2:80", flags: "S", seq: 100, us: 11e6},
	}
	var synth bytes.Buffer
	w := pcapgo.NewWriterNanos(&synth)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for i, s := range lastACK {
		f := frameOf(i+1, s)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.Time), CaptureLength: len(f.Data), Length: len(f.Data)}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	inputs["last ACK lost"] = synth.Bytes()
	run := func(data []byte, cfg Config, brief bool) (briefs []tcpstate.Brief, snapshots int) {
		if brief {
			cfg.Brief = func(b *tcpstate.Brief) { briefs = append(briefs, *b) }
		} else {
			cfg.Done = func(c *tcpstate.Conn) {
				var b tcpstate.Brief
				c.Brief(&b)
				briefs = append(briefs, b)
			}
		}
		tr := New(cfg)
		src, err := input.FromReader(bytes.NewReader(data), input.Options{})
		if err != nil {
			return nil, 0 // not a capture input reads; other tests say so
		}
		var f wire.Frame
		for src.Next(&f) == nil {
			tr.Frame(&f)
			snapshots = max(snapshots, tr.ice.len()+tr.cold.len())
		}
		tr.Flush()
		return briefs, snapshots
	}
	var conns, snapshots int
	for name, data := range inputs {
		for _, cfg := range []Config{
			{},
			{IdleTimeout: 20 * time.Second, TimeWait: 10 * time.Second}, // idle and closed handed out within the capture
			{MaxConns: 300},
		} {
			want, _ := run(data, cfg, false)
			got, n := run(data, cfg, true)
			if d := cmp.Diff(want, got, cmpopts.EquateComparable(netip.AddrPort{})); d != "" {
				t.Fatalf("%s, %+v: briefs (-after finish +from snapshots):\n%.5000s", name, cfg, d)
			}
			conns += len(got)
			snapshots += n
		}
	}
	if conns < 20000 || snapshots < 1000 {
		t.Fatalf("%d connections, %d held as snapshots at most: too few to tell", conns, snapshots)
	}
}

// corpusAndGenerated returns every corpus capture by its path, and a
// capture written by gen with cfg as "generated".
func corpusAndGenerated(t *testing.T, cfg gen.Config) map[string][]byte {
	t.Helper()
	var pcap bytes.Buffer
	if _, err := gen.Write(&pcap, cfg); err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{"generated": pcap.Bytes()}
	for _, file := range corpus.Captures(t, ".pcap", ".pcapng") {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		inputs[file] = b
	}
	return inputs
}
