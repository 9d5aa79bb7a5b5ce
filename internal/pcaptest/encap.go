package pcaptest

import (
	"encoding/binary"
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"synfin/wire"
)

// Encapsulation is a synthetic capture of one short TCP conversation in
// one wrapping: the encapsulations synfin decodes that no public test
// capture shows with TCP inside.
type Encapsulation struct {
	Name string
	Link wire.LinkType
	V6   bool // the inner IP is IPv6
	FCS  bool // the frames end with an Ethernet frame check sequence
	// outer returns the layers before the inner IP header of segment i
	// (0-based), its last layer's type field naming the inner IP.
	outer func(i int) []gopacket.SerializableLayer
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
)

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func outer4(p layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Id: 7, Protocol: p,
		SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
}

func outer6(p layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p,
		SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
}

func raw(b ...byte) gopacket.SerializableLayer { return gopacket.Payload(b) }

// Encapsulations lists the synthetic captures.
var Encapsulations = []Encapsulation{
	{Name: "gre-teb", Link: wire.LinkEthernet, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE),
			&layers.GRE{KeyPresent: true, Key: 7, SeqPresent: true, Seq: uint32(i), Protocol: layers.EthernetTypeTransparentEthernetBridging},
			eth(layers.EthernetTypeIPv4)}
	}},
	{Name: "gre-pptp", Link: wire.LinkEthernet, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE),
			&layers.GRE{Version: 1, KeyPresent: true, Key: 5, SeqPresent: true, Seq: uint32(i), AckPresent: i > 0, Ack: uint32(i),
				Protocol: layers.EthernetTypePPP},
			&layers.PPP{HasPPTPHeader: true, PPPType: layers.PPPTypeIPv4}}
	}},
	{Name: "gre-mpls-ip6", Link: wire.LinkEthernet, V6: true, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv6), outer6(layers.IPProtocolGRE),
			&layers.GRE{ChecksumPresent: true, Protocol: layers.EthernetTypeMPLSUnicast},
			&layers.MPLS{Label: 100, TTL: 64}, &layers.MPLS{Label: 2, StackBottom: true, TTL: 64}}
	}},
	{Name: "ip6-in-ip4", Link: wire.LinkEthernet, V6: true, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolIPv6)}
	}},
	{Name: "ip4-in-ip4-raw", Link: wire.LinkRaw, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{outer4(layers.IPProtocolIPv4)}
	}},
	{Name: "pppoe-link", Link: wire.LinkPPPoE, V6: true, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 0x1234},
			&layers.PPP{PPPType: layers.PPPTypeIPv6}}
	}},
	{Name: "sll-pppoe", Link: wire.LinkLinuxSLL, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{
			raw(0, byte(4*(i%2)), 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x0a, 0, 0, 0x88, 0x64),
			&layers.PPPoE{Version: 1, Type: 1, Code: layers.PPPoECodeSession, SessionId: 1},
			&layers.PPP{PPPType: layers.PPPTypeIPv4}}
	}},
	{Name: "pppd", Link: wire.LinkPPPD, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{raw(byte(i%2), 3, 0, 0x21)} // pppd's direction, control, IP
	}},
	{Name: "ppp-pfc", Link: wire.LinkPPP, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{raw(0x21)} // no address and control, protocol in one byte
	}},
	{Name: "ppp-in-ether", Link: wire.LinkEthernet, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypePPP), &layers.PPP{HasPPTPHeader: true, PPPType: layers.PPPTypeIPv4}}
	}},
	{Name: "ipoib-ip6", Link: wire.LinkIPoIB, V6: true, outer: func(int) []gopacket.SerializableLayer {
		h := make([]byte, 44)
		h[0], h[40], h[41] = 0x80, 0x86, 0xdd
		return []gopacket.SerializableLayer{raw(h...)}
	}},
	// FabricPath frames keep their FCS, as tshark's dissector expects.
	{Name: "fabricpath-vlan", Link: wire.LinkEthernet, FCS: true, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(0x8903), raw(0x00, 0x3f), eth(layers.EthernetTypeDot1Q),
			&layers.Dot1Q{VLANIdentifier: 42, Type: layers.EthernetTypeIPv4}}
	}},
	{Name: "erspan1", Link: wire.LinkEthernet, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE),
			&layers.GRE{Protocol: layers.EthernetTypeERSPAN}, eth(layers.EthernetTypeIPv4)}
	}},
	{Name: "erspan2", Link: wire.LinkEthernet, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE),
			&layers.GRE{SeqPresent: true, Seq: uint32(i), Protocol: layers.EthernetTypeERSPAN},
			raw(0x10, 0x64, 0, 0, 0, 0, 0, 9), // version 1, VLAN 100, session 0, index 9
			eth(layers.EthernetTypeIPv4)}
	}},
	{Name: "erspan3", Link: wire.LinkEthernet, outer: func(i int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer4(layers.IPProtocolGRE),
			&layers.GRE{SeqPresent: true, Seq: uint32(i), Protocol: 0x22eb},
			// version 2, session 1, timestamp, SGT, flags with the
			// optional subheader bit, then the subheader
			raw(0x20, 0, 0, 1, 0, 0, 0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0),
			eth(layers.EthernetTypeIPv6)}
	}, V6: true},
	// A VN-Tag between two VLAN tags, as Zeek's vntag_vlan_sandwich trace.
	{Name: "vntag-in-vlan", Link: wire.LinkEthernet, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 250, Type: 0x8926},
			raw(0x00, 0x00, 0x00, 0x33, 0x81, 0x00), &layers.Dot1Q{VLANIdentifier: 250, Type: layers.EthernetTypeIPv4}}
	}},
	{Name: "mpls-null", Link: wire.LinkEthernet, outer: func(int) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeMPLSUnicast),
			&layers.MPLS{Label: 16, TrafficClass: 5, TTL: 9}, &layers.MPLS{Label: 0, StackBottom: true, TTL: 9}}
	}},
}

// EncapSegments is the number of TCP segments of each synthetic capture.
const EncapSegments = 8

// conversation is a handshake, a request and its answer, and a close:
// flags, whether the server sends it, and the payload.
var conversation = [EncapSegments]struct {
	syn, ack, psh, fin, server bool
	data                       string
}{
	{syn: true},
	{syn: true, ack: true, server: true},
	{ack: true},
	{ack: true, psh: true, data: "GET / HTTP/1.0\r\n\r\n"},
	{ack: true, psh: true, server: true, data: "HTTP/1.0 204 No Content\r\n\r\n"},
	{ack: true, fin: true},
	{ack: true, fin: true, server: true},
	{ack: true},
}

// WriteEncapsulation writes e's capture into dir and returns its path. The
// frames are built with gopacket's layers, checksums and lengths included,
// so that what synfin reads was not written by synfin.
func WriteEncapsulation(tb testing.TB, dir string, e Encapsulation) string {
	tb.Helper()
	client, server := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	if e.V6 {
		client, server = net.ParseIP("fd00::1"), net.ParseIP("fd00::2")
	}
	var frames []wire.Frame
	seq := [2]uint32{1000, 5000} // client's, server's next sequence number
	for i, s := range conversation {
		src, dst, sp, dp, me := client, server, layers.TCPPort(40000), layers.TCPPort(80), 0
		if s.server {
			src, dst, sp, dp, me = server, client, 80, 40000, 1
		}
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: seq[me], SYN: s.syn, ACK: s.ack, PSH: s.psh, FIN: s.fin, Window: 64240}
		if s.ack {
			tcp.Ack = seq[1-me]
		}
		var ip gopacket.NetworkLayer
		if e.V6 {
			ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		} else {
			ip = &layers.IPv4{Version: 4, TTL: 64, Id: uint16(i + 1), Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			tb.Fatal(err)
		}
		ls := append(e.outer(i), ip.(gopacket.SerializableLayer), tcp, gopacket.Payload(s.data))
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			tb.Fatalf("%s: %v", e.Name, err)
		}
		seq[me] += uint32(len(s.data))
		if s.syn || s.fin {
			seq[me]++
		}
		data := buf.Bytes()
		if e.FCS {
			data = binary.LittleEndian.AppendUint32(data, crc32.ChecksumIEEE(data))
		}
		frames = append(frames, wire.Frame{Time: time.Date(2024, 5, 1, 12, 0, 0, i*1000, time.UTC).UnixNano(),
			CapLen: len(data), WireLen: len(data), Data: data})
	}
	path := filepath.Join(dir, e.Name+".pcap")
	WriteFile(tb, path, e.Link, frames)
	return path
}

// EncapFiles returns the captures of TCP in encapsulations: the public
// ones in the module's wire/testdata/encap and the synthetic ones, which
// it writes into dir.
func EncapFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	root, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			tb.Fatal("pcaptest: no go.mod above the test's directory")
		}
		root = parent
	}
	files, err := filepath.Glob(filepath.Join(root, "wire", "testdata", "encap", "*.pcap"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("pcaptest: no captures in wire/testdata/encap (%v)", err)
	}
	for _, e := range Encapsulations {
		files = append(files, WriteEncapsulation(tb, dir, e))
	}
	return files
}
