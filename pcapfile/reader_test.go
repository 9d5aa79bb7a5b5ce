package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/wire"
)

// readAll reads every frame of b, copying the data.
func readAll(t testing.TB, b []byte) ([]wire.Frame, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []wire.Frame
	for {
		var f wire.Frame
		err := r.Next(&f)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		f.Data = append([]byte(nil), f.Data...)
		out = append(out, f)
	}
}

func corpusCaptures(t *testing.T) []string {
	files := corpus.Captures(t, ".pcap", ".pcapng")
	if len(files) < 50 {
		t.Fatalf("found only %d corpus captures", len(files))
	}
	return files
}

// tcpdumpTimes lists what tcpdump prints as each packet's time stamp, with
// nanosecond precision, and whether it reported damage.
func tcpdumpTimes(t *testing.T, file string) ([]string, bool) {
	cmd := exec.Command("tcpdump", "-n", "-tt", "--nano", "-r", file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	var ts []string
	for _, l := range strings.Split(out.String(), "\n") {
		// Continuation lines (-v output, hex) start with white space.
		if l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		f, _, _ := strings.Cut(l, " ")
		ts = append(ts, f)
	}
	return ts, runErr != nil || strings.Contains(errb.String(), "truncated")
}

// TestAgainstTcpdump reads every corpus capture and checks the number of
// frames and each time stamp against what tcpdump reads from the same file.
func TestAgainstTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	files := corpusCaptures(t)
	var frames int
	for _, file := range files {
		name, _ := filepath.Rel(corpus.Dir(t), file)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, rerr := readAll(t, b)
			want, damaged := tcpdumpTimes(t, file)
			if damaged != (rerr != nil) {
				t.Errorf("damage: tcpdump %v, synfin %v", damaged, rerr)
			}
			var gotTS []string
			for _, f := range got {
				// tcpdump prints the fraction as recorded, in units of
				// the file, scaled to ns by --nano.
				// libpcap scales microseconds in 32 bits.
				frac := f.Frac
				if !f.Nano {
					frac *= 1000
				}
				gotTS = append(gotTS, fmt.Sprintf("%d.%09d", f.Sec, frac))
			}
			// tcpdump's line count can exceed the packet count for
			// multi-line decodes that do not indent; compare what we can.
			if len(want) > len(gotTS) {
				want = want[:len(gotTS)]
			}
			if diff := cmp.Diff(want, gotTS); diff != "" {
				t.Errorf("time stamps differ from tcpdump (-tcpdump +synfin):\n%s", diff)
			}
			frames += len(got)
		})
	}
	t.Logf("%d captures, %d frames", len(files), frames)
}

// variant rewrites a little-endian microsecond pcap as big-endian and/or
// nanosecond, record by record.
func variant(t *testing.T, b []byte, big, nano bool) []byte {
	le := binary.LittleEndian
	if le.Uint32(b) != magicMicro {
		t.Fatalf("want a little-endian microsecond pcap")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	out := make([]byte, 24, len(b))
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	bo.PutUint32(out[0:], magic)
	bo.PutUint16(out[4:], le.Uint16(b[4:]))
	bo.PutUint16(out[6:], le.Uint16(b[6:]))
	for i := 8; i < 24; i += 4 {
		bo.PutUint32(out[i:], le.Uint32(b[i:]))
	}
	for off := 24; off+16 <= len(b); {
		var h [16]byte
		for i := 0; i < 16; i += 4 {
			bo.PutUint32(h[i:], le.Uint32(b[off+i:]))
		}
		if nano {
			bo.PutUint32(h[4:], le.Uint32(b[off+4:])*1000)
		}
		n := int(le.Uint32(b[off+8:]))
		out = append(out, h[:]...)
		out = append(out, b[off+16:off+16+n]...)
		off += 16 + n
	}
	return out
}

// TestVariants checks that both byte orders and both precisions read to the
// same frames, and that tcpdump agrees on each variant.
func TestVariants(t *testing.T) {
	src := filepath.Join(corpus.Dir(t, "tcpdump"), "dns_tcp.pcap")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	base, err := readAll(t, b)
	if err != nil || len(base) == 0 {
		t.Fatalf("base: %d frames, %v", len(base), err)
	}
	for _, tc := range []struct {
		name      string
		big, nano bool
	}{{"le-micro", false, false}, {"be-micro", true, false}, {"le-nano", false, true}, {"be-nano", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			v := variant(t, b, tc.big, tc.nano)
			got, err := readAll(t, v)
			if err != nil {
				t.Fatal(err)
			}
			// The raw fraction changes unit; the instant must not.
			if diff := cmp.Diff(base, got, cmpopts.IgnoreFields(wire.Frame{}, "Frac", "Nano")); diff != "" {
				t.Errorf("frames differ (-le-micro +%s):\n%s", tc.name, diff)
			}
			r, _ := NewReader(bytes.NewReader(v))
			if r.Nano() != tc.nano {
				t.Errorf("Nano() = %v", r.Nano())
			}
			if _, err := exec.LookPath("tcpdump"); err == nil {
				p := filepath.Join(t.TempDir(), "v.pcap")
				os.WriteFile(p, v, 0o644)
				want, _ := tcpdumpTimes(t, p)
				if len(want) != len(got) {
					t.Errorf("tcpdump reads %d packets, synfin %d", len(want), len(got))
				}
			}
		})
	}
}

// TestTruncatedEverywhere cuts captures at every byte offset: the frames
// before the cut are all returned, unchanged, then a clean end (cut on a
// record boundary) or a DamageError whose offset is where the cut record
// starts. tcpdump is the oracle for how many packets survive.
func TestTruncatedEverywhere(t *testing.T) {
	for _, name := range []string{"tcpdump/dns_tcp.pcap", "tcpdump/of13_ericsson.pcapng", "tcpdump/tcp-handshake-nano.pcap"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(corpus.Dir(t), name))
			if err != nil {
				t.Fatal(err)
			}
			full, err := readAll(t, b)
			if err != nil {
				t.Fatal(err)
			}
			bounds, blocks := recordStarts(t, b) // where each frame's record starts; where every block starts
			step := 1
			if testing.Short() {
				step = 7
			}
			for cut := 0; cut < len(b); cut += step {
				got, err := readAll(t, b[:cut])
				if cut < len(b) && len(got) > len(full) {
					t.Fatalf("cut %d: %d frames from a prefix, %d in all", cut, len(got), len(full))
				}
				for i := range got {
					if !sameFrame(full[i], got[i]) {
						t.Fatalf("cut %d: frame %d before the damage changed:\n%s", cut, i+1, cmp.Diff(full[i], got[i]))
					}
				}
				// Frames whose record ends at or before the cut must all be read.
				want := 0
				for i := range full {
					end := len(b)
					if i+1 < len(bounds) {
						end = bounds[i+1]
					}
					if end <= cut {
						want = i + 1
					}
				}
				if err == nil {
					if len(got) != want {
						t.Fatalf("cut %d: clean end after %d frames, want %d", cut, len(got), want)
					}
					continue
				}
				var de *DamageError
				if !errors.As(err, &de) {
					if len(bounds) > 0 && cut < bounds[0] { // cut inside the file's headers
						continue
					}
					t.Fatalf("cut %d: error %v is not a DamageError", cut, err)
				}
				if len(got) != want {
					t.Fatalf("cut %d: %d frames before the damage, want %d", cut, len(got), want)
				}
				// A section header alone: the interface block is
				// missing where the file ends, as libpcap says too.
				if Detect(b) == FormatPcapNG && len(got) == 0 && de.Offset == int64(cut) && slices.Contains(blocks, cut) {
					continue
				}
				// The damage is the record or block the cut falls in.
				at := 0
				for _, s := range blocks {
					if s < cut {
						at = s
					}
				}
				if de.Offset != int64(at) {
					t.Fatalf("cut %d: damage at offset %d, want %d", cut, de.Offset, at)
				}
			}
		})
	}
}

func sameFrame(a, b wire.Frame) bool {
	return a.Index == b.Index && a.Time == b.Time && a.Sec == b.Sec && a.Frac == b.Frac &&
		a.Nano == b.Nano && a.CapLen == b.CapLen && a.WireLen == b.WireLen && a.Link == b.Link &&
		a.Interface == b.Interface && bytes.Equal(a.Data, b.Data)
}

// recordStarts walks the file's structure to find where each packet's
// record (pcap) or packet block (pcapng) starts, and where every record or
// block starts.
func recordStarts(t *testing.T, b []byte) (s, all []int) {
	switch Detect(b) {
	case FormatPcap:
		bo := binary.ByteOrder(binary.LittleEndian)
		if m := binary.BigEndian.Uint32(b); m == magicMicro || m == magicNano {
			bo = binary.BigEndian
		}
		for off := 24; off+16 <= len(b); {
			s = append(s, off)
			all = append(all, off)
			off += 16 + int(bo.Uint32(b[off+8:]))
		}
	case FormatPcapNG:
		bo := binary.ByteOrder(binary.LittleEndian)
		for off := 0; off+12 <= len(b); {
			typ := binary.LittleEndian.Uint32(b[off:])
			if typ == magicNG && binary.BigEndian.Uint32(b[off+8:]) == 0x1a2b3c4d {
				bo = binary.BigEndian
			}
			typ = bo.Uint32(b[off:])
			all = append(all, off)
			if typ == 6 || typ == 3 || typ == 2 {
				s = append(s, off)
			}
			off += int(bo.Uint32(b[off+4:]))
		}
	}
	return s, all
}

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
