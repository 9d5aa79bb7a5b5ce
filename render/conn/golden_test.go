package conn_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"synfin/internal/cli"
	"synfin/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this build's output")

// goldenCaptures are captures of the corpus and the seed that between
// them show every optional field: retransmitted SYNs and SYN-ACKs, a
// port reused, resets, a simultaneous open, TCP Fast Open, a half-close,
// Zeek's originator flipped, tunnels, IPv6, tcpdump text.
var goldenCaptures = []string{
	"seed/capture.txt",
	"testdata/corpus/other/arkime/tcp_handshake_synthetic.pcap",
	"testdata/corpus/other/suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap",
	"testdata/corpus/tcpdump/tfo-5c1fa7f9ae91.pcap",
	"testdata/corpus/zeek/core.connection_flipped/handshake-reorder.pcap",
	"testdata/corpus/zeek/core.vlan-mpls/mixed-vlan-mpls.pcap",
	"testdata/corpus/zeek/scripts.base.protocols.xmpp.starttls/xmpp-starttls.pcap",
}

// TestGolden runs conns, conns --json and explain --json (whose line is
// also lab --json's "conns") on goldenCaptures and compares their output
// with testdata/NAME.COMMAND.golden, byte for byte. The golden files were
// written by the build before this package existed, when the command
// layer held the encoders and explain --json marshalled tagged structs
// with encoding/json, and this package's output was checked to be the
// same as that build's on these captures and on the whole corpus.
// go test -update rewrites them from this build, for a change of output
// that is meant. The conns --json goldens changed when its lines took
// Zeek's duration (which stops once both ends have closed) and a line per
// row Zeek's timers split: each changed line was checked against Zeek's
// baselines (vlan-mpls's conn.log, xmpp's, connection_flipped's printed
// times) or, for captures Zeek's tests lack, against Zeek's rules in its
// source: split-handshake-4whs's SYN from the server is a reuse
// (IsReuse: a SYN with another sequence number), TFO's third connection
// an attempt given up after tcp_attempt_delay (AttemptTimer) before its
// FIN 10 s later. The conns goldens changed again when the table took a
// start column and address columns wide enough for IPv6, and conns
// --json's client and server became explain --json's objects: each line
// was checked to be the line before with only that changed, and each
// client and server to be explain --json's for the same id.
func TestGolden(t *testing.T) {
	shared := corpus.Shared(t)
	for _, capture := range goldenCaptures {
		file := filepath.Join(shared, capture)
		for _, cmd := range []struct{ name, args string }{
			{"conns", "conns"},
			{"conns-json", "conns --json"},
			{"explain-json", "explain --json"},
		} {
			name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)) + "." + cmd.name
			t.Run(name, func(t *testing.T) {
				var out, errOut bytes.Buffer
				args := append(strings.Fields(cmd.args), "-r", file)
				if code := cli.Main(context.Background(), args, nil, &out, &errOut); code != 0 {
					t.Fatalf("synfin %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
				}
				golden := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(string(want), out.String()); d != "" {
					t.Errorf("synfin %s (-%s +this build):\n%s", strings.Join(args, " "), golden, d)
				}
			})
		}
	}
}
