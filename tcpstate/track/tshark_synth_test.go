package track

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"synfin/internal/testenv"
)

// A crafted segment of a synthetic capture. Sequence and acknowledgment
// numbers are relative to each side's ISN (the SYN is 0), so the tables
// read like Wireshark's relative numbers.
type craft struct {
	fromClient bool
	flags      string // S F R P and . for ACK, as in synSeg
	seq, ack   uint32
	len        int
	win        uint16
	gap        time.Duration // after the previous segment
	wscale     int           // window scale option on a SYN; -1 for none
}

const clientISN, serverISN = 1_000_000, 7_000_000

func cl(flags string, seq, ack uint32, n int, win uint16, gap time.Duration) craft {
	return craft{true, flags, seq, ack, n, win, gap, -1}
}

func sv(flags string, seq, ack uint32, n int, win uint16, gap time.Duration) craft {
	return craft{false, flags, seq, ack, n, win, gap, -1}
}

// craftOpen opens a connection with windows cwin and swin and, when
// wscale >= 0, the window scale option on both SYNs. The round trip is
// 2 ms, Wireshark's out-of-order threshold afterwards.
func craftOpen(cwin, swin uint16, wscale int) []craft {
	return []craft{
		{true, "S", 0, 0, 0, cwin, 0, wscale},
		{false, "S.", 0, 1, 0, swin, time.Millisecond, wscale},
		cl(".", 1, 1, 0, cwin, time.Millisecond),
	}
}

func concat(parts ...[]craft) []craft {
	var out []craft
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const ms = time.Millisecond

// tsharkScenarios are crafted sequences, each with the tshark fields it
// is built to raise, so that a sequence that no longer does fails.
var tsharkScenarios = []struct {
	name string
	segs []craft
	want []string
}{{
	name: "window full, zero window, probes, window update",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 500, 1000, 10*ms),
		cl("P.", 501, 1, 500, 1000, ms), // reaches the receiver's window edge
		sv(".", 1, 1001, 0, 0, ms),      // the receiver's buffer is full
		cl(".", 1001, 1, 1, 1000, 200*ms),
		sv(".", 1, 1001, 0, 0, ms), // the probe's byte is refused
		cl(".", 1001, 1, 1, 1000, 400*ms),
		sv(".", 1, 1001, 0, 0, ms),
		sv(".", 1, 1001, 0, 1000, 50*ms), // the application read
		cl("P.", 1001, 1, 500, 1000, ms),
		sv(".", 1, 1501, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.window_full", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.window_update"},
}, {
	name: "zero window probe whose byte is accepted",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 1000, 1000, 10*ms),
		sv(".", 1, 1001, 0, 0, ms),
		cl(".", 1001, 1, 1, 1000, 200*ms),
		sv(".", 1, 1002, 0, 0, ms), // Wireshark does not count the probe's byte as sent
		sv(".", 1, 1002, 0, 1000, 50*ms),
		cl("P.", 1002, 1, 500, 1000, ms),
		sv(".", 1, 1502, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.zero_window_probe", "tcp.analysis.ack_lost_segment", "tcp.analysis.lost_segment"},
}, {
	name: "window full with window scaling",
	segs: concat(craftOpen(1000, 1000, 2), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		sv(".", 1, 101, 0, 250, ms), // 250 << 2 = 1000 bytes
		cl("P.", 101, 1, 1000, 1000, ms),
		sv(".", 1, 1101, 0, 250, ms),
	}),
	want: []string{"tcp.analysis.window_full"},
}, {
	name: "window full against the SYN-ACK's unscaled window",
	segs: concat(craftOpen(1000, 1000, 2), []craft{
		cl("P.", 1, 1, 1000, 1000, 10*ms),
		sv(".", 1, 1001, 0, 250, ms),
	}),
}, {
	name: "window full against the handshake ACK's scaled window",
	segs: concat(craftOpen(250, 1000, 2), []craft{
		sv("P.", 1, 1, 1000, 1000, 10*ms),
		cl(".", 1, 1001, 0, 250, ms),
	}),
}, {
	name: "spurious retransmission",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		sv(".", 1, 101, 0, 1000, ms),
		cl("P.", 1, 1, 100, 1000, 300*ms), // already acknowledged
		sv(".", 1, 101, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.spurious_retransmission", "tcp.analysis.retransmission", "tcp.analysis.duplicate_ack"},
}, {
	name: "out of order and retransmission",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 101, 1, 100, 1000, 10*ms), // overtook the first
		cl("P.", 1, 1, 100, 1000, ms/2),
		sv(".", 1, 201, 0, 1000, ms),
		cl("P.", 201, 1, 100, 1000, 10*ms),
		cl("P.", 201, 1, 100, 1000, 300*ms), // timed out
		sv(".", 1, 301, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.lost_segment", "tcp.analysis.out_of_order", "tcp.analysis.retransmission"},
}, {
	// The out-of-order threshold is the SYN to handshake ACK time, 11 ms
	// here, not the SYN-ACK to ACK time.
	name: "out of order within the handshake round trip",
	segs: []craft{
		{true, "S", 0, 0, 0, 1000, 0, -1},
		{false, "S.", 0, 1, 0, 1000, 10 * ms, -1},
		cl(".", 1, 1, 0, 1000, ms),
		cl("P.", 101, 1, 100, 1000, 10*ms),
		cl("P.", 1, 1, 100, 1000, 5*ms),
		sv(".", 1, 201, 0, 1000, ms),
	},
	want: []string{"tcp.analysis.out_of_order"},
}, {
	// Without the SYN there is no first round trip: the threshold is
	// Wireshark's default 3 ms.
	name: "out of order in a connection seen from its SYN-ACK",
	segs: []craft{
		{false, "S.", 0, 1, 0, 1000, 0, -1},
		cl(".", 1, 1, 0, 1000, ms),
		cl("P.", 101, 1, 100, 1000, 10*ms),
		cl("P.", 1, 1, 100, 1000, 2*ms),
		sv(".", 1, 201, 0, 1000, ms),
		cl("P.", 301, 1, 100, 1000, 10*ms),
		cl("P.", 201, 1, 100, 1000, 4*ms),
	},
	want: []string{"tcp.analysis.out_of_order", "tcp.analysis.retransmission"},
}, {
	// Wireshark checks for spurious retransmission before out-of-order.
	name: "acknowledged data sent again at once",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		cl("P.", 101, 1, 100, 1000, ms/10),
		sv(".", 1, 101, 0, 1000, ms/10),
		cl("P.", 1, 1, 100, 1000, ms/10),
	}),
	want: []string{"tcp.analysis.spurious_retransmission"},
}, {
	name: "retransmissions that are not out of order",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		cl("P.", 101, 1, 100, 1000, ms/10),
		cl("P.", 101, 1, 100, 1000, ms/10), // ends where the highest does
		cl("P.", 51, 1, 100, 1000, ms/10),  // partly acknowledged below
		sv(".", 1, 101, 0, 1000, ms/10),
		cl("P.", 51, 1, 100, 1000, ms/10),
		cl("P.", 200, 1, 50, 1000, ms), // one byte below the next: new data
		cl("F.", 250, 1, 0, 1000, ms),
		cl("F.", 250, 1, 0, 1000, ms), // a FIN sent again at once
		sv("F.", 1, 251, 0, 1000, ms),
		sv("F.", 1, 251, 0, 1000, ms/2),
		cl(".", 251, 2, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.retransmission"},
}, {
	name: "fast retransmission too late, and a reset past a gap",
	segs: concat(craftOpen(8000, 8000, -1), []craft{
		cl("P.", 1, 1, 100, 8000, 10*ms),
		cl("P.", 201, 1, 100, 8000, ms/10),
		sv(".", 1, 101, 0, 8000, ms),
		sv(".", 1, 101, 0, 8000, ms/10),
		sv(".", 1, 101, 0, 8000, ms/10),
		cl("P.", 101, 1, 100, 8000, 30*ms), // 30 ms after the last duplicate
		sv(".", 1, 301, 0, 8000, ms),
		sv(".", 1, 301, 0, 0, ms),    // zero window repeated
		sv(".", 1, 301, 0, 0, ms),    // is no duplicate ACK
		sv(".", 1, 301, 0, 4000, ms), // window update
		cl("R.", 501, 1, 0, 0, ms),
	}),
	want: []string{"tcp.analysis.duplicate_ack", "tcp.analysis.retransmission", "tcp.analysis.window_update", "tcp.analysis.zero_window"},
}, {
	name: "duplicate acks and fast retransmission",
	segs: concat(craftOpen(8000, 8000, -1), []craft{
		cl("P.", 1, 1, 100, 8000, 10*ms),
		cl("P.", 201, 1, 100, 8000, ms/10), // 101-200 was lost
		cl("P.", 301, 1, 100, 8000, ms/10),
		cl("P.", 401, 1, 100, 8000, ms/10),
		sv(".", 1, 101, 0, 8000, ms),
		sv(".", 1, 101, 0, 8000, ms/10),
		sv(".", 1, 101, 0, 8000, ms/10),
		sv(".", 1, 101, 0, 8000, ms/10),
		cl("P.", 101, 1, 100, 8000, ms),
		sv(".", 1, 501, 0, 8000, ms),
	}),
	want: []string{"tcp.analysis.lost_segment", "tcp.analysis.duplicate_ack", "tcp.analysis.fast_retransmission", "tcp.analysis.retransmission"},
}, {
	name: "acked unseen segment",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		sv(".", 1, 201, 0, 1000, ms), // 101-200 never reached the capture
		cl("P.", 201, 1, 100, 1000, ms),
		sv(".", 1, 301, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.ack_lost_segment", "tcp.analysis.lost_segment"},
}, {
	name: "keep-alives",
	segs: concat(craftOpen(1000, 1000, -1), []craft{
		cl("P.", 1, 1, 100, 1000, 10*ms),
		sv(".", 1, 101, 0, 1000, ms),
		cl(".", 100, 1, 0, 1000, 10*time.Second),
		sv(".", 1, 101, 0, 1000, ms),
		cl(".", 100, 1, 1, 1000, 10*time.Second), // with the garbage byte
		sv(".", 1, 101, 0, 1000, ms),
	}),
	want: []string{"tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack"},
}}

// writeCrafted writes segs as an Ethernet pcap with valid checksums.
func writeCrafted(t *testing.T, file string, segs []craft) {
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w := pcapgo.NewWriter(fh)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cmac, smac := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	cip, sip := net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range segs {
		ts = ts.Add(s.gap)
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Window: s.win,
			Seq: clientISN + s.seq, Ack: serverISN + s.ack}
		if !s.fromClient {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = sip, cip
			tcp.SrcPort, tcp.DstPort = 80, 40000
			tcp.Seq, tcp.Ack = serverISN+s.seq, clientISN+s.ack
		}
		has := func(c string) bool { return strings.Contains(s.flags, c) }
		tcp.SYN, tcp.ACK, tcp.FIN, tcp.RST, tcp.PSH = has("S"), has("."), has("F"), has("R"), has("P")
		if !tcp.ACK {
			tcp.Ack = 0
		}
		if s.wscale >= 0 {
			tcp.Options = []layers.TCPOption{
				{OptionType: layers.TCPOptionKindNop},
				{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(s.wscale)}},
			}
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		payload := make([]byte, s.len)
		for i := range payload {
			payload[i] = 'a' + byte(i%26)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAnomaliesAgreeWithTsharkCrafted writes each scenario as a capture
// and requires synfin's anomalies to equal tshark's flags on every
// segment; together the scenarios raise every tshark field compared.
func TestAnomaliesAgreeWithTsharkCrafted(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	total := make([]agreement, len(tsharkFields))
	for _, sc := range tsharkScenarios {
		t.Run(sc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), strings.ReplaceAll(sc.name, " ", "-")+".pcap")
			writeCrafted(t, file, sc.segs)
			mine := agreeWithTshark(t, tshark, file, sc.want)
			for i := range total {
				total[i].both += mine[i].both
				total[i].tsharkOnly += mine[i].tsharkOnly
				total[i].oursOnly += mine[i].oursOnly
			}
		})
	}
	t.Logf("anomalies over %d crafted captures:\n%s", len(tsharkScenarios), agreementTable(total))
	for i, f := range tsharkFields {
		if total[i].both+total[i].tsharkOnly == 0 {
			t.Errorf("no scenario makes tshark raise %s", f.field)
		}
	}
}
