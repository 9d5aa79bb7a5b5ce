package finding_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"synfin/watch/finding"
)

// TestIssueSentences: the English of the two findings the issue that
// asked for them words in full is its wording, word for word.
func TestIssueSentences(t *testing.T) {
	leak := finding.Finding{Kind: finding.CloseWaitLeak, Pid: 4242, Comm: "python3", Count: 5, Oldest: 3 * time.Minute}
	queue := finding.Finding{Kind: finding.AcceptQueueFull, Lport: 9988, Backlog: 10, Queue: 11, Somaxconn: 4096}
	for want, f := range map[string]finding.Finding{
		"python3 (pid 4242) holds 5 sockets in CLOSE-WAIT, the oldest for 3 min: it has read end-of-file on them but never called close()":   leak,
		"the application on :9988 is not calling accept() fast enough; its backlog is 10 (somaxconn 4096); new handshakes are being dropped": queue,
	} {
		if got := f.Text("en"); got != want {
			t.Errorf("%s:\n got %q\nwant %q", f.Kind, got, want)
		}
	}
}

// TestDetect: each kind is raised past its threshold and not below it,
// and every sentence, in both languages, has its placeholders filled.
func TestDetect(t *testing.T) {
	ap := netip.MustParseAddrPort
	base := finding.Input{Interval: 5 * time.Second, Somaxconn: 4096, PortRange: [2]int{32768, 60999}, TwReuse: 2,
		Delta: map[string]uint64{}, SinceStart: map[string]uint64{}}
	for _, tc := range []struct {
		name string
		edit func(*finding.Input)
		want []finding.Kind
	}{
		{"quiet", func(*finding.Input) {}, nil},
		{"leak", func(in *finding.Input) {
			in.Holders = []finding.Holder{{Pid: 7, Comm: "app", Count: 2, Oldest: time.Hour}}
		}, []finding.Kind{finding.CloseWaitLeak}},
		{"leak unowned", func(in *finding.Input) { in.Holders = []finding.Holder{{Count: 2, Oldest: time.Hour}} }, []finding.Kind{finding.CloseWaitLeak}},
		{"queue full, no overflow", func(in *finding.Input) {
			in.Listeners = []finding.Listener{{Addr: ap("0.0.0.0:80"), Queue: 11, Backlog: 10}}
		}, nil},
		{"queue full", func(in *finding.Input) {
			in.Listeners = []finding.Listener{{Addr: ap("0.0.0.0:80"), Queue: 11, Backlog: 10}, {Addr: ap("0.0.0.0:81"), Queue: 3, Backlog: 10}}
			in.SinceStart["TcpExtListenOverflows"] = 4
		}, []finding.Kind{finding.AcceptQueueFull}},
		{"time-wait below a quarter", func(in *finding.Input) { in.TimeWait = []finding.Endpoint{{Addr: ap("10.0.0.1:443"), Count: 7058}} }, nil},
		{"time-wait", func(in *finding.Input) { in.TimeWait = []finding.Endpoint{{Addr: ap("10.0.0.1:443"), Count: 7059}} }, []finding.Kind{finding.TimeWaitPileup}},
		{"syn-recv", func(in *finding.Input) {
			in.Listeners = []finding.Listener{{Addr: ap("0.0.0.0:80"), Backlog: 4096, SynRecv: 300}}
		}, []finding.Kind{finding.SynFlood}},
		{"cookies", func(in *finding.Input) { in.Delta["TcpExtSyncookiesSent"] = 100 }, []finding.Kind{finding.SynFlood}},
		{"resets below", func(in *finding.Input) { in.Delta["TcpOutRsts"] = 499 }, nil},
		{"resets", func(in *finding.Input) { in.Delta["TcpOutRsts"], in.Delta["TcpEstabResets"] = 400, 100 }, []finding.Kind{finding.ResetStorm}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Delta, in.SinceStart = map[string]uint64{}, map[string]uint64{}
			tc.edit(&in)
			var got []finding.Kind
			for _, f := range finding.Detect(in, finding.Thresholds{}) {
				got = append(got, f.Kind)
				for _, lang := range []string{"en", "zh"} {
					if s := f.Text(lang); strings.ContainsAny(s, "{}") || s == string(f.Kind) {
						t.Errorf("%s in %s: %q", f.Kind, lang, s)
					}
				}
			}
			if strings.Join(kinds(got), ",") != strings.Join(kinds(tc.want), ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func kinds(k []finding.Kind) []string {
	var s []string
	for _, x := range k {
		s = append(s, string(x))
	}
	return s
}
