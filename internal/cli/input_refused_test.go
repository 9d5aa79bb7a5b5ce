package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"synfin/internal/testenv"
)

// TestInputRefused: every command that reads a capture refuses, with one
// error line and a non-zero status, what it cannot read anything from: a
// file that is not a capture, and a capture of a link type synfin cannot
// decode (which tcpdump refuses too).
func TestInputRefused(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	le := binary.LittleEndian
	link65535 := le.AppendUint32(nil, 0xa1b2c3d4)
	link65535 = le.AppendUint16(link65535, 2)
	link65535 = le.AppendUint16(link65535, 4)
	link65535 = append(link65535, make([]byte, 8)...)
	link65535 = le.AppendUint32(link65535, 65535)
	link65535 = le.AppendUint32(link65535, 65535)
	link65535 = append(link65535, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4)
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.pcap")
	if err := os.WriteFile(unknown, link65535, 0o644); err != nil {
		t.Fatal(err)
	}
	if exec.Command("tcpdump", "-n", "-r", unknown).Run() == nil {
		t.Fatal("tcpdump reads the file: the test is wrong")
	}
	text := filepath.Join(dir, "passwd")
	if err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		says  string
	}{
		{[]string{"read", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"conns", "-r", "-"}, "hi\n", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"conns", "--json", "-r", "-"}, "hi\n", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"explain", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"diagram", "-r", text}, "", "not a pcap, pcapng or tcpdump text capture"},
		{[]string{"read", "-r", unknown}, "", "link type 65535 is not supported"},
		{[]string{"explain", "-r", unknown}, "", "link type 65535 is not supported"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var o, e bytes.Buffer
			code := Main(context.Background(), tc.args, strings.NewReader(tc.stdin), &o, &e)
			lines := strings.Split(strings.TrimSuffix(e.String(), "\n"), "\n")
			if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "synfin "+tc.args[0]+": ") || !strings.Contains(lines[0], tc.says) {
				t.Errorf("exit %d, stderr %q; want a non-zero exit and one line saying %q", code, e.String(), tc.says)
			}
		})
	}
}
