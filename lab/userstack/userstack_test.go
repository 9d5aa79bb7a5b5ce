package userstack_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/server"
	"synfin/lab/userstack"
	"synfin/tcpstate"
	"synfin/tcpstate/track"
	"synfin/wire"
)

type run struct {
	name string
	max  time.Duration
}

// supported lists the lab scenarios netstack runs, each with the run's
// own time bound. The others are those userstack.Unsupported names, with
// why (TestUnsupported checks the two lists cover every scenario).
var supported = []run{
	{name: "seed", max: 3 * time.Second},
	{name: "seed-as-posted", max: 4 * time.Second},
	{name: "client-closes-first", max: 3 * time.Second},
	{name: "half-close", max: 3 * time.Second},
	{name: "abort-rst", max: 3 * time.Second},
	{name: "unread-data-rst", max: 3 * time.Second},
	{name: "refused", max: 3 * time.Second},
	{name: "data-exchange", max: 3 * time.Second},
	{name: "ipv6", max: 3 * time.Second},
	// The initial RTO is one second (RFC 6298 2.1).
	{name: "syn-retransmit", max: 5 * time.Second},
	{name: "last-ack-lost", max: 5 * time.Second},
	// One retransmission after 1s, give up 2s later (backoff), and the
	// capture's 2s tail. Netstack ignores TCP_SYNCNT, so this also checks
	// the run's own limit.
	{name: "syn-timeout", max: 8 * time.Second},
}

// TestScenarios runs the lab's scenarios on netstack. What each one
// should show comes from the scenario's Expect, written from RFC 9293;
// where that encodes a Linux choice rather than the RFC, the case says
// which and what RFC 9293 allows instead.
func TestScenarios(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for _, tt := range supported {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, res := labtest.Netstack(t, tt.name)
			if d := res.End.Sub(res.Start); d > tt.max {
				t.Errorf("run took %v, want at most %v", d, tt.max)
			}
			if res.Source != "netstack" || res.Link != wire.LinkRaw {
				t.Errorf("source %q link %d, want netstack and LINKTYPE_RAW", res.Source, res.Link)
			}
			for i, f := range res.Frames {
				if f.Index != i+1 || f.Time == 0 || f.CapLen != len(f.Data) {
					t.Fatalf("frame %d: index %d time %d caplen %d", i, f.Index, f.Time, f.CapLen)
				}
			}
			for _, c := range res.Faults {
				if c.Dropped == 0 || (c.Rule.Nth > 0 && c.Dropped != 1) {
					t.Errorf("fault %s: matched %d dropped %d", c.Rule, c.Matched, c.Dropped)
				}
			}
			name := filepath.Join(t.TempDir(), sc.Name+".pcap")
			pcaptest.WriteFile(t, name, res.Link, res.Frames)
			lines := labtest.Tcpdump(t, tcpdump, name)
			if len(lines) != len(res.Frames) {
				t.Errorf("tcpdump shows %d segments, the run recorded %d", len(lines), len(res.Frames))
			}
			labtest.CheckSegments(t, lines, res.Server.Port(), sc.Expect.Segments)
			checkChecksums(t, name, len(res.Frames))
			checkTeardown(t, res, sc.Expect.Teardown)
			checkStates(t, res, sc.Expect)
		})
	}
}

// checkChecksums has tshark verify every IP and TCP checksum: netstack
// computes them because its link does not claim checksum offload.
func checkChecksums(t *testing.T, name string, frames int) {
	t.Helper()
	tshark := testenv.NeedTool(t, "tshark")
	out, err := exec.Command(tshark, "-n", "-r", name,
		"-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-T", "fields", "-e", "tcp.checksum.status", "-e", "ip.checksum.status").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	good := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		// 1 is "good"; IPv6 has no header checksum.
		if f[0] != "1" || (len(f) > 1 && f[1] != "" && f[1] != "1") {
			t.Errorf("tshark checksum status (tcp, ip) %q, want good", line)
			continue
		}
		good++
	}
	if good != frames {
		t.Errorf("tshark verified %d checksums, want %d", good, frames)
	}
}

// checkTeardown feeds the frames to synfin's tracker.
func checkTeardown(t *testing.T, res *userstack.Result, want []lab.Pattern) {
	t.Helper()
	var conns []*tcpstate.Conn
	tr := track.New(track.Config{Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
	for i := range res.Frames {
		if !tr.Frame(&res.Frames[i]) {
			t.Errorf("frame %d is not TCP to the tracker", res.Frames[i].Index)
		}
	}
	tr.Flush()
	slices.SortFunc(conns, func(a, b *tcpstate.Conn) int { return int(a.ID) - int(b.ID) })
	var got []lab.Pattern
	for _, c := range conns {
		got = append(got, lab.Pattern(c.Teardown.Pattern.String()))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("teardown patterns (-want +tracker):\n%s", diff)
	}
}

// checkStates checks netstack's states against RFC 9293's sequence for
// each endpoint. They are sampled, so a brief state may be missing (a
// passive open's SYN-RECEIVED lasts one round trip on loopback), but
// what was seen must come in the RFC's order and end where it ends.
func checkStates(t *testing.T, res *userstack.Result, want lab.Expect) {
	t.Helper()
	for _, w := range want.Kernel {
		ep := res.Endpoint(w.Conn, w.Role)
		if len(w.States) == 0 {
			if ep != nil {
				t.Errorf("conn %d %s: netstack has an endpoint %v, want none", w.Conn, w.Role, ep.StateNames())
			}
			continue
		}
		if ep == nil {
			t.Errorf("conn %d %s: netstack has no endpoint, want %v", w.Conn, w.Role, w.States)
			continue
		}
		got := ep.StateNames()
		if !labtest.Sampled(got, w.States) {
			t.Errorf("conn %d %s: netstack states %v, want in order within %v and ending the same", w.Conn, w.Role, got, w.States)
		}
		if ep.Source != "netstack" {
			t.Errorf("conn %d %s: source %q", w.Conn, w.Role, ep.Source)
		}
	}
	var tw []string
	for _, e := range res.Endpoints {
		if e.Final() == "TIME-WAIT" {
			tw = append(tw, fmt.Sprintf("%d/%s", e.Conn, e.Role))
		}
	}
	var wantTW []string
	for _, h := range want.TimeWait {
		wantTW = append(wantTW, fmt.Sprintf("%d/%s", h.Conn, h.Role))
	}
	slices.Sort(tw)
	slices.Sort(wantTW)
	if diff := cmp.Diff(wantTW, tw); diff != "" {
		t.Errorf("TIME-WAIT holders (-want +netstack):\n%s", diff)
	}
}

// TestCancel checks that a run whose context ends returns promptly.
func TestCancel(t *testing.T) {
	steps, err := client.ParseSteps("hold")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sc   lab.Scenario
	}{
		{"client holds", lab.Scenario{Server: &server.Options{Mode: server.Sink}, Clients: []lab.ClientRun{{Steps: steps}}}},
		{"every SYN lost", lab.Scenario{Server: &server.Options{Mode: server.Sink}, Clients: []lab.ClientRun{{}},
			Faults: []lab.Fault{{From: lab.Client, Rule: fault.SYN}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := userstack.Run(ctx, &tt.sc, userstack.Options{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want the context's", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned after %v", d)
			}
		})
	}
}

// TestUnsupported checks that every lab scenario either runs on netstack
// or has a reason not to, and that Run refuses it with that reason before
// running anything. A scenario of old duplicate SYNs under another name is
// refused too.
func TestUnsupported(t *testing.T) {
	for _, sc := range lab.Scenarios() {
		runs := slices.ContainsFunc(supported, func(r run) bool { return r.name == sc.Name })
		why := userstack.Unsupported(sc.Name)
		switch {
		case runs && why != "":
			t.Errorf("%s: tested on netstack, yet unsupported: %s", sc.Name, why)
		case !runs && why == "":
			t.Errorf("%s: neither tested on netstack nor given a reason not to be", sc.Name)
		case why != "":
			checkRefused(t, &sc, why)
		}
	}
	sc, err := lab.Lookup("old-duplicate-syn")
	if err != nil {
		t.Fatal(err)
	}
	sc.Name = "renamed"
	checkRefused(t, sc, userstack.Unsupported("old-duplicate-syn"))
}

func checkRefused(t *testing.T, sc *lab.Scenario, why string) {
	t.Helper()
	start := time.Now()
	res, err := userstack.Run(context.Background(), sc, userstack.Options{})
	var ue *userstack.UnsupportedError
	if !errors.As(err, &ue) || ue.Reason != why || !strings.Contains(err.Error(), sc.Name) || res != nil {
		t.Errorf("%s: Run = %v, %v; want no result and the reason %q", sc.Name, res, err, why)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("%s: refused after %v, want at once", sc.Name, d)
	}
}
