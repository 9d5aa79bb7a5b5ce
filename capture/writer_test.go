package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/gen"
	"synfin/internal/outfile"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

// fullDisk takes max bytes, then fails as a full disk does: a short
// write with ENOSPC.
type fullDisk struct {
	bytes.Buffer
	max int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	room := d.max - d.Len()
	if len(p) <= room {
		return d.Buffer.Write(p)
	}
	d.Buffer.Write(p[:max(room, 0)])
	return max(room, 0), syscall.ENOSPC
}

// wholeRecords counts the records pcapfile reads from b before the end or
// the damage: the reader, not the writer, says what a record is.
func wholeRecords(t *testing.T, b []byte) int {
	t.Helper()
	frames, _ := pcaptest.Read(bytes.NewReader(b))
	return len(frames)
}

// TestWriterFullDisk checks that after a write error the writer reports
// the file's error (ENOSPC, not a wrapped string) and knows how many whole
// records got out, for limits that fall in headers, records and buffers.
func TestWriterFullDisk(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 1000)
	for _, ng := range []bool{false, true} {
		for _, limit := range []int{0, 10, 24, 100, 1040, 1064, 70_000, 200_123} {
			d := &fullDisk{max: limit}
			w, err := Create("-", d, WriterOptions{Link: wire.LinkEthernet, Snaplen: 65535, PcapNG: ng})
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for i := 0; i < 500 && werr == nil; i++ {
				werr = w.Write(&wire.Frame{Time: int64(i) * 1e6, Link: wire.LinkEthernet, Data: frame, WireLen: len(frame)})
			}
			cerr := w.Close()
			if !errors.Is(cerr, syscall.ENOSPC) || !strings.Contains(cerr.Error(), "no space left on device") {
				t.Errorf("pcapng=%v limit %d: Close = %v, want ENOSPC", ng, limit, cerr)
			}
			if got, want := w.Written(), wholeRecords(t, d.Bytes()); got != want {
				t.Errorf("pcapng=%v limit %d: Written() = %d, the reader finds %d whole records", ng, limit, got, want)
			}
		}
	}
}

// TestWriterCutsBackFile checks that a file that could not take every
// record is cut back to its last whole one, so readers see no damage.
func TestWriterCutsBackFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.pcap")
	w, err := Create(path, nil, WriterOptions{Link: wire.LinkEthernet, Snaplen: 65535})
	if err != nil {
		t.Fatal(err)
	}
	// Swap the file for a pipe-like sink that fails half-way through a
	// record, then put the file back for Close to cut.
	f := w.out.w
	d := &fullDisk{max: 24 + 1016 + 500}
	w.out.w = d
	for i := 0; i < 3; i++ {
		w.Write(&wire.Frame{Link: wire.LinkEthernet, Data: make([]byte, 1000), WireLen: 1000})
	}
	w.Flush()
	if _, err := f.Write(d.Bytes()); err != nil {
		t.Fatal(err)
	}
	w.out.w = f
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close = %v, want ENOSPC", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 24+1016 || w.Written() != 1 {
		t.Fatalf("file of %d bytes, Written() = %d; want 1040 bytes, 1 record", len(b), w.Written())
	}
	if frames, err := pcaptest.Read(bytes.NewReader(b)); err != nil || len(frames) != 1 {
		t.Fatalf("%d records read, then %v; want 1 and a clean end", len(frames), err)
	}
}

// TestWriterNanos checks the time stamps' resolution of a pcap file
// written through NewWriter, as tcpdump --nano reads them back.
func TestWriterNanos(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tests := []struct {
		nanos bool
		want  string
	}{
		{false, "1.123456000 "},
		{true, "1.123456789 "},
	}
	for _, tt := range tests {
		name := filepath.Join(t.TempDir(), "n.pcap")
		f, err := outfile.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(f, WriterOptions{Link: wire.LinkRaw, Snaplen: 65535, Nanos: tt.nanos})
		if err != nil {
			t.Fatal(err)
		}
		// An IPv4 header with nothing after it: tcpdump prints its time.
		ip := []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		if err := w.Write(&wire.Frame{Time: 1_123_456_789, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tcpdump, "--nano", "-tt", "-n", "-r", name).Output()
		if err != nil {
			t.Fatalf("tcpdump: %v", err)
		}
		if !strings.HasPrefix(string(out), tt.want) {
			t.Errorf("nanos %v: tcpdump reads %q, want the time %q", tt.nanos, out, tt.want)
		}
	}
}

// TestPacketBuffered: with PacketBuffered (tcpdump's -U) each packet is
// in the file as soon as it is written, not when the buffer fills.
func TestPacketBuffered(t *testing.T) {
	for _, each := range []bool{false, true} {
		f, err := outfile.Create(filepath.Join(t.TempDir(), "u.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(f, WriterOptions{Link: wire.LinkRaw, Snaplen: 65535, PacketBuffered: each})
		if err != nil {
			t.Fatal(err)
		}
		ip := []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
		if err := w.Write(&wire.Frame{Time: 1, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		want := int64(0)
		if each {
			want = 24 + 16 + int64(len(ip)) // file header, record header, packet
		}
		if st.Size() != want {
			t.Errorf("PacketBuffered %v: %d bytes in the file after one packet; want %d", each, st.Size(), want)
		}
		w.Close()
	}
}

// TestWriterLinkTypes: frames keep their link types. A pcapng file gets an
// interface for each, which tshark reads back frame by frame; a pcap file
// takes the first frame's link type in place of the one it was created
// with, and refuses a frame of another after it, keeping what it holds.
func TestWriterLinkTypes(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	ip := []byte("\x45\x00\x00\x28\x00\x01\x40\x00\x40\x06\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01" +
		"\xa2\xa6\x27\x04\x00\x00\x03\xe8\x00\x00\x00\x00\x50\x02\xff\xff\x00\x00\x00\x00")
	eth := append([]byte("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x02\x08\x00"), ip...)
	frames := []wire.Frame{
		{Time: 1e9, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)},
		{Time: 2e9, Link: wire.LinkEthernet, Data: eth, WireLen: len(eth)},
		{Time: 3e9, Link: wire.LinkRaw, Data: ip, WireLen: len(ip)},
	}
	dir := t.TempDir()
	for _, name := range []string{"mixed.pcapng", "mixed.pcap"} {
		path := filepath.Join(dir, name)
		// Created with a link type that no frame has, as read -w is for
		// a pcapng input whose first interface is not yet read.
		w, err := Create(path, nil, WriterOptions{Link: wire.LinkNull, PcapNG: strings.HasSuffix(name, ".pcapng")})
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for i := range frames {
			if werr = w.Write(&frames[i]); werr != nil {
				break
			}
		}
		cerr := w.Close()
		out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.encap_type", "-e", "ip.src").Output()
		if err != nil {
			t.Fatalf("tshark -r %s: %v", name, err)
		}
		got := strings.Fields(string(out))
		if name == "mixed.pcapng" {
			// Wiretap's encapsulation numbers: 7 raw IP, 1 Ethernet.
			if want := []string{"7", "127.0.0.1", "1", "127.0.0.1", "7", "127.0.0.1"}; werr != nil || cerr != nil || !slices.Equal(got, want) {
				t.Errorf("pcapng: tshark reads %q (%v, %v), want %q", got, werr, cerr, want)
			}
			continue
		}
		if werr == nil || !strings.Contains(werr.Error(), "write pcapng") || !slices.Equal(got, []string{"7", "127.0.0.1"}) {
			t.Errorf("pcap: tshark reads %q after error %v; want the first frame, raw IP, and an error saying to write pcapng", got, werr)
		}
	}
}

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

// TestStrftime holds strftime to GNU date's (C's strftime in the C
// locale), for every conversion, at times that cross a year, a week
// boundary and daylight saving time, in three zones.
func TestStrftime(t *testing.T) {
	date := testenv.NeedTool(t, "date")
	layouts := []string{
		"%a %A %b %B %h %C %d %D %e %F %g %G %H %I %j %k %l %m %M %p %P %r %R %s %S %T %u %U %V %w %W %x %X %y %Y %z %Z %%",
		"%c", "trace-%Y%m%d-%H%M%S.pcap", "x%n%ty", "100%", "%Q%E", "plain",
	}
	times := []int64{0, 1, 946684799, 946684800, 1104537600, 1230681600, 1262303999, 1711846799, 1711846800,
		1730000000, 1735603200, 1766000000, 4102444800}
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			testenv.Unavailable(t, "no time zone data: "+err.Error())
		}
		for _, layout := range layouts {
			for _, sec := range times {
				cmd := exec.Command(date, "-d", "@"+strconv.FormatInt(sec, 10), "+"+layout)
				cmd.Env = append(os.Environ(), "TZ="+zone, "LC_ALL=C")
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("date %s: %v", layout, err)
				}
				want := strings.TrimSuffix(string(out), "\n")
				if got := strftime(layout, time.Unix(sec, 0).In(loc)); got != want {
					t.Errorf("TZ=%s strftime(%q, %d) = %q; date says %q", zone, layout, sec, got, want)
				}
			}
		}
	}
}

// Writes 3 MB of frames to files of about 1,000,000 bytes each in a ring
// of two, as tcpdump -w ring.pcap -C 1 -W 2 does (the same names and
// sizes, from the same frames): the third file is written over the
// first.
func ExampleRotation() {
	dir, err := os.MkdirTemp("", "rotation")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	w, err := Create(filepath.Join(dir, "ring.pcap"), nil, WriterOptions{Link: wire.LinkEthernet,
		Rotate: Rotation{Size: 1e6, Files: 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	data := make([]byte, 10000)
	for i := range 300 {
		w.Write(&wire.Frame{Time: int64(i) * 1e6, Data: data, CapLen: len(data), WireLen: len(data), Link: wire.LinkEthernet})
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		info, _ := e.Info()
		fmt.Println(e.Name(), info.Size())
	}
	fmt.Println(w.Written(), "frames written")
	// Output:
	// ring.pcap0 1001624
	// ring.pcap1 1001624
	// 300 frames written
}
