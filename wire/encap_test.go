package wire_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/wire"
)

// encapCaptures are the captures of TCP inside encapsulations: the public
// ones in testdata/encap (see its README) and the synthetic ones of
// pcaptest, with the number of TCP segments tshark 4.0 finds in each.
// tshark has no dissector for pppd's link type (166) nor for PPP in
// Ethernet (EtherType 0x880b): the installed tcpdump is their oracle
// (internal/cli's TestReadEncapsulations).
func encapCaptures(t *testing.T) map[string]int {
	t.Helper()
	files := map[string]int{
		"ipoib.pcap": 20, "bgp_vpn_attrset.pcap": 1, "lspping-fec-ldp.pcap": 3,
		"cisco-fabric-path.pcap": 32, "pppoe-over-qinq.pcap": 86, "mpls-in-vlan.pcap": 3,
		"gre-sample.pcap": 22, "gre-key.pcap": 10, "4in6.pcap": 1, "nflog-http.pcap": 13,
	}
	caps := map[string]int{}
	for f, n := range files {
		caps[filepath.Join("testdata", "encap", f)] = n
	}
	dir := t.TempDir()
	for _, e := range pcaptest.Encapsulations {
		n := pcaptest.EncapSegments
		if e.Link == wire.LinkPPPD || e.Name == "ppp-in-ether" {
			n = 0
		}
		caps[pcaptest.WriteEncapsulation(t, dir, e)] = n
	}
	return caps
}

// mergeEncap writes the frames of every capture into one pcapng file, an
// interface per capture, so that tshark starts once. It returns the file
// and the capture each frame comes from, by frame number.
func mergeEncap(t *testing.T, caps map[string]int) (string, map[int]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "encap.pcapng")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var w *pcapgo.NgWriter
	from := map[int]string{}
	for file := range caps {
		frames, err := pcaptest.File(t, file)
		if err != nil {
			t.Fatal(err)
		}
		intf := pcapgo.NgInterface{LinkType: layers.LinkType(frames[0].Link), SnapLength: 262144, TimestampResolution: 9}
		id := 0
		if w == nil {
			w, err = pcapgo.NewNgWriterInterface(out, intf, pcapgo.DefaultNgWriterOptions)
		} else {
			id, err = w.AddInterface(intf)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.Time), CaptureLength: f.CapLen, Length: f.WireLen, InterfaceIndex: id}
			if err := w.WritePacket(ci, f.Data); err != nil {
				t.Fatal(err)
			}
			from[len(from)+1] = filepath.Base(file)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path, from
}

// tsharkLengthDiffers are segments whose payload length tshark takes from
// an outer header where tcpdump (and Zeek, in its byte counts) take the IP
// header's: the PPPoE length of these frames leaves out 6 bytes the IP
// total length includes.
var tsharkLengthDiffers = map[string]int{"pppoe-over-qinq.pcap": 6}

// TestEncapsulationsAgainstTshark decodes the TCP segments inside each
// encapsulation and compares them field by field with tshark's dissection.
func TestEncapsulationsAgainstTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	caps := encapCaptures(t)
	merged, from := mergeEncap(t, caps)
	total, agree := map[string]int{}, map[string]int{}
	for n, ok := range compareTshark(t, "encapsulations", merged, t.Logf) {
		total[from[n]]++
		if ok {
			agree[from[n]]++
		}
	}
	for file, want := range caps {
		name := filepath.Base(file)
		if total[name] != want || agree[name] != want-tsharkLengthDiffers[name] {
			t.Errorf("%s: %d of %d TCP segments agree with tshark, want %d of %d", name, agree[name], total[name], want-tsharkLengthDiffers[name], want)
		}
	}
}

// TestDecodeEncapsulatedAllocs holds Decode to zero allocations on every
// TCP segment of every encapsulation.
func TestDecodeEncapsulatedAllocs(t *testing.T) {
	for file := range encapCaptures(t) {
		frames, err := pcaptest.File(t, file)
		if err != nil {
			t.Fatal(err)
		}
		var p wire.Packet
		decoded := 0
		for _, fr := range frames {
			if p.Decode(fr.Link, fr.Data) != nil {
				continue
			}
			decoded++
			if n := testing.AllocsPerRun(100, func() { _ = p.Decode(fr.Link, fr.Data) }); n != 0 {
				t.Errorf("%s #%d: %v allocations per Decode, want 0", filepath.Base(file), fr.Index, n)
			}
		}
		if decoded == 0 {
			t.Errorf("%s: no TCP segment decoded", filepath.Base(file))
		}
	}
}
