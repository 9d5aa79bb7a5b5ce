package tcpdump

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"synfin/internal/testenv"
)

// stampPcap is a raw-IP pcap (nanosecond or microsecond) of TCP SYNs, one
// a second, whose time stamp fractions are fracs as recorded.
func stampPcap(nano bool, fracs ...uint32) []byte {
	le := binary.LittleEndian
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	b := le.AppendUint32(nil, magic)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = le.AppendUint32(b, 65535)
	b = le.AppendUint32(b, 101)
	syn := []byte{
		0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0, 80, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
	}
	for i, fr := range fracs {
		b = le.AppendUint32(b, 1000+uint32(i))
		b = le.AppendUint32(b, fr)
		b = le.AppendUint32(b, uint32(len(syn)))
		b = le.AppendUint32(b, uint32(len(syn)))
		b = append(b, syn...)
	}
	return b
}

// TestOutOfRangeFractions prints time stamps whose fractions are out of
// range (≥ 10⁹ ns, ≥ 10⁶ µs, above 2³¹) as tcpdump prints them, in every
// time format and both precisions: libpcap reads the field as signed 32
// bits, scales it in a long, and tcpdump prints it as unsigned 32 bits.
func TestOutOfRangeFractions(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	fracs := []uint32{999999999, 1000000000, 1500000000, 2147483647, 2147483648, 3000000000, 0xfffffc18, 0xffffffff, 7, 0}
	dir := t.TempDir()
	for _, nano := range []bool{true, false} {
		file := filepath.Join(dir, "micro.pcap")
		if nano {
			file = filepath.Join(dir, "nano.pcap")
		}
		if err := os.WriteFile(file, stampPcap(nano, fracs...), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, flags := range [][]string{
			{}, {"--nano"}, {"-tt"}, {"-tt", "--nano"}, {"-ttt"}, {"-ttt", "--nano"}, {"-ttttt"}, {"-ttttt", "--nano"},
		} {
			name := filepath.Base(file)
			for _, f := range flags {
				name += " " + f
			}
			t.Run(name, func(t *testing.T) {
				want := runTcpdump(t, file, flags)
				if got := printFile(t, file, optsFromFlags(t, flags)); got != want {
					w, g := firstDiff(want, got)
					t.Errorf("differs from tcpdump:\nwant: %q\n got: %q", w, g)
				}
			})
		}
	}
}
