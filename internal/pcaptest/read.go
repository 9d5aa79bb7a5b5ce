package pcaptest

import (
	"bytes"
	"io"
	"os"
	"testing"

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
	return ReadAll(pr)
}

// FrameReader reads frames up to io.EOF: a pcapfile or tcpdumptext Reader.
type FrameReader interface {
	Next(*wire.Frame) error
}

// ReadAll reads r's frames, each with its own copy of the data, up to the
// end or the first error, which it returns with the frames before it.
func ReadAll(r FrameReader) ([]wire.Frame, error) {
	var out []wire.Frame
	for {
		var f wire.Frame
		if err := r.Next(&f); err == io.EOF {
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
	return ReadAll(pr)
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
