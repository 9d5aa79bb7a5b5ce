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
