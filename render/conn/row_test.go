package conn

import (
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"synfin/tcpstate"
)

// TestRow holds the hand-written table row to the same row printed with
// fmt, on the corpus, a generated workload and odd connections (columns
// overflowing, negative durations, invalid addresses), and Header to
// fmt's padding of the column names.
func TestRow(t *testing.T) {
	header := fmt.Sprintf("%-4s %17s %-47s %-47s %-25s %-18s %12s %21s %s\n",
		"id", "start", "client", "server", "states (client/server)", "teardown", "duration", "bytes c>s/s>c", "anomalies")
	if Header != header {
		t.Errorf("Header = %q, want %q", Header, header)
	}
	// The widest IPv6 address and port each way, which the columns hold.
	wide := &tcpstate.Conn{ID: 9999}
	wide.Client.Addr, wide.Client.Port = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 65535
	wide.Server.Addr, wide.Server.Port = netip.MustParseAddr("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"), 65534
	conns := append(append(corpusConns(t), generated(t, 500)...), append(oddConns(), wide)...)
	states := strings.Index(Header, "states")
	for _, c := range conns {
		var brief tcpstate.Brief
		c.Brief(&brief)
		want := rowFmt(c)
		if got := string(AppendRow(nil, &brief)); got != want {
			t.Fatalf("connection %d:\n got %q\nwant %q", c.ID, got, want)
		}
		// Every column starts under its name, IPv6 or not, unless an
		// address has a zone or the id more than four digits.
		if row := AppendRow(nil, &brief); c.ID < 10000 && c.Client.Addr.Zone() == "" && c.Server.Addr.Zone() == "" &&
			!strings.HasPrefix(string(row[states:]), c.Client.State.String()+"/") {
			t.Errorf("connection %d: the states are not under their name:\n%s%s", c.ID, Header, row)
		}
		if got := string(AppendRowRest(AppendRowID([]byte("x"), c.ID), &brief)); got != "x"+want {
			t.Fatalf("connection %d, id then the rest:\n got %q\nwant %q", c.ID, got, "x"+want)
		}
	}
}

// rowFmt is a table row printed with fmt and math/big.
func rowFmt(c *tcpstate.Conn) string {
	b := fmt.Sprintf("%-4d %17s %-47s %-47s %-25s %-18s %12s %21s ",
		c.ID, secsRat(c.First.Time), c.Client.AddrPort(), c.Server.AddrPort(),
		c.Client.State.String()+"/"+c.Server.State.String(),
		c.Teardown.Pattern, secsRat(int64(c.Duration())),
		strconv.FormatUint(c.Client.Bytes, 10)+"/"+strconv.FormatUint(c.Server.Bytes, 10))
	var names []string
	for _, a := range c.Anomalies.List() {
		n := a.Anomaly.String()
		if a.Count > 1 {
			n += fmt.Sprintf("x%d", a.Count)
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		names = []string{"-"}
	}
	return b + strings.Join(names, ",") + "\n"
}

// secsRat is ns as seconds with six decimals, rounded half away from
// zero, by math/big.
func secsRat(ns int64) string { return big.NewRat(ns, 1e9).FloatString(6) }

func TestAppendSecs(t *testing.T) {
	for _, ns := range []int64{0, 1, 499, 500, 501, 999, 1000, 1499, 1500, 999999499, 999999500, 1e9, 1700000000123456789,
		-1, -499, -500, -501, -1500, -1e9 - 500, 1 << 62, math.MaxInt64 - 500, math.MaxInt64, math.MinInt64 + 500, math.MinInt64} {
		if got, want := string(appendSecs([]byte("x"), ns)), "x"+secsRat(ns); got != want {
			t.Errorf("appendSecs(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestPad checks padRight and padLeft against fmt's %-*s and %*s, for
// text shorter, as long as and longer than the width, and widths past
// the spaces they copy from.
func TestPad(t *testing.T) {
	for _, s := range []string{"", "x", "TIME-WAIT/CLOSED", "2001:db8::1:443"} {
		for _, width := range []int{0, 1, 4, 16, 39, 40, 41, 95} {
			prefix := []byte("id ")
			got := string(padRight(append(prefix[:3:3], s...), 3, width))
			if want := fmt.Sprintf("id %-*s", width, s); got != want {
				t.Errorf("padRight(%q, %d) = %q, want %q", s, width, got, want)
			}
			got = string(padLeft(append(prefix[:3:3], s...), 3, width))
			if want := fmt.Sprintf("id %*s", width, s); got != want {
				t.Errorf("padLeft(%q, %d) = %q, want %q", s, width, got, want)
			}
		}
	}
}
