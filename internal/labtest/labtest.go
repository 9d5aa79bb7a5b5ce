package labtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"synfin/internal/pcaptest"
	"synfin/lab"
	"synfin/lab/userstack"
)

// Tcpdump returns the lines tcpdump -n -S prints for the capture name,
// in this process's time zone.
func Tcpdump(t testing.TB, tcpdump, name string) []string {
	t.Helper()
	cmd := exec.Command(tcpdump, "-n", "-S", "-r", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tcpdump: %v: %s", err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

var flagsRE = regexp.MustCompile(`IP6? \S+\.(\d+) > \S+\.\d+: Flags \[([^\]]*)\]`)

// CheckSegments counts tcpdump's lines by sender (the server is the end
// that sends from port) and flags, and fails t where a count is not what
// want says, or a line is not a TCP segment.
func CheckSegments(t testing.TB, lines []string, port uint16, want []lab.Segments) {
	t.Helper()
	count := map[[2]string]int{}
	for _, l := range lines {
		m := flagsRE.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("not a TCP segment: %s", l)
			continue
		}
		from := string(lab.Client)
		if m[1] == fmt.Sprint(port) {
			from = string(lab.Server)
		}
		count[[2]string{from, m[2]}]++
	}
	for _, w := range want {
		got := count[[2]string{string(w.From), w.Flags}]
		if got != w.Count && !(w.AtLeast && got > w.Count) {
			t.Errorf("tcpdump shows %d [%s] from the %s, want %d (at least: %v)\n%s", got, w.Flags, w.From, w.Count, w.AtLeast, strings.Join(lines, "\n"))
		}
	}
}

// Sampled reports whether got can be samples of the state sequence of:
// some of its states, in its order, ending where it ends.
func Sampled(got, of []string) bool {
	return len(got) > 0 && len(of) > 0 && got[len(got)-1] == of[len(of)-1] && pcaptest.Subsequence(got, of)
}

// Kernel runs sc on the kernel with the server on port (30 s at most);
// the run's log and the kernel's events are logged if the test fails.
func Kernel(t testing.TB, sc *lab.Scenario, port uint16) *lab.Result {
	t.Helper()
	return KernelWith(t, sc, lab.Options{Port: port})
}

// KernelWith is Kernel with the run's options.
func KernelWith(t testing.TB, sc *lab.Scenario, opt lab.Options) *lab.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := lab.Run(ctx, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	var more []string
	for _, e := range res.Events {
		more = append(more, fmt.Sprint("kernel: ", e))
	}
	for _, o := range res.Observations {
		more = append(more, fmt.Sprint("sock_diag: ", o.Socket, " ", o.Gone))
	}
	logOnFailure(t, res.Log, more)
	return res
}

// Netstack runs the scenario named name on netstack (30 s at most) and
// returns it with the result; the run's log and netstack's states are
// logged if the test fails.
func Netstack(t testing.TB, name string) (*lab.Scenario, *userstack.Result) {
	t.Helper()
	sc, err := lab.Lookup(name)
	var res *userstack.Result
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err = userstack.Run(ctx, sc, userstack.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	var more []string
	for _, e := range res.Endpoints {
		more = append(more, fmt.Sprintf("netstack: conn %d %s %s %v", e.Conn, e.Role, e.Local, e.StateNames()))
	}
	logOnFailure(t, res.Log, more)
	return sc, res
}

// logOnFailure logs a run's lines, then more, if the test fails.
func logOnFailure(t testing.TB, lines, more []string) {
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range slices.Concat(lines, more) {
				t.Log(l)
			}
		}
	})
}

// Start starts cmd, a process that runs a lab, and when the test ends,
// however it ends, kills and reaps it and sweeps what it left behind.
func Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		lab.Sweep()
	})
}
