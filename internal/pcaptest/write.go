package pcaptest

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/wire"
)

// WriteFile writes frames of one link type to a nanosecond pcap file at
// path, with gopacket's writer, so that what synfin reads back was not
// written by synfin; an error fails the test.
func WriteFile(tb testing.TB, path string, link wire.LinkType, frames []wire.Frame) {
	tb.Helper()
	if err := os.WriteFile(path, Pcap(tb, link, frames), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// Pcap is what WriteFile writes, as bytes.
func Pcap(tb testing.TB, link wire.LinkType, frames []wire.Frame) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriterNanos(&b)
	if err := w.WriteFileHeader(262144, layers.LinkType(link)); err != nil {
		tb.Fatal(err)
	}
	for _, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, fr.Time), CaptureLength: fr.CapLen, Length: fr.WireLen}
		if err := w.WritePacket(ci, fr.Data); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Bytes()
}

// Serialize is a frame at time ts of the layers, serialized by gopacket
// with lengths and checksums filled in (a TCP layer's checksum needs its
// network layer set). An error fails the test.
func Serialize(tb testing.TB, ts time.Time, layers ...gopacket.SerializableLayer) wire.Frame {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, layers...); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	return wire.Frame{Time: ts.UnixNano(), CapLen: len(b), WireLen: len(b), Data: b}
}
