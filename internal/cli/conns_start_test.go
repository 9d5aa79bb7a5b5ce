package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"synfin/gen"
	"synfin/internal/corpus"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
)

// TestConnsStart runs conns, conns --sort start and conns --json on a
// generated workload (a minute long: its connections finish out of their
// start order, 2MSL after their close) and corpus captures. Each row's start is the
// capture's first packet's time plus the relative start tshark's
// conversation statistics (-z conv,tcp) give its conversation (for the
// tuples only one connection used; tshark makes one conversation of a
// reused tuple). --sort start prints the same rows as the default, in
// the order of their starts and ids; conns --json's client and server
// are explain --json's, and its lines are in id order too.
func TestConnsStart(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	files := []string{
		pcaptest.GeneratedFile(t, gen.Config{Conns: 300, Rate: 5}),
		corpus.Dir(t, "zeek", "core.vlan-mpls", "mixed-vlan-mpls.pcap"),
		corpus.Dir(t, "other", "arkime", "tcp_handshake_synthetic.pcap"),
		corpus.Dir(t, "zeek", "scripts.base.protocols.http.http-connect-with-header", "connect-with-header.pcap"),
	}
	run := func(t *testing.T, args ...string) string {
		var out, errs bytes.Buffer
		code := Main(context.Background(), args, nil, &out, &errs)
		if code != 0 {
			t.Fatalf("synfin %v: exit %d: %s", args, code, errs.String())
		}
		return out.String()
	}
	for _, file := range files {
		t.Run(file[strings.LastIndex(file, "/")+1:], func(t *testing.T) {
			plain := strings.SplitAfter(run(t, "conns", "-r", file), "\n")
			sorted := strings.SplitAfter(run(t, "conns", "--sort", "start", "-r", file), "\n")
			if plain[0] != sorted[0] || !strings.Contains(sorted[0], " start ") {
				t.Fatalf("header %q, with --sort start %q", plain[0], sorted[0])
			}
			if a, b := slices.Sorted(slices.Values(plain)), slices.Sorted(slices.Values(sorted)); !slices.Equal(a, b) {
				t.Fatalf("--sort start prints other rows:\n%s\n%s", strings.Join(plain, ""), strings.Join(sorted, ""))
			}
			if strings.Contains(file, "gen.pcap") && slices.Equal(plain, sorted) {
				t.Error("the generated workload finishes in start order: the test shows nothing")
			}
			starts := map[string][]*big.Rat{} // by the tuple, its ends in order
			var last *big.Rat
			for i, row := range sorted[1 : len(sorted)-1] {
				f := strings.Fields(row)
				start, _ := new(big.Rat).SetString(f[1])
				if f[0] != strconv.Itoa(i+1) || last != nil && start.Cmp(last) < 0 {
					t.Errorf("row %d of --sort start: %s", i+1, row)
				}
				last = start
				key := tuple(f[2], f[3])
				starts[key] = append(starts[key], start)
			}
			first, err := exec.Command(tshark, "-n", "-r", file, "-c", "1", "-T", "fields", "-e", "frame.time_epoch").Output()
			if err != nil {
				t.Fatal(err)
			}
			t0, ok := new(big.Rat).SetString(strings.TrimSpace(string(first)))
			conv, err := exec.Command(tshark, "-n", "-q", "-r", file, "-z", "conv,tcp").Output()
			if err != nil || !ok {
				t.Fatalf("tshark: %v, %q", err, first)
			}
			checked := 0
			for _, l := range strings.Split(string(conv), "\n") {
				f := strings.Fields(l)
				if len(f) < 5 || f[1] != "<->" {
					continue
				}
				rel, _ := new(big.Rat).SetString(f[len(f)-2])
				want := new(big.Rat).Add(t0, rel)
				got := starts[tuple(f[0], f[2])]
				if len(got) != 1 {
					continue
				}
				checked++
				if d := new(big.Rat).Sub(got[0], want); d.Abs(d).Cmp(big.NewRat(1, 1e6)) >= 0 {
					t.Errorf("%s <-> %s starts at %s; tshark: %s", f[0], f[2], got[0].FloatString(6), want.FloatString(9))
				}
			}
			if checked == 0 || checked < len(starts)/2 {
				t.Errorf("%d of %d tuples checked against tshark:\n%s", checked, len(starts), conv)
			}

			type end map[string]any
			explain := map[float64][2]end{}
			for _, l := range strings.Split(strings.TrimSpace(run(t, "explain", "--json", "-r", file)), "\n") {
				var v struct {
					ID             float64
					Client, Server end
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				explain[v.ID] = [2]end{v.Client, v.Server}
			}
			var lastID float64
			for _, l := range strings.Split(strings.TrimSpace(run(t, "conns", "--json", "--sort", "start", "-r", file)), "\n") {
				var v struct {
					ID             float64
					Client, Server end
				}
				if err := json.Unmarshal([]byte(l), &v); err != nil {
					t.Fatal(err)
				}
				if v.ID < lastID {
					t.Errorf("conns --json --sort start: id %v after %v", v.ID, lastID)
				}
				lastID = v.ID
				if !jsonEqual(t, [2]end{v.Client, v.Server}, explain[v.ID]) {
					t.Errorf("connection %v: conns --json's client and server %v; explain --json's %v", v.ID, [2]end{v.Client, v.Server}, explain[v.ID])
				}
			}
			t.Logf("%d connections, %d starts as tshark's", len(sorted)-2, checked)
		})
	}
}

// tuple names a conversation by its two ends, in either order, as tshark
// prints them (an IPv6 address without brackets).
func tuple(a, b string) string {
	a, b = strings.NewReplacer("[", "", "]", "").Replace(a), strings.NewReplacer("[", "", "]", "").Replace(b)
	return min(a, b) + " " + max(a, b)
}

func jsonEqual(t *testing.T, a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return string(x) == string(y)
}
