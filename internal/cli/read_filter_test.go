package cli

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"synfin/internal/corpus"
	"synfin/internal/tcpdumpcmp"
	"synfin/internal/testenv"
)

// TestReadFilterAgainstTcpdump runs read with filter expressions and
// compares every TCP record with what tcpdump prints for the same file and
// expression: the same packets, numbered the same way, printed the same.
func TestReadFilterAgainstTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	dir := corpus.Dir(t, "tcpdump")
	files := []string{"dns_tcp.pcap", "mptcp-v0.pcap", "tcp-handshake-nano.pcap", "ipv4_tcp_http_xml.pcap", "of13_ericsson.pcapng", "tfo-5c1fa7f9ae91.pcap"}
	exprs := []string{
		"tcp[tcpflags] & tcp-syn != 0",
		"tcp[tcpflags] & (tcp-fin|tcp-rst) != 0",
		"port 53 and src host 192.168.1.11",
		"greater 100",
		"less 80",
		"not port 22",
		"dst port 22 or src port 13054",
		"ip6 or (tcp and net 10.0.0.0/8)",
	}
	var total, match int
	for _, file := range files {
		for _, expr := range exprs {
			path := filepath.Join(dir, file)
			var got, errb bytes.Buffer
			if code := Main(context.Background(), []string{"read", "-r", path, "-n", "-#", expr}, nil, &got, &errb); code != 0 {
				t.Errorf("%s %q: exit %d: %s", file, expr, code, errb.String())
				continue
			}
			want, _ := exec.Command("tcpdump", "-n", "-#", "-r", path, expr).Output()
			rs := tcpdumpcmp.Compare(string(want), got.String(), false)
			for _, r := range rs {
				if !r.Match {
					t.Errorf("%s %q #%d:\n tcpdump %q\n synfin  %q", file, expr, r.N, r.Want, r.Got)
				}
			}
			n, m := tcpdumpcmp.Count(rs)
			total, match = total+n, match+m
		}
	}
	t.Logf("%d of %d filtered TCP records match tcpdump", match, total)
	if total < 100 {
		t.Errorf("only %d records compared", total)
	}
}
