package lab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// TestScenarios runs every scenario against the kernel and checks the
// kernel's states, TIME-WAIT, and tcpdump's reading of the capture
// against what RFC 9293 expects (written in the scenario, not taken
// from a run).
func TestScenarios(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for i, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			res := labtest.Kernel(t, &sc, uint16(9988+i))
			checkKernel(t, &sc, res)
			checkTimeWait(t, &sc, res)
			checkSegments(t, tcpdump, &sc, res)
			assertNothingLeft(t, res.Namespace)
		})
	}
}

func checkKernel(t *testing.T, sc *lab.Scenario, res *lab.Result) {
	t.Helper()
	for _, want := range sc.Expect.Kernel {
		ep := res.Endpoint(want.Conn, want.Role)
		var got []string
		if ep != nil {
			got = ep.RFC()
		}
		if diff := cmp.Diff(want.States, got); diff != "" {
			t.Errorf("conn %d %s states (-RFC +kernel):\n%s", want.Conn, want.Role, diff)
		}
	}
}

func checkTimeWait(t *testing.T, sc *lab.Scenario, res *lab.Result) {
	t.Helper()
	var got []lab.Holder
	for _, h := range res.TimeWait {
		got = append(got, lab.Holder{Conn: h.Conn, Role: h.Role})
	}
	want := sc.Expect.TimeWait
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("TIME-WAIT holders (-want +sock_diag):\n%s", diff)
	}
}

var cmpSorted = cmp.Transformer("sort", func(h []lab.Holder) string {
	var s []string
	for _, x := range h {
		s = append(s, fmt.Sprintf("%d/%s", x.Conn, x.Role))
	}
	return strings.Join(sortStrings(s), " ")
})

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// checkSegments writes the frames to a pcap and counts what tcpdump says.
func checkSegments(t *testing.T, tcpdump string, sc *lab.Scenario, res *lab.Result) {
	t.Helper()
	name := filepath.Join(t.TempDir(), sc.Name+".pcap")
	pcaptest.WriteFile(t, name, res.Link, res.Frames)
	labtest.CheckSegments(t, labtest.Tcpdump(t, tcpdump, name), res.Server.Port(), sc.Expect.Segments)
}

// assertNothingLeft lists namespaces, interfaces and tracefs instances
// and fails if one of this lab's is still there. (Its nftables table
// lived in the namespace.)
func assertNothingLeft(t *testing.T, nsName string) {
	t.Helper()
	l, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Namespaces {
		if n == nsName {
			t.Errorf("namespace %s left behind", n)
		}
	}
	if len(l.Links) > 0 {
		t.Errorf("interfaces left behind: %v", l.Links)
	}
	inst, err := kernel.Instances()
	if err != nil {
		t.Fatal(err)
	}
	pid := fmt.Sprintf("%s-%d-", netns.Prefix, os.Getpid())
	for _, n := range inst {
		if strings.HasPrefix(n, pid) {
			t.Errorf("tracefs instance %s left behind", n)
		}
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil && strings.Contains(string(out), nsName) {
		t.Errorf("ip netns list still shows %s", nsName)
	}
}

// TestTwoLabsAtOnce runs labs side by side, on the same server port and
// on different ones: each must see only its own sockets in the (global)
// tracepoint and its own frames, so each still matches what RFC 9293
// expects, and neither leaves anything behind.
func TestTwoLabsAtOnce(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tests := []struct {
		name  string
		labs  [2]string
		ports [2]uint16
	}{
		{"same port", [2]string{"client-closes-first", "last-ack-lost"}, [2]uint16{9950, 9950}},
		{"same scenario", [2]string{"seed", "seed"}, [2]uint16{9951, 9952}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				res  [2]*lab.Result
				errs [2]error
				scs  [2]*lab.Scenario
				wg   sync.WaitGroup
			)
			for i := range 2 {
				sc, err := lab.Lookup(tt.labs[i])
				if err != nil {
					t.Fatal(err)
				}
				scs[i] = sc
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					res[i], errs[i] = lab.Run(ctx, sc, lab.Options{Port: tt.ports[i]})
				}()
			}
			wg.Wait()
			for i := range 2 {
				if errs[i] != nil {
					t.Fatalf("lab %d: %v", i+1, errs[i])
				}
			}
			if res[0].Namespace == res[1].Namespace {
				t.Fatalf("both labs in namespace %s", res[0].Namespace)
			}
			for i := range 2 {
				checkKernel(t, scs[i], res[i])
				checkTimeWait(t, scs[i], res[i])
				checkSegments(t, tcpdump, scs[i], res[i])
				assertNothingLeft(t, res[i].Namespace)
			}
		})
	}
}

// TestPath runs a scenario across a router that masquerades and clamps
// the MSS: the kernel's states are still RFC 9293's, and tcpdump sees
// the client's address on the client's side, the router's on the
// server's, and the clamped MSS on the server's side only.
func TestPath(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	sc, err := lab.Lookup("data-exchange")
	if err != nil {
		t.Fatal(err)
	}
	res := labtest.KernelWith(t, sc, lab.Options{Port: 9871, Path: &lab.Path{Masquerade: true, ClampMSS: 1200}})
	checkKernel(t, sc, res)
	checkTimeWait(t, sc, res)
	dir := t.TempDir()
	for _, side := range []struct {
		name   string
		frames int
		from   string
		mss    string
	}{
		{"client", len(res.Frames), "192.0.2.2.", "mss 1460"},
		{"server", len(res.Far), "198.51.100.1.", "mss 1200"},
	} {
		frames := res.Frames
		if side.name == "server" {
			frames = res.Far
		}
		name := filepath.Join(dir, side.name+".pcap")
		pcaptest.WriteFile(t, name, res.Link, frames)
		lines := labtest.Tcpdump(t, tcpdump, name)
		var tcp []string
		for _, l := range lines {
			if strings.Contains(l, "Flags [") {
				tcp = append(tcp, l)
			}
		}
		labtest.CheckSegments(t, tcp, res.Server.Port(), sc.Expect.Segments)
		if len(tcp) == 0 || !strings.Contains(tcp[0], " "+side.from) || !strings.Contains(tcp[0], side.mss) {
			t.Errorf("%s side: first segment, want from %s with %s:\n%s", side.name, side.from, side.mss, strings.Join(lines, "\n"))
		}
	}
	assertNothingLeft(t, res.Namespace)
	assertNothingLeft(t, res.Router)
}
