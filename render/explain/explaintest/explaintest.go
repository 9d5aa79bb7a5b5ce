package explaintest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/input"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

// Track reads a capture and returns its connections in ID order, with
// segments kept.
func Track(t testing.TB, path string) []*tcpstate.Conn {
	t.Helper()
	conns, err := TrackFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return conns
}

// TrackFile reads a capture and returns its connections in ID order.
func TrackFile(path string) ([]*tcpstate.Conn, error) { return TrackUntil(path, 0) }

// TrackUntil is TrackFile for a capture that ran until until (Unix ns),
// past its last frame, as a lab's does: the tracker's clock reaches it
// before the connections are handed out. 0 means the last frame's time.
func TrackUntil(path string, until int64) ([]*tcpstate.Conn, error) {
	src, err := input.Open(path, nil, input.Options{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var conns []*tcpstate.Conn
	tr := track.New(track.Config{Segments: true, IdleTimeout: -1, Done: func(c *tcpstate.Conn) {
		conns = append(conns, c.Clone())
	}})
	err = input.Each(context.Background(), src, nil, func(f *wire.Frame) error {
		tr.Frame(f)
		return nil
	}, func() {
		tr.Tick(until)
		tr.Flush()
	})
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	return conns, err
}

// Seg is one synthetic segment: C2S or S2C, flags in tcpdump letters
// (S F R P and '.' for ACK), absolute numbers, payload length, and the
// time after the capture's start.
type Seg struct {
	Dir   tcpstate.Dir
	Flags string
	Seq   uint32
	Ack   uint32
	Len   int
	At    time.Duration
}

// Scenario is a named synthetic connection.
type Scenario struct {
	Name string
	Segs []Seg
}

// Addresses of the synthetic connections.
var (
	ClientIP   = net.IPv4(10, 0, 0, 1)
	ServerIP   = net.IPv4(10, 0, 0, 2)
	ClientPort = 40000
	ServerPort = 80
	Start      = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
)

const (
	cISN = 1000
	sISN = 5000
	ms   = time.Millisecond
)

func seg(d tcpstate.Dir, flags string, seq, ack uint32, n int, at time.Duration) Seg {
	return Seg{d, flags, seq, ack, n, at}
}

const c2s, s2c = tcpstate.C2S, tcpstate.S2C

// handshake is a three-way handshake over 20 ms.
func handshake(more ...Seg) []Seg {
	return append([]Seg{
		seg(c2s, "S", cISN, 0, 0, 0),
		seg(s2c, "S.", sISN, cISN+1, 0, 10*ms),
		seg(c2s, ".", cISN+1, sISN+1, 0, 20*ms),
	}, more...)
}

// handshake and one request/response: client sends 10 bytes, server 20.
func opening() []Seg {
	return handshake(
		seg(c2s, "P.", cISN+1, sISN+1, 10, 21*ms),
		seg(s2c, ".", sISN+1, cISN+11, 0, 31*ms),
		seg(s2c, "P.", sISN+1, cISN+11, 20, 40*ms),
		seg(c2s, ".", cISN+11, sISN+21, 0, 50*ms))
}

// Scenarios are one connection per lifecycle and anomaly the renderers
// must show.
func Scenarios() []Scenario {
	cf, sf := uint32(cISN+11), uint32(sISN+21) // the FINs' sequence numbers
	return []Scenario{
		{"four-segment", append(opening(),
			seg(c2s, "F.", cf, sf, 0, 100*ms),
			seg(s2c, ".", sf, cf+1, 0, 110*ms),
			seg(s2c, "F.", sf, cf+1, 0, 150*ms),
			seg(c2s, ".", cf+1, sf+1, 0, 160*ms))},
		{"three-segment", append(opening(),
			seg(s2c, "F.", sf, cf, 0, 100*ms),
			seg(c2s, "F.", cf, sf+1, 0, 110*ms),
			seg(s2c, ".", sf+1, cf+1, 0, 120*ms))},
		{"simultaneous-close", append(opening(),
			seg(c2s, "F.", cf, sf, 0, 100*ms),
			seg(s2c, "F.", sf, cf, 0, 101*ms),
			seg(c2s, ".", cf+1, sf+1, 0, 110*ms),
			seg(s2c, ".", sf+1, cf+1, 0, 111*ms))},
		{"half-close", append(opening(),
			seg(c2s, "F.", cf, sf, 0, 100*ms),
			seg(s2c, ".", sf, cf+1, 0, 110*ms),
			seg(s2c, "P.", sf, cf+1, 100, 120*ms),
			seg(c2s, ".", cf+1, sf+100, 0, 130*ms),
			seg(s2c, "F.", sf+100, cf+1, 0, 140*ms),
			seg(c2s, ".", cf+1, sf+101, 0, 150*ms))},
		{"abort-rst", append(opening(),
			seg(s2c, "R.", sf, cf, 0, 100*ms))},
		{"refused", []Seg{
			seg(c2s, "S", cISN, 0, 0, 0),
			seg(s2c, "R.", 0, cISN+1, 0, 1*ms)}},
		{"syn-retransmit", []Seg{
			seg(c2s, "S", cISN, 0, 0, 0),
			seg(c2s, "S", cISN, 0, 0, 1000*ms),
			seg(c2s, "S", cISN, 0, 0, 3000*ms),
			seg(s2c, "S.", sISN, cISN+1, 0, 3010*ms),
			seg(c2s, ".", cISN+1, sISN+1, 0, 3020*ms),
			seg(c2s, "F.", cISN+1, sISN+1, 0, 3030*ms),
			seg(s2c, "F.", sISN+1, cISN+2, 0, 3040*ms),
			seg(c2s, ".", cISN+2, sISN+2, 0, 3050*ms)}},
		{"retransmission", handshake(
			seg(c2s, "P.", cISN+1, sISN+1, 100, 21*ms),
			// cISN+101..201 lost before the capture point
			seg(c2s, "P.", cISN+201, sISN+1, 100, 23*ms),
			seg(s2c, ".", sISN+1, cISN+101, 0, 31*ms),
			seg(s2c, ".", sISN+1, cISN+101, 0, 33*ms),
			seg(c2s, "P.", cISN+101, sISN+1, 100, 250*ms),
			seg(s2c, ".", sISN+1, cISN+301, 0, 260*ms),
			seg(c2s, "F.", cISN+301, sISN+1, 0, 300*ms),
			seg(s2c, "F.", sISN+1, cISN+302, 0, 310*ms),
			seg(c2s, ".", cISN+302, sISN+2, 0, 320*ms))},
		{"lost-last-ack", append(opening(),
			seg(c2s, "F.", cf, sf, 0, 100*ms),
			seg(s2c, ".", sf, cf+1, 0, 110*ms),
			seg(s2c, "F.", sf, cf+1, 0, 150*ms),
			seg(c2s, ".", cf+1, sf+1, 0, 160*ms),
			seg(s2c, "F.", sf, cf+1, 0, 360*ms),
			seg(c2s, ".", cf+1, sf+1, 0, 361*ms),
			seg(c2s, "S", 90000, 0, 0, 61*time.Second))},
		{"midstream", []Seg{
			seg(s2c, "F.", 507613731, 3023763844, 0, 0),
			seg(c2s, ".", 3023763844, 507613732, 0, 13*time.Microsecond)}},
	}
}

// WritePcap writes the scenario as an Ethernet pcap file.
func WritePcap(path string, segs []Seg) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return err
	}
	cmac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	smac := net.HardwareAddr{2, 0, 0, 0, 0, 2}
	for i, s := range segs {
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: ClientIP, DstIP: ServerIP, Id: uint16(i + 1)}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(ClientPort), DstPort: layers.TCPPort(ServerPort), Seq: s.Seq, Ack: s.Ack, Window: 502}
		if s.Dir == tcpstate.S2C {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = ServerIP, ClientIP
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		for _, c := range s.Flags {
			switch c {
			case 'S':
				tcp.SYN = true
			case 'F':
				tcp.FIN = true
			case 'R':
				tcp.RST = true
			case 'P':
				tcp.PSH = true
			case '.':
				tcp.ACK = true
			}
		}
		if tcp.SYN {
			tcp.Window = 64240
			tcp.Options = []layers.TCPOption{
				{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
				{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
			}
		}
		if tcp.RST {
			tcp.Window = 0
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		pay := gopacket.Payload(make([]byte, s.Len))
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, pay); err != nil {
			f.Close()
			return err
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: Start.Add(s.At), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// ScenarioFile writes the scenario into dir and returns its path.
func ScenarioFile(t testing.TB, dir string, s Scenario) string {
	t.Helper()
	p := filepath.Join(dir, s.Name+".pcap")
	if err := WritePcap(p, s.Segs); err != nil {
		t.Fatal(err)
	}
	return p
}
