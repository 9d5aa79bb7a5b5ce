package vantage_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"synfin/internal/cli"
	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/fault"
	"synfin/vantage"
	"synfin/wire"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The captures in testdata were made by lab --vantage both (-w), on
// each side of the router: data-exchange with nothing dropped, and
// syn-retransmit, whose router dropped the first SYN-ACK, masqueraded
// the client and clamped the MSS to 1200.
func load(t *testing.T, name string) []wire.Frame {
	t.Helper()
	frames, err := pcaptest.File(t, filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return frames
}

func compare(a, b []wire.Frame) *vantage.Report {
	return vantage.Compare(vantage.FromFrames("a", a), vantage.FromFrames("b", b))
}

// TestClockOffset shifts the server's side's clock by known amounts: the
// offset estimated is the shift within the spread it says, and the
// delays corrected by it are the unshifted capture's, less the estimate
// there (the two captures share a clock).
func TestClockOffset(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	base := compare(a, b)
	if base.Clock.Applied || !base.Clock.Known {
		t.Fatalf("one clock: %+v", base.Clock)
	}
	for _, shift := range []int64{5e9, -3_200_000_123, 40_000} {
		shifted := slices.Clone(b)
		for i := range shifted {
			shifted[i].Time += shift
		}
		r := compare(a, shifted)
		c := r.Clock
		if !c.Known || !c.Applied || abs(c.Offset*1e9-float64(shift)) > c.Spread*1e9+1 {
			t.Errorf("shift %d ns: clock %+v", shift, c)
			continue
		}
		for i, s := range r.Connections[0].Segments {
			want := base.Connections[0].Segments[i]
			if s.Status != want.Status || abs(s.Delay-(want.Delay-sign(s.Dir)*base.Clock.Offset*1e3)) > 2e-6 { // 1 ns: halving rounds
				t.Errorf("shift %d ns: segment %d %+v, unshifted %+v", shift, i, s, want)
			}
		}
	}
}

func sign(dir string) float64 {
	if dir == "s2c" {
		return -1
	}
	return 1
}

func abs(v float64) float64 { return max(v, -v) }

// tcpAt returns the offsets of the IPv4 header and the TCP header of an
// Ethernet frame.
func tcpAt(t *testing.T, f *wire.Frame) (ip, tcp int) {
	var p wire.Packet
	if err := p.Decode(f.Link, f.Data); err != nil {
		t.Fatal(err)
	}
	return p.NetOff, p.TransOff
}

// TestSplit splits the client's 100-byte segment in two on the server's
// side, as GSO or a middlebox would: its bytes crossed, so it is not
// lost, and the split is named.
func TestSplit(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	const data = 5 // B#6, the client's P. 1:101(100) (tcpdump -#)
	f := b[data]
	ip, tcp := tcpAt(t, &f)
	hdr := tcp + int(f.Data[tcp+12]>>4)*4
	if len(f.Data)-hdr != 100 {
		t.Fatalf("frame %d: %d bytes of payload", f.Index, len(f.Data)-hdr)
	}
	half := func(first bool) wire.Frame {
		g := f
		g.Data = append(slices.Clone(f.Data[:hdr]), f.Data[hdr:hdr+50]...)
		binary.BigEndian.PutUint16(g.Data[ip+2:], uint16(hdr-ip+50))
		if !first {
			seq := binary.BigEndian.Uint32(g.Data[tcp+4:])
			binary.BigEndian.PutUint32(g.Data[tcp+4:], seq+50)
			g.Time++
		}
		g.CapLen, g.WireLen = len(g.Data), len(g.Data)
		return g
	}
	b = slices.Concat(b[:data], []wire.Frame{half(true), half(false)}, b[data+1:])
	c := compare(a, b).Connections[0]
	if c.Counts[vantage.Lost] != 0 || c.Counts[vantage.Resegmented] != 3 || c.Counts[vantage.FarOnly] != 0 {
		t.Errorf("counts %v, want the segment and its two halves resegmented, nothing lost", c.Counts)
	}
	if !slices.ContainsFunc(c.Changes, func(ch vantage.Change) bool { return ch.What == "resegmented" && ch.Dir == "c2s" }) {
		t.Errorf("changes %+v name no split", c.Changes)
	}
}

// TestSeqRewrite shifts both ends' sequence numbers on the server's
// side, as a firewall that randomises ISNs does: the connection is
// matched by its timestamps, the offsets are said, and nothing is lost.
func TestSeqRewrite(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	off := [2]uint32{1_000_000, 0xfffff000} // client's, server's
	for i := range b {
		f := &b[i]
		f.Data = slices.Clone(f.Data)
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil || !p.HasTCP {
			continue
		}
		d := 0
		if p.SrcPort == 9988 {
			d = 1
		}
		binary.BigEndian.PutUint32(f.Data[p.TransOff+4:], p.Seq+off[d])
		if p.Flags.Has(wire.ACK) {
			binary.BigEndian.PutUint32(f.Data[p.TransOff+8:], p.Ack+off[1-d])
		}
	}
	r := compare(a, b)
	if len(r.Connections) != 1 {
		t.Fatalf("%d connections matched", len(r.Connections))
	}
	c := r.Connections[0]
	want := [2]int64{int64(int32(off[0])), int64(int32(off[1]))}
	if c.SeqOffset != want || slices.Contains(c.MatchedBy, "isn") || !slices.Contains(c.MatchedBy, "timestamps") {
		t.Errorf("offsets %v matched by %v, want %v by timestamps", c.SeqOffset, c.MatchedBy, want)
	}
	if c.Counts[vantage.Both] != len(c.Segments) {
		t.Errorf("counts %v", c.Counts)
	}
}

// TestBound: a capture holds at most Max segments, and the report says
// what was left out.
func TestBound(t *testing.T) {
	a := vantage.NewCapture("a", 4)
	for _, f := range load(t, "data.pcap") {
		a.Add(&f)
	}
	r := vantage.Compare(a, vantage.FromFrames("b", load(t, "data.server.pcap")))
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "more than 4 TCP segments: the 7 after them") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

// TestText checks the text in both languages against golden files. The
// English one was checked against tcpdump -# -n -S -v on the two
// captures: frames, flags, relative numbers, the client's address and
// MSS on each side, the SYN-ACK B#4 missing at A, and the delays as the
// differences of tcpdump's time stamps.
func TestText(t *testing.T) {
	a, b := load(t, "syn-retransmit.pcap"), load(t, "syn-retransmit.server.pcap")
	r := vantage.Compare(vantage.FromFrames("client.pcap", a), vantage.FromFrames("server.pcap", b))
	for _, lang := range []string{"en", "zh"} {
		var got bytes.Buffer
		if err := r.WriteText(&got, lang, 0); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join("testdata", "syn-retransmit."+lang+".out")
		if *update {
			if err := os.WriteFile(name, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestTOSAndOptions marks the client's segments CE with DSCP 10 and
// strips the SYN's window scale option on the server's side (it stays a
// NOP-padded option list of the same length): each change is named,
// with the segments it was seen on.
func TestTOSAndOptions(t *testing.T) {
	a, b := load(t, "data.pcap"), load(t, "data.server.pcap")
	n := 0
	for i := range b {
		f := &b[i]
		var p wire.Packet
		if p.Decode(f.Link, f.Data) != nil || !p.HasTCP || p.SrcPort == 9988 {
			continue
		}
		f.Data = slices.Clone(f.Data)
		f.Data[p.NetOff+1] = 10<<2 | 3
		n++
		if p.Flags.Has(wire.SYN) {
			opts := f.Data[p.TransOff+20 : p.TransOff+p.HeaderLen]
			for j := 0; j+2 < len(opts); {
				if opts[j] == wire.OptNOP {
					j++
					continue
				}
				l := int(opts[j+1])
				if opts[j] == wire.OptWScale {
					copy(opts[j:j+l], []byte{1, 1, 1})
				}
				j += l
			}
		}
	}
	c := compare(a, b).Connections[0]
	var got []vantage.Change
	for _, ch := range c.Changes {
		if ch.What != "ttl" {
			got = append(got, ch)
		}
	}
	want := []vantage.Change{
		{What: "wscale-removed", Dir: "c2s", N: 1},
		{What: "dscp", Dir: "c2s", From: "0", To: "10", N: n},
		{What: "ecn", Dir: "c2s", From: "Not-ECT", To: "CE", N: n},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

// TestLabFaults runs scenarios across the lab's router, with a capture
// on each side of it, and compares the two captures with synfin
// compare. The fault the router applies is the oracle: nftables' own
// counters say what it dropped, tcpdump which segment that was, what
// each side saw (addresses, MSS) and each frame's time stamp.
func TestLabFaults(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	data, err := lab.Lookup("data-exchange")
	if err != nil {
		t.Fatal(err)
	}
	dataLost := *data
	dataLost.Faults = []lab.Fault{{From: lab.Client, Rule: fault.Rule{Flags: wire.PSH | wire.ACK, Mask: wire.SYN | wire.ACK | wire.FIN | wire.RST | wire.PSH, Nth: 1}}}
	synack, err := lab.Lookup("syn-retransmit")
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		name string
		sc   *lab.Scenario
		path lab.Path
		// the segment dropped: its direction and tcpdump's flags at
		// the sender's side; "": nothing is dropped.
		dir, flags string
	}{
		{"clean", data, lab.Path{}, "", ""},
		{"syn-ack-dropped", synack, lab.Path{Masquerade: true, ClampMSS: 1200}, "s2c", "S."},
		{"data-dropped", &dataLost, lab.Path{}, "c2s", "P."},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := labtest.KernelWith(t, c.sc, lab.Options{Port: uint16(9890 + i), Path: &c.path})
			dir := t.TempDir()
			a, b := filepath.Join(dir, "client.pcap"), filepath.Join(dir, "server.pcap")
			pcaptest.WriteFile(t, a, res.Link, res.Frames)
			pcaptest.WriteFile(t, b, res.Link, res.Far)
			rep := compareJSON(t, a, b)
			if len(rep.Connections) != 1 || len(rep.OnlyA)+len(rep.OnlyB) != 0 {
				t.Fatalf("connections: %+v, only at A %v, only at B %v", rep.Connections, rep.OnlyA, rep.OnlyB)
			}
			conn := rep.Connections[0]
			if conn.ClientSide != "A" {
				t.Errorf("client side %s, want A", conn.ClientSide)
			}
			dropped := uint64(0)
			for _, f := range res.Faults {
				dropped += f.Dropped
			}
			var lost []vantage.Seg
			for _, s := range conn.Segments {
				switch s.Status {
				case vantage.Lost:
					lost = append(lost, s)
				case vantage.Both:
				default:
					t.Errorf("segment %+v: status %s", s, s.Status)
				}
			}
			if uint64(len(lost)) != dropped {
				t.Fatalf("%d segments lost between the points, the router dropped %d: %+v", len(lost), dropped, lost)
			}
			pa, pb := printed(t, tcpdump, a), printed(t, tcpdump, b)
			if c.flags != "" {
				// The router drops the first segment of its rule: the
				// first with those flags from the sender's side.
				sender, frame := pa, lost[0].FrameA
				if c.dir == "s2c" {
					sender, frame = pb, lost[0].FrameB
				}
				if want := sender.first(c.flags, c.sc.Faults[0].RuleFor(uint16(9890+i))); lost[0].Dir != c.dir || frame != want {
					t.Errorf("lost %+v, want %s frame %d, tcpdump's first [%s] at the sender's side", lost[0], c.dir, want, c.flags)
				}
				// Its retransmission is explained by it.
				explained := false
				for _, s := range conn.Segments {
					explained = explained || s.Retransmits == frame && s.OriginalStatus == vantage.Lost && s.Dir == c.dir
				}
				if !explained {
					t.Errorf("no retransmission of frame %d explained by its loss: %+v", frame, conn.Segments)
				}
			}
			checkDelays(t, pa, pb, conn)
			checkChanges(t, tcpdump, a, b, conn)
		})
	}
}

// compareJSON runs synfin compare --json on two captures.
func compareJSON(t *testing.T, a, b string) vantage.Report {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(context.Background(), []string{"compare", "--json", "-r", a, "-r", b}, nil, &out, &errb); code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errb.String())
	}
	var rep vantage.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// tcpdumpLines are tcpdump -# -n -S -tt --nano lines of a capture by
// frame number.
type tcpdumpLines map[int]string

var numbered = regexp.MustCompile(`^\s*(\d+)\s+(.*)$`)

func printed(t *testing.T, tcpdump, name string) tcpdumpLines {
	t.Helper()
	out, err := exec.Command(tcpdump, "-#", "-n", "-S", "-tt", "--nano", "-r", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	l := tcpdumpLines{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := numbered.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			l[n] = m[2]
		}
	}
	return l
}

// first returns the number of the first frame with flags that rule
// selects by port.
func (l tcpdumpLines) first(flags string, rule fault.Rule) int {
	for n := 1; n <= len(l)+10; n++ {
		line, ok := l[n]
		if !ok || !strings.Contains(line, "Flags ["+flags+"]") {
			continue
		}
		if rule.SrcPort != 0 && !strings.Contains(line, fmt.Sprintf(".%d > ", rule.SrcPort)) ||
			rule.DstPort != 0 && !strings.Contains(line, fmt.Sprintf(".%d: ", rule.DstPort)) {
			continue
		}
		return n
	}
	return -1
}

// checkDelays checks each one-way delay against the two frames' time
// stamps as tcpdump prints them.
func checkDelays(t *testing.T, pa, pb tcpdumpLines, conn vantage.Conn) {
	t.Helper()
	n := 0
	for _, s := range conn.Segments {
		if s.Status != vantage.Both {
			continue
		}
		want := pb.stamp(t, s.FrameB) - pa.stamp(t, s.FrameA)
		if s.Dir == "s2c" {
			want = -want
		}
		if got := int64(math.Round(s.Delay * 1e6)); got != want || want < 0 {
			t.Errorf("A#%d B#%d: delay %d ns, tcpdump's time stamps %d ns", s.FrameA, s.FrameB, got, want)
		}
		n++
	}
	if n == 0 {
		t.Error("no segment seen at both points")
	}
}

// stamp is the time stamp (ns) tcpdump -tt --nano printed for frame n.
func (l tcpdumpLines) stamp(t *testing.T, n int) int64 {
	stamp, _, _ := strings.Cut(l[n], " ")
	s, frac, _ := strings.Cut(stamp, ".")
	sec, err1 := strconv.ParseInt(s, 10, 64)
	ns, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || len(frac) != 9 {
		t.Fatalf("tcpdump: frame %d: %q", n, l[n])
	}
	return sec*1e9 + ns
}

var synLine = regexp.MustCompile(`\) (\S+)\.(\d+) > \S+: Flags \[S\].*?mss (\d+)`)

// checkChanges checks the translation and the MSS compare names against
// the client's SYN as tcpdump -v prints it on each side.
func checkChanges(t *testing.T, tcpdump, a, b string, conn vantage.Conn) {
	t.Helper()
	syn := func(name string) []string {
		out, err := exec.Command(tcpdump, "-n", "-v", "-r", name).Output()
		if err != nil {
			t.Fatal(err)
		}
		m := synLine.FindStringSubmatch(strings.ReplaceAll(string(out), "\n    ", " "))
		if m == nil {
			t.Fatalf("tcpdump -v shows no SYN with an MSS in %s", name)
		}
		return m[1:]
	}
	sa, sb := syn(a), syn(b)
	var want []vantage.Change
	if sa[0] != sb[0] || sa[1] != sb[1] {
		want = append(want, vantage.Change{What: "client", From: sa[0] + ":" + sa[1], To: sb[0] + ":" + sb[1], N: 1})
	}
	if sa[2] != sb[2] {
		want = append(want, vantage.Change{What: "mss", Dir: "c2s", From: sa[2], To: sb[2], N: 1})
	}
	var got []vantage.Change
	for _, c := range conn.Changes {
		if c.N = 1; c.What == "client" || c.What == "mss" && c.Dir == "c2s" {
			got = append(got, c)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("translation and MSS (-tcpdump +compare):\n%s", diff)
	}
}

// TestLabVantage runs lab --vantage both as a user does: the kernel's
// view agrees with the packets, and the comparison it shows is synfin
// compare's on the two captures it writes, with the SYN-ACK the router
// dropped lost between the points.
func TestLabVantage(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"lab", "--vantage", "both", "--nat", "--clamp-mss", "1200", "--json", "--port", "9895", "-w", filepath.Join(dir, "x.pcap"), "--html", filepath.Join(dir, "x.html"), "syn-retransmit"}
	if code := cli.Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("lab: exit %d: %s", code, errb.String())
	}
	var v struct {
		Comparison struct{ Agree bool }
		Compare    vantage.Report
	}
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Comparison.Agree {
		t.Errorf("the packets and the kernel disagree:\n%s", out.String())
	}
	rep := compareJSON(t, filepath.Join(dir, "x.pcap"), filepath.Join(dir, "x.server.pcap"))
	rep.A.Name, rep.B.Name = v.Compare.A.Name, v.Compare.B.Name
	if diff := cmp.Diff(rep, v.Compare); diff != "" {
		t.Errorf("lab's comparison (+) differs from compare's on its captures (-):\n%s", diff)
	}
	if len(rep.Connections) != 1 || rep.Connections[0].Counts[vantage.Lost] != 1 {
		t.Fatalf("want one connection with one segment lost: %+v", rep.Connections)
	}
	// The HTML report has the comparison as a section.
	page, err := os.ReadFile(filepath.Join(dir, "x.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{html.EscapeString(lab.HeadCompare.In("en")), "lost between the points: 1"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("x.html has no %q", want)
		}
	}
}
