package fault_test

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"synfin/internal/testenv"
	"synfin/lab/fault"
	"synfin/lab/netns"
	"synfin/wire"
)

func TestRuleString(t *testing.T) {
	for _, tc := range []struct {
		r    fault.Rule
		want string
	}{
		{with(fault.SYNACK, 9988, 0, 1), "drop 1st [SA not FR] 9988>*"},
		{with(fault.ACK, 0, 9988, 2), "drop 2nd [A not SFRP] *>9988"},
		{with(fault.FIN, 0, 9988, 0), "drop every [F not SR] *>9988"},
		{with(fault.SYN, 0, 0, 12), "drop 12th [S not FRA] *>*"},
	} {
		if s := tc.r.String(); s != tc.want {
			t.Errorf("String() = %q, want %q", s, tc.want)
		}
	}
}

func with(r fault.Rule, sport, dport uint16, nth int) fault.Rule {
	r.SrcPort, r.DstPort, r.Nth = sport, dport, nth
	return r
}

func TestInstallBadRules(t *testing.T) {
	for _, r := range []fault.Rule{
		{Nth: -1},
		{Flags: wire.SYN, Mask: wire.ACK},
		{Flags: wire.AE, Mask: wire.AE},
	} {
		if _, err := fault.Install(-1, []fault.Rule{r}); err == nil || !strings.HasPrefix(err.Error(), "fault: ") {
			t.Errorf("Install(%+v) = %v, want a fault: error", r, err)
		}
	}
}

// TestDropFirstSYNACK checks against the kernel that dropping the first
// SYN-ACK delays the connect by the SYN(-ACK) retransmission timeout, and
// against nft(8) that the table exists while installed and not after.
func TestDropFirstSYNACK(t *testing.T) {
	testenv.NeedCaps(t, testenv.CapSysAdmin, testenv.CapNetAdmin)
	ip := testenv.NeedTool(t, "ip")
	nft := testenv.NeedTool(t, "nft")
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	tab, err := fault.Install(ns.Fd(), []fault.Rule{with(fault.SYNACK, 9988, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	out, err := exec.Command(ip, "netns", "exec", ns.Name, nft, "list", "table", "inet", fault.TableName).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "numgen inc mod") || !strings.Contains(string(out), "drop") {
		t.Errorf("nft list table: %v\n%s", err, out)
	}
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen("tcp4", "127.0.0.1:9988"); return }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ns.Do(func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp4", "127.0.0.1:9988")
		if err == nil {
			c.Close()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("connect took %v; a lost SYN-ACK costs about a second", d)
	}
	cs, err := tab.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Dropped != 1 || cs[0].Matched < 2 {
		t.Errorf("counters = %+v, want 1 dropped of at least 2 matched", cs)
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	if ts, err := fault.Tables(ns.Fd()); err != nil || len(ts) != 0 {
		t.Errorf("tables after Close = %v, %v", ts, err)
	}
}
