package capture

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/gen"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

// TestRotateSizeAsTcpdump writes a generated capture of 3.6 MB with -C
// and -W as the capture command does, and has tcpdump split the same
// file with the same flags (tcpdump -Z root -r IN -w OUT -C MB -W N, which
// rotates as a live capture does): the same file names, each file the
// same bytes, the header aside (tcpdump's libpcap keeps the input's
// snap length, synfin writes its own) but its size included.
func TestRotateSizeAsTcpdump(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	generated := pcaptest.GeneratedFile(t, gen.Config{Conns: 1200})
	// Files of exactly 1,000,000 bytes (the header, a record of 76 bytes,
	// then records of 100), which -C 1 does not find larger.
	exact := filepath.Join(t.TempDir(), "exact.pcap")
	var b bytes.Buffer
	pw := pcapgo.NewWriter(&b)
	pw.WriteFileHeader(DefaultSnaplen, layers.LinkTypeEthernet)
	for i := range 25000 {
		data := make([]byte, 84)
		if i == 0 {
			data = data[:60]
		}
		pw.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1e9, int64(i)*1000), CaptureLength: len(data), Length: len(data)}, data)
	}
	if err := os.WriteFile(exact, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in        string
		mb, files int
	}{{generated, 1, 0}, {generated, 1, 2}, {generated, 1, 3}, {generated, 1, 11}, {generated, 2, 0}, {generated, 3, 1}, {exact, 1, 0}, {exact, 1, 2}} {
		in := tc.in
		frames, err := pcaptest.File(t, in)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"-C", strconv.Itoa(tc.mb)}
		if tc.files > 0 {
			args = append(args, "-W", strconv.Itoa(tc.files))
		}
		t.Run(filepath.Base(in)+" "+strings.Join(args, " "), func(t *testing.T) {
			td, sf := filepath.Join(t.TempDir(), "td"), filepath.Join(t.TempDir(), "sf")
			for _, d := range []string{td, sf} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := exec.Command(tcpdump, append([]string{"-Z", "root", "-r", in, "-w", filepath.Join(td, "t.pcap")}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("tcpdump: %v: %s", err, out)
			}
			w, err := Create(filepath.Join(sf, "t.pcap"), nil, WriterOptions{Link: wire.LinkEthernet,
				Rotate: Rotation{Size: int64(tc.mb) * 1e6, Files: tc.files}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range frames {
				if err := w.Write(&frames[i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Written() != len(frames) {
				t.Errorf("Written() = %d, want %d", w.Written(), len(frames))
			}
			want, got := dirFiles(t, td), dirFiles(t, sf)
			if d := cmp.Diff(keys(want), keys(got)); d != "" {
				t.Fatalf("file names (-tcpdump +synfin):\n%s", d)
			}
			for name, b := range want {
				if len(b) != len(got[name]) || !bytes.Equal(b[24:], got[name][24:]) {
					t.Errorf("%s: %d bytes; tcpdump's has %d, and its records differ", name, len(got[name]), len(b))
				}
			}
			t.Logf("%d files: %v", len(want), keys(want))
		})
	}
}

func dirFiles(t *testing.T, dir string) map[string][]byte {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if files[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func keys(m map[string][]byte) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}
