package pcapfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/wire"
)

// Small captures from the corpus seed the fuzzers; larger pcapng files are
// cut after a few blocks.
var (
	pcapSeeds = []string{
		"tcpdump/tcp-handshake-nano.pcap",
		"tcpdump/tcp_rst_data.pcap",
		"tcpdump/tcp_rst_data-trunc.pcap",
		"tcpdump/timestamp_invalid_micro.pcap",
		"tcpdump/mptcp-tcprst.pcap",
		"zeek/conn_state-RST-behavior.syn-then-rst/syn-then-rst.pcap",
		"zeek/core.tcp.bad-checksum-syn/syn-bad.pcap",
	}
	pcapngSeeds = []string{
		"tcpdump/of13_ericsson.pcapng",
		"zeek/scripts.base.protocols.redis.django-cloud/django-cloud.pcapng",
	}
)

// allocBytes returns the bytes allocated on the heap so far.
func allocBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// allocBound is what reading a file of n bytes may allocate: the reader's
// buffers (64 KiB here, 4 KiB in pcapgo, an option buffer of up to 64 KiB,
// a packet buffer of up to libpcap's 256 KiB maximum snap length, which
// pcapgo allocates before reading, and as much again when it starts
// reading a longer packet), plus a few times the file.
func allocBound(n int) uint64 { return 1<<20 + 8*uint64(n) }

// pcapHeader is the record header length of pcap file b.
func pcapHeader(b []byte) int {
	if m := binary.LittleEndian.Uint32(b); m == magicKuz || m == magicKuzSwap {
		return 24
	}
	return 16
}

// block is one pcap record or pcapng block found by walking the file's
// length fields independently of the reader.
type block struct {
	start, end int
	packet     bool
}

// walk follows the record or block lengths of b. It stops at the first
// length that does not fit, and reports the offset where it stopped
// (len(b) at a clean end).
func walk(b []byte) (blocks []block, stop int) {
	switch Detect(b) {
	case FormatPcap:
		if len(b) < 24 {
			return nil, 0
		}
		bo := binary.ByteOrder(binary.LittleEndian)
		if m := binary.BigEndian.Uint32(b); m == magicMicro || m == magicNano || m == magicKuz {
			bo = binary.BigEndian
		}
		hdr, off := pcapHeader(b), 24
		for off+hdr <= len(b) {
			n := int(bo.Uint32(b[off+8:]))
			if n > maxSnaplen || off+hdr+n > len(b) {
				return blocks, off
			}
			blocks = append(blocks, block{off, off + hdr + n, true})
			off += hdr + n
		}
		return blocks, off
	case FormatPcapNG:
		bo := binary.ByteOrder(binary.LittleEndian)
		off := 0
		for off+12 <= len(b) {
			if binary.LittleEndian.Uint32(b[off:]) == magicNG {
				switch binary.LittleEndian.Uint32(b[off+8:]) {
				case 0x1a2b3c4d:
					bo = binary.LittleEndian
				case 0x4d3c2b1a:
					bo = binary.BigEndian
				default:
					return blocks, off
				}
			}
			typ, n := bo.Uint32(b[off:]), int(bo.Uint32(b[off+4:]))
			if n < 12 || n%4 != 0 || off+n > len(b) {
				return blocks, off
			}
			blocks = append(blocks, block{off, off + n, typ == 2 || typ == 3 || typ == 6})
			off += n
		}
		return blocks, off
	}
	return nil, 0
}

// checkRead reads b to the end and checks what any input must give: no
// panic, allocation bounded by the file's size, every frame inside its own
// record or block, in order, and damage reported as a *DamageError whose
// offset is where a record or block starts, after the last frame read.
func checkRead(t *testing.T, b []byte) {
	before := allocBytes()
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		if r != nil {
			t.Fatalf("NewReader returned a reader and %v", err)
		}
		return
	}
	blocks, _ := walk(b)
	var packets []block
	for _, bl := range blocks {
		if bl.packet {
			packets = append(packets, bl)
		}
	}
	var (
		n       int
		lastEnd int
	)
	for {
		var f wire.Frame
		err = r.Next(&f)
		if err != nil {
			break
		}
		n++
		if f.Index != n {
			t.Fatalf("frame %d has index %d", n, f.Index)
		}
		if f.CapLen != len(f.Data) || len(f.Data) > len(b) {
			t.Fatalf("frame %d: caplen %d, %d bytes of data, %d bytes of input", n, f.CapLen, len(f.Data), len(b))
		}
		if n > len(packets) {
			t.Fatalf("frame %d returned, but the file has only %d whole packet records or blocks", n, len(packets))
		}
		p := packets[n-1]
		hdr := pcapHeader(b)
		if r.Format() == FormatPcapNG {
			hdr = 12 // the smallest packet block body header (simple packet block)
		}
		body := b[p.start+min(hdr, p.end-p.start) : p.end]
		i := bytes.Index(body, f.Data)
		if i < 0 || (r.Format() == FormatPcap && i != 0) {
			t.Fatalf("frame %d: data not found in its record or block at [%d,%d)", n, p.start, p.end)
		}
		lastEnd = p.end
	}
	if err != io.EOF {
		var de *DamageError
		if !errors.As(err, &de) {
			t.Fatalf("after %d frames: error %v is not a *DamageError", n, err)
		}
		if de.Frame != n+1 {
			t.Errorf("after %d frames: damage names packet %d", n, de.Frame)
		}
		if de.Offset < int64(lastEnd) || de.Offset > int64(len(b)) {
			t.Errorf("after %d frames ending at %d: damage offset %d outside [%d,%d]", n, lastEnd, de.Offset, lastEnd, len(b))
		}
		if r.Format() == FormatPcap {
			// The damaged record is the one after the last frame.
			want := int64(24)
			if n > 0 {
				want = int64(packets[n-1].end)
			}
			if de.Offset != want {
				t.Errorf("after %d frames: damage offset %d, want %d", n, de.Offset, want)
			}
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("error %q does not name the offset", err)
		}
		var f wire.Frame
		if err2 := r.Next(&f); err2 != err {
			t.Errorf("error is not sticky: %v, then %v", err, err2)
		}
	} else if r.Format() == FormatPcap && n != len(packets) {
		t.Errorf("clean end after %d frames, the file has %d records", n, len(packets))
	}
	if got, bound := allocBytes()-before, allocBound(len(b)); got > bound {
		// The count is the process's: while fuzzing, the engine's own
		// goroutines allocate too. What reading allocates repeats.
		if again := readAllocs(b); again > bound {
			t.Errorf("reading %d bytes allocated %d bytes (then %d), more than %d", len(b), got, again, bound)
		}
	}
}

// readAllocs reads b to the end and returns the bytes allocated meanwhile.
func readAllocs(b []byte) uint64 {
	before := allocBytes()
	r, err := NewReader(bytes.NewReader(b))
	if err == nil {
		var f wire.Frame
		for r.Next(&f) == nil {
		}
	}
	return allocBytes() - before
}

// seedFiles reads the named corpus files, cutting pcapng files after the
// first few blocks to keep the seeds small.
func seedFiles(f *testing.F, names []string) [][]byte {
	var out [][]byte
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(corpus.Dir(f), name))
		if err != nil {
			f.Fatal(err)
		}
		if Detect(b) == FormatPcapNG {
			blocks, _ := walk(b)
			cut := 0
			for i, bl := range blocks {
				if i > 6 || bl.end > 4096 {
					break
				}
				cut = bl.end
			}
			b = b[:cut]
		}
		out = append(out, b)
	}
	return out
}

// hugePcap is a pcap file whose snap length and only record claim 4 GB.
func hugePcap() []byte {
	b := make([]byte, 24+16+8)
	binary.LittleEndian.PutUint32(b[0:], magicMicro)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 0xffffffff)
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint32(b[24+8:], 0xfffffff0)
	binary.LittleEndian.PutUint32(b[24+12:], 0xfffffff0)
	return b
}

// ngFile builds a pcapng file in either byte order: a section header, an
// interface (Ethernet, the given snap length) and the given blocks.
func ngFile(bo binary.ByteOrder, snaplen uint32, blocks ...[]byte) []byte {
	shb := make([]byte, 28)
	bo.PutUint32(shb[0:], magicNG)
	bo.PutUint32(shb[4:], 28)
	bo.PutUint32(shb[8:], 0x1a2b3c4d)
	bo.PutUint16(shb[12:], 1)
	bo.PutUint64(shb[16:], 0xffffffffffffffff)
	bo.PutUint32(shb[24:], 28)
	idb := make([]byte, 20)
	bo.PutUint32(idb[0:], 1)
	bo.PutUint32(idb[4:], 20)
	bo.PutUint16(idb[8:], 1)
	bo.PutUint32(idb[12:], snaplen)
	bo.PutUint32(idb[16:], 20)
	out := append(shb, idb...)
	for _, bl := range blocks {
		out = append(out, bl...)
	}
	return out
}

// epb builds an enhanced packet block holding data, with the capture
// length field and the block length given (0: the true ones).
func epb(bo binary.ByteOrder, data []byte, caplen, length uint32) []byte {
	pad := (4 - len(data)%4) % 4
	n := 28 + len(data) + pad + 4
	b := make([]byte, n)
	if length == 0 {
		length = uint32(n)
	}
	if caplen == 0 {
		caplen = uint32(len(data))
	}
	bo.PutUint32(b[0:], 6)
	bo.PutUint32(b[4:], length)
	bo.PutUint32(b[16:], 1000)
	bo.PutUint32(b[20:], caplen)
	bo.PutUint32(b[24:], uint32(len(data)))
	copy(b[28:], data)
	bo.PutUint32(b[n-4:], length)
	return b
}

// synFrame is an Ethernet frame holding a TCP SYN.
var synFrame = []byte{
	0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00,
	0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02, 0x02, 0, 0, 0, 0, 0,
}

func FuzzPcap(f *testing.F) {
	for _, b := range seedFiles(f, pcapSeeds) {
		f.Add(b)
	}
	f.Add(hugePcap())
	fuzzRead(f, FormatPcap)
}

func FuzzPcapng(f *testing.F) {
	for _, b := range seedFiles(f, pcapngSeeds) {
		f.Add(b)
	}
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f.Add(ngFile(bo, 65535, epb(bo, synFrame, 0, 0), epb(bo, synFrame, 0, 0)))
		f.Add(ngFile(bo, 0, epb(bo, synFrame, 0xfffffff0, 0)))
		f.Add(ngFile(bo, 65535, epb(bo, synFrame, 0, 0xfffffff0)))
	}
	fuzzRead(f, FormatPcapNG)
}

// fuzzRead adds the crafted files of one format to f's seeds and fuzzes
// reading.
func fuzzRead(f *testing.F, format Format) {
	for _, c := range craftedFiles() {
		if Detect(c.b) == format {
			f.Add(c.b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRead(t, b)
	})
}

// TestHugeRecordLength reads files whose length fields claim 4 GB: each
// gives a *DamageError at the lying record or block, and reading them
// allocates no more than their size justifies.
func TestHugeRecordLength(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	// A simple packet block claiming a 4 GB packet, under snap length 0.
	spb := make([]byte, 16+len(synFrame))
	le.PutUint32(spb[0:], 3)
	le.PutUint32(spb[4:], uint32(len(spb)))
	le.PutUint32(spb[8:], 0xfffffff0)
	copy(spb[12:], synFrame)
	le.PutUint32(spb[len(spb)-4:], uint32(len(spb)))
	for _, tc := range []struct {
		name   string
		b      []byte
		frames int
		offset int64
	}{
		{"pcap record and snap length 4 GB", hugePcap(), 0, 24},
		{"pcapng capture length 4 GB", ngFile(le, 0, epb(le, synFrame, 0, 0), epb(le, synFrame, 0xfffffff0, 0)), 1, 48 + 88},
		{"pcapng block length 4 GB", ngFile(be, 65535, epb(be, synFrame, 0, 0xfffffff0)), 0, 48},
		{"pcapng simple packet 4 GB", ngFile(le, 0, spb), 0, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := allocBytes()
			got, err := readAll(t, tc.b)
			alloc := allocBytes() - before
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("got %d frames and error %v, want a *DamageError", len(got), err)
			}
			if len(got) != tc.frames || de.Offset != tc.offset {
				t.Errorf("%d frames, damage at %d; want %d frames, damage at %d (%v)", len(got), de.Offset, tc.frames, tc.offset, err)
			}
			if bound := allocBound(len(tc.b)); alloc > bound {
				t.Errorf("reading %d bytes allocated %d bytes, more than %d", len(tc.b), alloc, bound)
			}
			checkRead(t, tc.b)
		})
	}
}

// TestWalkAgreesWithReader checks walk, which the fuzzers' invariants rest
// on, against the reader on the intact seed files.
func TestWalkAgreesWithReader(t *testing.T) {
	for _, name := range append(append([]string(nil), pcapSeeds...), pcapngSeeds...) {
		b, err := os.ReadFile(filepath.Join(corpus.Dir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(t, b)
		blocks, stop := walk(b)
		packets := 0
		for _, bl := range blocks {
			if bl.packet {
				packets++
			}
		}
		if err == nil && (packets != len(frames) || stop != len(b)) {
			t.Errorf("%s: walk found %d packets ending at %d, the reader %d frames in %d bytes", name, packets, stop, len(frames), len(b))
		}
	}
}

// TestLyingBlockLengths: pcapng blocks whose lengths disagree with their
// contents are damage at that block, as libpcap (tcpdump) judges them:
// the packets before it are read, none after.
func TestLyingBlockLengths(t *testing.T) {
	le := binary.LittleEndian
	good := epb(le, synFrame, 0, 0) // 88 bytes
	n := uint32(len(good))
	trailer := append([]byte(nil), good...)
	le.PutUint32(trailer[len(trailer)-4:], 0)
	long := epb(le, synFrame, 0, n+4)
	le.PutUint32(long[len(long)-4:], n+4)
	short := epb(le, synFrame, 0, n-4)
	le.PutUint32(short[len(short)-4:], n-4)
	for _, tc := range []struct {
		name   string
		b      []byte
		frames int
		offset int64
	}{
		{"trailing length differs", ngFile(le, 65535, good, trailer, good), 1, 48 + 88},
		{"length 4 too long", ngFile(le, 65535, good, long, good), 1, 48 + 88},
		{"length 4 too short", ngFile(le, 65535, good, short, good), 1, 48 + 88},
		{"interface trailer differs", func() []byte {
			b := ngFile(le, 65535, good)
			le.PutUint32(b[44:], 0)
			return b
		}(), 0, 28},
		{"caplen larger than snaplen", ngFile(le, 40, good), 0, 48},
		{"no interface", ngFile(le, 65535)[:28], 0, 28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.b)
			var de *DamageError
			if !errors.As(err, &de) {
				t.Fatalf("got %d frames and error %v, want a *DamageError", len(got), err)
			}
			if len(got) != tc.frames || de.Offset != tc.offset {
				t.Errorf("%d frames, damage at %d; want %d frames, damage at %d (%v)", len(got), de.Offset, tc.frames, tc.offset, err)
			}
			checkRead(t, tc.b)
		})
	}
}
