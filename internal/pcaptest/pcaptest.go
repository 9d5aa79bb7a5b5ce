package pcaptest

import (
	"bytes"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/gen"
	"synfin/pcapfile"
	"synfin/wire"
)

// Read reads the frames of a pcap or pcapng stream, each with its own copy
// of the data, up to the end or the first error, which it returns with the
// frames before it.
func Read(r io.Reader) ([]wire.Frame, error) {
	pr, err := pcapfile.NewReader(r)
	if err != nil {
		return nil, err
	}
	return frames(pr)
}

func frames(pr *pcapfile.Reader) ([]wire.Frame, error) {
	var out []wire.Frame
	for {
		var f wire.Frame
		if err := pr.Next(&f); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		f.Data = bytes.Clone(f.Data)
		out = append(out, f)
	}
}

// File is Read of the capture file at path. A file that cannot be opened
// or that is no capture fails the test; an error after the header is
// returned, with the frames before it, for the caller to judge.
func File(tb testing.TB, path string) ([]wire.Frame, error) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	pr, err := pcapfile.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	return frames(pr)
}

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

// Subsequence reports whether sub's elements appear in of in order, as
// the packets or steps one side saw among the other's.
func Subsequence[T comparable](sub, of []T) bool {
	i := 0
	for _, x := range sub {
		for i < len(of) && of[i] != x {
			i++
		}
		if i == len(of) {
			return false
		}
		i++
	}
	return true
}

var (
	genMu   sync.Mutex
	genDone = map[gen.Config][]byte{}
)

// Generated returns the capture gen.Write writes for cfg, written once per
// test binary and shared: callers must not modify it. An error fails the
// test.
func Generated(tb testing.TB, cfg gen.Config) []byte {
	tb.Helper()
	genMu.Lock()
	defer genMu.Unlock()
	if b, ok := genDone[cfg]; ok {
		return b
	}
	var buf bytes.Buffer
	if _, err := gen.Write(&buf, cfg); err != nil {
		tb.Fatal(err)
	}
	genDone[cfg] = buf.Bytes()
	return buf.Bytes()
}

// Packets decodes every frame; a frame that does not decode fails the test.
func Packets(tb testing.TB, frames []wire.Frame) []wire.Packet {
	tb.Helper()
	pkts := make([]wire.Packet, len(frames))
	for i := range frames {
		if err := pkts[i].Decode(frames[i].Link, frames[i].Data); err != nil {
			tb.Fatalf("frame %d: %v", frames[i].Index, err)
		}
	}
	return pkts
}
