package userstack_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/client"
	"synfin/lab/fault"
	"synfin/lab/server"
	"synfin/lab/userstack"
	"synfin/tcpstate"
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
	// One retransmission after 1s, give up 2s later (backoff). Netstack
	// ignores TCP_SYNCNT, so this also checks the run's own limit.
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
			sc, err := lab.Lookup(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			us, err := userstack.FromLab(sc)
			if err != nil {
				t.Fatal(err)
			}
			res, err := userstack.Run(ctx, us, userstack.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if t.Failed() {
					for _, l := range res.Log {
						t.Log(l)
					}
					for _, e := range res.Endpoints {
						t.Logf("netstack: conn %d %s %s %v", e.Conn, e.Role, e.Local, e.StateNames())
					}
				}
			})
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
			segs := sc.Expect.Segments
			name := filepath.Join(t.TempDir(), sc.Name+".pcap")
			pcaptest.WriteFile(t, name, res.Link, res.Frames)
			checkSegments(t, tcpdump, name, res, segs)
			checkChecksums(t, name, len(res.Frames))
			checkTeardown(t, res, sc.Expect.Teardown)
			checkStates(t, res, sc.Expect)
		})
	}
}

var flagsRE = regexp.MustCompile(`IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\]`)

// checkSegments counts, per sender, the flags tcpdump prints.
func checkSegments(t *testing.T, tcpdump, name string, res *userstack.Result, want []lab.Segments) {
	t.Helper()
	out, err := exec.Command(tcpdump, "-n", "-S", "-r", name).Output()
	if err != nil {
		t.Fatalf("tcpdump: %v", err)
	}
	count := map[[2]string]int{}
	lines := 0
	sport := fmt.Sprint(res.Server.Port())
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := flagsRE.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Errorf("tcpdump line not a TCP segment: %s", sc.Text())
			continue
		}
		lines++
		from := string(lab.Client)
		if m[2] == sport {
			from = string(lab.Server)
		}
		count[[2]string{from, m[5]}]++
	}
	if lines != len(res.Frames) {
		t.Errorf("tcpdump shows %d segments, the run recorded %d", lines, len(res.Frames))
	}
	for _, w := range want {
		got := count[[2]string{string(w.From), w.Flags}]
		if got != w.Count && !(w.AtLeast && got > w.Count) {
			t.Errorf("tcpdump shows %d [%s] from the %s, want %s%d\n%s", got, w.Flags, w.From, map[bool]string{true: "at least "}[w.AtLeast], w.Count, out)
		}
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
	tr := tcpstate.New(tcpstate.Config{Done: func(c *tcpstate.Conn) { conns = append(conns, c.Clone()) }})
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
		ep := res.Endpoint(w.Conn, userstack.Role(w.Role))
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
		if !pcaptest.Subsequence(got, w.States) || got[len(got)-1] != w.States[len(w.States)-1] {
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
		sc   userstack.Scenario
	}{
		{"client holds", userstack.Scenario{Server: &server.Options{Mode: server.Sink}, Clients: []userstack.ClientRun{{Steps: steps}}}},
		{"every SYN lost", userstack.Scenario{Server: &server.Options{Mode: server.Sink}, Clients: []userstack.ClientRun{{}},
			Faults: []userstack.Fault{{From: userstack.Client, Rule: fault.SYN}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := userstack.Run(ctx, tt.sc, userstack.Options{})
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
// or has a reason not to, and that FromLab refuses it with that reason.
func TestUnsupported(t *testing.T) {
	for _, sc := range lab.Scenarios() {
		runs := slices.ContainsFunc(supported, func(r run) bool { return r.name == sc.Name })
		why := userstack.Unsupported(sc.Name)
		_, err := userstack.FromLab(&sc)
		var ue *userstack.UnsupportedError
		switch {
		case runs && why != "":
			t.Errorf("%s: tested on netstack, yet unsupported: %s", sc.Name, why)
		case !runs && why == "":
			t.Errorf("%s: neither tested on netstack nor given a reason not to be", sc.Name)
		case why != "" && (!errors.As(err, &ue) || ue.Reason != why || !strings.Contains(err.Error(), sc.Name)):
			t.Errorf("%s: FromLab error %v, want the reason %q", sc.Name, err, why)
		case why == "" && err != nil:
			t.Errorf("%s: FromLab: %v", sc.Name, err)
		}
	}
}
