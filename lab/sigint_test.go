package lab_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab"
	"synfin/lab/fault"
	"synfin/lab/kernel"
	"synfin/lab/netns"
)

// TestMain lets the test binary act as a lab process for TestSignals.
func TestMain(m *testing.M) {
	if os.Getenv("SYNFIN_LAB_CHILD") == "1" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child runs a slow scenario until SIGINT or SIGTERM (as the synfin
// command does), printing "ready" once its lab is set up. With
// SYNFIN_LAB_CRASH it crashes instead, as a bug in the lab would: the
// process dies without running its cleanups.
func child() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc, err := lab.Lookup("syn-timeout")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	sc.Clients[0].SynRetries = 6 // about two minutes: long enough to interrupt
	port, _ := strconv.Atoi(os.Getenv("SYNFIN_LAB_PORT"))
	_, err = lab.Run(ctx, sc, lab.Options{Port: uint16(port), Log: func(s string) {
		if strings.Contains(s, "listening") {
			fmt.Println("ready")
			if os.Getenv("SYNFIN_LAB_CRASH") == "1" {
				go func() { panic("lab: crash on purpose") }()
			}
		}
	}})
	fmt.Println("done:", err)
	return 0
}

// TestSignals starts a lab in a child process and ends it with SIGINT,
// SIGTERM, SIGKILL or a crash. Interrupted labs remove everything they
// made; a killed or crashed one cannot, and what it leaves must be
// visible to ip(8), nft(8) and tracefs and removed by Sweep. Leftovers
// are listed with the system's tools, not with the lab's own List.
func TestSignals(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	ipTool := testenv.NeedTool(t, "ip")
	nft := testenv.NeedTool(t, "nft")
	tests := []struct {
		name  string
		sig   syscall.Signal // 0: crash
		clean bool           // the lab cleans up by itself
	}{
		{"SIGINT", syscall.SIGINT, true},
		{"SIGTERM", syscall.SIGTERM, true},
		{"SIGKILL", syscall.SIGKILL, false},
		{"crash", 0, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SYNFIN_LAB_CHILD=1", fmt.Sprintf("SYNFIN_LAB_PORT=%d", 9900+i))
			if tt.sig == 0 {
				cmd.Env = append(cmd.Env, "SYNFIN_LAB_CRASH=1")
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if testing.Verbose() {
				cmd.Stderr = os.Stderr
			}
			labtest.Start(t, cmd)
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
			// Mid-run: the namespace, its fault table and the tracefs
			// instance exist, and the tools see them.
			prefix := fmt.Sprintf("%s-%d-", netns.Prefix, cmd.Process.Pid)
			mid := leftovers(t, ipTool, nft, prefix)
			if len(mid.namespaces) != 1 || len(mid.instances) != 1 || len(mid.tables) != 1 {
				t.Fatalf("mid-run: %+v; want one namespace, one tracefs instance, one nftables table", mid)
			}
			if tt.sig != 0 {
				time.Sleep(200 * time.Millisecond)
				if err := cmd.Process.Signal(tt.sig); err != nil {
					t.Fatal(err)
				}
			}
			var last string
			for l := range lines {
				last = l
			}
			werr := cmd.Wait() // reaped: a zombie would still count as alive
			if !tt.clean {
				if werr == nil {
					t.Errorf("child exited cleanly, want it killed")
				}
				// Its leftovers are there, and Sweep removes them.
				if left := leftovers(t, ipTool, nft, prefix); len(left.namespaces) != 1 || len(left.instances) != 1 {
					t.Fatalf("after %s: %+v; want the namespace and tracefs instance left behind", tt.name, left)
				}
				removed, err := lab.Sweep()
				if err != nil {
					t.Fatal(err)
				}
				if !slicesContains(removed.Namespaces, mid.namespaces[0]) || !slicesContains(removed.Instances, mid.instances[0]) {
					t.Errorf("Sweep removed %+v, want %s and %s", removed, mid.namespaces[0], mid.instances[0])
				}
			} else {
				if werr != nil {
					t.Errorf("child: %v", werr)
				}
				if !strings.HasPrefix(last, "done: context canceled") {
					t.Errorf("child's last line %q, want it to report the interruption", last)
				}
			}
			if left := leftovers(t, ipTool, nft, prefix); !left.empty() {
				t.Errorf("after %s: left behind %+v", tt.name, left)
			}
		})
	}
}

// found is what the system's tools show of one lab.
type found struct {
	namespaces []string // ip netns list and /run/netns
	links      []string // ip link: synfin interfaces in this namespace
	tables     []string // nft list tables, in this namespace and the lab's
	instances  []string // tracefs instances
}

func (f found) empty() bool {
	return len(f.namespaces)+len(f.links)+len(f.tables)+len(f.instances) == 0
}

// leftovers lists what of the lab whose names start with prefix is
// present, with ip(8), nft(8) and the tracefs and /run/netns directories.
func leftovers(t *testing.T, ipTool, nft, prefix string) found {
	t.Helper()
	var f found
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(run(ipTool, "netns", "list"), "\n") {
		if n, _, _ := strings.Cut(l, " "); strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			f.namespaces = append(f.namespaces, n)
		}
	}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && !seen[e.Name()] {
			seen[e.Name()] = true
			f.namespaces = append(f.namespaces, e.Name())
		}
	}
	for _, l := range strings.Split(run(ipTool, "-o", "link", "show"), "\n") {
		if fs := strings.Fields(l); len(fs) > 1 && strings.HasPrefix(fs[1], netns.Prefix) {
			f.links = append(f.links, strings.TrimSuffix(fs[1], ":"))
		}
	}
	tables := run(nft, "list", "tables")
	for _, n := range f.namespaces {
		tables += run(ipTool, "netns", "exec", n, nft, "list", "tables")
	}
	for _, l := range strings.Split(tables, "\n") {
		if strings.HasSuffix(l, " "+fault.TableName) {
			f.tables = append(f.tables, l)
		}
	}
	root, err := kernel.FindTraceFS()
	if err != nil {
		t.Fatal(err)
	}
	ents, err = os.ReadDir(filepath.Join(root, "instances"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			f.instances = append(f.instances, e.Name())
		}
	}
	return f
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
