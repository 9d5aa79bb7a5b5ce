package cli

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/testenv"
	"synfin/summary"
)

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

			out, err := exec.Command(tshark, "-n", "-r", c.file, "-T", "fields", "-E", "separator=,", "-e", "tcp.stream", "-e", "frame.time_epoch",
				"-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.reset", "ip").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			type conv struct {
				client, server       string
				start                int64
				syns, other, synacks int
				rst                  bool
			}
			convs := map[string]*conv{}
			var order []*conv
			on := func(s string) bool { return s == "1" || s == "True" }
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(l, ",")
				if len(f) != 9 {
					continue
				}
				src, dst := f[2]+":"+f[3], f[4]+":"+f[5]
				cv := convs[f[0]]
				if cv == nil {
					ts, _ := strconv.ParseFloat(f[1], 64)
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
