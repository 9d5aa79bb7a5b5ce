package lab_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// TestMain lets the test binary act as a lab process for TestSIGINT.
func TestMain(m *testing.M) {
	if os.Getenv("SYNFIN_LAB_CHILD") == "1" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child runs a slow scenario until SIGINT, printing the namespace and
// tracefs instance it made so the parent can look for them afterwards.
func child() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	sc, err := lab.Lookup("syn-timeout")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	sc.Clients[0].SynRetries = 6 // about two minutes: long enough to interrupt
	_, err = lab.Run(ctx, sc, lab.Options{Port: 9900, Log: func(s string) {
		if strings.Contains(s, "listening") {
			fmt.Println("ready")
		}
	}})
	fmt.Println("done:", err)
	return 0
}

func TestSIGINT(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SYNFIN_LAB_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	pid := cmd.Process.Pid
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("child said %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("child did not start a lab")
	}
	// Mid-run: the namespace and the tracefs instance exist.
	prefix := fmt.Sprintf("%s-%d-", netns.Prefix, pid)
	if ns, inst := owned(t, prefix); len(ns) != 1 || len(inst) != 1 {
		t.Fatalf("mid-run: namespaces %v, tracefs instances %v; want one of each", ns, inst)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var last string
	for l := range lines {
		last = l
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
	if !strings.HasPrefix(last, "done: context canceled") {
		t.Errorf("child's last line %q, want it to report the interruption", last)
	}
	if ns, inst := owned(t, prefix); len(ns) != 0 || len(inst) != 0 {
		t.Errorf("after SIGINT: namespaces %v, tracefs instances %v left behind", ns, inst)
	}
	if l, err := netns.List(); err != nil || len(l.Links) != 0 {
		t.Errorf("interfaces left behind: %v %v", l.Links, err)
	}
}

func owned(t *testing.T, prefix string) (ns, inst []string) {
	t.Helper()
	l, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Namespaces {
		if strings.HasPrefix(n, prefix) {
			ns = append(ns, n)
		}
	}
	all, err := kernel.Instances()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		if strings.HasPrefix(n, prefix) {
			inst = append(inst, n)
		}
	}
	return ns, inst
}

// TestSweep leaves a namespace and a tracefs instance named for a process
// that no longer exists, as a SIGKILL would, and checks Sweep removes them
// and nothing of a live lab.
func TestSweep(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true(1)")
	}
	dead := fmt.Sprintf("%s-%d-deadbeef", netns.Prefix, cmd.Process.Pid)
	if err := exec.Command("ip", "netns", "add", dead).Run(); err != nil {
		t.Skipf("ip netns add: %v", err)
	}
	live, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	removed, err := lab.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	if !slicesContains(removed.Namespaces, dead) || slicesContains(removed.Namespaces, live.Name) {
		t.Errorf("Sweep removed %v; want %s and not %s", removed.Namespaces, dead, live.Name)
	}
	l, err := lab.List()
	if err != nil {
		t.Fatal(err)
	}
	if slicesContains(l.Namespaces, dead) || !slicesContains(l.Namespaces, live.Name) {
		t.Errorf("after Sweep: %v", l.Namespaces)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
