//go:build linux

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/testenv"
)

// TestCaptureLineAndPacketBuffered: -l and -U, which tcpdump users type
// when piping, are taken as tcpdump takes them, alone and combined with
// other flags.
func TestCaptureLineAndPacketBuffered(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapNetRaw)
	pcap := filepath.Join(t.TempDir(), "u.pcap")
	for _, args := range [][]string{
		{"capture", "-i", "lo", "-l", "-n", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lnS", "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-U", "-w", pcap, "--for", "200ms", "port", "9"},
		{"capture", "-i", "lo", "-lU", "--print", "-w", pcap, "--for", "200ms", "port", "9"},
	} {
		code, _, stderr := runMain(t, args...)
		if code != 0 || strings.Contains(stderr, "unknown flag") {
			t.Errorf("%q: exit %d, stderr %q; want the capture run", args, code, stderr)
		}
	}
	if st, err := os.Stat(pcap); err != nil || st.Size() != 24 {
		t.Errorf("-U -w: %v, %v; want a pcap holding its header", st, err)
	}
}
