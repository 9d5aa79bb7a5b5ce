package cli

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/tcpdumpcmp"
	"synfin/internal/testenv"
)

// mixedPcap builds a capture whose records tcpdump treats in every way
// read must follow: a TCP segment, records whose header tcpdump refuses
// (wire length below capture length, zero lengths), a UDP datagram, and
// TCP again, at microsecond stamps 1, 2, … so -ttt deltas show which
// packets a delta runs from.
func mixedPcap(t *testing.T) string {
	t.Helper()
	eth := []byte{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 0x08, 0x00}
	tcp := append(append([]byte{}, eth...),
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0)
	udp := append(append([]byte{}, eth...),
		0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0)
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, 0xa1b2c3d4))
	b.Write(le.AppendUint16(nil, 2))
	b.Write(le.AppendUint16(nil, 4))
	b.Write(make([]byte, 8))
	b.Write(le.AppendUint32(nil, 262144))
	b.Write(le.AppendUint32(nil, 1))
	rec := func(us, caplen, wirelen int, data []byte) {
		for _, v := range []int{1, us, caplen, wirelen} {
			b.Write(le.AppendUint32(nil, uint32(v)))
		}
		b.Write(data[:caplen])
	}
	rec(1, len(tcp), len(tcp), tcp)
	rec(2, len(tcp), len(tcp)-10, tcp) // len(44) < caplen(54)
	rec(3, len(tcp), 0, tcp)           // len==0
	rec(4, 0, 0, nil)                  // caplen==0, len==0
	rec(5, 0, 60, nil)                 // caplen==0
	rec(7, len(udp), len(udp), udp)
	rec(11, len(tcp), len(tcp), tcp)
	rec(12, len(udp), len(udp), udp)
	rec(20, len(tcp), len(tcp), tcp)
	p := filepath.Join(t.TempDir(), "mixed.pcap")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tcpdumpKept runs the installed tcpdump and keeps the lines read
// prints: TCP segments and refused record headers.
func tcpdumpKept(t *testing.T, bin, file string, flags []string) string {
	t.Helper()
	cmd := exec.Command(bin, append(append([]string{}, flags...), "-r", file)...)
	cmd.Env = append(os.Environ(), "TZ=GMT0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tcpdump %v: %v", flags, err)
	}
	var keep strings.Builder
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if strings.Contains(l, "Flags [") || strings.Contains(l, "[Invalid header") {
			keep.WriteString(l)
		}
	}
	return keep.String()
}

// TestReadInvalidHeadersAndOtherPackets holds read to tcpdump on records
// tcpdump refuses, on -ttt deltas that run from packets read does not
// print, and on -c, which counts every packet.
func TestReadInvalidHeadersAndOtherPackets(t *testing.T) {
	bin := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	file := mixedPcap(t)
	for _, flags := range [][]string{
		{"-n"}, {"-n", "-#"}, {"-n", "-ttt"}, {"-n", "-#", "-ttt", "-S"}, {"-n", "-ttttt"},
		{"-n", "-c", "2"}, {"-n", "-c", "6", "-#"}, {"-n", "-tt", "-c", "7"},
	} {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			want := tcpdumpKept(t, bin, file, flags)
			got, _, code := execRead(t, append(append([]string{}, flags...), "-r", file)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			if got != want {
				t.Errorf("synfin read:\n%s\ntcpdump:\n%s", got, want)
			}
		})
	}
}

// TestReadDeltasInMixedCaptures compares -ttt and -c output with tcpdump's
// on every corpus capture where TCP shares the file with other protocols.
func TestReadDeltasInMixedCaptures(t *testing.T) {
	bin := testenv.NeedTool(t, "tcpdump")
	withGMT(t)
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(t, "tcpdump"), "*.pcap"))
	var total, match, mixed int
	for _, file := range files {
		all := tcpdumpKept(t, bin, file, []string{"-n", "-#"})
		if all == "" {
			continue
		}
		out, err := exec.Command(bin, "-n", "-#", "-r", file).Output()
		if err != nil || strings.Count(string(out), "\n") == strings.Count(all, "\n") {
			continue // tcpdump cannot read it, or nothing but TCP
		}
		mixed++
		for _, flags := range [][]string{{"-n", "-#", "-ttt"}, {"-n", "-#", "-c", "10"}} {
			cmd := exec.Command(bin, append(append([]string{}, flags...), "-r", file)...)
			cmd.Env = append(os.Environ(), "TZ=GMT0")
			want, _ := cmd.Output()
			got, _, _ := execRead(t, append(append([]string{}, flags...), "-r", file)...)
			rs := tcpdumpcmp.Compare(string(want), got, false)
			n, m := tcpdumpcmp.Count(rs)
			total, match = total+n, match+m
			for _, r := range rs {
				if !r.Match {
					t.Errorf("%s %v #%d:\n got  %q\n want %q", filepath.Base(file), flags, r.N, r.Got, r.Want)
				}
			}
		}
	}
	if mixed == 0 {
		t.Fatal("no capture mixes TCP with other packets")
	}
	t.Logf("%d captures mixing TCP with other packets: %d/%d TCP records match tcpdump", mixed, match, total)
}
