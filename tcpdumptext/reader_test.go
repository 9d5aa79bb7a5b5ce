package tcpdumptext

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/wire"
)

// seg is a decoded frame as the tests state it.
type seg struct {
	Index      int
	Time       string // RFC 3339 with ns, UTC
	Link       wire.LinkType
	Src, Dst   string
	Flags      string
	Seq, Ack   uint32
	Win        uint16
	Opts       string // option bytes, hex
	PayloadLen int
}

type warning struct {
	Line int
	Err  string
}

// readAll parses text and decodes every frame with wire.Decode.
func readAll(t *testing.T, text string, opt Options) ([]seg, []warning, Stats) {
	t.Helper()
	var warns []warning
	opt.Warn = func(line int, _ string, err error) { warns = append(warns, warning{line, err.Error()}) }
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	r := NewReader(bufio.NewReader(strings.NewReader(text)), opt)
	frames, err := pcaptest.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var out []seg
	for _, f := range frames {
		var p wire.Packet
		if err := p.Decode(f.Link, f.Data); err != nil {
			t.Fatalf("frame %d does not decode: %v", f.Index, err)
		}
		out = append(out, seg{
			Index: f.Index, Time: time.Unix(0, f.Time).UTC().Format(time.RFC3339Nano), Link: f.Link,
			Src: fmt.Sprintf("%s.%d", p.Src, p.SrcPort), Dst: fmt.Sprintf("%s.%d", p.Dst, p.DstPort),
			Flags: p.Flags.String(), Seq: p.Seq, Ack: p.Ack, Win: p.Window,
			Opts: fmt.Sprintf("%x", p.Options), PayloadLen: p.PayloadLen,
		})
	}
	return out, warns, r.Stats()
}

// TestSeed reads the blog post's capture: values below are copied by hand
// from the text of capture.txt (ports 41631 and 41474 to nsesrvr, 9988).
func TestSeed(t *testing.T) {
	b, err := os.ReadFile(corpus.Seed(t, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The post's machine ran in UTC+8 on 2016-12-12 (DESIGN: 1481531673.611019).
	cst := time.FixedZone("CST", 8*3600)
	got, warns, st := readAll(t, string(b), Options{Location: cst, Date: time.Date(2016, 12, 12, 0, 0, 0, 0, cst)})
	ts := func(tv uint32, te uint32) string { return fmt.Sprintf("0101080a%08x%08x", tv, te) }
	syn := func(tv, te uint32) string { return fmt.Sprintf("0204400c0402080a%08x%08x01030307", tv, te) }
	want := []seg{
		{1, "2016-12-12T08:34:33.611019Z", wire.LinkRaw, "127.0.0.1.41631", "127.0.0.1.9988", "S", 2970024578, 0, 32792, syn(514254463, 0), 0},
		{2, "2016-12-12T08:34:33.611035Z", wire.LinkRaw, "127.0.0.1.9988", "127.0.0.1.41631", "SA", 2032818397, 2970024579, 32768, syn(514254463, 514254463), 0},
		{3, "2016-12-12T08:34:33.611045Z", wire.LinkRaw, "127.0.0.1.41631", "127.0.0.1.9988", "A", 2970024579, 2032818398, 257, ts(514254463, 514254463), 0},
		{4, "2016-12-12T08:34:33.61115Z", wire.LinkRaw, "127.0.0.1.9988", "127.0.0.1.41474", "FA", 507613731, 3023763844, 256, ts(514254463, 514208493), 0},
		{5, "2016-12-12T08:34:33.611163Z", wire.LinkRaw, "127.0.0.1.41474", "127.0.0.1.9988", "A", 3023763844, 507613732, 257, ts(514254463, 514254463), 0},
		{6, "2016-12-12T08:34:33.612059Z", wire.LinkRaw, "127.0.0.1.41631", "127.0.0.1.9988", "FA", 2970024579, 2032818398, 257, ts(514254464, 514254463), 0},
		{7, "2016-12-12T08:34:33.612718Z", wire.LinkRaw, "127.0.0.1.9988", "127.0.0.1.41631", "A", 2032818398, 2970024580, 256, ts(514254465, 514254464), 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed (-want +got):\n%s", diff)
	}
	if len(warns) != 0 || st.TCP != 7 || st.Skipped != 0 {
		t.Errorf("warnings %v, stats %+v", warns, st)
	}
	if ft := time.Date(2016, 12, 12, 16, 34, 33, 611019000, cst).Unix(); ft != 1481531673 {
		t.Errorf("seed second %d, DESIGN says 1481531673", ft)
	}
}

func TestReader(t *testing.T) {
	const day = "1970-01-01T"
	tests := []struct {
		name  string
		text  string
		opt   Options
		want  []seg
		warns []warning
	}{{
		name: "relative sequence numbers, SACK and data",
		text: `10:00:00.000001 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 3000000000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
10:00:00.000002 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [S.], seq 1000000000, ack 3000000001, win 65160, options [mss 1460], length 0
10:00:00.000003 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 1, win 502, length 0
10:00:00.000004 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 1:101, ack 1, win 502, length 100: HTTP: GET / HTTP/1.1
10:00:00.000005 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 101, win 509, options [nop,nop,sack 1 {201:301}], length 0
`,
		want: []seg{
			{1, day + "10:00:00.000001Z", wire.LinkRaw, "10.0.0.1.40000", "10.0.0.2.80", "S", 3000000000, 0, 64240, "020405b40402080a00000001000000000103030700000000"[:40], 0},
			{2, day + "10:00:00.000002Z", wire.LinkRaw, "10.0.0.2.80", "10.0.0.1.40000", "SA", 1000000000, 3000000001, 65160, "020405b4", 0},
			{3, day + "10:00:00.000003Z", wire.LinkRaw, "10.0.0.1.40000", "10.0.0.2.80", "A", 3000000001, 1000000001, 502, "", 0},
			{4, day + "10:00:00.000004Z", wire.LinkRaw, "10.0.0.1.40000", "10.0.0.2.80", "PA", 3000000001, 1000000001, 502, "", 100},
			{5, day + "10:00:00.000005Z", wire.LinkRaw, "10.0.0.2.80", "10.0.0.1.40000", "A", 1000000001, 3000000101, 509, "0101050a" + "b2d05ec9" + "b2d05f2d", 0},
		},
	}, {
		name: "-v two-line IPv4 and one-line IPv6, -# numbers",
		text: `    3  2020-01-02 03:04:05.123456789 IP (tos 0x0, ttl 61, id 7, offset 0, flags [DF], proto TCP (6), length 40)
    192.0.2.1.22 > 192.0.2.2.5000: Flags [R], cksum 0x1234 (incorrect -> 0x5678), seq 7, win 0, length 0
    9  2020-01-02 03:04:06.000000001 IP6 (flowlabel 0x12345, hlim 64, next-header TCP (6), payload length 20) 2001:db8::1.443 > 2001:db8::2.1234: Flags [F.], cksum 0xabcd (correct), seq 5, ack 9, win 10, length 0
`,
		opt: Options{Seq: SeqAbsolute},
		want: []seg{
			{3, "2020-01-02T03:04:05.123456789Z", wire.LinkRaw, "192.0.2.1.22", "192.0.2.2.5000", "R", 7, 0, 0, "", 0},
			{9, "2020-01-02T03:04:06.000000001Z", wire.LinkRaw, "2001:db8::1.443", "2001:db8::2.1234", "FA", 5, 9, 10, "", 0},
		},
	}, {
		name: "-e Ethernet, -q, -tt, names, HBH, skipped lines",
		text: `reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 262144
1.000001 8c:85:90:3f:77:dd (oui Unknown) > d4:ca:6d:2e:7f:67 (oui Unknown), ethertype IPv4 (0x0800), length 78: localhost.41631 > localhost.nsesrvr: Flags [S], seq 5, win 65535, length 0
2.000002 IP 10.0.0.1.53 > 10.0.0.2.999: 1+ A? example. (30)
3.000003 IP example.com.ssh > localhost.http: tcp 48
4.000004 IP6 2001:db8::d > 2001:db8::b: HBH 41851 > 43913: Flags [P.], seq 1:80001, ack 2, win 2128, length 80000
5 packets captured
`,
		opt: Options{Seq: SeqAbsolute},
		want: []seg{
			{1, "1970-01-01T00:00:01.000001Z", wire.LinkEthernet, "127.0.0.1.41631", "127.0.0.1.9988", "S", 5, 0, 65535, "", 0},
			{3, "1970-01-01T00:00:03.000003Z", wire.LinkRaw, synthName("example.com") + ".22", "127.0.0.1.80", "", 0, 0, 0, "", 48},
			{4, "1970-01-01T00:00:04.000004Z", wire.LinkRaw, "2001:db8::d.41851", "2001:db8::b.43913", "PA", 1, 2, 2128, "", 80000},
		},
	}, {
		name: "VXLAN inner line, -ttt with a negative gap, options",
		text: ` 00:00:00.000000 IP 10.1.1.1.5555 > 10.1.1.2.4789: VXLAN, flags [I] (0x08), vni 5001
IP 10.9.9.1.1 > 10.9.9.2.2: Flags [S], seq 9, win 1, options [exp-tfo cookiereq,tfo cookie 0102030405060708,unknown-99 0xab,md5 valid,eol], length 0
 00:00:01.500000 IP 10.9.9.1.1 > 10.9.9.2.2: Flags [R], seq 10, win 0, options [mptcp 12 capable v1 {0x1},nop,nop], length 0
-00:00:00.250000 IP 10.9.9.1.1 > 10.9.9.2.2: Flags [R], seq 11, win 0, length 0
 00:00:00.100000 IP 10.9.9.1.1 > 10.9.9.2.2: Flags [R], seq 12, win 0, length 0
`,
		opt: Options{Seq: SeqAbsolute, TimeFormat: TimeSincePrev},
		want: []seg{
			{1, day + "00:00:00Z", wire.LinkRaw, "10.9.9.1.1", "10.9.9.2.2", "S", 9, 0, 1,
				"fe04f989" + "220a0102030405060708" + "6303ab" + "1312" + strings.Repeat("00", 16) + "00", 0},
			{2, day + "00:00:01.5Z", wire.LinkRaw, "10.9.9.1.1", "10.9.9.2.2", "R", 10, 0, 0, "1e0c0100" + "0000000000000001" + "0101" + "0000", 0},
			{3, day + "00:00:01.25Z", wire.LinkRaw, "10.9.9.1.1", "10.9.9.2.2", "R", 11, 0, 0, "", 0},
			{4, day + "00:00:01.35Z", wire.LinkRaw, "10.9.9.1.1", "10.9.9.2.2", "R", 12, 0, 0, "", 0},
		},
	}, {
		name: "midnight, hex dump bytes, unreadable lines warned",
		text: `23:59:59.999999 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 2, length 0
00:00:00.000001 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [R], seq 2, win 0, length 2
	0x0000:  4500 002a 0000 4000 4006 26cc 0a00 0001
	0x0010:  0a00 0002 0001 0002 0000 0002 0000 0000
	0x0020:  5004 0000 0000 0000 abcd
00:00:00.000002 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 2, [|tcp]
00:00:00.000003 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [Q], seq 1, win 2, length 0
00:00:00.000004 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 2, options [wat 3], length 0
00:00:00.000005 IP 10.0.0.1.1 > 10.0.0.2.bogus-service: Flags [S], seq 1, win 2, length 0
`,
		opt: Options{Seq: SeqAbsolute, Date: time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC)},
		want: []seg{
			{1, "2024-02-28T23:59:59.999999Z", wire.LinkRaw, "10.0.0.1.1", "10.0.0.2.2", "S", 1, 0, 2, "", 0},
			{2, "2024-02-29T00:00:00.000001Z", wire.LinkRaw, "10.0.0.1.1", "10.0.0.2.2", "R", 2, 0, 0, "", 2},
		},
		warns: []warning{
			{6, errTruncTCP.Error()}, {7, errFlags.Error()}, {8, errOptions.Error()}, {9, errPort.Error()},
		},
	}, {
		// Every line here is TCP that tcpdump could not have printed:
		// each is warned of, none is taken for a line that is not TCP.
		name: "malformed TCP lines warned, not skipped as other protocols",
		text: `1.000000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 2, length 0
1.000001 IP 10.0.0.2.2 > 10.0.0.1.1: Flags [S.], seq abc, ack 2, win 2, length 0
1.000002 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [.], ack 1, win 2, options [bogus 7], length 0
1.000003 IP 10.0.0.1.1 > 10.0.0.2.2: tcp abc
1.000004 IP 10.0.0.1.1 > 10.0.0.2.2: tcp
1.000005 IP 10.0.0.1.1 > 10.0.0.2.2: Flags[.], ack 1, win 2, length 0
IP 10.0.0.1.1 > 10.0.0.2.2: Flags [.], ack 1, win 2, length 0
1.0000x6 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [.], ack 1, win 2, length 0
1.000007 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [.], ack 1, win 2, options [mptcp 12 capable v1 {0xzz}], length 0
1.000008 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [R], seq 2, win 0, length 0
1.000009 IP 10.0.0.1.1 > 10.0.0.2.2: UDP, length 3
`,
		opt: Options{Seq: SeqAbsolute},
		want: []seg{
			{1, "1970-01-01T00:00:01Z", wire.LinkRaw, "10.0.0.1.1", "10.0.0.2.2", "S", 1, 0, 2, "", 0},
			{10, "1970-01-01T00:00:01.000008Z", wire.LinkRaw, "10.0.0.1.1", "10.0.0.2.2", "R", 2, 0, 0, "", 0},
		},
		warns: []warning{
			{2, errField.Error()}, {3, errOptions.Error()}, {4, errNoFields.Error()}, {5, errNoFields.Error()},
			{6, errNoFields.Error()}, {7, errNoStamp.Error()}, {8, errNoStamp.Error()}, {9, errOptions.Error()},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, _ := readAll(t, tt.text, tt.opt)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

// synthName is the synthetic IPv4 address a host name maps to.
func synthName(name string) string { return synthetic(name, false, nil).String() }

// TestLivePipeHandsOutEveryLine: from a pipe that stays open, as from
// tcpdump -l, every segment comes out once its line is in, the last one
// too, rather than when a later line shows that its record is over. The
// seed's lines are read through a pipe left open; every segment they hold
// must come out before it closes.
func TestLivePipeHandsOutEveryLine(t *testing.T) {
	text, err := os.ReadFile(corpus.Seed(t, "capture.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The oracle: the same text read to its end.
	var want []string
	r := NewReader(bufio.NewReader(strings.NewReader(string(text))), Options{})
	var f wire.Frame
	for r.Next(&f) == nil {
		want = append(want, fmt.Sprintf("%d %d", f.Index, f.Time))
	}
	if len(want) < 5 {
		t.Fatalf("%d segments in the seed", len(want))
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if _, err := pw.Write(text); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		r := NewReader(bufio.NewReader(pr), Options{})
		var f wire.Frame
		for r.Next(&f) == nil {
			got <- fmt.Sprintf("%d %d", f.Index, f.Time)
		}
		close(got)
	}()
	for i, w := range want {
		select {
		case g, ok := <-got:
			if !ok || g != w {
				t.Fatalf("segment %d: got %q (open %v), want %q", i+1, g, ok, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("segment %d of %d did not come out while the pipe was open", i+1, len(want))
		}
	}
}
