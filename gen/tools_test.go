package gen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/gen"
	"synfin/internal/testenv"
)

// toolCfg keeps the external tools quick.
var toolCfg = gen.Config{Conns: 3000, Seed: 42}

func writeFile(t *testing.T, cfg gen.Config) (string, gen.Stats) {
	t.Helper()
	b, st := write(t, cfg)
	name := filepath.Join(t.TempDir(), "gen.pcap")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return name, st
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "reading from file") && !strings.HasPrefix(l, "Running as user") {
			t.Errorf("%s says: %s", filepath.Base(name), l)
		}
	}
	return stdout.String()
}

// badRE finds tcpdump's complaints ("bad cksum", "[bad opt]"), not a
// checksum such as 0x3bad.
var badRE = regexp.MustCompile(`\bbad\b`)

// tcpdump reads every packet, finds every TCP checksum correct and marks
// nothing as truncated or bad.
func TestTcpdump(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for _, ng := range []bool{false, true} {
		cfg := toolCfg
		cfg.PcapNG = ng
		name, st := writeFile(t, cfg)
		out := run(t, tcpdump, "-n", "-vv", "-r", name)
		got := map[string]int64{
			"packets":   int64(strings.Count(out, "\n") - strings.Count(out, "\n ")),
			"correct":   int64(strings.Count(out, "(correct)")),
			"incorrect": int64(strings.Count(out, "incorrect")),
			"bad":       int64(len(badRE.FindAllString(out, -1))),
			"truncated": int64(strings.Count(out, "[|")),
		}
		want := map[string]int64{"packets": st.Packets, "correct": st.Packets, "incorrect": 0, "bad": 0, "truncated": 0}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pcapng=%v: tcpdump -vv (-want +got):\n%s", ng, diff)
		}
	}
}

// tshark verifies every checksum, sees one conversation per connection,
// and its TCP analysis finds exactly the irregularities the generator put
// in, in the reference mix and in one long transfer, in order or not.
func TestTshark(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	for _, tc := range []struct {
		name string
		cfg  gen.Config
	}{
		{"mix", toolCfg},
		{"transfer", gen.Config{Transfer: 2001, Seed: 3}},
		{"transfer reordered", gen.Config{Transfer: 2001, Seed: 3, Reorder: true}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkTshark(t, tshark, tc.cfg) })
	}
}

func checkTshark(t *testing.T, tshark string, cfg gen.Config) {
	name, st := writeFile(t, cfg)
	out := run(t, tshark, "-n", "-r", name,
		"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-o", "tcp.analyze_sequence_numbers:TRUE",
		"-T", "fields", "-E", "separator=,",
		"-e", "tcp.checksum.status", "-e", "ip.checksum.status", // 0 bad, 1 good
		"-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.fast_retransmission",
		"-e", "tcp.analysis.out_of_order", "-e", "tcp.flags.reset")
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 6 {
			t.Fatalf("tshark printed %q", line)
		}
		switch {
		case f[0] == "1" && (f[1] == "1" || f[1] == ""):
			got["good checksums"] += 1
		default:
			got["bad checksums"] += 1
		}
		if f[2] != "" || f[3] != "" {
			got["retransmission"]++
		}
		if f[4] != "" {
			got["out-of-order"]++
		}
		if f[5] == "1" {
			got["reset"]++
		}
	}
	l := st.Lifecycles
	want := map[string]int64{
		"good checksums": st.Packets,
		"conversations":  st.Conns,
		"retransmission": st.SYNRetransmits + st.Retransmits,
		"out-of-order":   st.OutOfOrder,
		"reset":          l[gen.AbortRST] + l[gen.Refused],
	}
	if cfg.Transfer > 0 && (st.Packets != int64(cfg.Transfer) || st.Conns != 1) {
		t.Errorf("a transfer of %d segments wrote %d packets in %d connections", cfg.Transfer, st.Packets, st.Conns)
	}
	for k, v := range want {
		if v == 0 {
			delete(want, k) // tshark leaves out what it did not see
		}
	}
	conv := run(t, tshark, "-n", "-q", "-z", "conv,tcp", "-r", name)
	got["conversations"] = int64(strings.Count(conv, "<->"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tshark (-want +got):\n%s", diff)
	}
}

// TestIngredientsTcpdump: tcpdump finds every checksum of the
// ingredients correct, and the segments each is made of: one SYN from
// each spoofed source and two SYN-ACKs again, a RST-ACK from each
// scanned port, the full queue's unanswered SYNs three times, a zero
// window for each stalled upload.
func TestIngredientsTcpdump(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	cfg := gen.Config{Conns: 100, Seed: 42}
	cfg.Extra = [gen.NumIngredients]int{40, 30, 15, 20, 4, 3, 2}
	name, st := writeFile(t, cfg)
	if st.Extra[gen.SYNFlood] != 40 || st.Conns != 100+40+30+15+20+4+2*3+2 {
		t.Errorf("stats: %+v", st)
	}
	if out := run(t, tcpdump, "-n", "-vv", "-r", name); badRE.MatchString(out) {
		t.Errorf("tcpdump finds something bad:\n%s", out)
	}
	for _, c := range []struct {
		filter string
		want   int
	}{
		{"src net 198.18.0.0/15 and tcp[tcpflags] == tcp-syn", 40},
		{"dst net 198.18.0.0/15 and tcp[tcpflags] == tcp-syn|tcp-ack", 3 * 40},
		{"src host 192.168.0.11 and tcp[tcpflags] == tcp-rst|tcp-ack and not port 9988 and not port 9989", 30},
		{"dst host 192.168.0.12 and tcp[tcpflags] == tcp-syn", 11 + 3*4},
		{"src host 192.168.0.10 and dst net 172.22.0.0/16 and tcp[14:2] == 0 and tcp[tcpflags] & tcp-rst == 0", 4},
	} {
		if got := strings.Count(run(t, tcpdump, "-n", "-r", name, c.filter), "\n"); got != c.want {
			t.Errorf("%s: tcpdump shows %d segments, want %d", c.filter, got, c.want)
		}
	}
}
