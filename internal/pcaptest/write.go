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
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}
