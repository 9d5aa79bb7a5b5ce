package zeekconn

import (
	"path/filepath"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// BenchmarkPacket measures one segment of an established connection
// through the engine, checksums verified.
func BenchmarkPacket(b *testing.B) {
	segs := []seg{
		{true, PA, cISN + 1, sISN + 1, 100, 0, false},
		{false, A, sISN + 1, cISN + 101, 0, 0, false},
		{false, PA, sISN + 1, cISN + 101, 200, 0, false},
		{true, A, cISN + 101, sISN + 201, 0, 0, false},
	}
	pkts := make([]wire.Packet, len(segs))
	for i, s := range segs {
		if err := pkts[i].Decode(wire.LinkRaw, frame(s)); err != nil {
			b.Fatal(err)
		}
	}
	var p wire.Packet
	c := established(b, &p)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := i % len(pkts)
		c.Packet(int64(10+i), segs[s].fromClient, &pkts[s])
	}
}

// BenchmarkReplay replays a decoded capture of many SSH connections
// (Zeek's ssh.pcap) through a fresh tracker with an Observer each time.
func BenchmarkReplay(b *testing.B) {
	file := filepath.Join(corpus.Dir(b, "zeek"), "scripts.base.protocols.ssh.basic", "ssh.pcap")
	frames, err := pcaptest.File(b, file)
	if err != nil {
		b.Fatal(err)
	}
	var (
		pkts  []wire.Packet
		times []int64
	)
	for _, fr := range frames {
		var p wire.Packet
		if p.Decode(fr.Link, fr.Data) == nil {
			pkts = append(pkts, p)
			times = append(times, fr.Time)
		}
	}
	cfg := &Config{LikelyServerPorts: DefaultServerPorts()}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr := track.New(track.Config{Observer: Observer(cfg), Done: func(c *tcpstate.Conn) { Fields(c) }})
		for j := range pkts {
			tr.Packet(j+1, times[j], &pkts[j])
		}
		tr.Flush()
	}
	b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
