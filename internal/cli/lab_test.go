//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	xhtml "golang.org/x/net/html"
	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/crowd"
	"synfin/lab/kernel"
	"synfin/lab/netns"
	"synfin/lab/userstack"
	"synfin/lab/verdict"
	"synfin/summary"
)

// TestLabAgainstKernel runs every scenario and checks that the states
// synfin infers from the packets equal the kernel's (tracepoint and
// sock_diag), that the TIME-WAIT holders are the ones sock_diag shows, and
// that the teardown patterns have the names the scenario expects from
// RFC 9293.
func TestLabAgainstKernel(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for i, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			dir := t.TempDir()
			pcap, report := filepath.Join(dir, "lab.pcap"), filepath.Join(dir, "lab.html")
			var out, errb bytes.Buffer
			// A port of its own, so scenarios never share a listener in the
			// (global) tracepoint.
			port := 9988 + i
			code := Main(context.Background(), []string{"lab", sc.Name, "--json", "-w", pcap, "--html", report, "--port", strconv.Itoa(port)}, nil, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			got := readLabJSON(t, out.Bytes())
			c := got.Comparison
			if got.Stack != "kernel" || c.Source != "kernel" {
				t.Fatalf("stack %q: want the kernel", got.Stack)
			}
			for _, r := range c.Rows {
				if !r.Agree {
					t.Errorf("connection %d %s: packets say %v, kernel says %v", r.Conn, r.Role, r.Inferred, r.Reported)
				}
			}
			if !c.TimeWaitAgree {
				t.Errorf("TIME-WAIT: packets say %v, sock_diag says %v", c.TimeWaitInferred, c.TimeWaitReported)
			}
			if !c.PatternsAgree {
				t.Errorf("teardown: %v, want %v", c.Patterns, c.PatternsExpected)
			}
			if len(c.Rows) == 0 {
				t.Error("no endpoints compared")
			}
			// The capture kept with -w, read by tcpdump: the lines the lab
			// printed, and the segments RFC 9293 expects.
			lines := labtest.Tcpdump(t, tcpdump, pcap)
			if diff := cmp.Diff(lines, got.Tcpdump); diff != "" {
				t.Errorf("segments (-tcpdump -r +lab):\n%s", diff)
			}
			labtest.CheckSegments(t, lines, uint16(port), sc.Expect.Segments)
			readVsTcpdump(t, tcpdump, pcap, []string{sc.Loopback().String()}, [][]string{{"-n", "-S"}, {"-S"}, {}, {"-v"}})
			all := strings.Join(htmlSections(t, report), "\n")
			for _, want := range append([]string{"beside the kernel's", "verdict"}, lines...) {
				if !strings.Contains(all, want) {
					t.Errorf("HTML report's sections lack %q", want)
				}
			}
			// The summary the report opens on is of the connections lab
			// --json lists.
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var sum summary.Summary
			if m := regexp.MustCompile(`id="synfin-summary">(.*?)</script>`).FindSubmatch(b); m == nil || json.Unmarshal(m[1], &sum) != nil {
				t.Fatal("HTML report has no summary")
			}
			want, have := map[string]int{}, map[string]int{}
			for _, c := range got.Connections {
				want[c.Teardown.Pattern]++
			}
			for _, c := range sum.Teardown {
				have[c.Name] = c.Conns
			}
			if sum.Conns != len(got.Connections) || !maps.Equal(want, have) {
				t.Errorf("HTML report's summary: %d connections by teardown %v; lab --json lists %d, %v", sum.Conns, have, len(got.Connections), want)
			}
		})
	}
}

// labJSON is what the tests read of lab --json.
type labJSON struct {
	Stack      string         `json:"stack"`
	StackName  string         `json:"stack_name"`
	Tcpdump    []string       `json:"tcpdump"`
	Comparison verdict.Report `json:"comparison"`
	// Connections: each connection's teardown pattern.
	Connections []struct {
		Teardown struct {
			Pattern string `json:"pattern"`
		} `json:"teardown"`
	} `json:"connections"`
}

func readLabJSON(t *testing.T, b []byte) labJSON {
	t.Helper()
	var got labJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return got
}

// TestLabUserstack runs every scenario netstack supports with
// --userstack and checks what the lab prints against oracles it did not
// write: netstack's own sampled states against the states inferred from
// the packets, the teardown patterns against the names RFC 9293 gives
// (the scenario's expectation), and the printed segments against tcpdump
// reading the -w file. Scenarios netstack cannot do must fail with their
// reason.
func TestLabUserstack(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	for i, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			pcap := filepath.Join(t.TempDir(), "lab.pcap")
			var out, errb bytes.Buffer
			code := Main(context.Background(), []string{"lab", sc.Name, "--userstack", "--json", "-w", pcap, "--port", strconv.Itoa(9988 + i)}, nil, &out, &errb)
			if why := userstack.Unsupported(sc.Name); why != "" {
				if code == 0 || !strings.Contains(errb.String(), why) || !strings.Contains(errb.String(), sc.Name) {
					t.Errorf("exit %d, stderr %q: want a failure naming the scenario and why (%s)", code, errb.String(), why)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if !strings.Contains(errb.String(), "not the kernel") || strings.Count(errb.String(), "\n") != 1 {
				t.Errorf("stderr %q: want one line saying the stack is not the kernel", errb.String())
			}
			got := readLabJSON(t, out.Bytes())
			c := got.Comparison
			if got.Stack != "netstack" || c.Source != "netstack" || !strings.Contains(got.StackName, "not the kernel") {
				t.Fatalf("stack %q (%q), comparison source %q: want netstack, labelled as not the kernel", got.Stack, got.StackName, c.Source)
			}
			if len(c.Rows) == 0 {
				t.Fatal("no endpoints compared")
			}
			for _, r := range c.Rows {
				// Netstack's states are samples: each must be an inferred
				// state, in order, and the last ones must be the same;
				// of a connection whose capture began late, those after
				// the ones that came before it, and UNKNOWN is no state.
				inferred := r.Inferred
				if r.Before > 0 && inferred[0] == "UNKNOWN" {
					inferred = inferred[1:]
				}
				ok := labtest.Sampled(r.Reported[r.Before:], inferred)
				if len(r.Inferred) == 0 && len(r.Reported) == 0 {
					ok = true
				}
				if !ok || !r.Agree {
					t.Errorf("connection %d %s: packets say %v, netstack says %v (agree %v)", r.Conn, r.Role, r.Inferred, r.Reported, r.Agree)
				}
			}
			if !c.TimeWaitAgree {
				t.Errorf("TIME-WAIT: packets say %v, netstack says %v", c.TimeWaitInferred, c.TimeWaitReported)
			}
			var want []string
			for _, p := range sc.Expect.Teardown {
				want = append(want, string(p))
			}
			if !slices.Equal(c.Patterns, want) {
				t.Errorf("teardown: %v, want %v", c.Patterns, want)
			}
			lines := labtest.Tcpdump(t, tcpdump, pcap)
			if diff := cmp.Diff(lines, got.Tcpdump); diff != "" {
				t.Errorf("segments (-tcpdump -r +lab):\n%s", diff)
			}
			labtest.CheckSegments(t, lines, uint16(9988+i), sc.Expect.Segments)
		})
	}
}

// TestLabUserstackText checks the text output's labels: the stack is
// named as netstack and not the kernel, in either language, and the
// segment lines are tcpdump's.
func TestLabUserstackText(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	tests := []struct {
		lang, stack, table string
	}{
		{"en", "NOT the kernel", "beside netstack's"},
		{"zh", "不是内核", "netstack（用户态协议栈，不是内核）"},
	}
	for i, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			pcap, report := filepath.Join(dir, "lab.pcap"), filepath.Join(dir, "lab.html")
			var out, errb bytes.Buffer
			code := Main(context.Background(), []string{"lab", "client-closes-first", "--userstack", "--lang", tt.lang, "-w", pcap, "--html", report, "--port", strconv.Itoa(9970 + i)}, nil, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			s := out.String()
			for _, want := range []string{tt.stack, tt.table} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
			lines := labtest.Tcpdump(t, tcpdump, pcap)
			if len(lines) < 7 {
				t.Fatalf("tcpdump read %d segments", len(lines))
			}
			for _, l := range lines {
				if !strings.Contains(s, "\n  "+l+"\n") {
					t.Errorf("output lacks tcpdump's line %q", l)
				}
			}
			// The report, read by an HTML parser, carries the same label,
			// table and lines.
			sections := htmlSections(t, report)
			all := strings.Join(sections, "\n")
			for _, want := range append([]string{tt.stack, tt.table}, lines...) {
				if !strings.Contains(all, want) {
					t.Errorf("HTML report's sections lack %q", want)
				}
			}
		})
	}
}

// htmlSections returns the text of each extra section of a report.
func htmlSections(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	var doc *xhtml.Node
	if err == nil {
		doc, err = xhtml.Parse(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for n := range doc.Descendants() {
		if n.Type != xhtml.ElementNode || n.Data != "section" || !slices.ContainsFunc(n.Attr, func(a xhtml.Attribute) bool { return a.Key == "class" && a.Val == "extra" }) {
			continue
		}
		var b strings.Builder
		for c := range n.Descendants() {
			if c.Type == xhtml.TextNode {
				b.WriteString(c.Data)
			}
		}
		out = append(out, b.String())
	}
	if len(out) == 0 {
		t.Errorf("%s has no extra sections", name)
	}
	return out
}

// TestLabRefusesOutput checks that the lab will not write its capture or
// report over something that is not a regular file, and says so before
// running anything.
func TestLabRefusesOutput(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"pcap to a device", []string{"-w", "/dev/null"}},
		{"pcap to a directory", []string{"-w", t.TempDir()}},
		{"html to a fifo", []string{"--html", fifo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			start := time.Now()
			code := Main(context.Background(), append([]string{"lab", "--userstack", "seed"}, tt.args...), nil, &out, &errb)
			if code == 0 {
				t.Fatalf("exit 0, want a refusal; stdout %s", out.String())
			}
			if !strings.Contains(errb.String(), "regular file") && !strings.Contains(errb.String(), "directory") {
				t.Errorf("stderr %q: want it to say why", errb.String())
			}
			if out.Len() != 0 || time.Since(start) > time.Second {
				t.Errorf("ran the experiment before refusing (%v, %d bytes out)", time.Since(start), out.Len())
			}
		})
	}
}

// TestMain lets the test binary run the CLI as a child process, for
// TestLabWithoutPrivileges.
func TestMain(m *testing.M) {
	if args := os.Getenv("SYNFIN_CLI_CHILD"); args != "" {
		os.Exit(Main(context.Background(), strings.Fields(args), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLabWithoutPrivileges runs the lab in a process that really lacks
// the capabilities (root's dropped from the bounding set, so exec grants
// none): it must say so in one line and run on netstack instead.
func TestLabWithoutPrivileges(t *testing.T) {
	tests := []struct {
		scenario string
		ok       bool
		stdout   string // in the output when ok
		stderr   string // in the error line when not
	}{
		{"seed", true, "NOT the kernel", ""},
		{"three-segment-close", false, "", "delayed ACK"},
	}
	for i, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			if lab.Unprivileged() == "" {
				setpriv := testenv.NeedTool(t, "setpriv")
				cmd = exec.Command(setpriv, "--bounding-set", "-all", "--inh-caps", "-all", "--", os.Args[0], "-test.run=^$")
			}
			cmd.Env = append(os.Environ(), "SYNFIN_CLI_CHILD=lab "+tt.scenario+" --port "+strconv.Itoa(9960+i))
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
			if !strings.Contains(lines[0], "no privileges") || !strings.Contains(lines[0], "CAP_NET_ADMIN") || !strings.Contains(lines[0], "netstack") {
				t.Errorf("first line of stderr %q: want it to name the missing privileges and the stack used instead", lines[0])
			}
			if tt.ok {
				if err != nil || len(lines) != 1 {
					t.Fatalf("%v, stderr %q", err, errb.String())
				}
				if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(out.String(), "beside netstack's") {
					t.Errorf("output not labelled as netstack's:\n%s", out.String())
				}
				return
			}
			if err == nil || len(lines) != 2 || !strings.Contains(lines[1], tt.stderr) || !strings.Contains(lines[1], tt.scenario) {
				t.Errorf("%v, stderr %q: want one more line naming the scenario and why netstack cannot run it", err, errb.String())
			}
		})
	}
}

// TestLabSweep kills a running `synfin lab` with SIGKILL, which leaves
// its namespace and tracefs instance behind, and checks that `lab
// --sweep` (and `lab sweep`) removes them, as ip(8) and tracefs show.
func TestLabSweep(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	ipTool := testenv.NeedTool(t, "ip")
	tests := []struct {
		name string
		args []string
	}{
		{"--sweep", []string{"lab", "--sweep"}},
		{"sweep", []string{"lab", "sweep"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SYNFIN_CLI_CHILD=lab syn-timeout --json --port "+strconv.Itoa(9940+i))
			labtest.Start(t, cmd)
			prefix := netns.Prefix + "-" + strconv.Itoa(cmd.Process.Pid) + "-"
			var mine []string
			for deadline := time.Now().Add(5 * time.Second); len(mine) < 2 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				mine = namesWith(t, ipTool, prefix)
			}
			if len(mine) != 2 {
				t.Fatalf("the lab's namespace and tracefs instance: %v, want both", mine)
			}
			cmd.Process.Kill()
			cmd.Wait() // reaped: a zombie still counts as a running lab
			if left := namesWith(t, ipTool, prefix); len(left) != 2 {
				t.Fatalf("after SIGKILL: %v, want the namespace and instance still there", left)
			}
			var out, errb bytes.Buffer
			if code := Main(context.Background(), tt.args, nil, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			for _, n := range mine {
				if !strings.Contains(out.String(), n) {
					t.Errorf("output does not say it removed %s:\n%s", n, out.String())
				}
			}
			if left := namesWith(t, ipTool, prefix); len(left) != 0 {
				t.Errorf("after the sweep: %v left", left)
			}
		})
	}
}

// namesWith lists the namespaces (ip netns list) and tracefs instances
// whose names start with prefix.
func namesWith(t *testing.T, ipTool, prefix string) []string {
	t.Helper()
	out, err := exec.Command(ipTool, "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var names []string
	for _, l := range strings.Split(string(out), "\n") {
		if n, _, _ := strings.Cut(l, " "); strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	root, err := kernel.FindTraceFS()
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestLabCancelledLeavesNoFile checks that a lab stopped before it saw a
// segment does not leave an empty capture or report behind.
func TestLabCancelledLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	pcap, report := filepath.Join(dir, "lab.pcap"), filepath.Join(dir, "lab.html")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	if code := Main(ctx, []string{"lab", "--userstack", "seed", "-w", pcap, "--html", report}, nil, &out, &errb); code == 0 {
		t.Fatalf("exit 0 with a cancelled context; stdout %s", out.String())
	}
	for _, p := range []string{pcap, report} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", filepath.Base(p))
		}
	}
}

// TestLabInterrupted interrupts a lab between its two connections: it
// must exit non-zero saying why, yet print and keep what it captured, as
// tcpdump reading the -w file confirms.
func TestLabInterrupted(t *testing.T) {
	tcpdump := testenv.NeedTool(t, "tcpdump")
	pcap := filepath.Join(t.TempDir(), "lab.pcap")
	// The seed's second client connects 300 ms after the first closed.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"lab", "seed", "--userstack", "-w", pcap, "--port", "9930"}, nil, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "deadline exceeded") {
		t.Errorf("exit %d, stderr %q: want a failure saying the lab was stopped", code, errb.String())
	}
	lines := labtest.Tcpdump(t, tcpdump, pcap)
	if len(lines) < 4 {
		t.Fatalf("tcpdump read %d segments from the capture, want the first connection's", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(out.String(), "\n  "+l+"\n") {
			t.Errorf("output lacks tcpdump's line %q", l)
		}
	}
}

// TestLabCrowd runs a scenario of many sockets the way a user does and
// checks its JSON against tcpdump reading the -w file, and the kernel's
// sockets against what Linux's rules expect (the scenario's; lab/crowd's
// tests check them against ss and nstat).
func TestLabCrowd(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin, testenv.CapNetRaw)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	pcap := filepath.Join(t.TempDir(), "crowd.pcap")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"lab", "close-wait-leak", "--json", "-w", pcap, "--port", "9690"}, nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep crowd.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	lines := labtest.Tcpdump(t, tcpdump, pcap)
	if diff := cmp.Diff(lines[:min(len(lines), len(rep.Tcpdump))], rep.Tcpdump); diff != "" || len(lines) != rep.Segments {
		t.Errorf("%d segments, tcpdump -r reads %d; (-tcpdump +lab):\n%s", rep.Segments, len(lines), diff)
	}
	got := map[string]int{}
	for _, s := range rep.States {
		if s.Kernel > 0 {
			got[s.Role+" "+s.State] = s.Kernel
		}
	}
	if diff := cmp.Diff(crowd.Lookup("close-wait-leak").Expect.Sockets, got); diff != "" {
		t.Errorf("sockets (-Linux's rules +lab):\n%s", diff)
	}
	// watch's findings beside them: the five sockets the scenario leaves
	// in CLOSE-WAIT are this process's (the server runs in it).
	leak := fmt.Sprintf("(pid %d) holds %d sockets in CLOSE-WAIT", os.Getpid(), crowd.Lookup("close-wait-leak").Expect.Sockets["server CLOSE-WAIT"])
	if len(rep.Findings) != 1 || !strings.Contains(rep.Findings[0], leak) {
		t.Errorf("findings %q, want one saying %q", rep.Findings, leak)
	}
	for _, args := range [][]string{{"--html", "x.html"}, {"--vantage", "both"}} {
		errb.Reset()
		if code := Main(context.Background(), append([]string{"lab", "backlog-full"}, args...), nil, &out, &errb); code == 0 ||
			strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "runs on the kernel only, as root, on one host") {
			t.Errorf("%v: exit %d, stderr %q; want one line saying what the scenario runs on", args, code, errb.String())
		}
	}
}
