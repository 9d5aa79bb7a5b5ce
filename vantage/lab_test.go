package vantage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
