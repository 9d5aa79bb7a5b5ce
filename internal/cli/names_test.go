//go:build linux

package cli

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"synfin/internal/corpus"
	"synfin/internal/tcpdumpcmp"
	"synfin/internal/testenv"
)

// getent returns the first name getent gives key in database db (hosts:
// the C library's gethostbyaddr, as tcpdump asks it; services: its port
// names), "" and false when there is none.
func getent(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(testenv.NeedTool(t, "getent"), args...).Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 2:
		return "", false
	case err != nil:
		t.Fatalf("getent %v: %v", args, err)
	}
	f := strings.Fields(string(out))
	if args[len(args)-2] == "services" {
		return f[0], true // "name port/proto aliases"
	}
	if len(f) < 2 {
		return "", true // a hosts line without a name
	}
	return f[1], true // "address name aliases"
}

// namesFixed reports whether the names tcpdump gives addrs without -n
// are fixed on this machine: each address named by the hosts file, or by
// nothing at all. A name from DNS may change from one question to the
// next, or come back in time for one program and not for the other (and
// synfin waits at most half a second, tcpdump as long as the C library
// does), so tests compare output without -n only for fixed names, and say
// when they cannot.
func namesFixed(t *testing.T, addrs ...string) bool {
	t.Helper()
	for _, a := range addrs {
		if _, ok := getent(t, "-s", "files", "hosts", a); ok {
			continue
		}
		if n, ok := getent(t, "hosts", a); ok {
			t.Logf("%s is named %q by DNS here: output without -n is not compared", a, n)
			return false
		}
	}
	return true
}

// readVsTcpdump compares "synfin read -# -r file FLAGS" with "tcpdump -#
// -r file FLAGS" (in GMT) record by record for each flag set; sets
// without -n only when the names of addrs, the addresses in the capture,
// are fixed. It returns the fewest TCP records a set compared.
func readVsTcpdump(t *testing.T, tcpdump, file string, addrs []string, flagSets [][]string) int {
	t.Helper()
	withGMT(t)
	fixed := namesFixed(t, addrs...)
	fewest := -1
	for _, flags := range flagSets {
		name := strings.Join(flags, " ")
		if !fixed && !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "-n") }) {
			continue
		}
		args := append([]string{"-#", "-r", file}, flags...)
		got, errOut, code := execRead(t, args...)
		if code != 0 {
			t.Fatalf("read %s: exit %d: %s", name, code, errOut)
		}
		ref := exec.Command(tcpdump, args...)
		ref.Env = append(os.Environ(), "TZ=GMT0")
		want, err := ref.Output()
		if err != nil {
			t.Fatalf("tcpdump %s: %v", name, err)
		}
		rs := tcpdumpcmp.Compare(string(want), got, false)
		total, match := tcpdumpcmp.Count(rs)
		for _, r := range rs {
			if !r.Match {
				t.Errorf("read %s #%d:\nwant: %q\n got: %q", name, r.N, r.Want, r.Got)
			}
		}
		t.Logf("read %s: %d/%d TCP records match tcpdump", name, match, total)
		if fewest < 0 || total < fewest {
			fewest = total
		}
	}
	return fewest
}

// TestReadSeedNames prints the seed's capture (the post's tcpdump lines,
// printed without -n) without -n: synfin must print the post's lines
// again, with the names this machine gives. The post shows 127.0.0.1 as
// localhost and port 9988 as nsesrvr; here they are what the C library
// says (getent hosts, getent services), as tcpdump here would print them.
func TestReadSeedNames(t *testing.T) {
	if !namesFixed(t, "127.0.0.1") {
		testenv.Unavailable(t, "127.0.0.1 is named by DNS on this machine")
	}
	seed := corpus.Seed(t, "capture.txt")
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	withGMT(t)
	want := string(b)
	host, ok := getent(t, "hosts", "127.0.0.1")
	if !ok {
		host = "127.0.0.1"
	}
	want = strings.ReplaceAll(want, " localhost.", " "+host+".")
	if port, ok := getent(t, "services", "9988/tcp"); ok {
		want = strings.ReplaceAll(want, ".nsesrvr", "."+port)
	} else {
		want = strings.ReplaceAll(want, ".nsesrvr", ".9988")
	}
	got, errOut, code := execRead(t, "-r", seed, "-S")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got != want {
		t.Errorf("synfin read -r capture.txt -S:\n%s\nwant (the post's lines, with this machine's names):\n%s", got, want)
	}
}

// TestCaptureNames runs the post's capture, "synfin capture -i lo port
// 9988 -S" (without -n), while clients connect to a server on
// 127.0.0.1:9988, and writes the packets with -w at the same time: every
// line it printed must be the line tcpdump -S (without -n) prints from
// that file, 127.0.0.1 named as the hosts file names it (localhost, in
// the post) and 9988 as /etc/services does.
func TestCaptureNames(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw, testenv.CapSysAdmin)
	tcpdump := testenv.NeedTool(t, "tcpdump")
	// synfin runs in a network namespace of its own, where DNS cannot be
	// reached; tcpdump reads the file outside it.
	if !namesFixed(t, "127.0.0.1") {
		testenv.Unavailable(t, "127.0.0.1 is named by DNS on this machine")
	}
	host, ok := getent(t, "hosts", "127.0.0.1")
	if !ok {
		host = "127.0.0.1"
	}
	dir := t.TempDir()
	bin := buildSynfin(t, dir, false)
	file := filepath.Join(dir, "seed.pcap")
	r := startSynfin(t, bin, synfinOpts{}, "capture", "-i", "lo", "port", "9988", "-S", "--print", "-w", file)
	r.waitReady(t)
	stop := trafficOn(t, r.cmd.Process.Pid, "127.0.0.1:9988")
	time.Sleep(100 * time.Millisecond)
	stop()
	time.Sleep(300 * time.Millisecond) // anything still on its way
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr())
	}
	got := r.Stdout()
	cmd := exec.Command(tcpdump, "-S", "-r", file)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(want) || len(got) < 7 {
		t.Fatalf("%d lines printed, tcpdump -r prints %d from the file; want the same, at least 7", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %d:\n%s\ntcpdump -r:\n%s", i+1, got[i], want[i])
		}
	}
	if !strings.Contains(got[0], " IP "+host+".") {
		t.Errorf("127.0.0.1 is not named %s: %s", host, got[0])
	}
	t.Logf("%d lines, as tcpdump prints them; the first:\n%s", len(got), got[0])
}
