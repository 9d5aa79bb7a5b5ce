package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
	"synfin/summary"
)

// Findings and fields of conns and summary that tshark's dissection of
// the same packets decides.

// tsharkFields returns, for each packet of file that has them, the
// fields tshark -T fields prints.
func tsharkFields(t *testing.T, file string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(testenv.NeedTool(t, "tshark"), args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Split(l, ","); len(f) == len(fields) {
			rows = append(rows, f)
		}
	}
	return rows
}

// seconds reads a time stamp as tshark prints it.
func seconds(s string) float64 {
	var v float64
	fmt.Sscan(s, &v)
	return v
}

// on reads a flag as tshark prints it (1 or True).
func on(s string) bool { return s == "1" || s == "True" }

// TestReuseWithin2MSL checks conns --json's port_reuse.within_2msl
// against tshark's reading of the packets. For each SYN that tshark flags
// as reusing a tuple (tcp.analysis.reused_ports), the earlier connection
// on the tuple decides: ended by a reset, nothing holds the tuple; closed
// by a FIN each way, the end that closed first entered TIME-WAIT when
// the later FIN reached it and holds it 2MSL (RFC 9293 3.10.7.4; Linux's
// 60 s), so the SYN is within 2MSL if it came less than 60 s after that
// FIN; not closed, the tuple is still in use.
func TestReuseWithin2MSL(t *testing.T) {
	files := []string{
		filepath.Join("..", "..", "lab", "verdict", "testdata", "k-time-wait-reuse.pcap"), // the kernel's
		filepath.Join(corpus.Dir(t, "other", "arkime"), "tcp-reassembly-synthetic.pcap"),
		generated("--conns", "200", "--time-wait-reuse", "5")(t),
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			type tuple struct {
				fins    map[string]bool // the senders of FINs
				lastFIN float64
				rst     bool
			}
			tuples := map[string]*tuple{}
			want := map[string]bool{} // the reusing SYN's time (µs) → within 2MSL
			for _, f := range tsharkFields(t, file, "frame.time_epoch", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
				"tcp.dstport", "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset", "tcp.analysis.reused_ports") {
				if f[3] == "" {
					continue
				}
				ts := seconds(f[0])
				src, dst := f[1]+f[2]+"."+f[3], f[4]+f[5]+"."+f[6]
				key := min(src, dst) + " " + max(src, dst)
				tu := tuples[key]
				if tu == nil || on(f[7]) && !on(f[8]) && on(f[11]) {
					if tu != nil {
						done := len(tu.fins) == 2
						want[fmt.Sprintf("%.6f", ts)] = !tu.rst && (!done || ts-tu.lastFIN < 60)
					}
					tu = &tuple{fins: map[string]bool{}}
					tuples[key] = tu
				}
				if on(f[9]) {
					tu.fins[src], tu.lastFIN = true, ts
				}
				tu.rst = tu.rst || on(f[10])
			}
			if len(want) == 0 {
				t.Fatal("tshark flags no reused tuple")
			}
			got := map[string]bool{}
			for _, l := range strings.Split(strings.TrimSpace(runOK(t, "conns", "--json", "-r", file)), "\n") {
				var row struct {
					TS    float64 `json:"ts"`
					Reuse *struct {
						Within2MSL bool `json:"within_2msl"`
					} `json:"port_reuse"`
				}
				if err := json.Unmarshal([]byte(l), &row); err != nil {
					t.Fatal(err)
				}
				if row.Reuse != nil {
					got[fmt.Sprintf("%.6f", math.Round(row.TS*1e6)/1e6)] = row.Reuse.Within2MSL
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("within_2msl by the reusing SYN's time: %v; tshark's packets say %v", got, want)
			}
		})
	}
}

// TestSYNFloodUnanswered: the SYN-flood finding counts the half-open
// handshakes tshark reads in the packets, those the server never
// answered with them. gen's flood (600 spoofed sources, each SYN
// answered) is read as written, then with tshark's filter taking out the
// SYN-ACKs to the sources in 198.18.1.0/24 and 198.18.2.0/24, as when a
// full SYN queue drops their SYNs. tshark's conversations give the
// oracle: to the flood's listener, in the finding's second, those where
// the client sent nothing but one SYN, or its SYN again and got a
// SYN-ACK (an unanswered SYN sent again is a real client's, which the
// accept-queue finding counts), and no reset; and among them, the SYNs
// without a SYN-ACK.
func TestSYNFloodUnanswered(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	whole := generated("--conns", "2000", "--synflood", "600")(t)
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	drop := "tcp.flags.syn==1 && tcp.flags.ack==1 && (ip.dst==198.18.1.0/24 || ip.dst==198.18.2.0/24)"
	if out, err := exec.Command(tshark, "-n", "-r", whole, "-Y", "!("+drop+")", "-w", cut).CombinedOutput(); err != nil {
		t.Fatalf("tshark: %v: %s", err, out)
	}
	const listener = "192.168.0.10:9988"
	for _, c := range []struct {
		file       string
		unanswered int // of the flood's SYNs, by construction
	}{{whole, 0}, {cut, 256 + 89}} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			var s summary.Summary
			if err := json.Unmarshal([]byte(runOK(t, "summary", "--json", "-r", c.file)), &s); err != nil {
				t.Fatal(err)
			}
			var flood *summary.Finding
			for i, f := range s.Findings {
				if f.Kind == summary.SYNFlood {
					if flood != nil || f.Addr != listener {
						t.Fatalf("findings %+v: want one syn-flood, at %s", s.Findings, listener)
					}
					flood = &s.Findings[i]
				}
			}
			if flood == nil {
				t.Fatalf("no syn-flood finding in %+v", s.Findings)
			}

			type conv struct {
				client, server       string
				start                int64
				syns, other, synacks int
				rst                  bool
			}
			convs := map[string]*conv{}
			var order []*conv
			for _, f := range tsharkFields(t, c.file, "tcp.stream", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
				"tcp.flags.syn", "tcp.flags.ack", "tcp.flags.reset") {
				src, dst := f[2]+":"+f[3], f[4]+":"+f[5]
				cv := convs[f[0]]
				if cv == nil {
					ts := seconds(f[1])
					cv = &conv{client: src, server: dst, start: int64(ts)}
					convs[f[0]] = cv
					order = append(order, cv)
				}
				switch syn, ack := on(f[6]), on(f[7]); {
				case on(f[8]):
					cv.rst = true
				case src == cv.client && syn && !ack:
					cv.syns++
				case src == cv.client:
					cv.other++
				case syn && ack:
					cv.synacks++
				}
			}
			halfOpen, noSYNACK, sources := 0, 0, map[string]bool{}
			for _, cv := range order {
				if cv.server != listener || cv.start != flood.T || cv.syns == 0 || cv.other > 0 || cv.rst ||
					cv.synacks == 0 && cv.syns > 1 {
					continue
				}
				halfOpen++
				sources[strings.Split(cv.client, ":")[0]] = true
				if cv.synacks == 0 {
					noSYNACK++
				}
			}
			if flood.Count != halfOpen || flood.Distinct != min(len(sources), 1024) || noSYNACK != c.unanswered {
				t.Errorf("syn-flood %d half-open handshakes from %d sources; tshark: %d, from %d, %d of them SYNs without a SYN-ACK (%d taken out)",
					flood.Count, flood.Distinct, halfOpen, len(sources), noSYNACK, c.unanswered)
			}
			t.Logf("syn-flood at %s: %d half-open handshakes, %d SYNs without a SYN-ACK (tshark)", flood.Addr, flood.Count, noSYNACK)
		})
	}
}
