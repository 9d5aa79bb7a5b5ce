package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/testenv"
	"synfin/wire"
)

// order is a byte order that also appends.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// kuzPcap builds a pcap file in Kuznetzov's format: 24-byte record headers
// with an interface index, a protocol, a packet type and padding.
func kuzPcap(bo order, link uint32, frames ...[]byte) []byte {
	b := make([]byte, 24)
	bo.PutUint32(b[0:], magicKuz)
	bo.PutUint16(b[4:], 2)
	bo.PutUint16(b[6:], 4)
	bo.PutUint32(b[16:], 65535)
	bo.PutUint32(b[20:], link)
	for i, f := range frames {
		h := make([]byte, 24)
		bo.PutUint32(h[0:], 1000+uint32(i))
		bo.PutUint32(h[4:], 1+uint32(i))
		bo.PutUint32(h[8:], uint32(len(f)))
		bo.PutUint32(h[12:], uint32(len(f)))
		bo.PutUint32(h[16:], 2)      // ifindex
		bo.PutUint16(h[20:], 0x0800) // protocol
		h[22] = 4                    // pkt_type: outgoing
		b = append(append(b, h...), f...)
	}
	return b
}

// ngBlock builds a pcapng block of type typ around body, padded.
func ngBlock(bo order, typ uint32, body []byte) []byte {
	body = append(body, make([]byte, (4-len(body)%4)%4)...)
	n := uint32(12 + len(body))
	b := bo.AppendUint32(nil, typ)
	b = bo.AppendUint32(b, n)
	b = append(b, body...)
	return bo.AppendUint32(b, n)
}

// spbBlock is a simple packet block holding data.
func spbBlock(bo order, data []byte) []byte {
	return ngBlock(bo, blockSPB, append(bo.AppendUint32(nil, uint32(len(data))), data...))
}

// isbBlock is an interface statistics block for interface ifc, followed
// by opts (raw option bytes).
func isbBlock(bo order, ifc uint32, opts []byte) []byte {
	body := bo.AppendUint32(nil, ifc)
	body = bo.AppendUint64(body, 0)
	return ngBlock(bo, blockISB, append(body, opts...))
}

// idbBlock is an interface description block without options.
func idbBlock(bo order, link uint16) []byte {
	body := bo.AppendUint16(nil, link)
	body = bo.AppendUint16(body, 0)
	return ngBlock(bo, blockIDB, bo.AppendUint32(body, 0))
}

// rawSyn is synFrame without its Ethernet header.
var rawSyn = synFrame[14:]

// craftedFiles are small files each of which tcpdump reads in full.
func craftedFiles() []struct {
	name string
	b    []byte
} {
	le, be := binary.LittleEndian, binary.BigEndian
	badOpt := le.AppendUint16(nil, 2) // an option longer than its block
	badOpt = le.AppendUint16(badOpt, 200)
	return []struct {
		name string
		b    []byte
	}{
		{"kuznetzov ethernet", kuzPcap(le, 1, synFrame, synFrame)},
		{"kuznetzov ethernet big-endian", kuzPcap(be, 1, synFrame, synFrame)},
		{"kuznetzov raw", kuzPcap(le, 101, rawSyn)},
		{"simple packet block", ngFile(le, 0, spbBlock(le, synFrame), epb(le, synFrame, 0, 0))},
		{"simple packet block big-endian", ngFile(be, 65535, epb(be, synFrame, 0, 0), spbBlock(be, synFrame))},
		{"statistics of a missing interface", ngFile(le, 65535, epb(le, synFrame, 0, 0), isbBlock(le, 7, nil), epb(le, synFrame, 0, 0))},
		{"statistics option past the block", ngFile(le, 65535, epb(le, synFrame, 0, 0), isbBlock(le, 0, badOpt), epb(le, synFrame, 0, 0))},
		{"statistics before the interface", append(ngFile(be, 65535)[:28], append(isbBlock(be, 0, nil), ngFile(be, 65535, epb(be, synFrame, 0, 0))[28:]...)...)},
	}
}

// stamps formats frame time stamps as tcpdump -tt --nano prints them:
// the fraction as recorded, scaled to ns in 32 bits as libpcap does.
func stamps(frames []wire.Frame) []string {
	var ts []string
	for _, f := range frames {
		sec, frac, nano := f.Stamp()
		if !nano {
			frac *= 1000
		}
		ts = append(ts, fmt.Sprintf("%d.%09d", sec, frac))
	}
	return ts
}

// TestCraftedAgainstTcpdump reads files tcpdump reads and synfin did not,
// or read wrongly: Kuznetzov's pcap, simple packet blocks (no time stamp:
// libpcap gives 0), and malformed interface statistics blocks (libpcap
// ignores them).
func TestCraftedAgainstTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	for _, tc := range craftedFiles() {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "x.pcap")
			if err := os.WriteFile(file, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			want, damaged := tcpdumpTimes(t, file)
			if damaged || len(want) == 0 {
				t.Fatalf("tcpdump does not read the file: the test is wrong (%v)", want)
			}
			got, err := readAll(t, tc.b)
			if err != nil {
				t.Errorf("after %d frames: %v", len(got), err)
			}
			if diff := cmp.Diff(want, stamps(got)); diff != "" {
				t.Errorf("time stamps differ from tcpdump (-tcpdump +synfin):\n%s", diff)
			}
			checkRead(t, tc.b)
		})
	}
}

// TestInterfaceBound: a section of bare interface blocks, which pcapgo
// keeps a few hundred bytes of each, stops at MaxInterfaces with an error
// saying so, and reading it allocates a bounded amount; up to the bound,
// the packet after them is read.
func TestInterfaceBound(t *testing.T) {
	le := binary.LittleEndian
	file := func(n int) []byte {
		b := ngFile(le, 65535) // one interface
		idb := idbBlock(le, 1)
		for range n - 1 {
			b = append(b, idb...)
		}
		return append(b, epb(le, synFrame, 0, 0)...)
	}
	t.Run("at the bound", func(t *testing.T) {
		got, err := readAll(t, file(MaxInterfaces))
		if err != nil || len(got) != 1 {
			t.Fatalf("%d frames, %v; want 1 frame", len(got), err)
		}
	})
	t.Run("past the bound", func(t *testing.T) {
		b := file(4 * MaxInterfaces)
		before := allocBytes()
		got, err := readAll(t, b)
		alloc := allocBytes() - before
		var de *DamageError
		if !errors.As(err, &de) || !errors.Is(err, ErrTooManyInterfaces) {
			t.Fatalf("%d frames, error %v; want ErrTooManyInterfaces", len(got), err)
		}
		if want := int64(48 + 20*(MaxInterfaces-1)); de.Offset != want {
			t.Errorf("stopped at offset %d, want %d (the interface past the bound)", de.Offset, want)
		}
		// pcapgo's interfaces: about 1.3 KB each, with the copies its
		// slice makes as it grows. Without the bound, four times as much.
		if bound := uint64(1536 * MaxInterfaces); alloc > bound {
			t.Errorf("reading %d bytes allocated %d bytes, more than %d", len(b), alloc, bound)
		}
		t.Logf("%v; %d MB allocated", err, alloc>>20)
	})
}

// TestBlocksAsTheyCome: the scanner pcapgo reads through hands on each
// block as soon as it has it (a live pipe must not wait for the next
// block), and reads the same from a stream that gives a byte at a time
// or data with its end.
func TestBlocksAsTheyCome(t *testing.T) {
	le := binary.LittleEndian
	b := ngFile(le, 65535, epb(le, synFrame, 0, 0), isbBlock(le, 9, nil), epb(le, synFrame, 0, 0))
	pr, pw := io.Pipe()
	go pw.Write(b) // never closed: the stream stays open after the last block
	done := make(chan error)
	go func() {
		r, err := NewReader(pr)
		var f wire.Frame
		for i := 0; i < 2 && err == nil; i++ {
			err = r.Next(&f)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second packet is not read until the stream goes on")
	}
	for name, r := range map[string]io.Reader{
		"a byte at a time":  iotest.OneByteReader(bytes.NewReader(b)),
		"data with its end": iotest.DataErrReader(bytes.NewReader(b)),
	} {
		got, err := readAllFrom(r)
		if err != nil || got != 2 {
			t.Errorf("%s: %d frames, %v; want 2", name, got, err)
		}
	}
}

// readAllFrom counts the frames of r up to a clean end.
func readAllFrom(r io.Reader) (int, error) {
	rd, err := NewReader(r)
	if err != nil {
		return 0, err
	}
	n := 0
	var f wire.Frame
	for {
		if err := rd.Next(&f); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
		n++
	}
}
