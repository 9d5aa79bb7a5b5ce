package lab_test

import (
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/labtest"
	"synfin/internal/pcaptest"
	"synfin/internal/testenv"
	"synfin/lab"
)

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
