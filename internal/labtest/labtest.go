package labtest

import (
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"synfin/capture"
	"synfin/lab"
	"synfin/wire"
)

// WritePcap writes frames to a pcap file at name, with nanosecond time
// stamps as the lab's -w does.
func WritePcap(t testing.TB, name string, link wire.LinkType, frames []wire.Frame) {
	t.Helper()
	w, err := capture.Create(name, nil, capture.WriterOptions{Link: link, Snaplen: 262144, Nanos: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if err := w.Write(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

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
	if len(got) == 0 || len(of) == 0 || got[len(got)-1] != of[len(of)-1] {
		return false
	}
	rest := of
	for _, s := range got {
		i := slices.Index(rest, s)
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	return true
}
