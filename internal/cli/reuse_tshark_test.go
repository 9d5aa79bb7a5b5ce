package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/testenv"
)

// TestReuseWithin2MSL checks conns --json's port_reuse.within_2msl
// against tshark's reading of the packets. For each SYN that tshark flags
// as reusing a tuple (tcp.analysis.reused_ports), the earlier connection
// on the tuple decides: ended by a reset, nothing holds the tuple; closed
// by a FIN each way, the end that closed first entered TIME-WAIT when
// the later FIN reached it and holds it 2MSL (RFC 9293 3.10.7.4; Linux's
// 60 s), so the SYN is within 2MSL if it came less than 60 s after that
// FIN; not closed, the tuple is still in use.
func TestReuseWithin2MSL(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	files := []string{
		filepath.Join("..", "..", "lab", "verdict", "testdata", "k-time-wait-reuse.pcap"), // the kernel's
		filepath.Join(corpus.Dir(t, "other", "arkime"), "tcp-reassembly-synthetic.pcap"),
		generated("--conns", "200", "--time-wait-reuse", "5")(t),
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			out, err := exec.Command(tshark, "-n", "-r", file, "-T", "fields", "-E", "separator=,", "-e", "frame.time_epoch",
				"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
				"-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.analysis.reused_ports").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			type tuple struct {
				fins    map[string]bool // the senders of FINs
				lastFIN float64
				rst     bool
			}
			tuples := map[string]*tuple{}
			want := map[string]bool{} // the reusing SYN's time (µs) → within 2MSL
			on := func(s string) bool { return s == "1" || s == "True" }
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(l, ",")
				if len(f) != 12 || f[3] == "" {
					continue
				}
				ts, _ := strconv.ParseFloat(f[0], 64)
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
