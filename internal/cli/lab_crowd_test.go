//go:build linux

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/labtest"
	"synfin/internal/testenv"
	"synfin/lab/crowd"
)

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
